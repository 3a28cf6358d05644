"""Printing figures in the contract's JSON shape."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from ``/proc/<pid>/stat`` (Linux; 0
    elsewhere). The server's own CPU, not wall time: it is what a turn costs the machine,
    and it barely moves when other work shares the cores."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One server's figures over the measured window."""

    label: str
    rate: float
    latencies: list[float]
    cpu_per_turn_ms: float


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of latencies in seconds, in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
