"""The enrolment pathway and the consent policy (DESIGN §2): the flows a new person goes
through in order, and who must be asked for consent (again) before any other flow."""

from __future__ import annotations

from bot.config import Config
from bot.conversations.unit import Unit
from bot.flows.loader import FlowLibrary
from bot.store.base import Store
from bot.store.records import Participant


class Pathway:
    def __init__(self, store: Store, config: Config, library: FlowLibrary) -> None:
        self.store, self.config, self.library = store, config, library

    def flows(self) -> list[str]:
        """``[enrolment] pathway``, without ``language`` when one locale is enabled."""
        pathway = [f for f in self.config.enrolment.pathway if f in self.library]
        if len(self.config.project.locales) < 2 and "language" in pathway:
            pathway.remove("language")
        return pathway

    async def next_flow(self, unit: Unit) -> str | None:
        """The first pathway flow this person has not completed; None (and the pathway
        marked done) when there is none."""
        p = unit.participant
        if p.pathway_done:
            return None
        done = {s.flow_id for s in await self.store.sessions_of(p.id)
                if s.status == "completed"}
        done |= {s.flow_id for s in unit.sessions.values() if s.status == "completed"}
        for flow_id in self.flows():
            if flow_id == "consent" and p.status == "consented" and self.consent_current(p):
                continue
            if flow_id not in done or (flow_id == "consent" and p.status != "consented"):
                return flow_id
        p.pathway_done = True
        return None

    def consent_current(self, p: Participant) -> bool:
        if "consent" not in self.library:
            return True
        consent = self.library.get("consent")
        return p.consent_version == (consent.consent_version or consent.version)

    def consent_first(self, p: Participant, flow_id: str) -> bool:
        """Someone who never consented, or consented to an older text, is asked (again)
        before any other flow begins."""
        if flow_id in self.flows() or "consent" not in self.library:
            return False
        return p.status == "new" or (p.status == "consented" and not self.consent_current(p))
