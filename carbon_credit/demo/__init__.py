"""Demo data that makes every page and reply of the product show something."""
