"""Flow variables a round works out from the project's own data: a vote's options from
accepted suggestions (``--from-suggestions``)."""

from __future__ import annotations

from typing import Protocol

from bot.agenda.suggestions import Suggestions
from bot.budgets.setup import budget_vars
from bot.config import Config
from bot.deliberation.statements import Statements
from bot.errors import ParleyError
from bot.flows.loader import FlowLibrary
from bot.flows.models import AskNode
from bot.flows.models_many import AllocateAnswer, MultiAnswer, RankingAnswer
from bot.i18n.renderer import Renderer
from bot.store.base import Store


class Runtime(Protocol):
    """What this module uses of ``bot.runtime.Runtime`` (a Protocol, so the agenda sits
    below the runtime that assembles it)."""

    @property
    def store(self) -> Store: ...

    @property
    def library(self) -> FlowLibrary: ...

    @property
    def renderer(self) -> Renderer: ...

    @property
    def config(self) -> Config: ...


def options_var(runtime: Runtime, flow_id: str) -> str | None:
    """The variable a flow takes its options from (``options`` for the vote flow)."""
    if flow_id not in runtime.library:
        return None
    for node in runtime.library.get(flow_id).nodes.values():
        if isinstance(node, AskNode) and isinstance(
                node.answer, MultiAnswer | RankingAnswer | AllocateAnswer) and (
                node.answer.options_from is not None):
            return node.answer.options_from.removeprefix("vars.")
    return None


async def round_vars(runtime: Runtime, flow_id: str, *, from_suggestions: str | None = None,
                     budget: str | None = None) -> tuple[dict[str, str], list[int]]:
    """``(vars, suggestion ids used)``; ParleyError when the flow takes no options."""
    if (from_suggestions is None and budget is None and flow_id in runtime.library
            and "statements" in runtime.library.get(flow_id).vars):
        return await statement_vars(runtime), []
    if from_suggestions is None and budget is None:
        return {}, []
    if from_suggestions is not None and budget is not None:
        raise ParleyError("--from-suggestions and --budget: choose one")
    name = options_var(runtime, flow_id)
    if name is None:
        option = "--budget" if budget is not None else "--from-suggestions"
        raise ParleyError(f"{option}: flow '{flow_id}' has no question with options_from "
                          f"(use --flow {'budget' if budget is not None else 'vote'})")
    if budget is not None:
        found = await runtime.store.budget_get(budget)
        if found is None:
            raise ParleyError(f"--budget: no budget '{budget}' (parley budgets create)")
        return budget_vars(found), []
    assert from_suggestions is not None
    book = Suggestions(runtime.store, runtime.renderer, runtime.config)
    options, used = await book.vote_options(from_suggestions)
    return {name: options}, used


async def statement_vars(runtime: Runtime) -> dict[str, str]:
    """A statements round puts the approved statements voted on least so far."""
    used: dict[int, int] = {}
    for item in await runtime.store.rounds_all():
        for key, code in item.vars.items():
            if key.endswith("_id") and key.startswith("s") and code.startswith("T"):
                used[int(code[1:])] = used.get(int(code[1:]), 0) + 1
    return await Statements(runtime.store).round_vars(used)
