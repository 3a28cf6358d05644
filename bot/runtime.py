"""Assembling Parley from configuration: templates, flows, store and conversations."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.conversations import Conversations
from bot.flows.loader import FlowLibrary
from bot.i18n.renderer import Renderer
from bot.ids import IdSource
from bot.store import open_store
from bot.store.base import Store
from bot.wiring import attach


@dataclass
class Runtime:
    config: Config
    renderer: Renderer
    library: FlowLibrary
    store: Store
    conversations: Conversations
    clock: Clock

    async def close(self) -> None:
        await self.store.close()


def load_content(config: Config) -> tuple[Renderer, FlowLibrary]:
    """Templates and flows, validated against every enabled locale (raises on problems)."""
    renderer = Renderer.from_dir(config.templates_path(), config.project.locales[0])
    library = FlowLibrary.from_dir(config.flows_path(), renderer, config.project.locales)
    return renderer, library


async def open_runtime(config: Config, *, store: Store | None = None,
                       clock: Clock | None = None, ids: IdSource | None = None) -> Runtime:
    renderer, library = load_content(config)
    store = store or open_store(config.store.url)
    await store.open()
    for (flow_id, version), source in library.sources.items():
        await store.save_flow_source(flow_id, version, source)
    clock = clock or SystemClock()
    conversations = Conversations(store=store, library=library, renderer=renderer,
                                  config=config, clock=clock, ids=ids)
    attach(conversations)  # rounds, credits (BALANCE) and coordinator commands
    return Runtime(config, renderer, library, store, conversations, clock)
