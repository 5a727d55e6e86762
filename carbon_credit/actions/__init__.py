"""Green actions coming in: recorded and credited, self-reported, reviewed, weighed, scanned, pushed by partners."""
