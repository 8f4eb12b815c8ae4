"""Benchmarks (`make bench`): speed, memory and quality beside peers, written to bench/results/."""
