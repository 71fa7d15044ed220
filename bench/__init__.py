"""Reproducible benchmarks; each prints a table of figures and ratios."""
