"""The ``parley`` command line: people get readable output, machines get JSON."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from bot.cli_common import (
    ChannelOpt,
    ConfigOpt,
    check_channel,
    config_or_exit,
    fail,
    out,
    run,
    sim_address,
)
from bot.cli_flows import flows_app
from bot.clock import ManualClock
from bot.config import Config
from bot.engine.options_from import samples as option_samples
from bot.errors import ParleyError
from bot.ids import SequentialIds
from bot.runtime import Runtime, open_runtime
from bot.simulator import Received, SimulatedPhone, enrolled_phone
from bot.store.scratch import ScratchStore
from bot.text.render import button_labels, sms_bodies

app = typer.Typer(help="Parley: co-produce research with people, over Telegram and SMS.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
app.add_typer(flows_app, name="flows")


def _register_groups() -> None:
    from bot.cli_participants import participants_app

    app.add_typer(participants_app, name="participants")
    from bot.cli_coordinators import coordinators_app

    app.add_typer(coordinators_app, name="coordinators")
    from bot.cli_credits import credits_app
    from bot.cli_findings import findings_app
    from bot.cli_rounds import audit_app, rounds_app

    app.add_typer(rounds_app, name="rounds")
    app.add_typer(findings_app, name="findings")
    import bot.cli_shareback  # noqa: F401  (adds share-back, comments, decide to findings)
    app.add_typer(credits_app, name="credits")
    app.add_typer(audit_app, name="audit")
    from bot.cli_timebank import timebank_app

    app.add_typer(timebank_app, name="timebank")
    from bot.cli_events import events_app

    app.add_typer(events_app, name="events")
    from bot.cli_themes import themes_app

    app.add_typer(themes_app, name="themes")
    from bot.cli_report import report

    app.command("report")(report)
    from bot.cli_suggestions import suggestions_app

    app.add_typer(suggestions_app, name="suggestions")
    from bot.cli_budgets import budgets_app

    app.add_typer(budgets_app, name="budgets")
    from bot.cli_deliberation import deliberation_app, statements_app

    app.add_typer(statements_app, name="statements")
    app.add_typer(deliberation_app, name="deliberation")
    from bot.cli_retention import retention_app

    app.add_typer(retention_app, name="retention")
    from bot.cli_init import init
    from bot.cli_safeguarding import safeguarding_app

    app.command("init")(init)

    app.add_typer(safeguarding_app, name="safeguarding")
    from bot.cli_db import db_app

    app.add_typer(db_app, name="db")
    from bot.cli_tokens import tokens_app

    app.add_typer(tokens_app, name="tokens")


async def _sim_runtime(config: Config) -> Runtime:
    return await open_runtime(config, store=ScratchStore(),
                              clock=ManualClock(datetime.now(UTC)), ids=SequentialIds())


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    out_vars = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--var takes KEY=VALUE, not '{pair}'")
        out_vars[key] = value
    return out_vars


async def _start(runtime: Runtime, flow_id: str, channel: str, locale: str,
                 variables: dict[str, str]) -> SimulatedPhone:
    if flow_id not in runtime.library:
        raise ParleyError(f"no flow called '{flow_id}' (known: {', '.join(runtime.library.ids)})")
    if locale not in runtime.config.project.locales and locale not in runtime.renderer.locales:
        raise ParleyError(f"locale '{locale}' has no templates "
                          f"(known: {', '.join(runtime.renderer.locales)})")
    flow = runtime.library.get(flow_id)
    for name, value in option_samples(flow).items():  # options given at send time
        variables.setdefault(name, value)
    for name, spec in flow.vars.items():
        if spec.required:  # optional ones (a revision's "you said") stay unset
            variables.setdefault(name, f"(sample {name.replace('_', ' ')})")
    phone, pid = await enrolled_phone(runtime, sim_address(channel), locale)
    await runtime.conversations.start_flow(pid, flow_id, variables)
    await phone.collect()
    return phone


def _message_json(msg: Received) -> list[dict[str, Any]]:
    if msg.channel == "telegram":
        return [{"text": msg.text, "choices": button_labels(msg.payload),
                 "encoding": None, "segments": None}]
    return [{"text": body.text, "choices": button_labels(msg.payload),
             "encoding": body.encoding, "segments": body.segments}
            for body in sms_bodies(msg.payload)]


def _show(msg: Received) -> None:
    for item in _message_json(msg):
        out.print(f"[bold cyan]Parley[/] ▸ {escape(item['text'])}", markup=True)
        if msg.channel == "telegram" and item["choices"]:
            out.print("         " + "  ".join(f"[ {c} ]" for c in item["choices"]), markup=False)
        if item["segments"] is not None:
            out.print(f"         [dim]({item['encoding']}, {item['segments']} segment"
                      f"{'s' if item['segments'] != 1 else ''})[/]", markup=True)


@app.command()
def simulate(
    flow: Annotated[str, typer.Argument(help="flow id, e.g. ons4")],
    channel: ChannelOpt = "sms",
    locale: Annotated[str, typer.Option(help="locale of the participant")] = "en",
    reply: Annotated[list[str] | None, typer.Option("--reply", help="a reply, in order; "
                                                    "repeat for several")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per message")] = False,
    var: Annotated[list[str] | None, typer.Option("--var", help="flow variable KEY=VALUE")] = None,
    config: ConfigOpt = None,
) -> None:
    """Run a flow non-interactively, feeding the replies in order."""
    check_channel(channel)
    cfg = config_or_exit(config)
    variables = _parse_vars(var or [])

    async def go() -> list[tuple[str | None, list[Received]]]:
        runtime = await _sim_runtime(cfg)
        phone = await _start(runtime, flow, channel, locale, variables)
        turns: list[tuple[str | None, list[Received]]] = [(None, list(phone.inbox))]
        for text in reply or []:
            turns.append((text, await phone.say(text)))
        await runtime.close()
        return turns

    for sent, received in run(go()):
        if as_json:
            for msg in received:
                for item in _message_json(msg):
                    sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
            continue
        if sent is not None:
            out.print(f"[bold green]You[/]    ▸ {escape(sent)}", markup=True)
        for msg in received:
            _show(msg)


@app.command()
def chat(
    flow: Annotated[str, typer.Argument(help="flow id, e.g. ons4")],
    channel: ChannelOpt = "sms",
    locale: Annotated[str, typer.Option(help="locale of the participant")] = "en",
    config: ConfigOpt = None,
) -> None:
    """Talk to a flow in the terminal as a participant (Ctrl-D or /quit to leave)."""
    check_channel(channel)
    cfg = config_or_exit(config)

    async def go() -> None:
        runtime = await _sim_runtime(cfg)
        phone = await _start(runtime, flow, channel, locale, {})
        for msg in phone.inbox:
            _show(msg)
        while True:
            try:
                text = await asyncio.to_thread(input, "You    ▸ ")
            except (EOFError, KeyboardInterrupt):
                break
            if text.strip() in ("/quit", "/exit"):
                break
            for msg in await phone.say(text):
                _show(msg)
        await runtime.close()

    run(go())


@app.command()
def demo(
    config: ConfigOpt = None,
    participants: Annotated[int, typer.Option(help="simulated participants", min=2,
                                              max=50)] = 2,
    keep_db: Annotated[Path | None, typer.Option(
        "--keep-db", help="keep the demo's SQLite database at this new path")] = None,
) -> None:
    """A co-production cycle on embedded defaults, printed as a transcript and summary."""
    from bot.demo import run_demo

    cfg = config_or_exit(config)
    if keep_db is not None and keep_db.exists():
        fail(f"--keep-db: {keep_db} already exists")
    run(run_demo(cfg, out, participants, database=keep_db))


@app.command()
def serve(
    config: ConfigOpt = None,
    senders: Annotated[str, typer.Option(help="'on', or 'paused' to accept and store "
                                         "messages without sending any")] = "on",
    processing: Annotated[str, typer.Option(help="'on', or 'paused' to store incoming "
                                            "messages and process them only on a later "
                                            "start (maintenance)")] = "on",
    port_file: Annotated[Path | None, typer.Option(help="write the bound port here "
                                                   "(useful with [server] port = 0)")] = None,
) -> None:
    """Run the web app (webhooks, health, metrics), scheduler and outbox senders."""
    from bot.server import serve as run_server

    if senders not in ("on", "paused"):
        fail("--senders must be 'on' or 'paused'")
    if processing not in ("on", "paused"):
        fail("--processing must be 'on' or 'paused'")
    cfg = config_or_exit(config)
    from bot.cli_init import require_project

    try:
        require_project(cfg)  # never start an empty project by accident
    except ParleyError as exc:
        fail(str(exc))
    run(run_server(cfg, senders_paused=senders == "paused",
                   processing_paused=processing == "paused", port_file=port_file),
        fast_loop=True)


def _keep_brackets(command: Any) -> None:
    """Help texts name config sections (``[coordinators]``), which rich markup would
    swallow as tags: escape every help text once, so --help prints them as written.
    (Duck-typed: typer builds its commands from its own copy of click.)"""
    for owner in (command, *command.params):
        for text_attr in ("help", "short_help"):
            value = getattr(owner, text_attr, None)
            if isinstance(value, str):
                setattr(owner, text_attr, escape(value))
    for sub in getattr(command, "commands", {}).values():
        _keep_brackets(sub)


def main() -> None:
    _register_groups()
    command = typer.main.get_command(app)
    _keep_brackets(command)
    command()


if __name__ == "__main__":
    main()
