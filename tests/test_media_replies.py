"""Replies that are not text, through ``Conversations`` (in-process, scratch store, fixed
clock): what is an answer, what gets a kind reply, what is kept and exported; and how
rich channels fold several texts into one message while SMS keeps its parts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.conversations import Inbound
from bot.conversations.bundle import bundle
from bot.delivery.pacing import PerChat
from bot.privacy import export_participant
from bot.runtime import Runtime
from bot.simulator import enrolled_phone
from bot.store.records import InboxItem, OutboxItem

MMS = {"kind": "photo", "source": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/"
       "MM1/Media/ME1", "content_type": "image/jpeg"}


async def reply(runtime: Runtime, address: str, channel: str, media: list[dict[str, Any]],
                key: str) -> list[OutboxItem]:
    """Deliver one inbound message as the inbox would (stored first), return new rows."""
    store = runtime.store
    before = {o.id for o in await store.outbox_all()}
    item = InboxItem(channel, key, address, {"text": "", "kind": "media", "media": media},  # type: ignore[arg-type]
                     runtime.clock.now())
    await store.inbox_put(item)
    [stored] = [i for i in await store.inbox_pending() if i.dedupe_key == key]
    await runtime.conversations.handle(Inbound(
        channel=channel, address=address, received_at=runtime.clock.now(),  # type: ignore[arg-type]
        kind="media", media=tuple(media), inbox_id=stored.id))
    return [o for o in await store.outbox_all() if o.id not in before]


async def test_an_mms_photo_answers_a_free_text_question_and_is_exported(
        runtime: Runtime) -> None:
    _, pid = await enrolled_phone(runtime, "tel:+447700900501", name="Ann")
    await runtime.conversations.start_flow(pid, "feedback")
    await runtime.conversations.handle(Inbound("sms", "tel:+447700900501",
                                               runtime.clock.now(), text="2"))
    rows = await reply(runtime, "tel:+447700900501", "sms", [MMS], "MM-a")
    assert rows[-1].payload["text"].startswith("Would you take part in something")
    [answer] = [a for a in await runtime.store.answers(participant_id=pid)
                if a.field == "change"]
    assert (answer.value, answer.raw) == ("[photo]", "[photo]")
    [media] = await runtime.store.media_of(pid)
    assert (media.kind, media.source, media.status, media.node) == (
        "photo", MMS["source"], "pending", "change")
    export = await export_participant(runtime.store, pid)
    assert [(m["kind"], m["question"], m["status"]) for m in export["media"]] == [
        ("photo", "change", "pending")]


async def test_a_reprocessed_message_keeps_one_media_row(runtime: Runtime) -> None:
    _, pid = await enrolled_phone(runtime, "whatsapp:+447700900502", name="Bo")
    await runtime.conversations.start_flow(pid, "feedback")
    await runtime.conversations.handle(Inbound("whatsapp", "whatsapp:+447700900502",
                                               runtime.clock.now(), text="1"))
    where = {"kind": "location", "source": "geo:51.48,-3.18", "content_type": ""}
    await reply(runtime, "whatsapp:+447700900502", "whatsapp", [where], "SM-loc")
    [media] = await runtime.store.media_of(pid)
    assert (media.kind, media.status) == ("location", "kept")  # nothing to fetch
    assert await runtime.store.media_add(media) == media.id  # the same inbound again: once


async def test_a_voice_note_for_a_name_or_before_consent_is_not_kept(
        runtime: Runtime) -> None:
    voice = {"kind": "voice", "source": "AwACAgQ", "content_type": "audio/ogg"}
    rows = await reply(runtime, "telegram:6001", "telegram", [voice], "u1")  # a stranger
    assert [r.payload["text"] for r in rows][-1] == (
        "Sorry, I can only read text. Please reply in words.")
    p = await runtime.store.participant_for_address("telegram:6001")
    assert p is not None and await runtime.store.media_of(p.id) == []


def row(address: str, text: str, *, kind: str = "info", choices: list[Any] | None = None,
        channel: str = "telegram", **payload: Any) -> OutboxItem:
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    return OutboxItem("p1", address, channel, {"text": text, "plain": text, "kind": kind,  # type: ignore[arg-type]
                                               "choices": choices or [], **payload}, now, now)


def test_rich_channels_fold_texts_into_the_question_and_sms_keeps_its_parts() -> None:
    yes = [{"key": "1", "label": "Yes", "value": True, "token": "y"}]
    tg = [row("telegram:1", "Hello."), row("telegram:1", "We keep little."),
          row("telegram:1", "Agree?", kind="question", choices=yes, node="agree",
              flow_id="consent")]
    [one] = bundle(tg)
    assert one.payload["text"] == "Hello.\n\nWe keep little.\n\nAgree?"
    assert one.payload["choices"] == yes and one.payload["kind"] == "question"
    sms = [row("tel:+1", "Hello.", channel="sms"), row("tel:+1", "Agree?", channel="sms")]
    assert len(bundle(sms)) == 2
    long = [row("telegram:1", "x" * 3000), row("telegram:1", "y" * 2000)]
    assert len(bundle(long)) == 2  # would pass Telegram's 4096 characters
    ack = [row("telegram:1", "", kind="press_ack"), row("telegram:1", "Next?")]
    assert len(bundle(ack)) == 2  # an acknowledgement is never folded
    two_chats = [row("telegram:1", "Hi"), row("telegram:2", "Hi")]
    assert len(bundle(two_chats)) == 2


def test_a_chat_may_get_a_short_burst_then_the_per_chat_pace() -> None:
    now = [100.0]
    chats = PerChat(1, burst=3, clock=lambda: now[0])
    for _ in range(3):
        assert chats.ready("c")
        chats.record("c")
    assert not chats.ready("c")  # a fourth must wait
    assert chats.ready("other")
    now[0] += 1.0
    assert not chats.ready("c")
    now[0] += 2.1  # the window of 3 × 1 s has passed
    assert chats.ready("c")
    plain = PerChat(1, clock=lambda: now[0])  # burst 1: one a second, as before
    plain.record("c")
    assert not plain.ready("c")


async def test_media_with_nothing_asked_is_kept_for_the_team_and_a_caption_answers(
        runtime: Runtime) -> None:
    _, pid = await enrolled_phone(runtime, "whatsapp:+447700900503", name="Cy")
    rows = await reply(runtime, "whatsapp:+447700900503", "whatsapp", [MMS], "SM-idle")
    assert rows[-1].payload["text"] == "Thank you, we have kept your photo for the team to see."
    [kept] = await runtime.store.media_of(pid)
    assert (kept.kind, kept.session_id, kept.node) == ("photo", None, None)

    await runtime.conversations.start_flow(pid, "feedback")
    await runtime.conversations.handle(Inbound("whatsapp", "whatsapp:+447700900503",
                                               runtime.clock.now(), text="1"))
    caption = {**MMS, "source": MMS["source"] + "b"}
    await runtime.conversations.handle(Inbound(
        "whatsapp", "whatsapp:+447700900503", runtime.clock.now(),
        text="Fewer forms, like this one", media=(caption,), inbox_id=77))
    [answer] = [a for a in await runtime.store.answers(participant_id=pid)
                if a.field == "change"]
    assert answer.value == "Fewer forms, like this one"  # the words answer
    beside = [m for m in await runtime.store.media_of(pid) if m.node == "change"]
    assert [m.source for m in beside] == [caption["source"]]  # the photo is kept
