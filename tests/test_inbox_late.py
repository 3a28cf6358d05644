"""A reply that comes after its round closed is kept (marked late) and waits in the
coordinators' inbox, so someone sees it; a reply in time does not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.rounds_support import Project, close_projects, open_project  # noqa: F401  (autouse)

T0 = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


async def test_late_reply_reaches_the_inbox(tmp_path: Path) -> None:
    p: Project = await open_project(tmp_path, T0)
    await p.person("Ann", "tel:+447700900501")
    await p.person("Bea", "tel:+447700900502")
    item = await p.rounds.build(flow="checkin", audience="all", close_after="1d")
    await p.rounds.create(item, "sam")
    await p.rounds.start(item.id, "sam")
    await p.work.due(p.clock.now())
    await p.deliver()
    await p.say("Bea", "8")  # in time
    p.clock.advance(dt.timedelta(days=2))
    await p.work.due(p.clock.now())  # the round closes for Ann
    await p.say("Ann", "6 - sorry, I was away")
    [late] = await p.store.attention_list()
    assert (late.kind, late.participant_id, late.text) == ("late", "p_ann",
                                                           "6 - sorry, I was away")
    [answer] = [a for a in await p.store.answers(participant_id="p_ann")]
    assert answer.late and answer.value == 6
