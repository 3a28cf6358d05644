"""Printing figures in the contract's JSON shape."""

from __future__ import annotations

import json
import sys


def figure(name: str, value: float, unit: str, baseline: float | None = None,
           higher_is_better: bool = True) -> dict[str, object]:
    """Print one figure; ``ratio`` is ours ÷ baseline (or baseline ÷ ours for times)."""
    ratio = None
    if baseline and value:
        ratio = round(value / baseline if higher_is_better else baseline / value, 3)
    row = {"name": name, "value": round(value, 3), "unit": unit,
           "baseline": None if baseline is None else round(baseline, 3), "ratio": ratio}
    sys.stdout.write(json.dumps(row) + "\n")
    sys.stdout.flush()
    return row
