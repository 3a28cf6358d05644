"""The demo's agenda-setting step: people propose what to ask about next (SUGGEST, at
any time), the team moderates, everyone votes on the ideas taken up, and everyone hears
what the vote decided — each in their own language."""

from __future__ import annotations

from rich.markup import escape

from bot.agenda.round_vars import round_vars
from bot.agenda.suggestions import Suggestions
from bot.agenda.vote_result import vote_result_vars
from bot.demo_cycle import Cycle, _line


async def agenda_step(cycle: Cycle) -> None:
    runtime, console = cycle.runtime, cycle.console
    for persona in cycle.personas:
        for text in persona.script.get("suggest", []):
            console.print(f"[bold]{persona.name}[/] [dim]({cycle._channel(persona)})[/]",
                          markup=True)
            _line(console, persona.name, text, "green")
            await cycle.converse(persona, await cycle.phones[persona.name].say(text))
    book = Suggestions(runtime.store, runtime.renderer, runtime.config)
    found = await book.all()
    if len(found) < 3:
        return
    now = cycle.clock.now()
    first, similar, other = found[0], found[1], found[2]
    await book.accept(first.code, now, label="Cheaper bus fares", by="coordinator@demo")
    await book.merge(similar.code, first.code, now, by="coordinator@demo")
    await book.accept(other.code, now, label="Fewer forms to fill in", by="coordinator@demo")
    console.print(f"[dim]parley suggestions accept {first.code} --label 'Cheaper bus fares'; "
                  f"merge {similar.code} --into {first.code}; accept {other.code} --label "
                  f"'Fewer forms to fill in' (each suggester is told, in their language)[/]",
                  markup=True)
    await cycle.tick()
    extra, used = await round_vars(runtime, "vote", from_suggestions="all")
    vote = await cycle.send_round("vote", "vote", extra_vars=extra, days=2)
    await runtime.store.mark_suggestions_used(used, vote)
    result = await vote_result_vars(runtime.store, runtime.library, vote)
    console.print(f"[dim]parley suggestions share {vote}: {escape(result['results'])}[/]",
                  markup=True)
    await cycle.send_round("vote_result", "vote-result", extra_vars=result, days=1)
