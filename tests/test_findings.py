"""Findings: versioned drafts, endorsement rounds, the summary, and "you said, we did"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.errors import ParleyError
from bot.findings.publish import parse_finding, publish
from bot.findings.summary import commenters, lineage, summarise
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401  (autouse)

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
V1 = "# Fees push people further into debt\n\nMany of us were charged fees we could not avoid.\n"
V2 = ("# Unexplained fees push people further into debt\n\nMany of us were charged fees "
      "that nobody explained.\n\n## What we changed\nWe now say the fees were not "
      "explained.\n")


def test_parse_finding() -> None:
    assert parse_finding(V1, "f.md") == ("Fees push people further into debt",
                                         "Many of us were charged fees we could not avoid.", "")
    assert parse_finding(V2, "f.md")[2] == "We now say the fees were not explained."
    with pytest.raises(ParleyError, match=r"f\.md:1: a finding starts with"):
        parse_finding("Fees\n", "f.md")
    with pytest.raises(ParleyError, match="no text"):
        parse_finding("# Title only\n\n", "f.md")


async def endorse(p: Project, who: str, view: str, words: str, credit: str) -> None:
    for reply in (view, words, credit):
        await p.say(who, reply)


async def test_endorsement_summary_and_revision_you_said_we_did(tmp_path: Path) -> None:
    p = await open_project(tmp_path, T0)
    await p.person("Amira", "telegram:1001")
    await p.person("Bryn", "tel:+447700900123")
    await p.person("Ceri", "tel:+447700900456")
    (tmp_path / "v1.md").write_text(V1, encoding="utf-8")
    f1 = await publish(p.store, tmp_path / "v1.md", replaces=None, actor="sam", now=T0)
    assert (f1.id, f1.version, f1.lineage) == ("F1", 1, "F1")

    item = await p.rounds.build(flow="endorsement", audience="all", finding="F1",
                                label="endorse-F1")
    assert item.vars["finding_text"] == "Many of us were charged fees we could not avoid."
    await p.rounds.create(item, "sam")
    await p.rounds.start(item.id, "sam")
    await p.work.due(p.clock.now())
    await p.deliver()
    # a round's first message starts with how long it takes (bot/burden/invitation.py)
    assert any(d.text.startswith("(About 2 minutes.) Draft finding: Fees push people")
               for d in p.log)
    await endorse(p, "Amira", "2", "Say 'charged fees' – some of us were never told why", "1")
    await endorse(p, "Bryn", "1", "Spot on", "2")
    await endorse(p, "Ceri", "3", "It is the interest, not the fees", "2")

    s = await summarise(p.store, f1)
    assert s.counts == {"agree": 1, "partly": 1, "disagree": 1}
    by = {r.participant_id: r for r in s.responses}
    assert by["p_bryn"].comment == "Spot on" and by["p_bryn"].amendment == ""
    assert by["p_amira"].amendment.startswith("Say 'charged fees'")
    assert s.coauthors == ["Amira"]
    assert by["p_ceri"].who.startswith("A")  # anonymous

    (tmp_path / "v2.md").write_text(V2, encoding="utf-8")
    f2 = await publish(p.store, tmp_path / "v2.md", replaces="F1", actor="sam",
                       now=p.clock.now())
    assert (f2.id, f2.version, f2.replaces) == ("F1.2", 2, "F1")
    assert [f.id for f in await lineage(p.store, "F1.2")] == ["F1", "F1.2"]
    said = await commenters(p.store, f2)
    assert set(said) == {"p_amira", "p_bryn", "p_ceri"}

    revision = await p.rounds.build(flow="endorsement", audience="commented:F1.2",
                                    finding="F1.2", label="revision")
    await p.rounds.create(revision, "sam")
    _, count = await p.rounds.start(revision.id, "sam")
    assert count == 3
    p.log.clear()
    await p.work.due(p.clock.now())
    await p.deliver()
    amira = next(d.text for d in p.log if d.who == "Amira")
    assert amira.startswith("(About 2 minutes.) You said: \"Say 'charged fees' – some of us "
                            "were never told "
                            "why\"\nWe did: We now say the fees were not explained. Here")
    assert "Draft finding: Unexplained fees" in amira
    await endorse(p, "Amira", "1", "Thank you", "1")
    s2 = await summarise(p.store, f2)
    assert s2.counts == {"agree": 1, "partly": 0, "disagree": 0}
    assert (await summarise(p.store, f1)).counts["partly"] == 1  # per version


async def test_round_for_a_finding_checks_its_inputs(tmp_path: Path) -> None:
    p = await open_project(tmp_path, T0)
    with pytest.raises(ParleyError, match="needs finding_id"):
        await p.rounds.build(flow="endorsement", audience="all")
    with pytest.raises(ParleyError, match="no finding 'F9'"):
        await p.rounds.build(flow="endorsement", audience="all", finding="F9")
    with pytest.raises(ParleyError, match="--replaces: no finding"):
        (tmp_path / "v.md").write_text(V1, encoding="utf-8")
        await publish(p.store, tmp_path / "v.md", replaces="F7", actor="x", now=T0)
