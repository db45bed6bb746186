"""Compiled kernels: arrays and a numpy Generator in, arrays out (no Mesa, no I/O)."""
