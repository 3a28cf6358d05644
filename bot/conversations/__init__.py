"""Conversations: the one place where an inbound message becomes stored facts and replies.

Every channel hands inbound messages to ``Conversations.handle``. It finds or enrols
the participant, honours the global words, runs the pure engine, and commits the session
change, answers, events and outbox rows in one transaction. Channels only carry what it
says. It orchestrates; each idea has its own module here: ``enrolment`` (first contact),
``pathway`` (enrolment flows, consent policy), ``global_words`` (a dispatch table),
``acknowledgements`` (presses answered on the button), ``privacy_actions`` (DELETE,
/mydata), ``recording`` (events to rows), ``replies`` and ``unit`` (shared vocabulary).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from bot.acks import ack_item
from bot.burden.invitation import Durations
from bot.clock import Clock
from bot.config import Config
from bot.conversations import media_replies
from bot.conversations.acknowledgements import Acknowledgements
from bot.conversations.enrolment import Enrolment
from bot.conversations.global_words import handle_word, matched_word, said_word
from bot.conversations.pathway import Pathway
from bot.conversations.privacy_actions import PrivacyActions
from bot.conversations.recording import record_result
from bot.conversations.replies import Replies
from bot.conversations.safeguarding_phrases import flagged_phrase
from bot.conversations.staging import staged
from bot.conversations.unit import (
    DELETE_TOKEN,
    EXPIRE_VAR,
    FILE_CHANNELS,
    KEEP_TOKEN,
    PROFILE_FIELDS,
    ConversationHooks,
    Inbound,
    Unit,
    address_for,
    channel_of,
    expiry_of,
    payload_of,
)
from bot.engine import StepContext, StepResult, begin, step
from bot.engine import events as ev
from bot.engine.caches import StepCaches, project_digest
from bot.engine.io import Expire, Input, Output, Press, Reply, TimerFired
from bot.engine.keywords import classify, prefixed
from bot.engine.session import Session
from bot.engine.step import preview
from bot.flows.loader import FlowLibrary
from bot.flows.models import Flow
from bot.i18n.renderer import Renderer
from bot.ids import IdSource, RandomIds
from bot.keyed_lock import KeyedLock
from bot.store.attention import EVENT as ATTENTION_EVENT
from bot.store.base import Store
from bot.store.records import Address, Changes, Invite, Participant, QueuedFlow, Timer

__all__ = [
    "DELETE_TOKEN", "EXPIRE_VAR", "FILE_CHANNELS", "KEEP_TOKEN", "PROFILE_FIELDS",
    "ConversationHooks", "Conversations", "Inbound", "Unit", "channel_of", "expiry_of",
    "payload_of",
]


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
        self._project: tuple[dict[str, str], str] = ({}, project_digest({}))
        self.durations = Durations(renderer, config)
        self.after_attention: Callable[[], Awaitable[object]] | None = None
        """Called after a unit that needs a person commits (``bot.safeguarding.desk``)."""
        # the collaborators, one idea each
        self.replies = Replies(renderer, config)
        self.enrolment = Enrolment(store, config, renderer, self.ids)
        self.pathway = Pathway(store, config, library)
        self.privacy = PrivacyActions(store, self.replies)
        self.acks = Acknowledgements(store, self.replies)

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
            contact = await self.store.contact_of(inbound.address)
            if contact is not None:
                async with self._locks.hold(contact[0].id):
                    await self._handle(inbound, contact)
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
            addr = await address_for(self.store, participant, address)
            unit = Unit(participant, addr, self.clock.now()).read_from_store()
            active = await self.store.active_session(participant_id)
            consent_first = self.pathway.consent_first(participant, flow_id)
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
            addr = await address_for(self.store, participant, None)
            if addr is None:
                return False
            unit = Unit(participant, addr, self.clock.now()).read_from_store()
            text = self.renderer.render(key, participant.locale, self.replies.data(participant))
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
            addr = await address_for(self.store, participant, None)
            unit = Unit(participant, addr, self.clock.now()).read_from_store()
            unit.changes.timers_clear_session.append(session.id)
            flow = await self._flow(session)
            if timer.kind == "expiry":
                await self._step(unit, flow, session, Expire())
            else:
                await self._step(unit, flow, session, TimerFired(timer.node, timer.asked))
            await self._commit(unit)

    # -- the inbound path -----------------------------------------------------------------
    async def _handle(self, inbound: Inbound,
                      contact: tuple[Participant, Address] | None) -> None:
        now = self.clock.now()
        word = classify(inbound.text) if inbound.kind == "text" else None
        invite: Invite | None = None
        known = contact is not None  # read from the store, not admitted just now
        if contact is None:
            admitted = await self.enrolment.admit(inbound, word, now)
            if admitted is None:
                return
            participant, address, invite = (admitted.participant, admitted.address,
                                            admitted.invite)
        else:
            participant, address = contact
        unit = Unit.for_inbound(inbound, participant, address, invite, now)
        if known:
            unit.read_from_store()
        if address.opted_out and word not in ("start", "yes", "help", "delete"):
            await self._commit(unit)  # nothing is sent to an opted-out address
            return
        await self._route(unit, inbound, word)
        await self._commit(unit)

    async def _route(self, unit: Unit, inbound: Inbound, word: str | None) -> None:
        """A message goes to exactly one place: a global word, the DELETE buttons, or
        the conversation."""
        assert unit.address is not None
        if inbound.kind == "group":
            self._system(unit, "system.group_not_supported")
        elif inbound.kind == "media":
            await media_replies.receive(self, unit, inbound)
        elif word is not None and word not in ("skip", "yes"):
            await handle_word(self, unit, word, inbound)
        elif word == "yes" and unit.address.opted_out:
            await handle_word(self, unit, "start", inbound)
        elif inbound.press in (DELETE_TOKEN, KEEP_TOKEN):
            await self.privacy.delete_pressed(unit, inbound.press)
        elif unit.participant.profile.get("delete_requested"):
            unit.participant.profile.pop("delete_requested")
            self._system(unit, "system.delete_cancelled")
        elif not await matched_word(self, unit, inbound):  # an event's code word, or not
            await self._converse(unit, inbound)

    async def _converse(self, unit: Unit, inbound: Inbound) -> None:
        if unit.participant.status == "declined":
            self._system(unit, "system.declined_reminder")
            return
        if inbound.kind == "text" and (said := prefixed(inbound.text)) is not None:
            said_word(self.replies, unit, *said)  # SUGGEST … at any time, even mid-question
            if flagged_phrase(said[1], self.config.safeguarding.phrases) is not None:
                self.replies.needs_person(unit, inbound.text, unprompted=True)  # signposted
            return
        session = await self.store.active_session(unit.participant.id)
        if session is not None:
            await self._in_session(unit, inbound, session)
        elif inbound.press:
            self.replies.closed(unit)
        elif not await self._continue_pathway(unit) and not await self._next_queued(unit) \
                and not self.replies.needs_person(unit, inbound.text, unprompted=True):
            self._system(unit, "system.idle")

    async def _in_session(self, unit: Unit, inbound: Inbound, session: Session) -> None:
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
        self.replies.needs_person(unit, inbound.text)

    async def _press(self, unit: Unit, flow: Flow, session: Session, token: str) -> None:
        """A button of the open question, or of an older one (``acknowledgements``)."""
        if not await self.acks.before_press(unit, flow, session, token, self._ctx(unit)):
            return
        start = len(unit.changes.outbox)
        await self._step(unit, flow, session, Press(token))
        self.acks.after_press(unit, flow, session, start)

    # -- flows -----------------------------------------------------------------------------
    async def _continue_pathway(self, unit: Unit) -> bool:
        """Start the first pathway flow this person has not completed."""
        flow_id = await self.pathway.next_flow(unit)
        if flow_id is None:
            return False
        await self._begin(unit, flow_id, {}, None)
        return True

    async def _introduce(self, unit: Unit) -> None:
        """Who is writing, why, and how to stop; then the pathway (or consent again)."""
        p = unit.participant
        if p.status == "new":
            self._system(unit, "system.intro")
        if p.status == "new" and not p.pathway_done and await self._continue_pathway(unit):
            return
        await self._begin(unit, "consent", {}, None)

    async def _next_queued(self, unit: Unit) -> bool:
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

    async def _begin(self, unit: Unit, flow_id: str, vars: dict[str, str],
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
        if round_id is not None and unit.address is not None:  # "(About 3 minutes.)"
            outputs = self.durations.invite(result.outputs, flow, unit.participant.locale,
                                            unit.address.channel)
            result = dataclasses.replace(result, outputs=tuple(outputs))
        await self._apply_result(unit, flow, result)

    async def _step(self, unit: Unit, flow: Flow, session: Session, user_input: Input) -> None:
        if (self.hooks is not None and session.round_id is not None
                and isinstance(user_input, Reply | Press)):
            unit.late = await self.hooks.answer_given(unit.changes, unit.participant, session,
                                                      unit.now)
        result = step(flow, session, user_input, unit.now, self._ctx(unit))
        await self._apply_result(unit, flow, result, before=session)

    async def _repeat_question(self, unit: Unit, flow: Flow, session: Session) -> None:
        """Send the open question again (after START), without asking it anew."""
        output = preview(flow, session, session.node, unit.now, self._ctx(unit))
        if output is not None:
            unit.reply(output, session)

    async def _apply_result(self, unit: Unit, flow: Flow, result: StepResult,
                            before: Session | None = None) -> None:
        record_result(unit, flow, result, before)
        session = result.session
        if session.status == "completed":
            await self._after_completion(unit, flow, session, result)
        elif session.status == "expired":
            await self._next_queued(unit)

    async def _after_completion(self, unit: Unit, flow: Flow, session: Session,
                                result: StepResult) -> None:
        p = unit.participant
        outcome = next((e.outcome for e in result.events if isinstance(e, ev.FlowCompleted)), "")
        if self.hooks is not None:
            await self.hooks.flow_completed(unit.changes, p, session, outcome, unit.now)
        if flow.id == "consent" and outcome == "declined":
            return  # declining ends the pathway; only the refusal is kept
        in_pathway = not p.pathway_done and flow.id in self.pathway.flows()
        if in_pathway and await self._continue_pathway(unit):
            return
        await self._next_queued(unit)

    # -- helpers ----------------------------------------------------------------------------
    def _system(self, unit: Unit, key: str, kind: str = "notice", **extra: Any) -> None:
        self.replies.system(unit, key, kind, **extra)

    def _ctx(self, unit: Unit) -> StepContext:
        sg, project = self.config.safeguarding, self.config.project_data()
        if project != self._project[0]:  # worked out again only if the settings changed
            self._project = (project, project_digest(project))
        return StepContext(
            renderer=self.renderer, project=project, project_digest=self._project[1],
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

    async def _commit(self, unit: Unit) -> None:
        changes = await staged(unit, self.store, self.pathway.flows())
        await self.store.apply(changes)
        if self.after_attention is not None and any(e.name == ATTENTION_EVENT
                                                    for e in changes.events):
            await self.after_attention()
