"""What a vote on suggestions decided, for a share-back round to everyone (the
suggesters included): how many voted and the options by how many chose them."""

from __future__ import annotations

from bot.engine.options_from import resolve
from bot.engine.tally import tally
from bot.errors import ParleyError
from bot.flows.loader import FlowLibrary
from bot.flows.models import AskNode
from bot.flows.models_many import MultiAnswer, RankingAnswer
from bot.store.base import Store

SHOWN = 5
"""Options named in the message: the top five keep it to a couple of SMS segments."""


async def vote_result_vars(store: Store, library: FlowLibrary, round_id: str
                           ) -> dict[str, str]:
    item = await store.round_get(round_id)
    if item is None or item.flow_id not in library:
        raise ParleyError(f"no vote round '{round_id}'")
    flow = resolve(library.get(item.flow_id), item.vars)
    asks = [(nid, n) for nid, n in flow.nodes.items() if isinstance(n, AskNode)
            and isinstance(n.answer, MultiAnswer | RankingAnswer)
            and n.answer.options_from is not None]
    if not asks:
        raise ParleyError(f"round {round_id} is not a vote on suggestions")
    node_id, node = asks[0]
    assert isinstance(node.answer, MultiAnswer | RankingAnswer)
    latest = {a.participant_id: a.value for a in await store.answers(round_id=round_id)
              if a.node == node_id and not a.skipped and a.value is not None}
    if not latest:
        raise ParleyError(f"nobody has voted in round {round_id} yet")
    labels = {o.value: o.label for o in node.answer.options}
    totals = sorted(tally(node.answer, latest.values()), key=lambda t: -t.score)
    shown = [f"{labels[t.value]} ({t.score})" for t in totals[:SHOWN] if t.score > 0]
    return {"voters": str(len(latest)), "results": "; ".join(shown), "vote_round": round_id}
