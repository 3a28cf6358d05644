"""Telegram conversation turns per second and turn latency, through the webhook.

Load: ``--users`` simulated people (100) in parallel, each answering the four ONS4
questions in a loop (``--turns`` answers each, 20; 8 with ``--quick``): post an update
to the webhook, wait until the bot's next question reaches the (fake) Bot API, answer
again. A turn is timed from the POST to that ``sendMessage`` arriving at the fake.

Parley: the real ``parley serve`` process with SQLite (WAL; every webhook committed with
fsync before its 200, every message marked ``sending`` on disk before its request). People
are enrolled beforehand and the flow is ONS4 with its last question leading back to the
first, so each answer is one turn and one reply, as in the baseline.

Baselines, same machine, same run, same fake: a python-telegram-bot 22 bot built the way
PTB's documentation shows — an ``Application`` with a ``ConversationHandler`` of four
states (the same four questions, the same 0-10 inline keyboard, answers kept in
``user_data``) and ``PicklePersistence`` — in its own process, in both configurations a
competent user might pick:

- ``default``: PTB's defaults, updates handled one at a time, fed by its built-in
  ``run_webhook`` (tornado);
- ``concurrent``: ``concurrent_updates(True)`` behind PTB's "custom webhook" pattern
  (Starlette + uvicorn, ``update_queue.put(Update.de_json(...))``, the web stack Parley
  serves with);

each on asyncio's own event loop and on uvloop (``-uvloop``: what ``parley serve`` runs
on, so the baseline gets it too); and ``default-gc``, the default with Python's garbage
collector tuned as ``parley serve`` tunes it (start-up frozen, young objects collected
less often: ``bot.server.tune_collector``), so Parley's tuning is the baseline's too.

Each figure is compared with the best of the five *for that figure* (the higher rate,
the lower latency, the lower CPU); every configuration's own figures go to stderr. PTB's
pickle is written every 60 s (its default ``update_interval``), so a crash loses up to
a minute of answers and any update acknowledged but not yet handled; Parley loses
nothing.

Fairness of the rig: the fake Bot API runs in its own process (in this one it would
queue behind the load generator for the GIL) and tells the load generator of each
message by a UDP datagram; the load generator speaks raw HTTP/1.1 on one keep-alive
connection per person (httpx would cost more CPU than the servers it measures). Both
servers get the same fake, the same load and the same machine, one after the other.
The server's own CPU time per turn (``/proc/<pid>/stat`` over the measured window) is
less sensitive than wall time to whatever else the machine is doing.

Prints the contract's JSON lines: turns/s, p50 and p99 latency and
``telegram_server_cpu_per_turn`` (ms), each with the baseline and the ratio (ours ÷
baseline for turns/s; baseline ÷ ours for latencies and CPU, so > 1 is better for
Parley in every line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Run, cpu_seconds, figure, percentile
from tests.fakes.telegram_api import (
    DEFAULT_TOKEN,
    SECRET_TOKEN_HEADER,
    FakeTelegram,
    make_text_update,
)

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
ANSWERS = ["7", "6", "5", "8"]
QUESTIONS = [
    "Overall, how satisfied are you with your life nowadays?\n"
    "(0 = not at all, 10 = completely)",
    "Overall, to what extent do you feel that the things you do in your life are "
    "worthwhile?\n(0 = not at all, 10 = completely)",
    "Overall, how happy did you feel yesterday?\n(0 = not at all, 10 = completely)",
    "On a scale where 0 is 'not at all anxious' and 10 is 'completely anxious', overall, "
    "how anxious did you feel yesterday?\n(0 = not at all anxious, 10 = completely anxious)",
]
INTRO = ("Next, 4 questions about how you feel. There are no right or wrong answers. Answer "
         "0 to 10, where 0 is 'not at all' and 10 is 'completely'.")


class SignallingTelegram(FakeTelegram):
    """The fake Bot API, telling the load generator (a UDP datagram with the chat id) as
    each question (a message with buttons) arrives; the introduction before the first
    question is not counted, whether sent on its own (PTB) or joined to it (Parley).
    It runs in its own process: sharing one with the load generator would make the two
    queue behind each other for the GIL."""

    def __init__(self, notify_port: int) -> None:
        super().__init__(DEFAULT_TOKEN)
        self.notify = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.target = ("127.0.0.1", notify_port)

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        message = super()._send_message(params)
        if params.get("reply_markup"):
            self.notify.sendto(str(params["chat_id"]).encode(), self.target)
        with self._lock:  # thousands of messages: keep the fake's memory flat
            self.sent_messages.clear()
            self.calls.clear()
            self._messages.clear()
        return message


def serve_fake(port_file: Path, notify_port: int) -> None:
    from tests.fakes.server import serve_forever

    serve_forever(SignallingTelegram(notify_port).app, port_file=port_file)


class Arrivals(asyncio.DatagramProtocol):
    """Messages the fake received, as per-chat queues of arrival times."""

    def __init__(self) -> None:
        self.queues: dict[int, asyncio.Queue[float]] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.expect(int(data)).put_nowait(time.perf_counter())

    def expect(self, chat_id: int) -> asyncio.Queue[float]:
        return self.queues.setdefault(chat_id, asyncio.Queue())


class Connection:
    """A minimal HTTP/1.1 keep-alive client, one per person: the load generator must
    cost far less than the servers it measures (httpx takes about a millisecond of CPU
    a request, which on two cores would measure the benchmark, not the servers)."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: "
                   f"application/json\r\nContent-Length: {len(body)}\r\n{head}\r\n"
                   ).encode() + body
        for attempt in range(2):  # the server may have closed an idle keep-alive connection
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            self.writer.write(request)
            try:
                status_line = await self.reader.readline()
            except ConnectionError:
                if attempt:
                    raise
                status_line = b""
            if status_line:
                break
            await self.close()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def loop_flow(folder: Path) -> Path:
    """The shipped flows, plus ``ons4_loop``: ONS4 with the last question leading back."""
    flows = folder / "flows"
    flows.mkdir()
    for source in (ROOT / "flows").glob("*.toml"):
        (flows / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    text = (ROOT / "flows" / "ons4.toml").read_text(encoding="utf-8")
    text = text.replace('id = "ons4"', 'id = "ons4_loop"', 1)
    marker = 'save_as = "anxious_yesterday"\nnext = "thanks"'
    assert marker in text, "ons4.toml changed; update the benchmark"
    thanks = '[nodes.thanks]\ntype = "end"\ntext = "ons4.thanks"\n'
    assert thanks in text, "ons4.toml changed; update the benchmark"
    text = text.replace(marker, 'save_as = "anxious_yesterday"\nnext = "satisfaction"')
    (flows / "ons4_loop.toml").write_text(text.replace(thanks, ""), encoding="utf-8")
    return flows


def write_config(folder: Path, fake_url: str, store_url: str | None = None) -> Path:
    """``folder/config.toml``: the bench's flows, this fake, and ``store_url`` (default an
    SQLite file in ``folder``)."""
    path = folder / "config.toml"
    store = store_url or f"sqlite:///{folder / 'parley.db'}"
    path.write_text(f"""
[project]
name = "Money Voices"
contact = "call 0800 123 456"
locales = ["en"]
flows_dir = "{loop_flow(folder)}"
templates_dir = "{ROOT / 'templates'}"

[store]
url = "{store}"

[server]
host = "127.0.0.1"
port = 0

[schedule]
quiet_hours = ""

[telegram]
token = "{DEFAULT_TOKEN}"
webhook_secret = "{SECRET}"
api_base_url = "{fake_url}/bot"
rate_limit_per_second = 100000
per_chat_per_second = 1000
request_timeout = 30
""", encoding="utf-8")
    return path


def start_process(args: list[str], port_file: Path, log: Path) -> tuple[subprocess.Popen[bytes],
                                                                          str]:
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{args} exited:\n{log.read_text()[-2000:]}")
        if port_file.exists():
            return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{args} did not start:\n{log.read_text()[-2000:]}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


async def run_people(arrivals: Arrivals, base_url: str, chats: list[int], turns: int,
                     path: str, headers: dict[str, str], pid: int,
                     label: str) -> Run:
    """Everyone answers ``turns`` times, waiting for the next question each time."""
    latencies: list[float] = []
    cpu_before = cpu_seconds(pid)
    update_ids = iter(range(1_000_000, 100_000_000))

    async def person(chat_id: int) -> None:
        connection = Connection(base_url)
        try:
            for n in range(turns):
                update = make_text_update(next(update_ids), chat_id, ANSWERS[n % 4],
                                          message_id=1000 + n, first_name="Sam")
                body = json.dumps(update).encode()
                start = time.perf_counter()
                status = await connection.post(path, body, headers)
                assert status == 200, status
                arrived = await asyncio.wait_for(arrivals.expect(chat_id).get(), 60)
                latencies.append(arrived - start)
        finally:
            await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(person(c) for c in chats))
    elapsed = time.perf_counter() - began
    cpu_ms = (cpu_seconds(pid) - cpu_before) / len(latencies) * 1000
    sys.stderr.write(f"{label}: {len(latencies)} turns in {elapsed:.1f}s; server CPU "
                     f"{cpu_ms:.2f} ms a turn\n")
    return Run(label, len(latencies) / elapsed, latencies, cpu_ms)


async def parley_run(arrivals: Arrivals, fake_url: str, users: int,
                     turns: int) -> Run:
    from bot.config import load_config
    from bot.runtime import open_runtime
    from bot.simulator import enrolled_phone

    chats = list(range(500_001, 500_001 + users))
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), fake_url)
        runtime = await open_runtime(load_config(config))
        for chat_id in chats:
            arrivals.expect(chat_id)
            _, pid = await enrolled_phone(runtime, f"telegram:{chat_id}", name="Sam")
            await runtime.conversations.start_flow(pid, "ons4_loop")
        await runtime.close()
        port_file = Path(tmp) / "port"
        proc, base_url = start_process(
            ["-m", "bot.cli", "serve", "--config", str(config), "--port-file", str(port_file)],
            port_file, Path(tmp) / "serve.log")
        try:
            for chat_id in chats:  # the first question
                await asyncio.wait_for(arrivals.expect(chat_id).get(), 60)
            return await run_people(arrivals, base_url, chats, turns, "/telegram/webhook",
                                    {SECRET_TOKEN_HEADER: SECRET}, proc.pid, "parley")
        finally:
            stop_process(proc)


async def wait_listening(base_url: str) -> None:
    """PTB's ``run_webhook`` starts its server after the port is published: wait for it."""
    host, port = base_url.removeprefix("http://").split(":")
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"the baseline never listened on {base_url}")


async def baseline_run(arrivals: Arrivals, fake_url: str, users: int, turns: int,
                       mode: str) -> Run:
    first = 600_001 + 100_000 * BASELINE_MODES.index(mode)
    chats = list(range(first, first + users))
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        proc, base_url = start_process(
            ["-m", "bench.telegram_turns", "--serve-baseline", str(port_file),
             "--fake-url", fake_url, "--pickle", str(Path(tmp) / "bot.pickle"),
             "--mode", mode], port_file, Path(tmp) / "baseline.log")
        try:
            await wait_listening(base_url)
            async def begin(chat_id: int) -> None:
                connection = Connection(base_url)
                update = make_text_update(chat_id, chat_id, "/start", message_id=1)
                assert await connection.post("/webhook", json.dumps(update).encode(), {}) == 200
                await connection.close()
                await asyncio.wait_for(arrivals.expect(chat_id).get(), 60)  # 1st question

            await asyncio.gather(*(begin(c) for c in chats))
            return await run_people(arrivals, base_url, chats, turns, "/webhook", {},
                                    proc.pid, f"ptb-{mode}")
        finally:
            stop_process(proc)


# -- the baseline bot (its own process) -------------------------------------------------------
def serve_baseline(port_file: Path, fake_url: str, pickle_path: Path, mode: str) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import (
        Application,
        CommandHandler,
        ContextTypes,
        ConversationHandler,
        MessageHandler,
        PicklePersistence,
        filters,
    )

    scale = InlineKeyboardMarkup([
        [InlineKeyboardButton(str(i), callback_data=f"a:{i}") for i in range(0, 6)],
        [InlineKeyboardButton(str(i), callback_data=f"a:{i}") for i in range(6, 11)]])
    fields = ["life_satisfaction", "worthwhile", "happy_yesterday", "anxious_yesterday"]

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None
        await update.message.reply_text(INTRO)
        await update.message.reply_text(QUESTIONS[0], reply_markup=scale)
        return 0

    def answer(state: int) -> Any:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            assert update.message is not None and update.message.text is not None
            text = update.message.text.strip()
            if not (text.isdigit() and 0 <= int(text) <= 10):
                await update.message.reply_text("Sorry, I need a number from 0 to 10.")
                return state
            assert context.user_data is not None
            context.user_data.setdefault(fields[state], []).append(int(text))
            following = (state + 1) % 4
            await update.message.reply_text(QUESTIONS[following], reply_markup=scale)
            return following
        return handle

    tuned = mode.endswith("-gc")  # the collector tuned as ``parley serve`` tunes it
    mode = mode.removesuffix("-gc")
    if mode.endswith("-uvloop"):  # as Parley serves: the same event loop for both
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        mode = mode.removesuffix("-uvloop")
    text_only = filters.TEXT & ~filters.COMMAND
    builder = (Application.builder().token(DEFAULT_TOKEN).base_url(f"{fake_url}/bot")
               .persistence(PicklePersistence(filepath=pickle_path)))
    if mode == "default":
        builder = builder.post_init(lambda _: publish_port(port_file, port))
        port = free_port()
    else:
        builder = builder.updater(None).concurrent_updates(True)
    application = builder.build()
    application.add_handler(ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={i: [MessageHandler(text_only, answer(i))] for i in range(4)},
        fallbacks=[], name="ons4", persistent=True))
    if tuned:
        from bot.server import tune_collector

        tune_collector()
    if mode == "default":  # PTB's own webhook server (tornado), updates one at a time
        application.run_webhook(listen="127.0.0.1", port=port, url_path="webhook",
                                webhook_url=f"http://127.0.0.1:{port}/webhook")
        return

    async def webhook(request: Request) -> Response:
        await application.update_queue.put(Update.de_json(await request.json(),
                                                          application.bot))
        return Response()

    async def main() -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)  # before the port is published: no refused connections
        server = uvicorn.Server(uvicorn.Config(
            Starlette(routes=[Route("/webhook", webhook, methods=["POST"])]),
            log_config=None, access_log=False))
        async with application:
            await application.start()
            await publish_port(port_file, sock.getsockname()[1])
            await server.serve(sockets=[sock])
            await application.stop()

    asyncio.run(main())


def free_port() -> int:
    """A port for ``run_webhook``, which takes a number, not a socket (bench only: the
    port could in principle be taken between here and tornado's bind)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def publish_port(port_file: Path, port: int) -> None:
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(port))
    tmp.replace(port_file)


async def main_async(users: int, turns: int, only: str | None = None) -> None:
    loop = asyncio.get_running_loop()
    transport, arrivals = await loop.create_datagram_endpoint(Arrivals,
                                                              local_addr=("127.0.0.1", 0))
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    baselines: list[Run] = []
    ours = Run("parley", 0.0, [0.0], 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "fake-port"
        fake, fake_url = start_process(
            ["-m", "bench.telegram_turns", "--serve-fake", str(port_file), "--notify",
             str(sock.getsockname()[1])], port_file, Path(tmp) / "fake.log")
        try:
            if only != "parley":
                for mode in BASELINE_MODES:
                    baselines.append(await baseline_run(arrivals, fake_url, users, turns,
                                                        mode))
            if only != "baseline":
                ours = await parley_run(arrivals, fake_url, users, turns)
        finally:
            stop_process(fake)
            transport.close()
    report(ours, baselines)
    sys.stderr.write(json.dumps({"users": users, "turns_each": turns,
                                 "turns": len(ours.latencies)}) + "\n")


BASELINE_MODES = ("default", "default-uvloop", "default-gc", "concurrent",
                  "concurrent-uvloop")
"""PTB as its documentation shows it (sequential updates, its own ``run_webhook``), and
with ``concurrent_updates`` behind a custom Starlette webhook; each on asyncio's own
event loop and on uvloop (which ``parley serve`` runs on); and the default with Python's
garbage collector tuned as ``parley serve`` tunes it (``bot.server.tune_collector``).
The best one counts, figure by figure."""


def report(ours: Run, baselines: list[Run]) -> None:
    """The contract's lines, each against the strongest baseline *for that figure* (the
    higher rate, the lower latency, the lower CPU), so no line flatters Parley."""
    for run in baselines:
        sys.stderr.write(json.dumps({
            "baseline": run.label, "turns_per_second": round(run.rate, 1),
            "p50_ms": round(percentile(run.latencies, 0.5), 1),
            "p99_ms": round(percentile(run.latencies, 0.99), 1),
            "server_cpu_per_turn_ms": round(run.cpu_per_turn_ms, 3)}) + "\n")
    runs = baselines or [Run("none", 0.0, [0.0], 0.0)]
    figure("telegram_turns_per_second", ours.rate, "turns/s", max(r.rate for r in runs))
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        figure(f"telegram_turn_latency_{name}", percentile(ours.latencies, q), "ms",
               min(percentile(r.latencies, q) for r in runs), higher_is_better=False)
    figure("telegram_server_cpu_per_turn", ours.cpu_per_turn_ms, "ms",
           min(r.cpu_per_turn_ms for r in runs), higher_is_better=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--turns", type=int, default=20, help="answers per person")
    parser.add_argument("--quick", action="store_true", help="8 answers per person")
    parser.add_argument("--only", choices=["parley", "baseline"],
                        help="measure one side only (for profiling)")
    parser.add_argument("--serve-baseline", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    parser.add_argument("--pickle", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serve-fake", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--notify", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=BASELINE_MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        serve_fake(args.serve_fake, args.notify)
    elif args.serve_baseline:
        serve_baseline(args.serve_baseline, args.fake_url, args.pickle, args.mode)
    else:
        asyncio.run(main_async(args.users, 8 if args.quick else args.turns, args.only))


if __name__ == "__main__":
    main()
