"""Domain core of the carbon-inclusion platform: framework-free models and services."""
