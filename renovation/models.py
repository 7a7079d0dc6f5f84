"""Models of the renovation app."""
