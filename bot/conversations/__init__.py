"""Conversations: the one place where an inbound message becomes stored facts and replies.

Every channel (Telegram, SMS, the console, the simulator) hands inbound messages to
``Conversations.handle``. It finds or enrols the participant, honours the global words
(STOP, START, HELP, DELETE, BALANCE, MENU), runs the pure engine, and commits the session
change, answers, events and outbox rows in one transaction. Channels never decide what
to say; they only carry it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.acks import ack_item
from bot.clock import Clock
from bot.config import Config
from bot.conversations import media_replies
from bot.conversations.bundle import bundle
from bot.conversations.safeguarding_notes import note
from bot.conversations.safeguarding_phrases import flagged_phrase
from bot.conversations.suggest_words import HANDLERS as WORD_HANDLERS
from bot.durations import parse_duration
from bot.engine import StepContext, StepResult, begin, step
from bot.engine import events as ev
from bot.engine.caches import StepCaches
from bot.engine.io import Expire, Input, Output, Press, Reply, TimerFired
from bot.engine.keywords import classify, prefixed
from bot.engine.many import is_tapped
from bot.engine.session import Session
from bot.engine.step import preview
from bot.flows.loader import FlowLibrary
from bot.flows.models import Flow
from bot.i18n.renderer import Renderer
from bot.ids import IdSource, RandomIds
from bot.keyed_lock import KeyedLock
from bot.privacy import export_participant
from bot.store.attention import AttentionKind
from bot.store.base import Store
from bot.store.records import (
    Address,
    AnswerRow,
    Changes,
    Channel,
    ConsentRecord,
    EventRow,
    Invite,
    OutboxItem,
    Participant,
    QueuedFlow,
    Timer,
)
from bot.taps import fold_taps

InboundKind = Literal["text", "press", "media", "group"]
DELETE_TOKEN, KEEP_TOKEN = "sys.delete", "sys.keep"
"""Button tokens of the DELETE confirmation (flow tokens never start with ``sys.``)."""
FILE_CHANNELS = frozenset({"telegram"})
"""Channels that can carry a file (the ``/mydata`` export)."""
PROFILE_FIELDS = {"preferred_name", "contact_time", "preferred_channel", "payment_preference"}


@dataclass(frozen=True)
class Inbound:
    """A message from a person, already authenticated and stored in the inbox."""

    channel: Channel
    address: str
    received_at: dt.datetime
    text: str = ""
    kind: InboundKind = "text"
    press: str | None = None
    """Button token (Telegram callback data without its prefix)."""
    invite: str | None = None
    """Invite code from a Telegram deep link (``/start <code>``)."""
    inbox_id: int | None = None
    ack: str | None = None
    """The provider's id for answering this input (Telegram's callback query id): every
    press is answered through the outbox (see ``bot.acks``)."""
    source_id: str | None = None
    """The provider's id of our message this input responds to (the pressed question)."""
    media: tuple[dict[str, Any], ...] = ()
    """Voice notes, photos, locations … the message carried (see ``media_replies``)."""


class ConversationHooks(Protocol):
    """What rounds, credits and chat-side coordinator commands add to conversations
    (``bot/rounds/hooks.py``). Each call gets the unit's ``Changes``, so what it writes
    commits with the session change that caused it, or not at all."""

    async def intercept(self, inbound: Inbound) -> bool:
        """Handle a coordinator's command; True when nothing else should happen."""

    async def flow_begun(self, changes: Changes, participant: Participant, session: Session,
                         now: dt.datetime) -> None:
        """A round's flow began for this person (directly or from their queue)."""

    async def flow_queued(self, changes: Changes, participant: Participant, flow_id: str,
                          round_id: str, outcome: str, now: dt.datetime) -> None:
        """A round's flow was queued (``queued``, ``introduced`` or ``unreachable``)."""

    async def answer_given(self, changes: Changes, participant: Participant,
                           session: Session, now: dt.datetime) -> bool:
        """A reply in a round's session; True when it came after the round closed."""

    async def flow_completed(self, changes: Changes, participant: Participant,
                             session: Session, outcome: str, now: dt.datetime) -> None:
        """Any flow reached an end node (credits are earned here)."""


EXPIRE_VAR = "_expire_after"
"""A session variable that lengthens its life beyond the flow's ``expire_after`` (a
round whose close comes later, so late answers can still be kept)."""


def expiry_of(flow: Flow, session: Session) -> dt.timedelta:
    longer = session.vars.get(EXPIRE_VAR)
    if not longer:
        return flow.expiry
    try:
        return max(flow.expiry, parse_duration(longer))
    except ValueError:
        return flow.expiry


def channel_of(address: str) -> Channel:
    if address.startswith("telegram:"):
        return "telegram"
    if address.startswith("tel:"):
        return "sms"
    if address.startswith("whatsapp:"):
        return "whatsapp"
    return "console"


@dataclass
class _Unit:
    """What one call accumulates before it commits."""

    participant: Participant
    address: Address | None
    now: dt.datetime
    changes: Changes = field(default_factory=Changes)
    sessions: dict[str, Session] = field(default_factory=dict)
    late: bool = False
    """The answers in this unit came after the round's close (kept, marked late)."""
    ack: OutboxItem | None = None
    """The answer to the button press being handled (``bot.acks``), if it was one."""
    distress: bool = False
    """A message in this unit matched a safeguarding phrase (``bot.safeguarding``)."""

    def reply(self, output: Output, session: Session | None = None) -> None:
        assert self.address is not None
        self.changes.outbox.append(OutboxItem(
            participant_id=self.participant.id, address=self.address.address,
            channel=self.address.channel, payload=payload_of(output, session),
            created_at=self.now, not_before=self.now,
            round_id=session.round_id if session else None,
        ))


def payload_of(output: Output, session: Session | None) -> dict[str, Any]:
    """The outbox form of an engine output: everything a channel needs to send it."""
    return {
        "text": output.text, "plain": output.plain, "kind": output.kind, "node": output.node,
        "layout": output.layout, "long_ok": output.long_ok,
        "choices": [{"key": c.key, "label": c.label, "value": c.value, "token": c.token}
                    for c in output.choices],
        "session_id": session.id if session else None,
        "flow_id": session.flow_id if session else None,
    }


class Conversations:
    """Turns inbound messages, timers and round starts into committed changes."""

    def __init__(
        self, *, store: Store, library: FlowLibrary, renderer: Renderer, config: Config,
        clock: Clock, ids: IdSource | None = None,
        balance_of: Callable[[str], Any] | None = None,
        hooks: ConversationHooks | None = None,
    ) -> None:
        self.store, self.library, self.renderer = store, library, renderer
        self.config, self.clock = config, clock
        self.ids = ids or RandomIds()
        self.balance_of = balance_of
        self.hooks = hooks
        self._locks = KeyedLock()
        self.step_caches = StepCaches()  # the engine's memo tables, for this runtime's life
        self.after_attention: Callable[[], Awaitable[object]] | None = None
        """Called after a unit that needs a person commits (``bot.safeguarding.desk``)."""

    # -- public entry points ------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> None:
        """Process one inbound message (idempotent per inbox row: done rows are skipped)."""
        async with self._locks.hold(inbound.address):
            if self.hooks is not None and await self.hooks.intercept(inbound):
                ack = ack_item(ack=inbound.ack, source_id=inbound.source_id,
                               participant_id="", address=inbound.address,
                               channel=inbound.channel, now=self.clock.now())
                if ack is not None:  # a coordinator's press: stop its spinner too
                    await self.store.apply(Changes(outbox=[ack]))
                return
            participant = await self.store.participant_for_address(inbound.address)
            if participant is not None:
                async with self._locks.hold(participant.id):
                    await self._handle(inbound, participant)
            else:
                await self._handle(inbound, None)

    async def start_flow(self, participant_id: str, flow_id: str,
                         vars: dict[str, str] | None = None, round_id: str | None = None,
                         address: str | None = None) -> str:
        """Begin ``flow_id`` for a participant now, or queue it behind their active
        session. Returns ``"started"``, ``"queued"``, ``"unreachable"`` or
        ``"introduced"``: someone who never consented (or whose consent text has since
        changed) gets the introduction and consent first, and the flow waits in their
        queue until they agree (DESIGN §2)."""
        async with self._locks.hold(participant_id):
            participant = await self.store.get_participant(participant_id)
            if participant is None or participant.status == "erased":
                return "unreachable"
            addr = await self._address_for(participant, address)
            unit = _Unit(participant, addr, self.clock.now())
            active = await self.store.active_session(participant_id)
            consent_first = self._consent_first(participant, flow_id)
            if active is not None or addr is None or consent_first:
                unit.changes.queue_push.append(QueuedFlow(
                    participant_id, flow_id, dict(vars or {}), unit.now, round_id))
                outcome = ("unreachable" if addr is None else "queued" if active is not None
                           else "introduced")
                if outcome == "introduced":
                    await self._introduce(unit)
                if round_id is not None and self.hooks is not None:
                    await self.hooks.flow_queued(unit.changes, participant, flow_id, round_id,
                                                 outcome, unit.now)
                await self._commit(unit)
                return outcome
            await self._begin(unit, flow_id, vars or {}, round_id)
            await self._commit(unit)
            return "started"

    def hold(self, participant_id: str) -> AbstractAsyncContextManager[None]:
        """The participant's lock, for work on their behalf outside a conversation (a
        round's scheduled steps), so it never interleaves with their own messages."""
        return self._locks.hold(participant_id)

    async def remind(self, participant_id: str, round_id: str,
                     mark: Callable[[Changes], None],
                     key: str = "system.round_reminder") -> bool:
        """Remind someone whose session of ``round_id`` waits for an answer, and ask the
        open question again; ``mark`` adds the round's bookkeeping to the same
        transaction. False, and nothing written, when there is no such session."""
        async with self._locks.hold(participant_id):
            participant = await self.store.get_participant(participant_id)
            session = await self.store.active_session(participant_id)
            if (participant is None or session is None or session.round_id != round_id
                    or session.status != "waiting"):
                return False
            addr = await self._address_for(participant, None)
            if addr is None:
                return False
            unit = _Unit(participant, addr, self.clock.now())
            text = self.renderer.render(key, participant.locale, self._data(participant))
            unit.reply(Output(text=text, plain=text, kind="notice"), session)
            unit.changes.outbox[-1].payload["kind"] = "reminder"
            await self._repeat_question(unit, await self._flow(session), session)
            mark(unit.changes)
            await self._commit(unit)
            return True

    async def fire_timer(self, timer: Timer) -> None:
        """A no-reply timeout or an expiry came due; stale timers change nothing."""
        async with self._locks.hold(timer.participant_id):
            participant = await self.store.get_participant(timer.participant_id)
            session = await self.store.get_session(timer.session_id)
            if participant is None or session is None:
                return
            addr = await self._address_for(participant, None)
            unit = _Unit(participant, addr, self.clock.now())
            unit.changes.timers_clear_session.append(session.id)
            flow = await self._flow(session)
            if timer.kind == "expiry":
                await self._step(unit, flow, session, Expire())
            else:
                await self._step(unit, flow, session, TimerFired(timer.node, timer.asked))
            await self._commit(unit)

    # -- the inbound path -----------------------------------------------------------------
    async def _handle(self, inbound: Inbound, participant: Participant | None) -> None:
        now = self.clock.now()
        word = classify(inbound.text) if inbound.kind == "text" else None
        address = await self.store.get_address(inbound.address)
        invite: Invite | None = None
        if participant is None and inbound.kind == "group":
            # a group chat is declined without enrolling it: nobody there has consented
            await self._reply_unknown(inbound, "system.group_not_supported", now)
            return
        if participant is None:
            invite = await self.store.get_invite(inbound.invite) if inbound.invite else None
            if invite is not None and invite.uses >= invite.max_uses:
                invite = None
            if invite is None and self.config.enrolment.mode == "invite" and word != "stop":
                await self._reply_unknown(inbound, "system.not_enrolled", now)
                return
            if invite is not None and invite.participant_id:
                # an imported person following their own link: this chat becomes theirs
                participant = await self.store.get_participant(invite.participant_id)
                if participant is not None and participant.status == "erased":
                    participant = None
            if participant is None:
                participant = Participant(id=self.ids.new("p"), created_at=now,
                                          locale=self.config.project.locales[0],
                                          cohort=invite.cohort if invite else None)
            address = Address(inbound.address, participant.id, inbound.channel, now)
        assert address is not None
        unit = _Unit(participant, address, now)
        unit.changes.participant = participant
        if invite is not None:  # counted in the same unit as the enrolment it makes
            unit.changes.invites_used.append(invite.code)
        if inbound.inbox_id is not None:
            unit.changes.inbox_done.append(inbound.inbox_id)
        unit.ack = ack_item(ack=inbound.ack, source_id=inbound.source_id,
                            participant_id=participant.id, address=address.address,
                            channel=address.channel, now=now)
        if unit.ack is not None:  # first, so the press is answered before any reply
            unit.changes.outbox.append(unit.ack)
        if address.opted_out and word not in ("start", "yes", "help", "delete"):
            await self._commit(unit)  # nothing is sent to an opted-out address
            return
        if inbound.kind == "group":
            self._system(unit, "system.group_not_supported")
        elif inbound.kind == "media":
            await media_replies.receive(self, unit, inbound)
        elif word is not None and word not in ("skip", "yes"):
            await self._keyword(unit, word, inbound)
        elif word == "yes" and address.opted_out:
            await self._keyword(unit, "start", inbound)
        elif inbound.press in (DELETE_TOKEN, KEEP_TOKEN):
            await self._delete_pressed(unit, inbound.press)
        elif participant.profile.get("delete_requested"):
            participant.profile.pop("delete_requested")
            self._system(unit, "system.delete_cancelled")
        else:
            await self._converse(unit, inbound)
        await self._commit(unit)

    async def _converse(self, unit: _Unit, inbound: Inbound) -> None:
        p = unit.participant
        if p.status == "declined":
            self._system(unit, "system.declined_reminder")
            return
        if inbound.kind == "text" and (said := prefixed(inbound.text)) is not None:
            self._word(unit, *said)  # SUGGEST … at any time, even mid-question
            if flagged_phrase(said[1], self.config.safeguarding.phrases) is not None:
                self._needs_person(unit, inbound.text, unprompted=True)  # signposted, flagged
            return
        session = await self.store.active_session(p.id)
        if session is not None:
            flow = await self._flow(session)
            if session.started_at + expiry_of(flow, session) <= unit.now:
                await self._step(unit, flow, session, Expire())
                self._system(unit, "system.expired")
                return
            if inbound.press:
                await self._press(unit, flow, session, inbound.press)
                return
            if inbound.media:  # a photo with a caption: the words answer, the photo kept
                await media_replies.keep(self, unit, inbound, session)
            await self._step(unit, flow, session, Reply(inbound.text))
            self._needs_person(unit, inbound.text)
            return
        if inbound.press:
            self._closed(unit)
            return
        if await self._continue_pathway(unit):
            return
        if await self._next_queued(unit):
            return
        if not self._needs_person(unit, inbound.text, unprompted=True):
            self._system(unit, "system.idle")

    async def _keyword(self, unit: _Unit, word: str, inbound: Inbound) -> None:
        p, address = unit.participant, unit.address
        assert address is not None
        provider_replied = (address.channel == "sms"
                            and self.config.sms.provider_handles_opt_out
                            and word in ("stop", "start", "help"))
        self._event(unit, "KeywordReceived", {"word": word, "address_channel": address.channel})
        if word == "stop":
            address.opted_out, address.opted_out_at = True, unit.now
            unit.changes.addresses.append(address)
            if not provider_replied:
                self._system(unit, "system.stopped", kind="stop_ack")
        elif word == "start":
            was_out = address.opted_out
            address.opted_out, address.opted_out_at = False, None
            unit.changes.addresses.append(address)
            session = await self.store.active_session(p.id)
            if p.status == "declined":
                p.status = "new"
                await self._begin(unit, "consent", {}, None)
            elif session is not None and session.status == "waiting":
                if not provider_replied:
                    self._system(unit, "system.restarted")
                flow = await self._flow(session)
                await self._repeat_question(unit, flow, session)
            elif not was_out and not p.pathway_done:
                await self._converse(unit, inbound)
            elif not provider_replied:
                self._system(unit, "system.restarted_idle")
        elif word == "help":
            note(unit.changes, p.id, address.channel, "help", inbound.text, unit.now)
            if not provider_replied:
                self._system(unit, "system.help")
        elif word == "menu":
            self._system(unit, "system.menu")
        elif word == "balance":
            balance = self.balance_of(p.id) if self.balance_of else 0
            if asyncio.iscoroutine(balance):
                balance = await balance
            if balance:
                self._system(unit, "system.balance", balance=balance,
                             credit_unit=self.config.credits.unit)
            else:
                self._system(unit, "system.balance_none")
        elif word == "delete":
            if p.profile.get("delete_requested"):
                await self._erase(unit)
            else:
                p.profile["delete_requested"] = unit.now.isoformat()
                self._system(unit, "system.delete_confirm")
                self._delete_buttons(unit, unit.changes.outbox[-1])
        elif word == "mydata":
            await self._my_data(unit)

    def _word(self, unit: _Unit, word: str, text: str) -> None:
        """A global word with the person's text after it (``bot.conversations.suggest_words``)."""
        outcome = WORD_HANDLERS[word](unit.participant, text)
        if outcome.event is not None:
            self._event(unit, outcome.event.name, outcome.event.payload())
        self._system(unit, outcome.reply, **outcome.args)

    # -- buttons ----------------------------------------------------------------------------
    async def _press(self, unit: _Unit, flow: Flow, session: Session, token: str) -> None:
        """A button of the open question, or of an older one (stale). With an ``ack`` the
        pressed question is edited to show the answer (buttons gone), and a stale press
        is told "that question has closed" on the button itself, not in a new message."""
        if unit.ack is not None:
            question = (preview(flow, session, session.node, unit.now, self._ctx(unit))
                        if session.status == "waiting" else None)
            chosen = next((c for c in question.choices if c.token == token),
                          None) if question is not None else None
            if chosen is None or question is None:
                self._event(unit, "StaleInputIgnored", {"detail": f"button {token}"})
                self._closed(unit)
                return
            if is_tapped(flow, session.node):  # the question comes again with its new state
                unit.ack.payload["drop_buttons"] = True
            else:
                shown = await self._shown_text(unit, question.text)
                unit.ack.payload["edit_text"] = self._answered(unit, shown, chosen.label)
        start = len(unit.changes.outbox)
        await self._step(unit, flow, session, Press(token))
        if unit.ack is not None and is_tapped(flow, session.node):
            fold_taps(unit.changes.outbox, unit.ack, start)  # edit in place (bot.taps)

    async def _shown_text(self, unit: _Unit, question: str) -> str:
        """The pressed message's whole text: on rich channels texts before a question
        travel in its message (``bot.conversations.bundle``), and the edit must keep them."""
        assert unit.ack is not None and unit.address is not None
        source = unit.ack.payload.get("source_id")
        row = await self.store.outbox_by_provider_id(str(source)) if source else None
        rows = [] if row is None else [row]
        rows += reversed(await self.store.outbox_of(unit.participant.id))
        for row in rows:
            text = str(row.payload.get("text") or "")
            if row.address == unit.address.address and text.endswith(question):
                return text
        return question

    def _answered(self, unit: _Unit, question: str, label: str) -> str:
        line = self.renderer.render("system.answered", unit.participant.locale,
                                    {**self._data(unit.participant), "answer": label})
        return f"{question}\n\n{line}"

    def _closed(self, unit: _Unit) -> None:
        if unit.ack is None:
            self._system(unit, "system.question_closed")
            return
        unit.ack.payload["notice"] = self.renderer.render(
            "system.question_closed", unit.participant.locale, self._data(unit.participant))
        unit.ack.payload["drop_buttons"] = True

    def _delete_buttons(self, unit: _Unit, item: OutboxItem) -> None:
        """Buttons on the DELETE confirmation (typing DELETE again works everywhere)."""
        locale, data = unit.participant.locale, self._data(unit.participant)
        item.payload["choices"] = [
            {"key": "DELETE", "label": self.renderer.render("system.delete_button", locale, data),
             "value": "delete", "token": DELETE_TOKEN},
            {"key": "KEEP", "label": self.renderer.render("system.keep_button", locale, data),
             "value": "keep", "token": KEEP_TOKEN}]
        item.payload["layout"] = "row"

    async def _delete_pressed(self, unit: _Unit, token: str) -> None:
        p = unit.participant
        if not p.profile.get("delete_requested"):
            self._closed(unit)
            return
        if unit.ack is not None:
            key = "system.delete_button" if token == DELETE_TOKEN else "system.keep_button"
            confirm = self.renderer.render("system.delete_confirm", p.locale, self._data(p))
            label = self.renderer.render(key, p.locale, self._data(p))
            unit.ack.payload["edit_text"] = self._answered(unit, confirm, label)
        if token == DELETE_TOKEN:
            await self._erase(unit)
        else:
            p.profile.pop("delete_requested")
            self._system(unit, "system.delete_cancelled")

    async def _my_data(self, unit: _Unit) -> None:
        """What we hold, in words and (where the channel carries files) as a JSON file."""
        p, address = unit.participant, unit.address
        assert address is not None
        try:
            export = await export_participant(self.store, p.id)
        except KeyError:  # their very first message: nothing is stored yet but the address
            export = {"participant": {"id": p.id, "status": p.status}, "consents": [],
                      "answers": [], "addresses": [{"address": address.address,
                                                    "channel": address.channel}]}
        name = p.profile.get("preferred_name") or p.name
        with_file = address.channel in FILE_CHANNELS
        self._system(unit, "system.mydata", answers=len(export.get("answers", [])),
                     consents=len(export.get("consents", [])), name=name or "",
                     channel={"sms": "SMS", "whatsapp": "WhatsApp"}.get(address.channel,
                                                                       address.channel.title()),
                     file=with_file)
        if with_file:
            text = json.dumps(export, ensure_ascii=False, indent=2, default=str)
            unit.changes.outbox.append(OutboxItem(
                participant_id=p.id, address=address.address, channel=address.channel,
                payload={"kind": "document", "text": "", "plain": "", "choices": [],
                         "layout": "list", "node": None, "long_ok": False,
                         "session_id": None, "flow_id": None,
                         "filename": "my-data.json", "mime_type": "application/json",
                         "content": text},
                created_at=unit.now, not_before=unit.now))

    async def _erase(self, unit: _Unit) -> None:
        """Erase on the second DELETE. The goodbye is queued unlinked from the person so
        that erasing their data does not erase the confirmation of it."""
        p, address = unit.participant, unit.address
        assert address is not None
        text = self.renderer.render("system.deleted", p.locale, self._data(p))
        goodbye = Output(text=text, plain=text, kind="notice")
        unit.changes = Changes(inbox_done=unit.changes.inbox_done)
        if unit.ack is not None:  # unlinked too, so the erasure does not cancel it
            unit.ack.participant_id = ""
            unit.changes.outbox.append(unit.ack)
        unit.changes.outbox.append(OutboxItem(
            participant_id="", address=address.address, channel=address.channel,
            payload={**payload_of(goodbye, None), "forget_after_send": True},
            created_at=unit.now, not_before=unit.now))
        unit.changes.events.append(EventRow(None, None, "ParticipantErased",
                                            {"participant_id": p.id}, unit.now))
        unit.changes.erase = (p.id, unit.now)  # one transaction with the goodbye
        await self.store.apply(unit.changes)
        p.status = "erased"
        unit.changes = Changes()

    # -- flows -----------------------------------------------------------------------------
    def _pathway(self) -> list[str]:
        pathway = [f for f in self.config.enrolment.pathway if f in self.library]
        if len(self.config.project.locales) < 2 and "language" in pathway:
            pathway.remove("language")
        return pathway

    async def _continue_pathway(self, unit: _Unit) -> bool:
        """Start the first pathway flow this person has not completed."""
        p = unit.participant
        if p.pathway_done:
            return False
        done = {s.flow_id for s in await self.store.sessions_of(p.id)
                if s.status == "completed"}
        done |= {s.flow_id for s in unit.sessions.values() if s.status == "completed"}
        for flow_id in self._pathway():
            if flow_id == "consent" and p.status == "consented" and self._consent_current(p):
                continue
            if flow_id not in done or (flow_id == "consent" and p.status != "consented"):
                await self._begin(unit, flow_id, {}, None)
                return True
        p.pathway_done = True
        return False

    def _consent_current(self, p: Participant) -> bool:
        if "consent" not in self.library:
            return True
        consent = self.library.get("consent")
        return p.consent_version == (consent.consent_version or consent.version)

    def _consent_first(self, p: Participant, flow_id: str) -> bool:
        """Someone who never consented, or consented to an older text, is asked (again)
        before any other flow begins."""
        if flow_id in self._pathway() or "consent" not in self.library:
            return False
        return p.status == "new" or (p.status == "consented" and not self._consent_current(p))

    async def _introduce(self, unit: _Unit) -> None:
        """Who is writing, why, and how to stop; then the pathway (or consent again)."""
        p = unit.participant
        if p.status == "new":
            self._system(unit, "system.intro")
        if p.status == "new" and not p.pathway_done and await self._continue_pathway(unit):
            return
        await self._begin(unit, "consent", {}, None)

    async def _next_queued(self, unit: _Unit) -> bool:
        queued = await self.store.queued_flows(unit.participant.id)
        taken = set(unit.changes.queue_remove)
        for item in queued:
            if item.id in taken:
                continue
            assert item.id is not None
            unit.changes.queue_remove.append(item.id)
            await self._begin(unit, item.flow_id, item.vars, item.round_id)
            return True
        return False

    async def _begin(self, unit: _Unit, flow_id: str, vars: dict[str, str],
                     round_id: str | None) -> None:
        flow = self.library.get(flow_id)
        source = self.library.sources.get((flow.id, flow.version))
        if source:
            await self.store.save_flow_source(flow.id, flow.version, source)
        result = begin(flow, session_id=self.ids.new("s"), participant_id=unit.participant.id,
                       locale=unit.participant.locale, now=unit.now, ctx=self._ctx(unit),
                       vars=vars, round_id=round_id)
        if round_id is not None and self.hooks is not None:
            await self.hooks.flow_begun(unit.changes, unit.participant, result.session,
                                        unit.now)
        await self._apply_result(unit, flow, result)

    async def _step(self, unit: _Unit, flow: Flow, session: Session, user_input: Input) -> None:
        if (self.hooks is not None and session.round_id is not None
                and isinstance(user_input, Reply | Press)):
            unit.late = await self.hooks.answer_given(unit.changes, unit.participant, session,
                                                      unit.now)
        result = step(flow, session, user_input, unit.now, self._ctx(unit))
        await self._apply_result(unit, flow, result)

    async def _repeat_question(self, unit: _Unit, flow: Flow, session: Session) -> None:
        """Send the open question again (after START), without asking it anew."""
        output = preview(flow, session, session.node, unit.now, self._ctx(unit))
        if output is not None:
            unit.reply(output, session)

    async def _apply_result(self, unit: _Unit, flow: Flow, result: StepResult) -> None:
        session, p = result.session, unit.participant
        unit.sessions[session.id] = session
        unit.distress |= any(isinstance(e, ev.DistressFlagged) for e in result.events)
        if self._record_allowed(p, flow):
            for event in result.events:
                self._record(unit, session, event)
        else:
            for event in result.events:
                if isinstance(event, ev.ParticipantUpdated | ev.ConsentGiven |
                              ev.ConsentDeclined | ev.FlowCompleted):
                    self._record(unit, session, event)
        unit.changes.timers_clear_session.append(session.id)
        for event in result.events:
            if isinstance(event, ev.TimerScheduled):
                unit.changes.timers_set.append(Timer(session.id, p.id, event.node,
                                                     event.asked, event.due))
        if not session.finished:
            flow_expiry = session.started_at + expiry_of(flow, session)
            unit.changes.timers_set.append(Timer(session.id, p.id, session.node, session.asked,
                                                 flow_expiry, kind="expiry"))
        for output in result.outputs:
            if unit.address is not None:
                unit.reply(output, session)
        if session.status == "completed":
            await self._after_completion(unit, flow, session, result)
        elif session.status == "expired":
            await self._next_queued(unit)

    async def _after_completion(self, unit: _Unit, flow: Flow, session: Session,
                                result: StepResult) -> None:
        p = unit.participant
        outcome = next((e.outcome for e in result.events if isinstance(e, ev.FlowCompleted)), "")
        if self.hooks is not None:
            await self.hooks.flow_completed(unit.changes, p, session, outcome, unit.now)
        if flow.id == "consent" and outcome == "declined":
            return  # declining ends the pathway; only the refusal is kept
        in_pathway = not p.pathway_done and flow.id in self._pathway()
        if in_pathway and await self._continue_pathway(unit):
            return
        await self._next_queued(unit)

    def _record_allowed(self, p: Participant, flow: Flow) -> bool:
        """Before consent, keep nothing but what is needed to reply."""
        return p.status == "consented"

    def _record(self, unit: _Unit, session: Session, event: ev.Event) -> None:
        p, now = unit.participant, unit.now
        payload = event.payload()
        unit.changes.events.append(EventRow(p.id, session.id, event.name, payload, now))
        if isinstance(event, ev.AnswerRecorded | ev.AnswerSkipped):
            recorded = isinstance(event, ev.AnswerRecorded)
            unit.changes.answers.append(AnswerRow(
                participant_id=p.id, session_id=session.id, flow_id=session.flow_id,
                flow_version=session.flow_version, node=event.node, field=event.field,
                value=event.value if isinstance(event, ev.AnswerRecorded) else None,
                raw=event.raw if isinstance(event, ev.AnswerRecorded) else None,
                at=now, round_id=session.round_id, skipped=not recorded, late=unit.late))
        elif isinstance(event, ev.ParticipantUpdated):
            if event.field == "locale" and isinstance(event.value, str):
                p.locale = event.value
            elif event.field == "timezone" and isinstance(event.value, str):
                p.timezone = event.value
            elif event.field in PROFILE_FIELDS:
                p.profile[event.field] = event.value
                if event.field == "preferred_channel" and event.value in (
                        "telegram", "sms", "whatsapp"):
                    p.preferred_channel = event.value  # type: ignore[assignment]
        elif isinstance(event, ev.ConsentGiven):
            p.status, p.consent_version = "consented", event.version
            unit.changes.consents.append(ConsentRecord(p.id, event.version, "given", now))
        elif isinstance(event, ev.ConsentDeclined):
            p.status = "declined"
            unit.changes.consents.append(ConsentRecord(p.id, event.version, "declined", now))

    # -- helpers ----------------------------------------------------------------------------
    def _needs_person(self, unit: _Unit, text: str, *, unprompted: bool = False) -> bool:
        """Flag for the coordinators' inbox what a person should read: distress, a reply
        after the round closed, words sent outside any flow. True when a message
        outside a flow was flagged (and answered with the signpost)."""
        sg = self.config.safeguarding
        signposted = False
        if unprompted and flagged_phrase(text, sg.phrases) is not None:
            unit.distress = signposted = True
            if sg.signpost:
                self._system(unit, sg.signpost)
        kind: AttentionKind | None = ("distress" if unit.distress else "late" if unit.late
                                      else "unprompted" if unprompted else None)
        if kind is not None and unit.address is not None and text.strip():
            note(unit.changes, unit.participant.id, unit.address.channel, kind, text, unit.now)
        return signposted

    def _data(self, p: Participant) -> dict[str, Any]:
        return {"project": self.config.project_data(), "participant": dict(p.profile),
                "fields": {}, "vars": {}}

    def _system(self, unit: _Unit, key: str, kind: str = "notice", **extra: Any) -> None:
        text = self.renderer.render(key, unit.participant.locale,
                                    {**self._data(unit.participant), **extra})
        output = Output(text=text, plain=text, kind="notice")
        unit.reply(output)
        unit.changes.outbox[-1].payload["template_key"] = key  # WhatsApp templates
        if kind != "notice":
            unit.changes.outbox[-1].payload["kind"] = kind

    def _event(self, unit: _Unit, name: str, payload: dict[str, Any]) -> None:
        if unit.participant.status == "consented":
            unit.changes.events.append(EventRow(unit.participant.id, None, name, payload,
                                                unit.now))

    def _ctx(self, unit: _Unit) -> StepContext:
        sg = self.config.safeguarding
        return StepContext(
            renderer=self.renderer, project=self.config.project_data(),
            participant=dict(unit.participant.profile),
            timezone=unit.participant.timezone or self.config.schedule.timezone,
            date_order=self.config.project.date_order,
            safeguarding_phrases=tuple(sg.phrases), signpost_key=sg.signpost or None,
            caches=self.step_caches,
        )

    async def _flow(self, session: Session) -> Flow:
        if self.library.has_version(session.flow_id, session.flow_version):
            return self.library.get(session.flow_id, session.flow_version)
        source = await self.store.flow_source(session.flow_id, session.flow_version)
        if source is None:
            return self.library.get(session.flow_id)
        return self.library.add_version(source)

    async def _address_for(self, p: Participant, wanted: str | None) -> Address | None:
        """The address to write to: the one asked for, else the preferred channel's,
        else any that is neither opted out nor unreachable."""
        addresses = [a for a in await self.store.addresses_of(p.id)
                     if not a.opted_out and not a.unreachable]
        if wanted is not None:
            return next((a for a in addresses if a.address == wanted), None)
        addresses.sort(key=lambda a: (a.channel != p.preferred_channel, a.created_at))
        return addresses[0] if addresses else None

    async def _reply_unknown(self, inbound: Inbound, key: str, now: dt.datetime) -> None:
        text = self.renderer.render(key, self.config.project.locales[0],
                                    {"project": self.config.project_data()})
        item = OutboxItem(participant_id="", address=inbound.address, channel=inbound.channel,
                          payload=payload_of(Output(text, text, "notice"), None),
                          created_at=now, not_before=now)
        ack = ack_item(ack=inbound.ack, source_id=inbound.source_id, participant_id="",
                       address=inbound.address, channel=inbound.channel, now=now)
        await self.store.apply(Changes(outbox=[item] if ack is None else [ack, item],
                                       inbox_done=[inbound.inbox_id]
                                       if inbound.inbox_id is not None else []))

    async def _commit(self, unit: _Unit) -> None:
        changes = unit.changes
        changes.outbox = bundle(changes.outbox)  # one message, not five, on rich channels
        sessions = list(unit.sessions.values())
        if sessions:
            changes.session, changes.more_sessions = sessions[0], sessions[1:]
        if unit.address is not None and unit.participant.status != "erased":
            if not any(a.address == unit.address.address for a in changes.addresses):
                changes.addresses.append(unit.address)
            changes.participant = unit.participant
        await self.store.apply(changes)
        if self.after_attention is not None and any(e.name == "AttentionNeeded"
                                                    for e in changes.events):
            await self.after_attention()
