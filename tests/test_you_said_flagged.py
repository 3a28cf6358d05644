"""Flagged words are never quoted back: a revision's "You said: …" leaves out an answer
a safeguarding phrase flagged, and the person still gets the new version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.findings.publish import publish
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401  (autouse)
from tests.test_findings import V1, V2, endorse

T0 = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
FLAGGED = "These fees mean there is no way out for me"


async def test_revision_does_not_quote_flagged_words(tmp_path: Path) -> None:
    p: Project = await open_project(tmp_path, T0)
    await p.person("Amira", "telegram:1001")
    await p.person("Ceri", "tel:+447700900456")
    (tmp_path / "v1.md").write_text(V1, encoding="utf-8")
    await publish(p.store, tmp_path / "v1.md", replaces=None, actor="sam", now=T0)
    item = await p.rounds.build(flow="endorsement", audience="all", finding="F1")
    await p.rounds.create(item, "sam")
    await p.rounds.start(item.id, "sam")
    await p.work.due(p.clock.now())
    await p.deliver()
    await endorse(p, "Amira", "2", "Say the fees were never explained", "1")
    await endorse(p, "Ceri", "3", FLAGGED, "2")
    assert [i.kind for i in await p.store.attention_list()] == ["distress"]

    (tmp_path / "v2.md").write_text(V2, encoding="utf-8")
    f2 = await publish(p.store, tmp_path / "v2.md", replaces="F1", actor="sam",
                       now=p.clock.now())
    revision = await p.rounds.build(flow="endorsement", audience=f"commented:{f2.id}",
                                    finding=f2.id)
    await p.rounds.create(revision, "sam")
    await p.rounds.start(revision.id, "sam")
    p.log.clear()
    await p.work.due(p.clock.now())
    await p.deliver()
    ceri = [d.text for d in p.log if d.who == "Ceri"]
    amira = next(d.text for d in p.log if d.who == "Amira")
    # a round's first message starts with how long it takes (bot/burden/invitation.py)
    assert amira.startswith('(About 2 minutes.) You said: "Say the fees were never explained"')
    assert ceri and ceri[0].startswith("(About 2 minutes.) Draft finding: Unexplained fees")
    assert not any("no way out" in text for text in ceri)
