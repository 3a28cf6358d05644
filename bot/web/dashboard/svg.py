"""Inline SVG charts: no JavaScript, no external files, readable by screen readers.

Each chart is ``role="img"`` with an ``aria-label`` that states every number it shows,
and uses presentation attributes only (the dashboard's CSP forbids inline styles).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from bot.stats import PairedChange

BAR = "#0b5c7a"
COLOURS = {"agree": "#1d6b36", "partly": "#8a5a00", "disagree": "#a4161a"}


def _svg(width: int, height: int, label: str, body: str) -> Markup:
    return Markup(f'<svg class="chart" role="img" aria-label="{escape(label)}" '
                  f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def bars(rows: Sequence[tuple[str, int]], *, title: str = "", width: int = 560) -> Markup:
    """Horizontal bars: one row per value with its count and share."""
    total = sum(c for _, c in rows) or 1
    label_w, row_h, right = 150, 24, 90
    plot = width - label_w - right
    peak = max((c for _, c in rows), default=0) or 1
    parts = []
    for i, (name, count) in enumerate(rows):
        y = i * row_h
        w = round(plot * count / peak, 1)
        short = name if len(name) <= 22 else name[:21] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="{row_h - 8}" fill="{BAR}">'
            f'<title>{escape(name)}: {count}</title></rect>'
            f'<text x="{label_w + w + 6}" y="{y + 16}">{count} '
            f'({round(100 * count / total)}%)</text>')
    desc = "; ".join(f"{n}: {c}" for n, c in rows)
    return _svg(width, max(row_h * len(rows), row_h), f"{title} {desc}".strip(), "".join(parts))


def stacked(counts: dict[str, int], *, width: int = 560, height: int = 28) -> Markup:
    """One bar split into agree / partly / disagree, with counts written on it."""
    order = ["agree", "partly", "disagree"]
    total = sum(counts.get(k, 0) for k in order)
    if total == 0:
        return _svg(width, height, "no responses yet",
                    f'<rect x="0" y="0" width="{width}" height="{height}" fill="#e3e8ec"/>'
                    f'<text x="8" y="{height - 9}">no responses yet</text>')
    x, parts = 0.0, []
    for key in order:
        n = counts.get(key, 0)
        if not n:
            continue
        w = width * n / total
        parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" '
                     f'fill="{COLOURS[key]}"><title>{key}: {n}</title></rect>')
        if w > 30:
            parts.append(f'<text x="{x + 6:.1f}" y="{height - 9}" fill="#fff">{n}</text>')
        x += w
    label = ", ".join(f"{k} {counts.get(k, 0)} of {total}" for k in order)
    return _svg(width, height, label, "".join(parts))


def span(rows: Sequence[tuple[str, PairedChange]], limit: float = 10) -> float:
    """A symmetric axis half-width that fits every interval (at most ``limit``)."""
    values = [abs(v) for _, c in rows for v in (c.mean_change, c.ci_low, c.ci_high)
              if v is not None]
    return float(min(limit, max(1, math.ceil(max(values, default=1) * 1.15))))


def change_chart(rows: Sequence[tuple[str, PairedChange]], *, limit: float = 10,
                 width: int = 560) -> Markup:
    """A forest plot: mean change per measure with its 95% interval, around zero."""
    hi = span(rows, limit)
    lo = -hi
    label_w, row_h, pad = 170, 30, 20
    plot = width - label_w - pad
    height = row_h * len(rows) + 24

    def xpos(v: float) -> float:
        v = max(lo, min(hi, v))
        return label_w + plot * (v - lo) / (hi - lo)

    zero = xpos(0)
    parts = [f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height - 20}" '
             f'stroke="#4a5560" stroke-dasharray="3 3"/>',
             f'<text x="{zero:.1f}" y="{height - 4}" text-anchor="middle">0</text>',
             f'<text x="{label_w}" y="{height - 4}">{lo:+g}</text>',
             f'<text x="{width - pad}" y="{height - 4}" text-anchor="end">{hi:+g}</text>',
             f'<text x="{(label_w + zero) / 2:.1f}" y="{height - 4}" text-anchor="middle">'
             f'← lower</text>',
             f'<text x="{(zero + width - pad) / 2:.1f}" y="{height - 4}" '
             f'text-anchor="middle">→ higher</text>']
    words = []
    for i, (name, change) in enumerate(rows):
        y = i * row_h + row_h / 2
        parts.append(f'<text x="{label_w - 8}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(name)}</text>')
        if change.mean_change is None:
            parts.append(f'<text x="{label_w + 4}" y="{y + 4:.1f}">no pairs yet</text>')
            words.append(f"{name}: no pairs")
            continue
        if change.ci_low is not None and change.ci_high is not None:
            parts.append(f'<line x1="{xpos(change.ci_low):.1f}" y1="{y:.1f}" '
                         f'x2="{xpos(change.ci_high):.1f}" y2="{y:.1f}" stroke="{BAR}" '
                         f'stroke-width="3"/>')
        parts.append(f'<circle cx="{xpos(change.mean_change):.1f}" cy="{y:.1f}" r="6" '
                     f'fill="{BAR}"><title>{escape(name)}: {change.mean_change:+.2f}</title>'
                     f'</circle>')
        ci = ("" if change.ci_low is None or change.ci_high is None
              else f" (95% CI {change.ci_low:+.2f} to {change.ci_high:+.2f})")
        words.append(f"{name}: {change.mean_change:+.2f}{ci}, n={change.n}")
    return _svg(width, height, "Mean change, end minus baseline. " + "; ".join(words),
                "".join(parts))
