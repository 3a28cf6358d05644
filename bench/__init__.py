"""Parley benchmarks: each prints JSON lines ``{"name", "value", "unit", "baseline", "ratio"}``."""
