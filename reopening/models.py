"""Models of the reopening app."""
