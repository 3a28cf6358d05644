"""SMS conversation turns per second and turn latency, through the signed webhook.

Parley: the real ``parley serve`` process with SQLite, Twilio pointed at a local fake.
A turn is one participant's reply (a signed ``POST /sms/inbound``, committed to the
inbox before the 200) until Parley's next question reaches the fake Twilio REST API
through the outbox — durable at every step.

Baseline, same machine, same run: the plain Twilio-tutorial style app — a small
Starlette handler that checks the signature, keeps each person's place in a dict and
answers with TwiML in the webhook's own response. Nothing is stored, nothing is paced;
a crash forgets everyone.

Both serve the same four ONS4 questions to the same number of simulated people, each
sending a reply and waiting for the next question before answering again.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bench.common import figure
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
                   ) -> tuple[float, list[float]]:
    """Everyone answers the four questions, each waiting for the next question: from
    the webhook's own answer (TwiML) when ``next_question`` is None, else from the time
    ``next_question`` reports it reached the phone. Returns turns/s and latencies."""
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

    began = time.perf_counter()
    await asyncio.gather(*(person(n) for n in numbers))
    return len(latencies) / (time.perf_counter() - began), latencies


def signed(url: str, form: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(DEFAULT_AUTH_TOKEN).compute_signature(
        url, form)}


async def parley_run(users: int, quick: bool) -> tuple[float, list[float]]:
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

            rate, latencies = await converse(server.base_url, numbers, next_question)
        finally:
            server.stop()
    return rate, latencies


def tutorial_app() -> Starlette:
    """What many SMS survey bots start as: TwiML replies, state in a dict."""
    validator = RequestValidator(DEFAULT_AUTH_TOKEN)
    place: dict[str, int] = {}
    answers: dict[str, list[str]] = {}
    lock = threading.Lock()

    async def inbound(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not validator.validate(PUBLIC_URL + "/sms/inbound", form,
                                  request.headers.get("X-Twilio-Signature", "")):
            return Response(status_code=403)
        number, body = form["From"], form["Body"].strip()
        with lock:
            index = place.get(number, 0)
            if body.isdigit() and 0 <= int(body) <= 10:
                answers.setdefault(number, []).append(body)
                index += 1
                place[number] = index
        text = QUESTIONS[index] if index < len(QUESTIONS) else "Thank you."
        twiml = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}' \
                f"</Message></Response>"
        return Response(twiml, media_type="text/xml")

    return Starlette(routes=[Route("/sms/inbound", inbound, methods=["POST"])])


async def baseline_run(users: int) -> tuple[float, list[float]]:
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

            rate, latencies = await converse(base_url, numbers, None)
        finally:
            proc.terminate()
            proc.wait(10)
    return rate, latencies


def serve_baseline(port_file: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(tutorial_app(), log_config=None, access_log=False)
    server = uvicorn.Server(config)
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(sock.getsockname()[1]))
    tmp.replace(port_file)
    asyncio.run(server.serve(sockets=[sock]))


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def main_async(users: int, quick: bool) -> None:
    base_rate, base_lat = await baseline_run(users)
    ours_rate, ours_lat = await parley_run(users, quick)
    figure("sms_turns_per_second", ours_rate, "turns/s", base_rate)
    figure("sms_turn_latency_p50", p(ours_lat, 0.5), "ms", p(base_lat, 0.5),
           higher_is_better=False)
    figure("sms_turn_latency_p99", p(ours_lat, 0.99), "ms", p(base_lat, 0.99),
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
