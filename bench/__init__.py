"""Benchmarks (`make bench`): figures on stdout, ratios against baselines measured in the same run."""
