"""Saying things to a person outside a flow: system messages in their language, the
events kept about it (only once they consented), and the coordinators' inbox note
when what they wrote needs a person to read it."""

from __future__ import annotations

from typing import Any

from bot.config import Config
from bot.conversations.safeguarding_notes import note
from bot.conversations.safeguarding_phrases import flagged_phrase
from bot.conversations.unit import Unit
from bot.engine.io import Output
from bot.i18n.renderer import Renderer
from bot.store.attention import AttentionKind
from bot.store.records import EventRow, Participant


class Replies:
    """System messages, events and inbox notes for one project."""

    def __init__(self, renderer: Renderer, config: Config) -> None:
        self.renderer, self.config = renderer, config

    def data(self, p: Participant) -> dict[str, Any]:
        return {"project": self.config.project_data(), "participant": dict(p.profile),
                "fields": {}, "vars": {}}

    def render(self, key: str, p: Participant, **extra: Any) -> str:
        return self.renderer.render(key, p.locale, {**self.data(p), **extra})

    def system(self, unit: Unit, key: str, kind: str = "notice", **extra: Any) -> None:
        text = self.render(key, unit.participant, **extra)
        unit.reply(Output(text=text, plain=text, kind="notice"))
        unit.changes.outbox[-1].payload["template_key"] = key  # WhatsApp templates
        if kind != "notice":
            unit.changes.outbox[-1].payload["kind"] = kind

    def event(self, unit: Unit, name: str, payload: dict[str, Any]) -> None:
        if unit.participant.status == "consented":
            unit.changes.events.append(EventRow(unit.participant.id, None, name, payload,
                                                unit.now))

    def answered(self, unit: Unit, question: str, label: str) -> str:
        """A pressed question's text with what was chosen under it."""
        line = self.render("system.answered", unit.participant, answer=label)
        return f"{question}\n\n{line}"

    def closed(self, unit: Unit) -> None:
        """That question has closed: on the pressed button itself when it was a press."""
        if unit.ack is None:
            self.system(unit, "system.question_closed")
            return
        unit.ack.payload["notice"] = self.render("system.question_closed", unit.participant)
        unit.ack.payload["drop_buttons"] = True

    def needs_person(self, unit: Unit, text: str, *, unprompted: bool = False) -> bool:
        """Flag for the coordinators' inbox what a person should read: distress, a reply
        after the round closed, words sent outside any flow. True when a message
        outside a flow was flagged (and answered with the signpost)."""
        sg = self.config.safeguarding
        signposted = False
        if unprompted and flagged_phrase(text, sg.phrases) is not None:
            unit.distress = signposted = True
            if sg.signpost:
                self.system(unit, sg.signpost)
        kind: AttentionKind | None = ("distress" if unit.distress else "late" if unit.late
                                      else "unprompted" if unprompted else None)
        if kind is not None and unit.address is not None and text.strip():
            note(unit.changes, unit.participant.id, unit.address.channel, kind, text, unit.now)
        return signposted
