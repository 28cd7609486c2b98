"""Benchmarks that report how Reframe performs; run by hand, not as tests."""
