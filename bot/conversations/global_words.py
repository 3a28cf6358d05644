"""The global words (DESIGN §2), honoured in every state: a dispatch table from word to
handler. STOP stops messaging this address; START resumes (and repeats an open
question); HELP; MENU; BALANCE; DELETE (asks to confirm); MYDATA. Words registered in
``bot.keyword_handlers`` (PAUSE, OFFERS, SPEND, the time bank's BALANCE, an event's code
word) come after STOP, START, HELP and MENU and before the rest.

Where Twilio answers STOP/START/HELP itself (``[sms] provider_handles_opt_out``), the
state changes here but our own reply is not sent, so the person does not get two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot import keyword_handlers
from bot.config import Config
from bot.conversations.privacy_actions import PrivacyActions
from bot.conversations.replies import Replies
from bot.conversations.safeguarding_notes import note
from bot.conversations.suggest_words import HANDLERS as SAID_HANDLERS
from bot.conversations.unit import Inbound, Unit
from bot.engine.keywords import arguments
from bot.engine.session import Session
from bot.flows.models import Flow
from bot.keyword_handlers import KeywordCall
from bot.store.base import Store

PROVIDER_WORDS = frozenset({"stop", "start", "help"})
FIRST = frozenset({"stop", "start", "help", "menu"})
"""Words no registered handler may take over."""


class WordsHost(Protocol):
    """What the handlers use of ``Conversations`` (a Protocol: this module sits below
    the orchestrator that calls it)."""

    @property
    def store(self) -> Store: ...

    @property
    def config(self) -> Config: ...

    @property
    def replies(self) -> Replies: ...

    @property
    def privacy(self) -> PrivacyActions: ...

    @property
    def balance_of(self) -> Callable[[str], Any] | None: ...

    async def _begin(self, unit: Unit, flow_id: str, vars: dict[str, str],
                     round_id: str | None) -> None: ...

    async def _converse(self, unit: Unit, inbound: Inbound) -> None: ...

    def _system(self, unit: Unit, key: str, kind: str = "notice", **extra: Any) -> None: ...

    async def _flow(self, session: Session) -> Flow: ...

    async def _repeat_question(self, unit: Unit, flow: Flow, session: Session) -> None: ...


Handler = Callable[[WordsHost, Unit, Inbound, bool], Awaitable[None]]
"""(conversations, unit, the message, whether the provider already replied)."""


async def _stop(c: WordsHost, unit: Unit, inbound: Inbound, provider_replied: bool) -> None:
    address = unit.address
    assert address is not None
    address.opted_out, address.opted_out_at = True, unit.now
    unit.changes.addresses.append(address)
    if not provider_replied:
        c.replies.system(unit, "system.stopped", kind="stop_ack")


async def _start(c: WordsHost, unit: Unit, inbound: Inbound, provider_replied: bool) -> None:
    p, address = unit.participant, unit.address
    assert address is not None
    was_out = address.opted_out
    address.opted_out, address.opted_out_at = False, None
    unit.changes.addresses.append(address)
    session = await c.store.active_session(p.id)
    if p.status == "declined":
        p.status = "new"
        await c._begin(unit, "consent", {}, None)
    elif session is not None and session.status == "waiting":
        if not provider_replied:
            c.replies.system(unit, "system.restarted")
        await c._repeat_question(unit, await c._flow(session), session)
    elif not was_out and not p.pathway_done:
        await c._converse(unit, inbound)
    elif not provider_replied:
        c.replies.system(unit, "system.restarted_idle")


async def _help(c: WordsHost, unit: Unit, inbound: Inbound, provider_replied: bool) -> None:
    assert unit.address is not None
    note(unit.changes, unit.participant.id, unit.address.channel, "help", inbound.text,
         unit.now)
    if not provider_replied:
        c.replies.system(unit, "system.help")


async def _menu(c: WordsHost, unit: Unit, inbound: Inbound, provider_replied: bool) -> None:
    c.replies.system(unit, "system.menu")


async def _balance(c: WordsHost, unit: Unit, inbound: Inbound, provider_replied: bool) -> None:
    balance = c.balance_of(unit.participant.id) if c.balance_of else 0
    if asyncio.iscoroutine(balance):
        balance = await balance
    if balance:
        c.replies.system(unit, "system.balance", balance=balance,
                         credit_unit=c.config.credits.unit)
    else:
        c.replies.system(unit, "system.balance_none")


async def _delete(c: WordsHost, unit: Unit, inbound: Inbound, provider_replied: bool) -> None:
    await c.privacy.delete_word(unit)


async def _mydata(c: WordsHost, unit: Unit, inbound: Inbound, provider_replied: bool) -> None:
    await c.privacy.my_data(unit)


HANDLERS: dict[str, Handler] = {
    "stop": _stop, "start": _start, "help": _help, "menu": _menu, "balance": _balance,
    "delete": _delete, "mydata": _mydata,
}
"""Every global word ``bot.engine.keywords.classify`` may return, except SKIP and YES,
which belong to the open question."""


async def handle_word(c: WordsHost, unit: Unit, word: str, inbound: Inbound) -> None:
    address = unit.address
    assert address is not None
    provider_replied = (address.channel == "sms"
                        and c.config.sms.provider_handles_opt_out and word in PROVIDER_WORDS)
    c.replies.event(unit, "KeywordReceived", {"word": word, "address_channel": address.channel})
    if word not in FIRST and word in keyword_handlers.active(c.config):
        await _registered(c, unit, word, inbound)
        return
    handler = HANDLERS.get(word)
    if handler is not None:
        await handler(c, unit, inbound, provider_replied)


async def _registered(c: WordsHost, unit: Unit, word: str, inbound: Inbound) -> None:
    """A word handled in ``bot.keyword_handlers``; one that does not apply (the time
    bank is off, say) is an ordinary reply."""
    call = _call(c, unit, inbound, arguments(inbound.text, word))  # type: ignore[arg-type]
    if not await keyword_handlers.HANDLERS[word](call):
        await c._converse(unit, inbound)


async def matched_word(c: WordsHost, unit: Unit, inbound: Inbound) -> bool:
    """A plain text that is a word known only at run time (an event's code word)."""
    return inbound.kind == "text" and await keyword_handlers.match(_call(c, unit, inbound, ()))


def _call(c: WordsHost, unit: Unit, inbound: Inbound, args: tuple[str, ...]) -> KeywordCall:
    """What a handler in ``bot.keyword_handlers`` gets (replies go through this unit)."""
    assert unit.address is not None
    return KeywordCall(unit.participant, inbound.text, args, unit.address.channel,
                       unit.now, c.config, c.store, unit.changes,
                       lambda key, **data: c._system(unit, key, **data),
                       f"inbox:{inbound.inbox_id}" if inbound.inbox_id else None)


def said_word(replies: Replies, unit: Unit, word: str, text: str) -> None:
    """A global word with the person's text after it (SUGGEST …: ``suggest_words``)."""
    outcome = SAID_HANDLERS[word](unit.participant, text)
    if outcome.event is not None:
        replies.event(unit, outcome.event.name, outcome.event.payload())
    replies.system(unit, outcome.reply, **outcome.args)
