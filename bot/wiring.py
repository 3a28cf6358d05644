"""Putting rounds, credits and coordinator commands into a running Parley."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

# imported for the words they register in bot.keyword_handlers (PAUSE, RESUME, OFFERS,
# SPEND, the time bank's BALANCE, an event's code word): the registry never imports them
import bot.burden.pause
import bot.events.attendance
import bot.timebank.keywords  # noqa: F401
from bot.conversations import Conversations
from bot.credits.ledger import balance_of
from bot.events.rsvp import EventRsvps
from bot.events.service import EventService
from bot.rounds.coordinator_chat import CoordinatorChat
from bot.rounds.hooks import ParleyHooks
from bot.rounds.service import RoundService
from bot.safeguarding.chat_ack import ChatAck
from bot.safeguarding.desk import Desk
from bot.scheduler.due import DueWork

if TYPE_CHECKING:
    from bot.scheduler.job import SchedulerJob


class Runtime(Protocol):
    """What wiring uses of ``bot.runtime.Runtime``, which calls ``attach`` while it is
    assembled (a Protocol, so wiring sits below the runtime)."""

    @property
    def conversations(self) -> Conversations: ...


def round_service(conversations: Conversations) -> RoundService:
    return RoundService(store=conversations.store, config=conversations.config,
                        library=conversations.library, renderer=conversations.renderer,
                        clock=conversations.clock)


def attach(conversations: Conversations) -> None:
    """Round bookkeeping, credits, BALANCE and chat-side coordinator commands."""
    store = conversations.store
    chat = CoordinatorChat(store=store, config=conversations.config,
                           rounds=round_service(conversations))
    hooks = ParleyHooks(store=store, config=conversations.config,
                        library=conversations.library, coordinator=chat)
    hooks.events = EventRsvps(store, conversations.renderer, conversations.config)
    conversations.hooks = hooks
    desk = Desk(store=store, config=conversations.config, clock=conversations.clock)
    conversations.after_attention = desk.sync_soon  # items and alerts at once, not next tick
    chat.more.append(ChatAck(desk))  # coordinators acknowledge alerts by replying ACK 12
    if conversations.balance_of is None:
        conversations.balance_of = lambda pid: balance_of(store, pid)


def due_work(runtime: Runtime) -> DueWork:
    conversations = runtime.conversations
    rounds = round_service(conversations)
    work = DueWork(store=conversations.store, conversations=conversations, rounds=rounds,
                   config=conversations.config, library=conversations.library)
    work.events = EventService(conversations, rounds)  # day-before reminders
    return work


def scheduler_job(runtime: Runtime, interval: float = 20.0,
                  holder: str | None = None) -> SchedulerJob:
    from bot.durations import parse_duration
    from bot.scheduler.job import SchedulerJob
    from bot.scheduler.leadership import Leadership

    conversations = runtime.conversations
    config, clock = conversations.config, conversations.clock
    leadership = None
    if not config.store.url.startswith("sqlite:"):  # a database several processes share
        leadership = Leadership(conversations.store, clock,
                                ttl=parse_duration(config.schedule.leader_lease), holder=holder)
    return SchedulerJob(due_work(runtime), clock, interval=interval, leadership=leadership)
