"""Small, dependency-free statistics for the results pages.

The paired comparison (baseline vs end) uses Student's t: the mean of the differences
± t(0.975, n−1) · sd/√n. The t quantile is found by bisection on the t distribution's
CDF, computed from the regularised incomplete beta function (Numerical Recipes'
continued fraction), so no SciPy is needed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def _betacf(a: float, b: float, x: float) -> float:
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-14:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log(1.0 - x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t value with ``P(T <= t) = p`` (0 < p < 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be between 0 and 1")
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


@dataclass(frozen=True)
class PairedChange:
    """End minus baseline, over people who answered both."""

    n: int
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    ci_low: float | None
    ci_high: float | None


def paired_change(pairs: Sequence[tuple[float, float]], level: float = 0.95) -> PairedChange:
    """Mean change with a ``level`` confidence interval (None where n is too small)."""
    n = len(pairs)
    if n == 0:
        return PairedChange(0, None, None, None, None, None)
    before = sum(b for b, _ in pairs) / n
    after = sum(a for _, a in pairs) / n
    diffs = [a - b for b, a in pairs]
    mean = sum(diffs) / n
    if n < 2:
        return PairedChange(n, before, after, mean, None, None)
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
    return PairedChange(n, before, after, mean, mean - half, mean + half)


def distribution(values: Iterable[object], order: Sequence[object] = ()) -> list[tuple[str, int]]:
    """Counts per value, in ``order`` first (zeros included), then the rest by count."""
    counts = Counter(values)
    out = [(str(v), counts.pop(v, 0)) for v in order]
    out.extend((str(v), c) for v, c in counts.most_common())
    return out


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class CohortShare:
    """One cohort's place in the group: who was asked, who answered, and the target."""

    cohort: str
    enrolled: int
    targeted: int
    """Round invitations (one per person per round)."""
    responded: int
    """People who completed at least one round."""
    target: float | None
    """Target share of responders, percent."""
    completed: int = 0
    """Round invitations completed."""

    @property
    def response_rate(self) -> float | None:
        return self.completed / self.targeted if self.targeted else None


def representation(rows: Sequence[CohortShare], tolerance: float = 5.0
                   ) -> list[tuple[CohortShare, float | None, str]]:
    """Each cohort with its share of all responders (percent) and a verdict against its
    target: ``on target`` (within ``tolerance`` points), ``under``, ``over``, or
    ``no target`` / ``no responses yet``."""
    total = sum(r.responded for r in rows)
    out = []
    for row in rows:
        share = 100.0 * row.responded / total if total else None
        if row.target is None:
            verdict = "no target"
        elif share is None:
            verdict = "no responses yet"
        elif share < row.target - tolerance:
            verdict = "under"
        elif share > row.target + tolerance:
            verdict = "over"
        else:
            verdict = "on target"
        out.append((row, share, verdict))
    return out
