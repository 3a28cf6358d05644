"""Credits: one completion earns once, caps, adjustments, payout batches and decliners."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from bot.credits.ledger import adjust, balance_of, balances, credits_text
from bot.credits.payouts import export, mark_paid
from bot.errors import ParleyError
from bot.store.sqlite import SqliteStore
from tests.rounds_support import Project, close_projects, open_project  # noqa: F401  (autouse)

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)


async def project(tmp_path: Path) -> Project:
    p = await open_project(tmp_path, T0, store=SqliteStore(tmp_path / "parley.db"))
    await p.person("Ann", "tel:+447700900001", payment_preference="bank")
    await p.person("Bob", "telegram:2002", payment_preference="voucher")
    await p.person("Dee", "tel:+447700900004", payment_preference="decline")
    return p


async def checkin(p: Project, who: str, answer: str = "7") -> None:
    await p.runtime.conversations.start_flow(p.pids[who], "checkin")
    await p.deliver()
    await p.say(who, answer)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


async def test_a_replayed_completion_earns_once(tmp_path: Path) -> None:
    p = await project(tmp_path)
    await checkin(p, "Ann")
    [entry] = await p.store.ledger()
    assert (entry.participant_id, entry.amount, entry.key) == ("p_ann", 500, entry.key)
    session = next(s for s in await p.store.sessions_of("p_ann") if s.flow_id == "checkin")
    person = await p.store.get_participant("p_ann")
    assert person is not None
    hooks = p.runtime.conversations.hooks
    from bot.store.records import Changes

    for _ in range(3):  # the same completion processed again (a retried message, a bug)
        changes = Changes()
        await hooks.flow_completed(changes, person, session, "completed", T0)  # type: ignore[union-attr]
        await p.store.apply(changes)
    again = Changes(ledger=[entry.__class__(participant_id="p_ann", at=T0, amount=500,
                                            key=entry.key)])
    await p.store.apply(again)  # even written directly, the key is refused quietly
    assert len(await p.store.ledger()) == 1
    assert await balance_of(p.store, "p_ann") == 5


async def test_no_reply_and_unconsented_completions_earn_nothing(tmp_path: Path) -> None:
    p = await project(tmp_path)
    await p.person("New", "tel:+447700900009", status="new")
    await p.runtime.conversations.start_flow(p.pids["Ann"], "ons4")
    await p.deliver()
    for _ in range(2):  # two no-reply timeouts end ONS4 with outcome no_reply
        p.clock.advance(dt.timedelta(days=2, hours=1))
        await p.work.due(p.clock.now())
    assert [s.status for s in await p.store.sessions_of("p_ann")] == ["completed"]
    assert await p.store.ledger() == []


async def test_monthly_cap(tmp_path: Path) -> None:
    p = await project(tmp_path)  # cap 40 a month, 5 a check-in
    for _ in range(9):
        await checkin(p, "Ann")
    entries = await p.store.ledger(participant_id="p_ann")
    assert [e.amount for e in entries] == [500] * 8 + [0]
    assert "monthly cap of 40 reached" in entries[-1].note
    p.clock.set(dt.datetime(2026, 4, 1, 12, tzinfo=UTC))  # a new month
    await checkin(p, "Ann")
    assert (await p.store.ledger(participant_id="p_ann"))[-1].amount == 500


async def test_ledger_totals_equal_the_payout_csv_and_a_second_export_pays_nothing(
        tmp_path: Path) -> None:
    p = await project(tmp_path)
    for who in ("Ann", "Bob", "Dee", "Ann"):
        await checkin(p, who)
    await adjust(p.store, "p_bob", "2.5", "travel to the workshop", "sam@example.org",
                 p.clock.now())
    with pytest.raises(ParleyError, match="--note"):
        await adjust(p.store, "p_bob", "1", " ", "sam@example.org", p.clock.now())
    p.clock.set(dt.datetime(2026, 4, 2, 9, tzinfo=UTC))
    await checkin(p, "Ann")  # April: not in the March payout

    out = tmp_path / "payout-2026-03.csv"
    result = await export(p.store, p.runtime.config, "2026-03", out, actor="sam",
                          now=p.clock.now())
    assert result.batch is not None
    paid = rows(out)
    assert [(r["participant_id"], r["credits"], r["payment_preference"]) for r in paid] == [
        ("p_ann", "10", "bank"), ("p_bob", "7.5", "voucher")]
    march_end = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    ledger_total = sum(e.amount for e in await p.store.ledger()
                       if e.payable and e.at < march_end)
    assert sum(Decimal(r["credits"]) for r in paid) * 100 == ledger_total == \
        result.batch.total == 1750
    assert [r["value"] for r in paid] == ["10.00", "7.50"]
    # the person who declined payment: in the participation record, not in the payout
    assert "p_dee" not in {r["participant_id"] for r in paid}
    assert result.participation_file is not None
    participation = {r["participant_id"]: r for r in rows(result.participation_file)}
    assert participation["p_dee"]["completions"] == "1"
    assert participation["p_dee"]["payable"] == "no"
    assert participation["p_ann"]["payable"] == "yes"

    second = await export(p.store, p.runtime.config, "2026-03", tmp_path / "again.csv",
                          actor="sam", now=p.clock.now())
    assert second.batch is None and not (tmp_path / "again.csv").exists()

    b = await balances(p.store)
    assert (b["p_ann"].earned, b["p_ann"].exported, b["p_ann"].owed) == (1500, 1000, 500)
    assert (b["p_dee"].earned, b["p_dee"].unpaid_participation) == (0, 500)
    await mark_paid(p.store, result.batch.id, actor="sam", now=p.clock.now())
    with pytest.raises(ParleyError, match="already marked paid"):
        await mark_paid(p.store, result.batch.id, actor="sam", now=p.clock.now())
    assert (await balances(p.store))["p_ann"].paid == 1000
    april = await export(p.store, p.runtime.config, "2026-04", tmp_path / "april.csv",
                         actor="sam", now=p.clock.now())
    assert [(r["participant_id"], r["credits"]) for r in rows(tmp_path / "april.csv")] == [
        ("p_ann", "5")]
    assert april.batch is not None and april.batch.id == "B2026-04-1"
    actions = [e.action for e in await p.store.audit_log()]
    assert actions.count("credits.export") == 2 and "credits.mark_paid" in actions


async def test_negative_totals_are_carried_over(tmp_path: Path) -> None:
    p = await project(tmp_path)
    await checkin(p, "Ann")
    await adjust(p.store, "p_ann", "-8", "paid in cash at the workshop", "sam", p.clock.now())
    result = await export(p.store, p.runtime.config, "2026-03", tmp_path / "out.csv",
                          actor="sam", now=p.clock.now())
    assert result.batch is None and result.carried_over == 1


async def test_balance_keyword_reports_payable_credit(tmp_path: Path) -> None:
    p = await project(tmp_path)
    await checkin(p, "Ann")
    got = await p.say("Ann", "BALANCE")
    assert got[0].text == "You have earned 5 credits (£) so far."
    await checkin(p, "Dee")
    got = await p.say("Dee", "balance")
    assert got[0].text == "You have not earned any credits yet."
    assert credits_text(1250) == "12.5" and credits_text(-50) == "-0.5"
