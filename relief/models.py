"""Models of the relief app."""
