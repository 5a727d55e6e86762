"""Streets, communities and their stations."""
