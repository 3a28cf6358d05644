"""``parley report``: a seeded project's report in HTML (self-contained) and PDF (its
pages rendered with pdftoppm are not blank), with numbers equal to the dashboard's."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from bot.report.data import collect
from bot.report.render import write_html, write_pdf
from tests.cli_inprocess import Ran, run_cli
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401
from tests.test_burden import dashboard

UTC = dt.UTC
START = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
PEOPLE = {"Ann": ("tel:+447700900001", "north"), "Bob": ("telegram:2002", "north"),
          "Cai": ("tel:+447700900003", "south"), "Dee": ("telegram:2004", "south"),
          "Eve": ("tel:+447700900005", "south"), "Fay": ("tel:+447700900006", "north")}
BASELINE = {"Ann": ["3", "4", "5", "6"], "Bob": ["5", "5", "5", "5"],
            "Cai": ["2", "3", "2", "8"], "Dee": ["6", "6", "7", "3"],
            "Eve": ["4", "4", "4", "4"]}   # Fay never answers
END = {"Ann": ["6", "6", "6", "4"], "Bob": ["6", "5", "7", "4"], "Cai": ["4", "5", "3", "6"],
       "Dee": ["7", "6", "8", "2"]}        # Eve drops out


async def seeded(tmp_path: Path) -> Project:
    p = await open_project(tmp_path, START)
    for name, (address, cohort) in PEOPLE.items():
        pid = await p.person(name, address)
        person = await p.store.get_participant(pid)
        assert person is not None
        person.cohort = cohort
        from bot.store.records import Changes
        await p.store.apply(Changes(participant=person))
    await p.store.set_cohort_targets({"north": 50.0, "south": 50.0})
    for label, answers, day in (("baseline", BASELINE, 0), ("end", END, 28)):
        item = await p.rounds.build(flow="ons4", audience="all", label=label,
                                    start=f"{START + dt.timedelta(days=day):%Y-%m-%dT10:00}",
                                    close_after="3d")
        await p.rounds.create(item, "coord")
        await p.rounds.start(item.id, "coord")
        queue = {who: list(replies) for who, replies in answers.items()}

        async def script(proj: Project, who: str, got: list, q=queue) -> None:  # type: ignore[type-arg]
            if who in q and q[who] and any(m.payload.get("kind") == "question" for m in got):
                proj.reply_at(proj.clock.now() + dt.timedelta(minutes=5), who, q[who].pop(0))

        await p.run_until(START + dt.timedelta(days=day + 4), script)
    return p


def not_blank(png: Path) -> bool:
    with Image.open(png) as image:
        stat = ImageStat.Stat(image.convert("L"))
    return stat.stddev[0] > 5  # a white page has no spread at all


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")
async def test_report_html_and_pdf_match_the_dashboard(tmp_path: Path) -> None:
    p = await seeded(tmp_path / "project")
    rounds = await p.store.rounds_all()
    data = await collect(p.store, p.runtime.config, p.runtime.library, p.clock.now())
    assert [(r.label, r.targeted, r.completed) for r in data.rounds] == [
        ("baseline", 6, 5), ("end", 6, 4)]
    assert data.rounds[1].retained == pytest.approx(4 / 5)
    assert data.cost is not None  # 9 completions x 5 credits at £1, none paid yet
    assert (data.cost.people, data.cost.credits_paid, data.cost.credits_owed) == (5, 0, 45.0)
    assert data.cost.per_person == pytest.approx(9.0)
    html_file, pdf_file = tmp_path / "report.html", tmp_path / "report.pdf"
    write_html(data, html_file)
    write_pdf(data, pdf_file)
    page = html_file.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", page)  # needs no network
    assert page.count("data:image/png;base64,") == 2  # participation and change plots

    async with dashboard(p) as client:
        results = (await client.get("/admin/results/ons4")).text
        for r in rounds:
            shown = (await client.get(f"/admin/rounds/{r.id}")).text
            completed = re.search(r'id="count-completed">(\d+)<', shown)
            assert completed is not None
            assert f"<td>{r.id}</td><td>{r.label}</td><td>ons4</td>" in page
            line = next(x for x in data.rounds if x.id == r.id)
            assert int(completed.group(1)) == line.completed
    row = re.search(r"life_satisfaction.*?</tr>", results, re.S)
    assert row is not None
    dash_numbers = re.findall(r"[+-]\d+\.\d\d", row.group(0))
    report_row = re.search(r"<td>life_satisfaction</td>.*?</tr>", page, re.S)
    assert report_row is not None
    # mean change and its 95% CI, exactly as the results page shows them
    assert dash_numbers[:3] == re.findall(r"[+-]\d+\.\d\d", report_row.group(0)) == [
        "+1.75", "+0.23", "+3.27"]
    assert "<td>north</td>" in page and "<td>south</td>" in page

    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf_file), str(tmp_path / "page")],
                   check=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3  # text, participation plot, change plot
    assert all(not_blank(png) for png in pages)


def test_report_command_writes_both_formats_and_refuses_bad_input(tmp_path: Path) -> None:

    config = tmp_path / "config.toml"
    config.write_text(f'[project]\nname = "Money Voices"\n[store]\nurl = "sqlite:///'
                      f'{tmp_path / "parley.db"}"\n', encoding="utf-8")

    def parley(*args: str) -> Ran:
        return run_cli("report", *args, "--config", config)

    for fmt in ("html", "pdf"):
        done = parley("--format", fmt, "--out", str(tmp_path / f"r.{fmt}"),
                      "--from", "2026-01-01", "--to", "2026-12-31")
        assert done.returncode == 0, done.stderr
        assert (tmp_path / f"r.{fmt}").stat().st_size > 1000
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    for args, reason in [(("--format", "doc", "--out", "x"), "--format must be html or pdf"),
                         (("--format", "pdf", "--out", "/no/such/dir/r.pdf"), "--out: no "
                                                                              "folder"),
                         (("--format", "pdf", "--out", str(tmp_path / "x.pdf"), "--from",
                           "last week"), "--from/--to")]:
        done = parley(*args)
        assert done.returncode != 0 and reason in done.stderr + done.stdout
        assert "Traceback" not in done.stderr
