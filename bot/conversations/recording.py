"""What a step's events become in the store: answers, events, consent records,
profile changes and timers. Dispatched on the event's type (``RECORDERS``), not on
its name.

Before consent nothing is kept but what is needed to reply: the consent decision itself,
profile choices made while enrolling (language, name), the end of a flow, and a flow's
own errors (never silent: issue #11).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.conversations.unit import PROFILE_FIELDS, Unit, expiry_of
from bot.engine import events as ev
from bot.engine.context import StepResult
from bot.engine.session import Session
from bot.flow_errors import log_flow_errors
from bot.flows.models import AskNode, Flow
from bot.store.records import AnswerRow, ConsentRecord, EventRow, Timer

KEPT_BEFORE_CONSENT = (ev.ParticipantUpdated, ev.ConsentGiven, ev.ConsentDeclined,
                       ev.FlowCompleted, ev.FlowErrored)


def _answer(unit: Unit, session: Session, event: ev.AnswerRecorded | ev.AnswerSkipped) -> None:
    recorded = isinstance(event, ev.AnswerRecorded)
    unit.changes.answers.append(AnswerRow(
        participant_id=unit.participant.id, session_id=session.id, flow_id=session.flow_id,
        flow_version=session.flow_version, node=event.node, field=event.field,
        value=event.value if isinstance(event, ev.AnswerRecorded) else None,
        raw=event.raw if isinstance(event, ev.AnswerRecorded) else None,
        at=unit.now, round_id=session.round_id, skipped=not recorded, late=unit.late))


def _recorded(unit: Unit, session: Session, event: ev.Event) -> None:
    assert isinstance(event, ev.AnswerRecorded)
    _answer(unit, session, event)


def _skipped(unit: Unit, session: Session, event: ev.Event) -> None:
    assert isinstance(event, ev.AnswerSkipped)
    _answer(unit, session, event)


def _updated(unit: Unit, session: Session, event: ev.Event) -> None:
    assert isinstance(event, ev.ParticipantUpdated)
    p = unit.participant
    if event.field == "locale" and isinstance(event.value, str):
        p.locale = event.value
    elif event.field == "timezone" and isinstance(event.value, str):
        p.timezone = event.value
    elif event.field in PROFILE_FIELDS:
        p.profile[event.field] = event.value
        if event.field == "preferred_channel" and event.value in ("telegram", "sms",
                                                                  "whatsapp"):
            p.preferred_channel = event.value  # type: ignore[assignment]


def _consented(unit: Unit, session: Session, event: ev.Event) -> None:
    assert isinstance(event, ev.ConsentGiven)
    p = unit.participant
    p.status, p.consent_version = "consented", event.version
    unit.changes.consents.append(ConsentRecord(p.id, event.version, "given", unit.now))


def _declined(unit: Unit, session: Session, event: ev.Event) -> None:
    assert isinstance(event, ev.ConsentDeclined)
    unit.participant.status = "declined"
    unit.changes.consents.append(ConsentRecord(unit.participant.id, event.version,
                                               "declined", unit.now))


Recorder = Callable[[Unit, Session, ev.Event], None]
RECORDERS: dict[type[ev.Event], Recorder] = {
    ev.AnswerRecorded: _recorded,
    ev.AnswerSkipped: _skipped,
    ev.ParticipantUpdated: _updated,
    ev.ConsentGiven: _consented,
    ev.ConsentDeclined: _declined,
}
"""Events that change more than the event log, by type."""


def record(unit: Unit, session: Session, event: ev.Event) -> None:
    unit.changes.events.append(EventRow(unit.participant.id, session.id, event.name,
                                        event.payload(), unit.now))
    recorder = RECORDERS.get(type(event))
    if recorder is not None:
        recorder(unit, session, event)


def timers_unchanged(flow: Flow, before: Session | None, result: StepResult,
                     unit: Unit) -> bool:
    """Whether a step leaves the session's stored timers as they are, so none need
    deleting and writing again (two statements a turn): it went from a question without
    a no-reply timeout to another, set no timer, and nothing else asked for the
    session's timers to be cleared. Its expiry is due at its start plus the flow's
    expiry, which a step does not change; the expiry row's node is not read."""
    after = result.session
    if before is None or after.finished or after.vars != before.vars:
        return False  # a new session has no expiry row yet
    if after.id in unit.changes.timers_clear_session:
        return False  # a fired timer, say: cleared, so the expiry must be written again
    if any(isinstance(e, ev.TimerScheduled) for e in result.events):
        return False
    node = flow.nodes.get(before.node)
    return not (before.status == "waiting" and isinstance(node, AskNode)
                and node.timeout is not None)


def record_result(unit: Unit, flow: Flow, result: StepResult,
                  before: Session | None = None) -> None:
    """A step's events, timers and replies into the unit's changes (``before``: the
    session the step started from, None for a new one)."""
    session, p = result.session, unit.participant
    unit.sessions[session.id] = session
    unit.distress |= any(isinstance(e, ev.DistressFlagged) for e in result.events)
    consented = p.status == "consented"
    for event in result.events:
        if consented or isinstance(event, KEPT_BEFORE_CONSENT):
            record(unit, session, event)
    log_flow_errors(flow.id, result.events)
    if not timers_unchanged(flow, before, result, unit):
        unit.changes.timers_clear_session.append(session.id)
        unit.changes.timers_set += [Timer(session.id, p.id, e.node, e.asked, e.due)
                                    for e in result.events if isinstance(e, ev.TimerScheduled)]
        if not session.finished:
            flow_expiry = session.started_at + expiry_of(flow, session)
            unit.changes.timers_set.append(Timer(session.id, p.id, session.node,
                                                 session.asked, flow_expiry, kind="expiry"))
    if unit.address is not None:
        for output in result.outputs:
            unit.reply(output, session)
