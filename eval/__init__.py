"""Evaluation sets and benchmarks (`hotline eval ...`)."""
