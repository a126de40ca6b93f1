"""Comparison of what a suite showed with the reference rendering and the source truth."""
