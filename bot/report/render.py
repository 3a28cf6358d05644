"""The report as self-contained HTML (inline CSS, plots as embedded PNG, no network)
or as a PDF (matplotlib's ``PdfPages``: text pages and plot pages, no system
libraries)."""

from __future__ import annotations

import base64
import html
import io
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from bot.report.data import ReportData

CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b}table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid
#ccc;padding:.3rem .6rem;text-align:left}td.n{text-align:right}h2{margin-top:2rem}
.muted{color:#555}img{max-width:100%}"""


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def num(value: float | None, places: int = 2) -> str:
    return "–" if value is None else f"{value:.{places}f}"


def signed(value: float | None) -> str:
    """As the dashboard's results page writes a change: ``+0.50``."""
    return "–" if value is None else f"{value:+.2f}"


def sections(d: ReportData) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, sentences, table rows with a header row): shared by HTML and PDF."""
    out: list[tuple[str, list[str], list[list[str]]]] = []
    period = (f"{d.start:%d %b %Y}" if d.start else "the start") + " to " + (
        f"{d.end:%d %b %Y}" if d.end else "now")
    out.append(("Summary", [f"{d.project}: evaluation report for {period}.",
                            f"{d.enrolled} people enrolled (consented); {len(d.rounds)} "
                            f"round(s) in the period.",
                            f"Generated {d.generated:%d %b %Y %H:%M} UTC."], []))
    out.append(("Participation and retention over rounds",
                ["Completion = people who finished the round's flow, of those it was sent "
                 "to. Retention = of those who completed the first round, the share who "
                 "completed this one."],
                [["round", "label", "flow", "start", "targeted", "completed", "rate",
                  "retention"]] + [[r.id, r.label, r.flow, f"{r.start:%d %b %Y}",
                                    str(r.targeted), str(r.completed), pct(r.rate),
                                    pct(r.retained)] for r in d.rounds]))
    for dim, rows in d.representation.items():
        out.append((f"Response rates and representativeness: {dim}",
                    ["Share = of everyone who completed at least one round. Verdict "
                     "against the target share, within 5 points."],
                    [[dim, "enrolled", "asked", "responded", "response rate", "share",
                      "target", "verdict"]] +
                    [[row.cohort, str(row.enrolled), str(row.targeted), str(row.responded),
                      pct(row.response_rate), num(share, 1) + ("%" if share is not None
                                                               else ""),
                      num(row.target, 0) + ("%" if row.target is not None else ""),
                      verdict] for row, share, verdict in rows]))
    out.append(("Change per measure (paired)",
                ["The same people before and after: mean change with a 95% confidence "
                 "interval (Student's t); n is the number of people with both answers."],
                [["flow", "measure", "compared", "n", "before", "after", "change",
                  "95% CI"]] +
                [[c.flow, c.field, f"{c.before} → {c.after}", str(c.change.n),
                  num(c.change.mean_before), num(c.change.mean_after),
                  signed(c.change.mean_change),
                  f"{signed(c.change.ci_low)} to {signed(c.change.ci_high)}"
                  if c.change.ci_low is not None else "needs 2 or more pairs"]
                 for c in d.changes]))
    out.append(("Endorsement of findings, and what changed",
                [f"{e.finding} ({e.title}): what changed: {e.changes or 'first version'}"
                 for e in d.endorsements] or ["No finding has been put to participants."],
                [["finding", "answer", "people"]] +
                [[e.finding, view, str(n)] for e in d.endorsements for view, n in e.counts]))
    out.append(("Themes and saturation",
                [saturation_sentence(d)],
                [["theme", "responses"]] + [[t, str(n)] for t, n in d.themes]))
    if d.events:
        out.append(("Events", [], [["event", "places", "booked", "attended"]] +
                    [[t, str(c), str(b), str(a)] for t, c, b, a in d.events]))
    if d.cost is not None:
        c = d.cost
        out.append(("Cost per participant",
                    [f"{c.people} people took part (completed at least one round).",
                     f"SMS: {c.sms_segments} segments, {c.sms_cost:.2f}; credits paid "
                     f"{c.credits_paid:.2f} and owed {c.credits_owed:.2f}; time-bank hours "
                     f"earned {c.hours_earned:.1f}.",
                     f"Cost per participant (SMS + credits): {num(c.per_person)}; plus "
                     f"{c.hours_earned / c.people if c.people else 0:.1f} hours each."], []))
    return out


def saturation_sentence(d: ReportData) -> str:
    if not d.saturation:
        return "No free-text answers have been coded with themes yet."
    quiet = 0
    for new in reversed(d.saturation):
        if new:
            break
        quiet += 1
    return (f"{sum(d.saturation)} themes over {len(d.saturation)} batch(es) of responses; "
            + (f"the last {quiet} batch(es) brought no new theme." if quiet
               else "the latest batch still brought new themes."))


def figures(d: ReportData) -> list[Figure]:
    figs = []
    if d.rounds:
        fig, ax = plt.subplots(figsize=(8, 4))
        names = [r.label or r.id for r in d.rounds]
        ax.bar(names, [100 * (r.rate or 0) for r in d.rounds], color="#3a6ea5",
               label="completion %")
        ax.plot(names, [100 * r.retained if r.retained is not None else float("nan")
                        for r in d.rounds], color="#c0392b", marker="o", label="retention %")
        ax.set_ylim(0, 105)
        ax.set_title("Participation and retention by round")
        ax.legend()
        figs.append(fig)
    if d.changes:
        fig, ax = plt.subplots(figsize=(8, 0.6 * len(d.changes) + 1.5))
        labels = [f"{c.flow}: {c.field}" for c in d.changes]
        means = [c.change.mean_change or 0 for c in d.changes]
        errs = [[m - (c.change.ci_low if c.change.ci_low is not None else m)
                 for m, c in zip(means, d.changes, strict=True)],
                [(c.change.ci_high if c.change.ci_high is not None else m) - m
                 for m, c in zip(means, d.changes, strict=True)]]
        ax.errorbar(means, range(len(labels)), xerr=errs, fmt="o", color="#3a6ea5")
        ax.axvline(0, color="#888", linewidth=1)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_title("Mean paired change with 95% CI")
        fig.tight_layout()
        figs.append(fig)
    if d.saturation:
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.bar(range(1, len(d.saturation) + 1), d.saturation, color="#27ae60")
        ax.set_xlabel("batch of responses (arrival order)")
        ax.set_ylabel("new themes")
        ax.set_title("Saturation: new themes per batch")
        figs.append(fig)
    return figs


def png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def write_html(d: ReportData, out: Path) -> None:
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
             f"{html.escape(d.project)}: evaluation report</title><style>{CSS}</style>"
             f"</head><body><h1>{html.escape(d.project)}: evaluation report</h1>"]
    for heading, lines, table in sections(d):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.extend(f"<p>{html.escape(line)}</p>" for line in lines)
        if len(table) > 1:
            head = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in table[0])
            body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row)
                           + "</tr>" for row in table[1:])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                         "</table>")
    for fig in figures(d):
        title = fig.axes[0].get_title() if fig.axes else "plot"
        parts.append(f"<figure><img alt='{html.escape(title)}' "
                     f"src='data:image/png;base64,{png(fig)}'></figure>")
    parts.append("</body></html>")
    out.write_text("\n".join(parts), encoding="utf-8")


def text_pages(d: ReportData) -> list[list[str]]:
    """The sections as lines of monospaced text, cut into A4 pages."""
    lines: list[str] = [f"{d.project}: evaluation report", ""]
    for heading, sentences, table in sections(d):
        lines += [heading.upper(), ""]
        for s in sentences:
            lines += textwrap.wrap(s, 95) or [""]
        if len(table) > 1:
            widths = [min(24, max(len(r[i]) for r in table)) for i in range(len(table[0]))]
            for row in table:
                lines.append("  ".join(c[:w].ljust(w) for c, w in zip(row, widths,
                                                                       strict=True)))
        lines.append("")
    per_page = 60
    return [lines[i:i + per_page] for i in range(0, len(lines), per_page)]


def write_pdf(d: ReportData, out: Path) -> None:
    with PdfPages(out) as pdf:
        for page in text_pages(d):
            fig = plt.figure(figsize=(8.27, 11.69))  # A4
            fig.text(0.05, 0.97, "\n".join(page), family="monospace", fontsize=7,
                     va="top")
            pdf.savefig(fig)
            plt.close(fig)
        for fig in figures(d):
            pdf.savefig(fig)
            plt.close(fig)
        info = pdf.infodict()
        info["Title"] = f"{d.project}: evaluation report"
