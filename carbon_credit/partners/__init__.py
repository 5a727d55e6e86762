"""Partners (transit operators, recycling firms): their keys and the signatures on their requests."""
