"""Enrolling people: CSV import (all or nothing, exact lines), invites, privacy export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.errors import ImportRowError
from bot.ids import SequentialIds
from bot.people import build_people, mask_phone, new_invites, normalise_phone, read_csv
from bot.privacy import export_participant
from bot.runtime import Runtime
from bot.simulator import SimulatedPhone
from tests.cli_inprocess import Ran, run_cli
from tests.conftest import T0, make_config

HEADER = "name,phone,telegram_id,locale,timezone,cohort,tags\n"


def test_phone_numbers_are_normalised_to_e164() -> None:
    assert normalise_phone("07700 900123", "GB") == "+447700900123"
    assert normalise_phone("+44 (0)7700-900123", "GB") == "+447700900123"
    assert normalise_phone("0044 7700 900123", "GB") == "+447700900123"
    with pytest.raises(ValueError, match="not a possible number"):
        normalise_phone("12", "GB")
    with pytest.raises(ValueError, match="not a phone number"):
        normalise_phone("call me", "GB")


def test_masked_phone_keeps_people_apart_without_showing_the_number() -> None:
    assert mask_phone("tel:+447700900123") == "tel:+44•••••••123"
    assert mask_phone("telegram:42") == "telegram:42"


def test_csv_import_reports_every_bad_row_with_its_line() -> None:
    text = HEADER + ("Ann,07700 900123,,en,,north,renter;parent\n"
                     "Bad,12,,xx,Mars/Base,south,\n"
                     "Nobody,,,,,,\n"
                     "Dup,+447700900123,,,,,\n"
                     "Tg,,abc,,,,\n")
    with pytest.raises(ImportRowError) as info:
        build_people(read_csv(text, "p.csv"), make_config(), SequentialIds(), T0, "p.csv")
    got = [(p.line, p.message) for p in info.value.problems]
    assert got == [
        (3, "phone '12' is not a possible number for region GB"),
        (3, "locale 'xx' is not enabled (enabled: en, cy)"),
        (3, "timezone 'Mars/Base' is unknown (e.g. Europe/London)"),
        (4, "needs a phone, a telegram_id or a whatsapp number"),
        (5, "tel tel:+447700900123 also on line 2"),
        (6, "telegram_id 'abc' must be a number (the chat id)"),
    ]


def test_csv_with_a_wrong_header_is_refused_at_line_1() -> None:
    with pytest.raises(ImportRowError) as info:
        read_csv("nom,telephone\nA,1\n", "x.csv")
    assert info.value.problems[0].line == 1


async def test_import_is_all_or_nothing(runtime: Runtime) -> None:
    text = HEADER + "Ann,07700 900123,,en,,north,renter;parent\nBo,,77,cy,,north,\n"
    people = build_people(read_csv(text, "p.csv"), runtime.config, SequentialIds(), T0, "p.csv")
    await runtime.store.import_participants(people)
    listed = await runtime.store.list_participants()
    assert [(p.name, p.cohort, p.tags, p.locale, p.imported) for p in listed] == [
        ("Ann", "north", ("renter", "parent"), "en", True), ("Bo", "north", (), "cy", True)]
    again = build_people(read_csv(HEADER + "Cy,07700 900999,,,,,\nAnn,07700 900123,,,,,\n",
                                  "q.csv"), runtime.config, SequentialIds(), T0, "q.csv")
    from bot.errors import StoreError

    with pytest.raises(StoreError, match="already enrolled"):
        await runtime.store.import_participants(again)
    assert len(await runtime.store.list_participants()) == 2  # Cy was not half-imported


async def test_personal_invite_links_a_chat_to_the_imported_person(runtime: Runtime) -> None:
    people = build_people(read_csv(HEADER + "Ann,07700 900123,,en,,north,\n", "p.csv"),
                          runtime.config, SequentialIds(), T0, "p.csv")
    await runtime.store.import_participants(people)
    ann = people[0][0]
    (invite,) = new_invites(1, T0, cohort="north", participant_id=ann.id)
    await runtime.store.create_invites([invite])
    from bot.conversations import Inbound

    await runtime.conversations.handle(Inbound(
        channel="telegram", address="telegram:555", text=f"/start {invite.code}",
        invite=invite.code, received_at=T0))
    linked = await runtime.store.participant_for_address("telegram:555")
    assert linked is not None and linked.id == ann.id
    assert {a.address for a in await runtime.store.addresses_of(ann.id)} == {
        "tel:+447700900123", "telegram:555"}
    used = await runtime.store.get_invite(invite.code)
    assert used is not None and used.uses == 1


async def test_invite_mode_accepts_cohort_invites_only_once(clock: ManualClock) -> None:
    from bot.conversations import Inbound
    from bot.runtime import open_runtime
    from bot.store.scratch import ScratchStore

    rt = await open_runtime(make_config(enrolment={"mode": "invite"}), store=ScratchStore(),
                            clock=clock)
    (invite,) = new_invites(1, T0, cohort="west")
    await rt.store.create_invites([invite])
    for chat in ("telegram:1", "telegram:2"):
        await rt.conversations.handle(Inbound(channel="telegram", address=chat,
                                              text="/start", invite=invite.code,
                                              received_at=T0))
    first = await rt.store.participant_for_address("telegram:1")
    assert first is not None and first.cohort == "west"
    assert await rt.store.participant_for_address("telegram:2") is None
    await rt.close()


async def test_privacy_export_shows_what_is_held(runtime: Runtime) -> None:
    phone = SimulatedPhone(runtime, "tel:+447700900123")
    for text in ["Hi", "1", "yes", "Jo", "1", "2", "3"]:
        await phone.say(text)
    p = await runtime.store.participant_for_address("tel:+447700900123")
    assert p is not None
    data = await export_participant(runtime.store, p.id)
    assert data["participant"]["profile"]["preferred_name"] == "Jo"
    assert data["consents"][0]["decision"] == "given"
    assert {"field": "participant.preferred_name", "as_written": "Jo"}.items() <= \
        data["answers"][0].items()
    json.dumps(data)  # serialisable as the /mydata file


@pytest.mark.timeout(60)
def test_cli_import_list_export(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/p.db"\n[project]\nlocales = ["en", "cy"]\n')
    (tmp_path / "people.csv").write_text(HEADER + "Ann,07700 900123,,en,,north,a;b\n"
                                         "Bad,12,,,,,\n")
    def run(*args: str) -> Ran:
        return run_cli("participants", *args, "--config", tmp_path / "config.toml",
                       cwd=tmp_path)

    bad = run("import", str(tmp_path / "people.csv"))
    assert bad.returncode != 0
    assert "people.csv:3: phone '12' is not a possible number" in bad.stderr
    assert "Traceback" not in bad.stderr
    (tmp_path / "people.csv").write_text(HEADER + "Ann,07700 900123,,en,,north,a;b\n")
    assert run("import", str(tmp_path / "people.csv")).returncode == 0
    listed = run("list", "--json")
    row = json.loads(listed.stdout.splitlines()[0])
    assert row["addresses"] == ["tel:+44•••••••123"] and row["tags"] == ["a", "b"]
    exported = json.loads(run("export", row["id"]).stdout)
    assert exported["addresses"][0]["address"] == "tel:+447700900123"
    assert run("erase", row["id"], "--yes").returncode == 0
    assert run("list", "--json").stdout.strip() == ""


def test_csv_whatsapp_column_makes_whatsapp_addresses() -> None:
    header = "name,phone,telegram_id,whatsapp,locale,timezone,cohort,tags\n"
    text = header + ("Wyn,,,07700 900124,,,,\n"
                     "Both,07700 900125,,07700 900125,,,,\n")
    people = build_people(read_csv(text, "w.csv"), make_config(), SequentialIds(), T0, "w.csv")
    (wyn, [only]), (both, addresses) = people
    assert (only.address, only.channel) == ("whatsapp:+447700900124", "whatsapp")
    assert wyn.preferred_channel == "whatsapp" and both.preferred_channel is None
    assert [a.address for a in addresses] == ["tel:+447700900125", "whatsapp:+447700900125"]
    with pytest.raises(ImportRowError) as info:
        build_people(read_csv(header + "Bad,,,12,,,,\n", "b.csv"), make_config(),
                     SequentialIds(), T0, "b.csv")
    assert [(p.line, p.message) for p in info.value.problems] == [
        (2, "whatsapp: phone '12' is not a possible number for region GB")]
    assert mask_phone("whatsapp:+447700900124") == "whatsapp:+44•••••••124"
