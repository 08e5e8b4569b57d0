"""Benchmark scripts: they print figures, they are never timed tests (docs/benchmarks.md)."""
