"""Benchmarks (`make bench`): results go to docs/benchmarks.md, one marked section per benchmark."""
