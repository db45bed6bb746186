"""Benchmarks: each times a kernel beside its numpy and Mesa agent-by-agent versions in one run."""
