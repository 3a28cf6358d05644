"""SMS conversation turns per second and turn latency, through the signed webhook.

Parley: the real ``parley serve`` process with SQLite, Twilio pointed at a local fake.
A turn is one participant's reply (a signed ``POST /sms/inbound``, committed to the
inbox before the 200) until Parley's next question reaches the fake Twilio REST API
through the outbox — durable at every step.

Baseline, same machine, same run: the Twilio-tutorial style app, as lean as we could
write it (the strongest non-durable handler, not a strawman) — a bare ASGI app under
uvicorn that checks the signature with Twilio's ``RequestValidator``, keeps each
person's place in a dict and answers with TwiML in the webhook's own response. Nothing
is stored, nothing is paced; a crash forgets everyone.

Both serve the same four ONS4 questions to the same number of simulated people, each
sending a reply and waiting for the next question before answering again. Besides
turns/s and latency, ``sms_server_cpu_per_turn`` is each server process's own CPU time
over the measured window divided by the turns (ratio = baseline ÷ Parley).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import httpx
import uvicorn
from twilio.request_validator import RequestValidator

from bench.common import Run, cpu_seconds, figure, percentile
from tests.fakes.server import ServedApp
from tests.fakes.twilio_api import DEFAULT_AUTH_TOKEN, FakeTwilio, inbound_sms_form
from tests.sms_harness import (
    PUBLIC_URL,
    TWILIO_NUMBER,
    ParleyProcess,
    db_runtime,
    enrol,
    write_config,
)

QUESTIONS = [
    "Overall, how satisfied are you with your life nowadays?",
    "Overall, to what extent do you feel that the things you do in your life are worthwhile?",
    "Overall, how happy did you feel yesterday?",
    "On a scale where 0 is 'not at all anxious' and 10 is 'completely anxious', overall, "
    "how anxious did you feel yesterday?",
]


class SignallingTwilio(FakeTwilio):
    """The fake Twilio, waking the waiting simulated phone as each message arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.arrived: dict[str, asyncio.Queue[float]] = {}

    def _accept(self, params: dict[str, Any]) -> dict[str, Any]:
        resource = super()._accept(params)
        queue = self.arrived.get(params["To"])
        if queue is not None:
            self.loop.call_soon_threadsafe(queue.put_nowait, time.perf_counter())
        return resource


def own_client(base_url: str, tls: ssl.SSLContext) -> httpx.AsyncClient:
    """One client (one keep-alive connection) per simulated phone: a single shared pool
    at this concurrency becomes the bottleneck and would measure httpx, not the server.
    They share one TLS context (unused on plain http): httpx would otherwise load the CA
    store for each, some 15 ms of CPU apiece, which a 100-phone run measured as latency."""
    return httpx.AsyncClient(base_url=base_url, timeout=30, verify=tls,
                             limits=httpx.Limits(max_connections=1))


async def converse(base_url: str, numbers: list[str],
                   next_question: Callable[[str], Awaitable[float]] | None,
                   pid: int, label: str) -> Run:
    """Everyone answers the four questions, each waiting for the next question: from
    the webhook's own answer (TwiML) when ``next_question`` is None, else from the time
    ``next_question`` reports it reached the phone. ``pid`` is the server's process, whose
    CPU time over the window is divided by the turns."""
    latencies: list[float] = []
    tls = ssl.create_default_context()
    clients = {number: own_client(base_url, tls) for number in numbers}  # before the clock

    async def person(number: str) -> None:
        async with clients[number] as http:
            for answer in ["7", "6", "5", "8"]:
                form = inbound_sms_form(number, TWILIO_NUMBER, answer)
                start = time.perf_counter()
                response = await http.post("/sms/inbound", data=form,
                                           headers=signed(PUBLIC_URL + "/sms/inbound", form))
                response.raise_for_status()
                arrived = time.perf_counter() if next_question is None \
                    else await next_question(number)
                latencies.append(arrived - start)

    began, cpu_before = time.perf_counter(), cpu_seconds(pid)
    await asyncio.gather(*(person(n) for n in numbers))
    rate = len(latencies) / (time.perf_counter() - began)
    cpu_ms = (cpu_seconds(pid) - cpu_before) / len(latencies) * 1000
    sys.stderr.write(f"{label}: {len(latencies)} turns, {rate:.0f}/s; server CPU "
                     f"{cpu_ms:.2f} ms a turn\n")
    return Run(label, rate, latencies, cpu_ms)


def signed(url: str, form: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(DEFAULT_AUTH_TOKEN).compute_signature(
        url, form)}


async def parley_run(users: int, quick: bool) -> Run:
    loop = asyncio.get_running_loop()
    fake = SignallingTwilio(loop)
    numbers = [f"+4477009{i:05d}" for i in range(users)]
    for number in numbers:
        fake.arrived[number] = asyncio.Queue()
    with tempfile.TemporaryDirectory() as tmp, ServedApp(fake.app) as served:
        config = write_config(Path(tmp), served.base_url, rate_limit_per_second=1000,
                              request_timeout=10)
        runtime = await db_runtime(config)
        for number in numbers:
            pid = await enrol(runtime, number)
            await runtime.conversations.start_flow(pid, "ons4")
        await runtime.close()
        server = ParleyProcess(config).start()
        try:
            for number in numbers:  # intro + first question
                for _ in range(2):
                    await asyncio.wait_for(fake.arrived[number].get(), 30)
            async def next_question(number: str) -> float:
                return await asyncio.wait_for(fake.arrived[number].get(), 30)

            assert server.proc is not None
            return await converse(server.base_url, numbers, next_question, server.proc.pid,
                                  "parley")
        finally:
            server.stop()


def tutorial_app() -> Callable[..., Awaitable[None]]:
    """What many SMS survey bots start as — TwiML replies, state in a dict — written as
    lean as we could: a bare ASGI app (no framework, the form parsed by the standard
    library), Twilio's own ``RequestValidator``, nothing stored, nothing paced."""
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    place: dict[str, int] = {}
    answers: dict[str, list[str]] = {}
    url = PUBLIC_URL + "/sms/inbound"

    async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                  send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to set up
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        signature = dict(scope["headers"]).get(b"x-twilio-signature", b"").decode()
        if scope["path"] != "/sms/inbound" or not validator.validate(url, form, signature):
            await send({"type": "http.response.start", "status": 403, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        number, text = form["From"], form["Body"].strip()
        index = place.get(number, 0)  # one event loop thread: no lock needed
        if text.isdigit() and 0 <= int(text) <= 10:
            answers.setdefault(number, []).append(text)
            index += 1
            place[number] = index
        reply = QUESTIONS[index] if index < len(QUESTIONS) else "Thank you."
        twiml = (f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
                 f"{escape(reply)}</Message></Response>").encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/xml")]})
        await send({"type": "http.response.body", "body": twiml})

    return app


async def baseline_run(users: int) -> Run:
    """The tutorial app in its own uvicorn process, as Parley runs in its own."""
    numbers = [f"+4477008{i:05d}" for i in range(users)]
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        proc = subprocess.Popen([sys.executable, "-m", "bench.sms_turns", "--serve-baseline",
                                 str(port_file)], cwd=Path(__file__).resolve().parent.parent)
        try:
            deadline = time.monotonic() + 20
            while not port_file.exists():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("baseline server did not start")
                await asyncio.sleep(0.05)
            base_url = f"http://127.0.0.1:{port_file.read_text().strip()}"

            return await converse(base_url, numbers, None, proc.pid, "baseline")
        finally:
            proc.terminate()
            proc.wait(10)


def serve_baseline(port_file: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(tutorial_app(), log_config=None, access_log=False)
    server = uvicorn.Server(config)
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(sock.getsockname()[1]))
    tmp.replace(port_file)
    asyncio.run(server.serve(sockets=[sock]))


async def main_async(users: int, quick: bool) -> None:
    base = await baseline_run(users)
    ours = await parley_run(users, quick)
    figure("sms_turns_per_second", ours.rate, "turns/s", base.rate)
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        figure(f"sms_turn_latency_{name}", percentile(ours.latencies, q), "ms",
               percentile(base.latencies, q), higher_is_better=False)
    figure("sms_server_cpu_per_turn", ours.cpu_per_turn_ms, "ms", base.cpu_per_turn_ms,
           higher_is_better=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="50 users")
    parser.add_argument("--serve-baseline", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return
    asyncio.run(main_async(50 if args.quick else args.users, args.quick))


if __name__ == "__main__":
    main()
