"""Representativeness on several dimensions: shares against targets per dimension
(config and dashboard), and the dry run's warning when a round would widen a gap."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.representation import dimension_rows, gap_warnings
from bot.store.base import Store
from bot.store.records import Changes
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401
from tests.test_burden import dashboard
from tests.test_dashboard import csrf_of
from tests.test_store_contract import store as store  # the parametrised fixture

UTC = dt.UTC
START = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
TARGETS = {"age_band": {"18-34": 50, "35+": 50}}


async def seeded(tmp_path: Path) -> Project:
    """Four in the north (35+), four in the south (18-34); after one round, every
    northerner has answered but only one southerner."""
    p = await open_project(tmp_path, START, representation={"targets": TARGETS})
    for i in range(8):
        north = i < 4
        pid = await p.person(f"P{i}", f"tel:+4477009000{i + 10}",
                             age_band="35+" if north else "18-34")
        person = await p.store.get_participant(pid)
        assert person is not None
        person.cohort = "north" if north else "south"
        await p.store.apply(Changes(participant=person))
    await p.store.set_cohort_targets({"north": 50.0, "south": 50.0})
    answering = {f"P{i}" for i in range(5)}

    async def script(proj: Project, who: str, got: list) -> None:  # type: ignore[type-arg]
        if who in answering and any(m.payload.get("kind") == "question" for m in got):
            proj.reply_at(proj.clock.now() + dt.timedelta(minutes=5), who, "7")

    item = await p.rounds.build(flow="checkin", audience="all", close_after="2d")
    await p.rounds.create(item, "coord")
    await p.rounds.start(item.id, "coord")
    await p.run_until(START + dt.timedelta(days=3), script)
    return p


async def test_shares_per_dimension_and_the_dry_run_warning(tmp_path: Path) -> None:
    p = await seeded(tmp_path)
    rows = await dimension_rows(p.store, p.runtime.config, await p.store.rounds_all())
    assert set(rows) == {"cohort", "age_band"}
    south = next(r for r in rows["cohort"] if r.cohort == "south")
    assert (south.enrolled, south.targeted, south.responded, south.target) == (4, 4, 1, 50.0)

    northern = await p.rounds.build(flow="checkin", audience="cohort:north")
    preview = await p.rounds.preview(northern)
    assert preview.gaps == [
        "cohort 'north' is over target (80% of responders, target 50%) and this round "
        "would likely bring 100%: it would widen the gap.",
        "cohort 'south' is under target (20% of responders, target 50%) and this round "
        "would likely bring 0%: it would widen the gap.",
        "age_band '18-34' is under target (20% of responders, target 50%) and this round "
        "would likely bring 0%: it would widen the gap.",
        "age_band '35+' is over target (80% of responders, target 50%) and this round "
        "would likely bring 100%: it would widen the gap."]
    southern = await p.rounds.build(flow="checkin", audience="cohort:south")
    assert (await p.rounds.preview(southern)).gaps == []  # it narrows the gap
    await p.rounds.create(northern, "coord")
    async with dashboard(p) as client:
        page = (await client.get("/admin/representation")).text
        assert page.count('data-verdict="under"') == 2 and page.count('data-verdict="over"') == 2
        assert 'id="rep-age_band"' in page
        shown = (await client.get(f"/admin/rounds/{northern.id}")).text
        assert "Warning: cohort &#39;south&#39; is under target" in shown


def test_no_warning_without_responders_or_targets() -> None:
    assert gap_warnings({"cohort": []}, [], 5.0) == []


async def test_targets_set_on_the_dashboard_override_the_config(tmp_path: Path) -> None:
    p = await seeded(tmp_path)
    async with dashboard(p) as client:
        token = csrf_of((await client.get("/admin/representation")).text)
        saved = await client.post("/admin/representation/targets", data={
            "csrf": token, "dimension": "age_band", "targets": "18-34 = 70\n35+ = 30\n"})
        assert saved.status_code == 303
        bad = await client.post("/admin/representation/targets", data={
            "csrf": token, "dimension": "age_band", "targets": "18-34 = lots"})
        assert bad.status_code == 400 and "line 1: write &#39;value = percent&#39;" in bad.text
        await client.post("/admin/representation/targets", data={
            "csrf": token, "dimension": "locale", "targets": "en = 80\ncy = 20"})
        page = (await client.get("/admin/representation")).text
    assert 'id="rep-locale"' in page
    rows = await dimension_rows(p.store, p.runtime.config, await p.store.rounds_all())
    assert {r.cohort: r.target for r in rows["age_band"]} == {"18-34": 70.0, "35+": 30.0}
    assert {r.cohort: r.target for r in rows["locale"]} == {"cy": 20.0, "en": 80.0}


async def test_representation_targets_store_contract(store: Store) -> None:
    assert await store.representation_targets() == {}
    await store.set_representation_targets("age_band", {"18-34": 40, "35+": 60})
    await store.set_representation_targets("region", {"Wales": 100})
    await store.set_representation_targets("region", {})
    assert await store.representation_targets() == {"age_band": {"18-34": 40.0,
                                                                 "35+": 60.0}}
