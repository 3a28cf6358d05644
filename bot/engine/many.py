"""How several-option questions look and how their buttons behave (pure, like ``step``).

- SMS and consoles get the numbered options plus one line saying how to answer
  ("Reply with all the numbers that apply, like 1 3").
- Telegram: a ``multi`` question has toggle buttons (a tick on each chosen option) and a
  Done button; a ``ranking`` question is tapped in order (the order so far is shown,
  already-ranked options leave the keyboard), then Confirm or Start again. Each tap
  shows the question again in its new state (Telegram edits the pressed message in
  place, ``bot.taps``); the state lives in the session (``_picks``), tied to one asking,
  so a stale selection never leaks into a later question.
- ``allocate`` has no buttons (amounts are typed on every channel), so its Telegram text
  is the full listing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from bot.engine.io import Choice
from bot.engine.session import FieldValue, Session
from bot.flows.models import AskNode, Flow
from bot.flows.models_many import AllocateAnswer, MultiAnswer, RankingAnswer

PICKS = "_picks"
"""Session field holding the taps so far: ``[str(asked), index, index, …]``. Flow fields
cannot start with ``_``, so it never collides with a coordinator's field."""
DONE, RESTART = "done", "again"
MANY = (MultiAnswer, RankingAnswer, AllocateAnswer)
TAPPED = (MultiAnswer, RankingAnswer)
TAPPED_KINDS = frozenset({"multi", "ranking"})
"""``TAPPED`` by ``kind``: a cheap test before the ``isinstance`` (slow when it fails)."""
Render = Callable[..., str]
Action = Literal["toggle", "over", "over_budget", "submit", "restart"]


def is_tapped(flow: Flow, node_id: str) -> bool:
    """Whether the question at ``node_id`` is answered by several taps."""
    node = flow.nodes.get(node_id)
    return isinstance(node, AskNode) and isinstance(node.answer, TAPPED)


def hint_key(answer: MultiAnswer | RankingAnswer | AllocateAnswer) -> str:
    return {"multi": "answers.multi_hint", "ranking": "answers.ranking_hint",
            "allocate": "answers.allocate_hint"}[answer.kind]


def hint_args(answer: MultiAnswer | RankingAnswer | AllocateAnswer) -> dict[str, Any]:
    """What the hints and re-prompts of a kind may say."""
    args: dict[str, Any] = {"count": len(answer.options)}
    if isinstance(answer, MultiAnswer):
        args.update(min=answer.min, max=answer.most)
    elif isinstance(answer, RankingAnswer):
        args.update(need=answer.needed, all=answer.top is None)
    else:
        args.update(total=answer.total, unit=answer.unit, exact=answer.exact)
    return args


def sms_hints(answer: MultiAnswer | RankingAnswer | AllocateAnswer, listing: str,
              skip_line: str, render: Render) -> list[Callable[[], str]]:
    """Most helpful first; the caller keeps the first that fits one SMS segment."""
    how = render(hint_key(answer), **hint_args(answer))
    return [lambda: f"{listing}\n{how}{skip_line}", lambda: f"{listing}\n{how}",
            lambda: listing]


def current(session: Session) -> list[int]:
    """The options tapped so far at the question now open."""
    stored = session.fields.get(PICKS)
    if not isinstance(stored, list) or not stored or stored[0] != str(session.asked):
        return []
    return [int(i) for i in stored[1:]]


def stored(session: Session, picked: Sequence[int]) -> FieldValue:
    return [str(session.asked), *(str(i) for i in picked)]


def after_tap(answer: MultiAnswer | RankingAnswer, picked: list[int], key: str
              ) -> tuple[Action, list[int]]:
    """What a tap does: ``key`` is an option's number or a control."""
    if key == DONE:
        return "submit", picked
    if key == RESTART:
        return "restart", []
    index = int(key) - 1
    if isinstance(answer, RankingAnswer):
        return "toggle", picked if index in picked else [*picked, index]
    if index in picked:
        return "toggle", [i for i in picked if i != index]
    if len(picked) >= answer.most:
        return "over", picked
    if answer.limit is not None and spent(answer, [*picked, index]) > answer.limit:
        return "over_budget", picked
    return "toggle", sorted([*picked, index])


def spent(answer: MultiAnswer, picked: Sequence[int]) -> int:
    """What the picks cost, for approval within a budget."""
    return sum(answer.options[i].cost or 0 for i in picked)


def budget_args(answer: MultiAnswer, picked: Sequence[int]) -> dict[str, Any]:
    used = spent(answer, picked)
    total = answer.limit or 0
    return {"picked": len(picked), "spent": used, "total": total, "left": total - used,
            "over": used - total, "unit": answer.unit}


def typed(picked: Sequence[int]) -> str:
    """The taps as the reply someone would have typed (``3 1 2``), for the parser."""
    return " ".join(str(i + 1) for i in picked)


def ranking_complete(answer: RankingAnswer, picked: Sequence[int]) -> bool:
    return len(picked) >= answer.needed or (answer.top is None
                                            and len(picked) == len(answer.options) - 1)


def controls(answer: MultiAnswer | RankingAnswer, base: tuple[Choice, ...],
             picked: list[int], prefix: str, render: Render) -> tuple[Choice, ...]:
    """The buttons of a tapped question in its current state."""
    make = tuple.__new__
    if isinstance(answer, MultiAnswer):
        tick = render("answers.tick")
        options = [make(Choice, (c.key, f"{tick} {c.label}" if i in picked else c.label,
                                 c.value, c.token)) for i, c in enumerate(base)]
        done = (render("answers.multi_done_budget", **budget_args(answer, picked))
                if answer.limit is not None else render("answers.multi_done", picked=len(picked)))
        return (*options, make(Choice, (DONE, done, None, prefix + DONE)))
    again = make(Choice, (RESTART, render("answers.ranking_again"), None, prefix + RESTART))
    if ranking_complete(answer, picked):
        confirm = make(Choice, (DONE, render("answers.ranking_confirm"), None, prefix + DONE))
        return (confirm, again)
    remaining = tuple(c for i, c in enumerate(base) if i not in picked)
    return (*remaining, again) if picked else remaining


def telegram_text(answer: MultiAnswer | RankingAnswer | AllocateAnswer, text: str,
                  labels: Sequence[str], picked: list[int], render: Render) -> str:
    """The question as a Telegram message: the tap hint, and a ranking's order so far."""
    if isinstance(answer, AllocateAnswer):
        return text
    key = "answers.multi_tap" if isinstance(answer, MultiAnswer) else "answers.ranking_tap"
    out = f"{text}\n{render(key, **hint_args(answer))}"
    if isinstance(answer, RankingAnswer) and picked:
        order = [labels[i] for i in picked]
        out += "\n" + render("answers.ranking_so_far", order=order)
    return out
