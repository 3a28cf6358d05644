"""WhatsAppTransport against the fake Twilio taught WhatsApp's rules, through the real
twilio client: the 24-hour window, Content templates, native choices, fallback, hold."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels.whatsapp_transport import WhatsAppTransport, release_held
from bot.config import Config
from bot.errors import Rejected, Unreachable
from bot.store.records import Address, Changes, InboxItem, OutboxItem, Participant
from bot.store.sqlite import SqliteStore
from tests.conftest import make_config
from tests.fakes.server import ServedApp
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from tests.fakes.twilio_whatsapp import FakeTwilioWhatsApp

TO = "whatsapp:+447700900301"
FROM = "+447700900555"
NOW = dt.datetime.now(dt.UTC)

pytestmark = pytest.mark.timeout(30)


def wa_config(base_url: str, **whatsapp: Any) -> Config:
    return make_config(server={"public_url": "https://parley.example"},
                       sms={"account_sid": DEFAULT_ACCOUNT_SID, "auth_token": DEFAULT_AUTH_TOKEN,
                            "api_base_url": base_url, "request_timeout": 0.5},
                       whatsapp={"from_number": FROM, **whatsapp})


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeTwilioWhatsApp, ServedApp]]:
    fake = FakeTwilioWhatsApp(hang_seconds=2.0)
    with fake.serve() as srv:
        fake.base_url = srv.base_url
        yield fake, srv


@pytest.fixture
def fake(served: tuple[FakeTwilioWhatsApp, ServedApp]) -> FakeTwilioWhatsApp:
    served[0].reset()
    return served[0]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "parley.db", fsync=False)  # transport tests: no disk waits
    await s.open()
    yield s
    await s.close()


async def transport_for(config: Config, store: SqliteStore) -> WhatsAppTransport:
    t = WhatsAppTransport(config, store=store)
    await t.start()
    return t


async def person(store: SqliteStore, *extra: tuple[str, str]) -> None:
    addresses = [Address(TO, "p1", "whatsapp", NOW)]
    addresses += [Address(a, "p1", ch, NOW) for a, ch in extra]  # type: ignore[arg-type]
    await store.import_participants([(Participant("p1", NOW, imported=True), addresses)])


async def wrote(store: SqliteStore, fake: FakeTwilioWhatsApp, hours_ago: float) -> None:
    """The person's last WhatsApp message, as both Parley's inbox and Twilio saw it."""
    at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)
    await store.inbox_put(InboxItem("whatsapp", f"SM{hours_ago}", TO, {"text": "hi"}, at))
    fake.note_inbound(TO, at)


async def queued(store: SqliteStore, payload: dict[str, Any]) -> OutboxItem:
    item = OutboxItem(participant_id="p1", address=TO, channel="whatsapp",
                      payload={"kind": "question", **payload}, created_at=NOW, not_before=NOW)
    await store.apply(Changes(outbox=[item]))
    return item


QUESTION = {"text": "Do you agree?", "plain": "Do you agree?\n1 Yes\n2 No",
            "flow_id": "consent", "node": "agree",
            "choices": [{"key": "1", "label": "Yes", "value": True, "token": "c.yes"},
                        {"key": "2", "label": "No", "value": False, "token": "c.no"}]}


async def test_inside_the_window_free_text_with_numbered_options(
        fake: FakeTwilioWhatsApp, store: SqliteStore,
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    await person(store)
    await wrote(store, fake, hours_ago=23)
    transport = await transport_for(wa_config(served[1].base_url), store)
    result = await transport.send(await queued(store, QUESTION))
    [sent] = fake.messages
    assert (sent["to"], sent["from"]) == (TO, f"whatsapp:{FROM}")
    assert sent["body"] == "Do you agree?\n1 Yes\n2 No"  # no template: numbered text
    assert sent["status_callback"] == "https://parley.example/whatsapp/status"
    assert result.provider_id == sent["sid"]
    await transport.stop()


async def test_choices_go_as_quick_reply_buttons_whose_ids_are_the_tokens(
        fake: FakeTwilioWhatsApp, store: SqliteStore,
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    buttons = fake.add_content("{{1}}", kind="twilio/quick-reply", approved=False, actions=[
        {"title": "{{2}}", "id": "{{3}}"}, {"title": "{{4}}", "id": "{{5}}"}])
    await person(store)
    await wrote(store, fake, hours_ago=1)
    config = wa_config(served[1].base_url, choice_templates={"quick_reply_2": buttons})
    transport = await transport_for(config, store)
    await transport.send(await queued(store, QUESTION))
    [sent] = fake.messages
    assert sent["params"]["ContentSid"] == buttons and sent["body"] == "Do you agree?"
    assert sent["params"]["actions"] == [{"title": "Yes", "id": "c.yes"},
                                         {"title": "No", "id": "c.no"}]
    await transport.stop()


async def test_outside_the_window_the_configured_template_goes_with_variables(
        fake: FakeTwilioWhatsApp, store: SqliteStore,
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    invite = fake.add_content("Hello from {{1}}. {{2}}")
    await person(store)
    await wrote(store, fake, hours_ago=25)  # a day and an hour ago: closed
    config = wa_config(served[1].base_url, templates={"consent.invite": invite})
    transport = await transport_for(config, store)
    await transport.send(await queued(store, QUESTION))
    [sent] = fake.messages
    assert sent["params"]["ContentSid"] == invite
    assert json.loads(sent["params"]["ContentVariables"]) == {
        "1": "Money Voices", "2": "Do you agree?\n1 Yes\n2 No"}
    assert sent["body"] == "Hello from Money Voices. Do you agree?\n1 Yes\n2 No"
    await transport.stop()


async def test_twilio_saying_63016_turns_a_free_form_message_into_its_template(
        fake: FakeTwilioWhatsApp, store: SqliteStore,
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    invite = fake.add_content("{{2}}")
    await person(store)
    await store.inbox_put(InboxItem("whatsapp", "SMx", TO, {"text": "hi"},
                                    dt.datetime.now(dt.UTC)))  # Parley thinks: open
    config = wa_config(served[1].base_url, templates={"consent.agree": invite})
    transport = await transport_for(config, store)  # Twilio never saw it: closed
    await transport.send(await queued(store, QUESTION))
    [refused, sent] = fake.calls
    assert "Body" in refused[1] and sent[1]["ContentSid"] == invite
    assert [m["body"] for m in fake.messages] == ["Do you agree?\n1 Yes\n2 No"]
    await transport.stop()


async def test_no_template_falls_back_to_another_address_and_says_so(
        fake: FakeTwilioWhatsApp, store: SqliteStore,
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    await person(store, ("tel:+447700900301", "sms"))
    transport = await transport_for(wa_config(served[1].base_url), store)
    item = await queued(store, QUESTION)
    with pytest.raises(Rejected, match=r"no template .*consent.agree.*: sent by sms instead"):
        await transport.send(item)
    assert fake.messages == []  # nothing refused by WhatsApp: it never went
    copies = [o for o in await store.outbox_all() if o.channel == "sms"]
    assert [(o.address, o.payload["plain"]) for o in copies] == [
        ("tel:+447700900301", "Do you agree?\n1 Yes\n2 No")]
    await transport.stop()


async def test_nowhere_to_go_holds_the_message_until_the_person_writes(
        fake: FakeTwilioWhatsApp, store: SqliteStore,
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    await person(store)
    transport = await transport_for(wa_config(served[1].base_url), store)
    item = await queued(store, QUESTION)
    with pytest.raises(Rejected, match="held: outside WhatsApp's 24-hour window") as info:
        await transport.send(item)
    item.status, item.last_error = "failed", f"rejected: {info.value}"  # as the outbox does
    await store.outbox_update(item)
    assert fake.messages == []
    assert await release_held(store, TO, NOW) == 1
    [again] = await store.outbox_all(status="retry")
    assert again.id == item.id and again.next_attempt_at == NOW
    await wrote(store, fake, hours_ago=0)
    await transport.send(again)
    assert [m["body"] for m in fake.messages] == ["Do you agree?\n1 Yes\n2 No"]
    await transport.stop()


async def test_not_a_whatsapp_number_is_unreachable(
        fake: FakeTwilioWhatsApp, store: SqliteStore,
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    fake.not_on_whatsapp.add(TO)
    await person(store)
    await wrote(store, fake, hours_ago=0)
    transport = await transport_for(wa_config(served[1].base_url), store)
    with pytest.raises(Unreachable, match="63024"):
        await transport.send(await queued(store, QUESTION))
    await transport.stop()


async def test_the_goodbye_after_erasure_goes_although_its_inbox_rows_are_gone(
        fake: FakeTwilioWhatsApp, store: SqliteStore,
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    fake.note_inbound(TO)  # they just wrote DELETE; Parley erased the inbox rows since
    transport = await transport_for(wa_config(served[1].base_url), store)
    goodbye = OutboxItem(participant_id="", address=TO, channel="whatsapp",
                         payload={"text": "Deleted.", "plain": "Deleted.", "kind": "notice",
                                  "forget_after_send": True}, created_at=NOW, not_before=NOW)
    await store.apply(Changes(outbox=[goodbye]))
    await transport.send(goodbye)
    assert [m["body"] for m in fake.messages] == ["Deleted."]
    await transport.stop()


async def test_a_template_send_whose_answer_was_lost_is_found_not_sent_twice(
        fake: FakeTwilioWhatsApp, store: SqliteStore,
        served: tuple[FakeTwilioWhatsApp, ServedApp]) -> None:
    invite = fake.add_content("Hello from {{1}}. {{2}}")
    await person(store)
    config = wa_config(served[1].base_url, templates={"consent.invite": invite})
    transport = await transport_for(config, store)
    transport.ambiguous_grace = 0.05
    fake.fail_next(to=TO, kind="hang", hang_seconds=1.5)  # accepted, answer too late
    result = await transport.send(await queued(store, QUESTION))
    assert len(fake.messages) == 1  # looked up and found: not resent
    assert result.provider_id == fake.messages[0]["sid"]
    await transport.stop()
