"""Issue #11, rounds and content: every message a round causes is counted, one nudge
not two, and no message silently dropped for a template problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from bot.clock import ManualClock
from bot.engine import StepContext, begin, step
from bot.engine.events import FlowErrored
from bot.engine.io import Reply
from bot.errors import FlowError
from bot.flow_errors import log_flow_errors
from bot.flows.loader import FlowLibrary, parse_flow_source
from bot.i18n.renderer import Renderer
from bot.rounds.status import round_status
from bot.store.records import Changes, EventRow
from tests.conftest import T0, make_config
from tests.rounds_support import close_projects, open_project  # noqa: F401 (fixture)

pytestmark = [pytest.mark.timeout(40),
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


# -- defect 8: a template using an undefined name was accepted, then silently not sent -----
AGE_FLOW = """\
schema_version = 1
id = "age"
title = "Age"
start = "born"

[nodes.born]
type = "ask"
text = "age.born"
answer = { kind = "number" }
save_as = "age"
next = "check"

[nodes.check]
type = "ask"
text = "age.check"
answer = { kind = "text", max_length = 40 }
next = "done"

[nodes.done]
type = "end"
"""


def age_project(tmp_path: Path, check: str) -> tuple[Path, Path]:
    flows, templates = tmp_path / "flows", tmp_path / "templates"
    flows.mkdir(parents=True)
    (flows / "age.toml").write_text(AGE_FLOW)
    for locale, born in (("en", "How old are you?"), ("cy", "Faint yw eich oed?")):
        (templates / locale).mkdir(parents=True)
        (templates / locale / "age.toml").write_text(
            f'born = "{born}"\n\ncheck = "{check}"\n', encoding="utf-8")
    return flows, templates


def test_flows_validate_reports_an_undefined_name_at_its_file_and_line(
        tmp_path: Path) -> None:
    flows, templates = age_project(tmp_path, "So you are {{ age }}?")
    renderer = Renderer.from_dir(templates)
    with pytest.raises(FlowError) as caught:
        FlowLibrary.from_dir(flows, renderer, ["en", "cy"])
    lines = [str(p) for p in caught.value.problems]
    assert lines == [
        f"{templates}/en/age.toml:3: template 'age.check' (en, used by flow 'age' node "
        "'check'): 'age' is undefined; write fields.age",
        f"{templates}/cy/age.toml:3: template 'age.check' (cy, used by flow 'age' node "
        "'check'): 'age' is undefined; write fields.age"]
    fixed, templates_ok = age_project(tmp_path / "ok", "So you are {{ fields.age }}?")
    FlowLibrary.from_dir(fixed, Renderer.from_dir(templates_ok), ["en", "cy"])  # accepted
    typo, templates_typo = age_project(tmp_path / "typo", "{{ fields.agee }}?")
    with pytest.raises(FlowError, match="the flow saves no field 'agee'"):
        FlowLibrary.from_dir(typo, Renderer.from_dir(templates_typo), ["en"])


def test_a_render_failure_at_run_time_still_sends_a_fallback_and_is_recorded(
        caplog: pytest.LogCaptureFixture) -> None:
    renderer = Renderer({"en": {"age.born": "How old are you?",
                                "age.check": "So you are {{ fields.age }}?"},
                         "cy": {"age.born": "Faint yw eich oed?",
                                "age.check": "Felly rydych chi'n {{ age }}?"}})
    flow = parse_flow_source(AGE_FLOW, "age.toml")  # parsed without template checks
    ctx = StepContext(renderer=renderer)
    started = begin(flow, session_id="s1", participant_id="p1", locale="cy", now=T0, ctx=ctx)
    result = step(flow, started.session, Reply("42"), T0, ctx)
    assert [o.text for o in result.outputs] == ["So you are 42?"]  # English, not nothing
    errors = [e for e in result.events if isinstance(e, FlowErrored)]
    assert errors, result.events
    assert errors[0].node == "check" and "'age' is undefined" in errors[0].message
    with caplog.at_level("WARNING", logger="parley.flows"):
        assert log_flow_errors(flow.id, result.events) == len(errors)
    assert "flow age, node check" in caplog.text
    english_only = Renderer({"en": {"x.q": "Hello {{ name }}, how are you?"}})
    assert english_only.render_fallback("x.q", "en", {}) == "Hello , how are you?"

# -- defect 6: a round was blind to the introductions and consent it caused ----------------
async def test_a_round_counts_the_introduction_and_consent_it_caused(tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    await p.person("Dai", "tel:+447700900009", status="new")
    await p.person("Ann", "tel:+447700900001")
    item = await p.rounds.build(flow="checkin", audience="all")
    await p.rounds.create(item, "test")
    await p.rounds.start(item.id, "test")
    await p.work.due(p.clock.now())
    await p.deliver()
    status = await round_status(p.store, item)
    dai = [o for o in await p.store.outbox_all() if o.address == "tel:+447700900009"]
    assert len(dai) >= 2 and {o.round_id for o in dai} == {item.id}  # intro + consent
    assert status["sent"] == 2  # both people, not only Ann
    assert status["messages"] == {"queued": len(dai) + 1, "sent": len(dai) + 1,
                                  "delivered": 0, "ambiguous": 0, "resent": 0, "failed": 0}
    await p.say("Dai", "yes")
    for answer in ["Dai", "1", "2", "1"]:  # onboarding, then the round's flow
        await p.say("Dai", answer)
    everything = await p.store.outbox_all()
    assert {o.round_id for o in everything} == {item.id}  # each one caused by the round
    status = await round_status(p.store, item)
    assert status["messages"]["queued"] == len(everything)
    assert status["messages"]["sent"] == sum(o.status == "sent" for o in everything)
    [first] = [o for o in everything if o.address == "tel:+447700900001"][:1]
    first.status, first.last_error = "ambiguous", "timed out"
    await p.store.outbox_update(first)
    assert first.id is not None and await p.store.outbox_resend_add(first.id, p.clock.now())
    status = await round_status(p.store, item)
    assert (status["messages"]["ambiguous"], status["messages"]["resent"]) == (2, 1)
    assert set(status) >= {"id", "flow", "label", "targeted", "sent", "delivered", "started",
                           "completed", "opted_out", "unreachable", "ambiguous",
                           "segments_estimated", "segments_sent", "by_channel"}


async def test_the_dry_run_estimate_includes_the_introduction_and_consent(
        tmp_path: Path) -> None:
    p = await open_project(tmp_path, dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    await p.person("Dai", "tel:+447700900009", status="new")
    await p.person("Ann", "tel:+447700900001")
    item = await p.rounds.build(flow="checkin", audience="all")
    preview = await p.rounds.preview(item)
    cost = {t.participant_id: t.segments_estimated for t in preview.targets}
    estimate = p.rounds.estimator(item)
    assert cost["p_ann"] == estimate.segments("en") == 2  # question and thanks
    assert estimate.first_contact("en") >= 2  # introduction, consent question, …
    assert cost["p_dai"] == cost["p_ann"] + estimate.first_contact("en")


# -- defect 7: a round reminder and the flow's own timeout both nudged --------------------
async def test_a_round_reminder_gives_way_to_the_flows_own_timeout(tmp_path: Path) -> None:
    start = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    p = await open_project(tmp_path, start)
    await p.person("Ann", "tel:+447700900001")
    item = await p.rounds.build(flow="ons4", audience="all", remind_after="2d")
    await p.rounds.create(item, "test")
    await p.rounds.start(item.id, "test")
    await p.run_until(start + dt.timedelta(days=3))  # the README's own example
    nudges = [d for d in p.log if "reminder" in d.text.lower()]
    # one nudge, the flow's own ("Just a gentle reminder: …"), not the round's as well
    assert [d.text[:22] for d in nudges] == ["Just a gentle reminder"]
    assert sum(r.skipped_reminders for r in p.reports) == 1
    assert make_config().schedule.nudge_merge_window == "6h"

async def test_the_dashboard_overview_shows_recent_render_failures() -> None:
    from tests.test_dashboard import build, login

    clock = ManualClock(T0)
    runtime, app = await build(clock)
    try:
        problem = "template 'age.check' (cy): 'age' is undefined"
        await runtime.store.apply(Changes(events=[
            EventRow("p1", "s1", "FlowErrored", {"node": "check", "message": problem}, T0),
            EventRow("p2", "s2", "FlowErrored", {"node": "check", "message": problem}, T0)]))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                     base_url="http://parley.test") as client:
            await login(client)
            page = (await client.get("/admin/")).text
            assert 'id="flow-problems"' in page and "(2×)" in page
            assert "&#39;age&#39; is undefined" in page or "'age' is undefined" in page
            clock.set(T0 + dt.timedelta(days=8))  # a week later the notice is gone
            assert 'id="flow-problems"' not in (await client.get("/admin/")).text
    finally:
        await runtime.close()
