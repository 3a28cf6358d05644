"""Burden limits: PAUSE/RESUME (kept across a restart), ``[burden]`` limits over a
three-round schedule (left out, delayed, shown in the dry run), and the "(About N
minutes.)" every round's first message carries."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.burden.estimate import messages, minutes
from bot.config import Config, load_config
from bot.engine.keywords import arguments, classify
from bot.errors import ConfigError
from bot.flows.loader import FlowLibrary
from bot.i18n.renderer import Renderer
from bot.rounds.burden_limits import describe
from bot.service import ParleyService
from bot.store.dashboard import Coordinator
from bot.store.sqlite import SqliteStore
from bot.text.render import sms_bodies
from bot.web.app import create_app
from bot.web.dashboard.auth import hash_password
from tests.conftest import PROJECT, ROOT
from tests.rounds_support import OPENED, Project, close_projects, open_project  # noqa: F401
from tests.test_dashboard import EMAIL, PASSWORD, login

UTC = dt.UTC
MON = dt.datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("text,word,args", [
    ("PAUSE", "pause", ()), ("pause 2", "pause", ("2",)), ("Pause 3 weeks", "pause", ("3",)),
    ("saib 2", "pause", ("2",)), ("RESUME", "resume", ()), ("resume.", "resume", ()),
    ("pause for thought", None, ()), ("I want to pause 2", None, ()),
])
def test_pause_words_and_their_weeks(text: str, word: str | None,
                                     args: tuple[str, ...]) -> None:
    assert classify(text) == word
    if word is not None:
        assert arguments(text, word) == args  # type: ignore[arg-type]


async def checkin_round(p: Project, start: str | None = None, flow: str = "checkin",
                        audience: str = "all") -> str:
    item = await p.rounds.build(flow=flow, audience=audience, start=start, close_after="7d")
    await p.rounds.create(item, "test")
    await p.rounds.start(item.id, "test")
    return item.id


async def test_pause_holds_rounds_across_a_restart_and_resume_lets_them_through(
        tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    p = await open_project(tmp_path / "before", MON, store=SqliteStore(db))
    await p.person("Ann", "tel:+447700900001")
    await p.person("Bob", "telegram:2002")
    got = await p.say("Ann", "PAUSE 2")
    assert [m.text for m in got] == [
        "Paused for 2 weeks: no new questions from us until 16/03/2026. "
        "Reply RESUME to start again sooner."]
    await p.say("Bob", "pause 3")
    await OPENED.pop().close()  # the process stops; only the SQLite file remains

    p = await open_project(tmp_path / "after", MON + dt.timedelta(hours=1),
                           store=SqliteStore(db))
    p.pids.update(Ann="p_ann", Bob="p_bob")
    from bot.simulator import SimulatedPhone
    p.phones = {"Ann": SimulatedPhone(p.runtime, "tel:+447700900001"),
                "Bob": SimulatedPhone(p.runtime, "telegram:2002")}
    rid = await checkin_round(p)
    preview = await p.rounds.preview(await p.rounds.get(rid))
    assert sorted(pid for pid, _ in preview.burden.paused) == ["p_ann", "p_bob"]
    await p.run_until(MON + dt.timedelta(days=3))
    assert p.log == []  # nobody paused was asked anything
    await p.say("Bob", "RESUME")
    assert p.log[-1].text == "Welcome back. You'll get our next questions as usual."
    await p.run_until(MON + dt.timedelta(days=15))
    lines = [d.line() for d in p.log if d.kind == "question"]
    # Bob within the 6-hour re-check after RESUME; Ann the morning her pause ended
    assert lines == ["2026-03-05 10:30Z Bob question", "2026-03-16 09:30Z Ann question"]
    target = await p.store.target_get(rid, "p_ann")
    assert target is not None and target.status == "sent"
    again = await p.say("Ann", "resume")
    assert again[0].text.startswith("You are not paused")


async def test_three_rounds_within_the_limits(tmp_path: Path) -> None:
    """max 6 messages a week and 2 rounds in 30 days. Round 1 (checkin, 2 messages)
    reaches Ann on Monday; round 2 (ons4, 6 messages) two days later would make 8 in a
    week, so it waits until round 1's messages are a week old; round 3 (checkin, day
    20) would be her third round within 30 days, so she is left out of it. Bob, who
    joined after round 2, gets round 3."""
    p = await open_project(tmp_path, MON, burden={"max_messages_per_week": 6,
                                                  "max_rounds_per_month": 2})
    await p.person("Ann", "tel:+447700900001")

    async def answer(proj: Project, who: str, got: list) -> None:  # type: ignore[type-arg]
        if any(m.payload.get("kind") == "question" for m in got):
            proj.reply_at(proj.clock.now() + dt.timedelta(minutes=30), who, "7")

    await checkin_round(p, "2026-03-02T10:00")
    await p.run_until(dt.datetime(2026, 3, 4, 10, tzinfo=UTC), answer)
    second = await p.rounds.build(flow="ons4", audience="all", close_after="7d")
    dry = await p.rounds.preview(second)
    assert [(pid, f"{at:%d %H:%M}") for pid, at in dry.burden.delayed] == [("p_ann",
                                                                           "09 10:30")]
    await p.rounds.create(second, "test")
    await p.rounds.start(second.id, "test")
    await p.run_until(dt.datetime(2026, 3, 21, 12, tzinfo=UTC), answer)
    await p.person("Bob", "telegram:2002")
    third = await p.rounds.build(flow="checkin", audience="all", close_after="7d")
    dry = await p.rounds.preview(third)
    assert dry.burden.left_out == ["p_ann"]
    assert {t.participant_id: t.status for t in dry.targets} == {"p_ann": "skipped",
                                                                 "p_bob": "planned"}
    assert any("Left out" in line and "p_ann" in line for line in describe(dry.burden,
                                                                          p.runtime.config))
    await p.rounds.create(third, "test")
    async with dashboard(p) as client:
        page = (await client.get(f"/admin/rounds/{third.id}")).text
        assert "Left out (already 2 round(s) within 30 days" in page and "p_ann" in page
        await p.rounds.start(third.id, "test")
        page = (await client.get(f"/admin/rounds/{third.id}")).text
        assert "Burden limits: 1 left out (max rounds a month), 0 delayed" in page
    await p.run_until(dt.datetime(2026, 3, 28, tzinfo=UTC), answer)

    firsts = [d.line() for d in p.log if d.text.startswith("(About")]
    assert firsts == ["2026-03-02 10:00Z Ann question",   # round 1
                      "2026-03-09 10:30Z Ann info",       # round 2, a week after round 1
                      "2026-03-21 12:00Z Bob question"]   # round 3: Bob only
    week = [d for d in p.log if d.who == "Ann" and d.kind != "end"]
    for d in week:  # no 7 days hold more than 6 messages to Ann
        window = [e for e in p.log if e.who == "Ann" and d.at - dt.timedelta(days=7) < e.at
                  <= d.at]
        assert len(window) <= 6, d.line()
    status = await p.rounds.status(third.id)
    assert status["targeted"] == 2 and status["sent"] == 1


@contextlib.asynccontextmanager
async def dashboard(p: Project) -> AsyncIterator[httpx.AsyncClient]:
    """The coordinator dashboard of the project, logged in."""
    await p.store.save_coordinator(Coordinator(EMAIL, hash_password(PASSWORD), MON))
    app = create_app(ParleyService(p.runtime), manage_lifecycle=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://parley.test") as client:
        assert (await login(client)).status_code in (302, 303)
        yield client


def test_invitation_minutes_come_from_the_flow(library: FlowLibrary,
                                               renderer: Renderer) -> None:
    found = {f: minutes(library.get(f), renderer, "en", PROJECT) for f in
             ("ons4", "cfpb_fwb5", "ons_loneliness", "feedback")}
    assert found == {"ons4": 2, "cfpb_fwb5": 3, "ons_loneliness": 2, "feedback": 2}
    assert messages(library.get("ons4")) == 6  # intro, four questions, thanks
    # a text answer takes longer than a tap
    longer = minutes(library.get("feedback"), renderer, "en", PROJECT)
    assert longer >= minutes(library.get("ons_loneliness"), renderer, "en", PROJECT)


SAMPLE = {"title": "Housing workshop", "when": "Tue 10 Mar, 18:00", "place": "Town hall",
          "position": 12, "reward": "12.5 credits and 2.5 hours", "hours": "12.5",
          "available": "10.5", "code": "SWIM", "cost": "1.5", "example": "SWIM",
          "lines": "1 SWIM: Swimming session, 1h\n2 BUS: Bus pass day, 2h",
          "reason": "the pool is closed this month", "balance": 120, "credit_unit": "£",
          "held": "2", "weeks": 12, "until": "16/03/2026", "minutes": 12, "seat": "waiting"}


@pytest.mark.parametrize("locale", ["en", "cy"])
@pytest.mark.parametrize("family", ["burden", "timebank", "events"])
def test_care_messages_fit_one_gsm7_sms(renderer: Renderer, locale: str,
                                        family: str) -> None:
    """PAUSE, time-bank and event messages: one GSM-7 segment, Welsh draft included."""
    import tomllib

    keys = tomllib.loads((ROOT / "templates" / locale / f"{family}.toml").read_text(
        encoding="utf-8"))
    for key in keys:
        text = renderer.render(f"{family}.{key}", locale, {"project": PROJECT, **SAMPLE})
        bodies = sms_bodies({"plain": text})
        assert [(b.encoding, b.segments) for b in bodies] == [("GSM-7", 1)], (key, text)


def test_burden_config_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[burden]\nmax_messages_per_week = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(caught.value).startswith(f"{config}:2: [burden] max_messages_per_week:")
    assert Config.model_validate({"burden": {"max_rounds_per_month": 2}}).burden \
        .max_messages_per_week is None


async def test_a_test_send_shows_the_duration_as_people_will_see_it(tmp_path: Path) -> None:
    p = await open_project(tmp_path, MON, coordinators={"phones": ["+447700900999"],
                                                        "telegram_ids": [4242]})
    item = await p.rounds.build(flow="ons4", audience="all", label="baseline")
    await p.rounds.create(item, "coord")
    assert sorted(await p.rounds.test_send(item.id, "coord")) == ["tel:+447700900999",
                                                                  "telegram:4242"]
    sent = {(o.address, o.payload["plain"].split(" Next")[0]) for o in await p.store.outbox_all()
            if o.payload["plain"].startswith("(About")}
    assert sent == {("tel:+447700900999", "(About 2 minutes.)"),
                    ("telegram:4242", "(About 2 minutes.)")}
