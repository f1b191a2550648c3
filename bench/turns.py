"""Turn throughput and latency: Bridges' real PTB Application vs a minimal PTB echo bot.

N simulated users go through the whole Bridges onboarding over real HTTP: the bot long-polls a
fake Telegram Bot API (tests.fakebot) on 127.0.0.1, the users queue updates into the fake and
wait for the bot's replies. Then the same load (users, turns per user, concurrency) goes
through an echo bot on a fresh fake, as the floor that PTB + HTTP + the fake cost anyway.

The fake and the users live in this process; each bot runs in a child process of its own (this
script re-invoked with the hidden --serve option), so its CPU time and peak RSS are its own and
one bot never warms the other. Exits non-zero if a turn fails or times out, or if any user did
not finish onboarding.

A turn's latency runs from queuing the update to the arrival of the turn's last reply. The users
form a closed loop (each waits for its reply before the next turn), so once a bot saturates its
core, latency is mostly queueing: about concurrency / throughput.

    python bench/turns.py --users 200 [--concurrency C] [--database-url URL] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `tests.fakebot` and `bot` importable
    sys.path.insert(0, str(ROOT))

from bench.scratch_db import scratch_schema  # noqa: E402
from tests.fakebot import (  # noqa: E402
    FAKE_TOKEN,
    FakeBotApi,
    LoopbackBotApiServer,
    SentMessage,
    running,
)
from tests.fakebot.transcript import render  # noqa: E402

BotKind = Literal["bridges", "echo"]
FIRST_USER_ID = 880_000_001  # a range of its own, so an explicit database can be cleaned safely
ECHO_BUTTON = "Again"
MAX_CONCURRENT_UPDATES = 64  # PerUserUpdateProcessor's default, so the echo bot gets the same
CHILD_START_TIMEOUT = 60.0
CHILD_STOP_TIMEOUT = 30.0
SHOWN_FAILURES = 3

# Time zones: typed cities and offsets and tapped zone buttons, cycled over the users.
ZONE_STEPS: list[tuple[Literal["text", "tap"], str]] = [
    ("text", "UTC+2"),
    ("tap", "London / Dublin"),
    ("text", "Berlin"),
    ("tap", "India"),
    ("text", "UTC-5"),
    ("tap", "Sydney / Melbourne"),
    ("text", "Tokyo"),
    ("tap", "New York / Toronto"),
]
CHECKIN_STEPS: list[tuple[Literal["text", "tap"], str]] = [
    ("text", "8:15"),
    ("tap", "7:30"),
    ("text", "06:45"),
    ("tap", "9:00"),
    ("tap", "No check-ins"),
]


# --- the simulated users' scripts --------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One turn: what the user does, how many messages the bot sends for it, and a button
    label that the bot's newest buttoned message must carry afterwards (proof it moved on)."""

    kind: Literal["text", "tap"]
    value: str  # the text typed, or the label of the inline button tapped
    expect: int
    then: str


def bridges_script(index: int) -> list[Step]:
    """The onboarding, with the messages each step sends: consent adds the share-location
    keyboard, the zone step the check-in question, the check-in step the offer of the
    loneliness measure, "Skip for now" the invitation to add a person, and "Maybe later"
    the main menu."""
    zone_kind, zone = ZONE_STEPS[index % len(ZONE_STEPS)]
    time_kind, checkin = CHECKIN_STEPS[index % len(CHECKIN_STEPS)]
    return [
        Step("text", "/start", 1, "Tell me more"),
        Step("tap", "Tell me more", 1, "Okay, got it"),
        Step("tap", "Okay, got it", 1, "Yes, keep my answers"),
        Step("tap", "Yes, keep my answers", 2, "London / Dublin"),
        Step(zone_kind, zone, 2, "7:30"),
        Step(time_kind, checkin, 2, "Skip for now"),
        Step("tap", "Skip for now", 1, "Maybe later"),
        Step("tap", "Maybe later", 1, "Close menu"),
    ]


def echo_script(script: list[Step]) -> list[Step]:
    """The same turns (same kinds, same count) as the echo bot answers them: one message each."""
    return [
        Step(s.kind, s.value if s.kind == "text" else ECHO_BUTTON, 1, ECHO_BUTTON) for s in script
    ]


# --- driving the fake ---------------------------------------------------------------------------


class TurnError(Exception):
    """A turn that timed out or ended somewhere unexpected; carries the chat's transcript."""


class SimUser:
    """One simulated user in a private chat; plays Steps and times each turn."""

    def __init__(self, fake: FakeBotApi, user_id: int, timeout: float) -> None:
        self.fake = fake
        self.user_id = user_id
        self.timeout = timeout

    async def play(self, step: Step) -> float:
        """Queue the update, wait for the turn's last reply; returns the latency in seconds."""
        update = self._update_for(step)
        baseline = len(self.fake.history(self.user_id))
        started = time.perf_counter()
        self.fake.push_update(update)
        done = await self.fake.wait_for(
            self.user_id, lambda: self._sent_since(baseline) >= step.expect, self.timeout
        )
        latency = time.perf_counter() - started
        if not done:
            got = self._sent_since(baseline)
            self._fail(f"timed out after {self.timeout:.0f}s ({got}/{step.expect} messages)", step)
        if step.then not in self._latest_buttoned().button_labels:
            self._fail(f"no {step.then!r} button afterwards", step)
        return latency

    def _update_for(self, step: Step) -> dict[str, Any]:
        if step.kind == "text":
            return self.fake.make_text_update(self.user_id, step.value)
        message = self._latest_buttoned()
        for row in message.buttons:
            for button in row:
                if button.text == step.value and button.callback_data is not None:
                    return self.fake.make_callback_update(
                        self.user_id, button.callback_data, message.message_id
                    )
        self._fail(f"no button {step.value!r} to tap", step)

    def _sent_since(self, baseline: int) -> int:
        entries = self.fake.history(self.user_id, since=baseline)
        return sum(isinstance(e, SentMessage) for e in entries)

    def _latest_buttoned(self) -> SentMessage:
        for message in reversed(self.fake.messages(self.user_id)):
            if message.buttons:
                return message
        self._fail("the bot has sent no inline buttons", None)

    def _fail(self, problem: str, step: Step | None) -> NoReturn:
        where = f" at {step.kind} {step.value!r}" if step else ""
        transcript = render(self.fake.history(self.user_id))
        raise TurnError(f"user {self.user_id}{where}: {problem}\n{transcript}")


@dataclass
class Load:
    latencies: list[float]
    wall: float
    harness_cpu: float  # CPU seconds this process (fake + users) spent, to spot a harness limit
    failures: list[str]


async def drive(
    fake: FakeBotApi, scripts: list[list[Step]], concurrency: int, timeout: float
) -> Load:
    """Play every user's script, at most `concurrency` users at once, each turn after turn."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    failures: list[str] = []

    async def one(index: int, script: list[Step]) -> None:
        user = SimUser(fake, FIRST_USER_ID + index, timeout)
        async with gate:
            for step in script:
                try:
                    latencies.append(await user.play(step))
                except TurnError as error:
                    failures.append(str(error))
                    return  # the rest of this user's script would only fail the same way

    cpu, started = cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(one(i, s) for i, s in enumerate(scripts)))
    return Load(latencies, time.perf_counter() - started, cpu_seconds() - cpu, failures)


def wrong_totals(fake: FakeBotApi, scripts: list[list[Step]]) -> list[str]:
    """Chats where the bot sent more or fewer messages than the script accounts for (checked
    after the bot has stopped, so stray late replies are caught too)."""
    wrong = []
    for index, script in enumerate(scripts):
        chat_id = FIRST_USER_ID + index
        sent = len(fake.messages(chat_id, include_deleted=True))
        wanted = sum(step.expect for step in script)
        if sent != wanted:
            wrong.append(f"user {chat_id}: {sent} bot messages in all, {wanted} expected")
    return wrong


# --- the bot processes --------------------------------------------------------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak RSS of this process: VmHWM, not ru_maxrss, because Linux carries ru_maxrss over
    from the parent across fork + exec, so a child would report at least the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build_bridges(base_url: str, database_url: str, rate_limit: bool) -> tuple[Any, Any]:
    from bot.core import Bridges
    from bot.telegram_app import build_application
    from dialogs import places

    bridges = Bridges.open(database_url)
    places.preload()  # as `bridges run` does (bot/cli.py): the city index is built at boot
    return build_application(bridges, FAKE_TOKEN, base_url=base_url, rate_limit=rate_limit), bridges


def build_echo(base_url: str, rate_limit: bool) -> Any:
    """The floor: answer the tap, send one message with one button back, nothing else."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import (
        AIORateLimiter,
        Application,
        CallbackQueryHandler,
        ContextTypes,
        MessageHandler,
        filters,
    )

    markup = InlineKeyboardMarkup([[InlineKeyboardButton(ECHO_BUTTON, callback_data="again")]])

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        text = f"You said: {update.effective_message.text}"
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)

    async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None and update.effective_chat is not None
        await update.callback_query.answer()
        text = f"You tapped: {update.callback_query.data}"
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)

    builder = (
        Application.builder()
        .token(FAKE_TOKEN)
        .base_url(base_url)
        .concurrent_updates(MAX_CONCURRENT_UPDATES)
    )
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    app.add_handler(CallbackQueryHandler(on_tap))
    return app


def count_onboarded(bridges: Any, users: int) -> int:
    """The bench's users whose onboarded_at is set: the ground truth, not what was shown."""
    from sqlalchemy import func, select

    from storage.tables import User

    ids = [str(FIRST_USER_ID + i) for i in range(users)]
    query = (
        select(func.count())
        .select_from(User)
        .where(User.channel == "telegram")  # type: ignore[arg-type]
        .where(User.external_id.in_(ids))  # type: ignore[attr-defined]
        .where(User.onboarded_at.is_not(None))  # type: ignore[union-attr]
    )
    with bridges.store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


async def wait_for_stop_line() -> None:
    """Block until the parent writes a line (or closes stdin). A pipe reader, not to_thread:
    a thread parked on readline would take one of the workers Bridges runs turns on."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.readline()


async def serve(args: argparse.Namespace) -> None:
    """Child process: run one bot until told to stop, then report on stdout."""
    bridges = None
    if args.serve == "bridges":
        app, bridges = build_bridges(args.base_url, args.database_url, args.rate_limit)
    else:
        app = build_echo(args.base_url, args.rate_limit)
    errors: list[str] = []

    async def record_error(update: object, context: Any) -> None:
        errors.append(type(context.error).__name__)

    app.add_error_handler(record_error)
    # Bridges polls as `bridges run` does (bot/telegram_app.py `poll`: each batch stored in
    # the inbox before it is acknowledged); the echo bot with PTB's own Updater.
    async with running(app, polling=bridges is None):
        poller = None
        if bridges is not None:
            from bot.telegram_app import poll

            poller = asyncio.create_task(poll(app, app.bot_data["adapter"].take, asyncio.Event()))
        cpu_before = cpu_seconds()
        print("READY", flush=True)
        await wait_for_stop_line()
        load_cpu = cpu_seconds() - cpu_before
        if poller is not None:
            poller.cancel()
    report: dict[str, Any] = {
        "cpu_s": load_cpu,
        "peak_rss_mb": peak_rss_mb(),
        "handler_errors": errors,
    }
    if bridges is not None:
        report["onboarded"] = count_onboarded(bridges, args.users)
        bridges.close()
    print("RESULT " + json.dumps(report), flush=True)


class BotChild:
    """This script re-invoked with --serve: one bot in a process of its own."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(
        cls, kind: BotKind, base_url: str, args: argparse.Namespace, database_url: str
    ) -> BotChild:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            kind,
            "--base-url",
            base_url,
            "--users",
            str(args.users),
            "--database-url",
            database_url,
        ]
        if args.rate_limit:
            command.append("--rate-limit")
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        child = cls(process)
        try:
            await asyncio.wait_for(child._line("READY"), CHILD_START_TIMEOUT)
        except BaseException:
            await child.kill()
            raise
        return child

    async def stop(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        try:
            line = await asyncio.wait_for(self._line("RESULT "), CHILD_STOP_TIMEOUT)
            await asyncio.wait_for(self.process.wait(), CHILD_STOP_TIMEOUT)
        except BaseException:
            await self.kill()
            raise
        return dict(json.loads(line.removeprefix("RESULT ")))

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def _line(self, prefix: str) -> str:
        assert self.process.stdout is not None
        while line := (await self.process.stdout.readline()).decode():
            if line.startswith(prefix):
                return line.strip()
        code = await self.process.wait()
        raise RuntimeError(f"bot process exited ({code}) before saying {prefix.strip()!r}")


# --- one measured run ---------------------------------------------------------------------------


@dataclass
class BotRun:
    bot: BotKind
    users: int
    turns_per_user: int
    turns: int  # completed
    wall_s: float
    turns_per_s: float
    p50_ms: float
    p99_ms: float
    bot_cpu_ms_per_turn: float
    harness_cpu_pct: float
    peak_rss_mb: float
    onboarded: int | None = None
    failures: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 is a turn that really happened)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


async def run_bot(
    kind: BotKind, scripts: list[list[Step]], args: argparse.Namespace, database_url: str
) -> BotRun:
    fake = FakeBotApi()
    async with LoopbackBotApiServer(fake) as server:
        child = await BotChild.start(kind, server.base_url, args, database_url)
        try:
            load = await drive(fake, scripts, args.concurrency, args.turn_timeout)
        finally:
            report = await child.stop()
    failures = load.failures + wrong_totals(fake, scripts)
    failures += [f"bot handler raised {name}" for name in report["handler_errors"]]
    turns = len(load.latencies)
    return BotRun(
        bot=kind,
        users=len(scripts),
        turns_per_user=len(scripts[0]),
        turns=turns,
        wall_s=load.wall,
        turns_per_s=turns / load.wall if load.wall else math.nan,
        p50_ms=percentile(load.latencies, 0.50) * 1000,
        p99_ms=percentile(load.latencies, 0.99) * 1000,
        bot_cpu_ms_per_turn=report["cpu_s"] / turns * 1000 if turns else math.nan,
        harness_cpu_pct=load.harness_cpu / load.wall * 100 if load.wall else math.nan,
        peak_rss_mb=report["peak_rss_mb"],
        onboarded=report.get("onboarded"),
        failures=failures,
    )


# --- the database -------------------------------------------------------------------------------


@contextmanager
def bench_database(url: str | None, users: int) -> Iterator[tuple[str, str]]:
    """(URL for the bot, description). Default: a fresh SQLite file in a temp dir. PostgreSQL:
    a scratch schema, dropped afterwards, so no table is left behind for the tests to meet.
    Any other explicit URL: the bench's own users (an id range of its own) are forgotten first,
    so runs repeat, and nobody else's rows are touched."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="bridges-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db", "SQLite (fresh temp file)"
        return
    from sqlalchemy.engine import make_url

    from storage.db import normalise_url

    url = normalise_url(url)
    if make_url(url).get_backend_name() == "postgresql":
        with scratch_schema(url, "bench_turns") as (scoped, schema):
            yield scoped, f"PostgreSQL (scratch schema {schema}, dropped afterwards)"
        return
    forget_bench_users(url, users)
    yield url, make_url(url).render_as_string(hide_password=True)


def forget_bench_users(url: str, users: int) -> None:
    from sqlalchemy import bindparam, create_engine, inspect, text

    engine = create_engine(url)
    ids = [str(FIRST_USER_ID + i) for i in range(users)]
    mine = "SELECT id FROM users WHERE channel = 'telegram' AND external_id IN :ids"
    try:
        with engine.begin() as conn:
            if not inspect(conn).has_table("users"):
                return
            for sql in (
                f"DELETE FROM conversations WHERE user_id IN ({mine})",
                f"DELETE FROM users WHERE id IN ({mine})",
            ):
                conn.execute(text(sql).bindparams(bindparam("ids", expanding=True)), {"ids": ids})
    finally:
        engine.dispose()


# --- report -------------------------------------------------------------------------------------


def print_report(runs: list[BotRun], args: argparse.Namespace, database: str) -> None:
    bridges, echo = runs
    print(
        f"Bridges onboarding bench: {args.users} users x {bridges.turns_per_user} turns, "
        f"concurrency {args.concurrency}, {database}, over HTTP on 127.0.0.1"
    )
    if args.rate_limit:
        print("PTB AIORateLimiter: ON for both bots: Telegram's 30 msg/s cap shapes the figures.")
    else:
        print(
            "PTB AIORateLimiter: off for both bots, so the figures measure our own cost, "
            "not Telegram's 30 msg/s cap."
        )
    print()
    header = (
        f"{'bot':<8} {'users':>6} {'turns':>6} {'wall s':>7} {'turns/s':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'CPU ms/turn':>11} {'peak RSS MB':>11}"
    )
    print(header)
    for run in runs:
        print(
            f"{run.bot:<8} {run.users:>6} {run.turns:>6} {run.wall_s:>7.2f} "
            f"{run.turns_per_s:>8.1f} {run.p50_ms:>7.1f} {run.p99_ms:>7.1f} "
            f"{run.bot_cpu_ms_per_turn:>11.2f} {run.peak_rss_mb:>11.1f}"
        )
    print()
    print(f"Bridges/echo turns per second: {ratio(bridges, echo):.3f}")
    onboarded = f"{bridges.onboarded}/{bridges.users}"
    print(f"Onboarded (onboarded_at set in the database): {onboarded} users")
    print(
        "CPU ms/turn is the bot process alone; the fake + users used "
        f"{bridges.harness_cpu_pct:.0f}% / {echo.harness_cpu_pct:.0f}% of a core "
        "(bridges / echo run)."
    )


def as_json(run: BotRun) -> dict[str, Any]:
    """The run's figures; failures by their first line only (transcripts go to stderr)."""
    return {**asdict(run), "failures": [f.partition("\n")[0] for f in run.failures]}


def ratio(bridges: BotRun, echo: BotRun) -> float:
    return bridges.turns_per_s / echo.turns_per_s if echo.turns_per_s else math.nan


def report_failures(runs: list[BotRun]) -> bool:
    """Print what went wrong to stderr; True if anything did."""
    bridges = runs[0]
    problems = [(run.bot, failure) for run in runs for failure in run.failures]
    if bridges.onboarded != bridges.users:
        problems.append(("bridges", f"only {bridges.onboarded}/{bridges.users} users onboarded"))
    for bot, failure in problems[:SHOWN_FAILURES]:
        print(f"\nFAILED ({bot}): {failure}", file=sys.stderr)
    if len(problems) > SHOWN_FAILURES:
        print(f"... and {len(problems) - SHOWN_FAILURES} more failures", file=sys.stderr)
    return bool(problems)


# --- entry points -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100, help="simulated users (default 100)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="simulated users active at once (default: all of them)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file in a temp dir; PostgreSQL URLs get a "
        "scratch schema that is dropped afterwards",
    )
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument(
        "--rate-limit",
        action="store_true",
        help="turn PTB's AIORateLimiter on for both bots (off by default)",
    )
    parser.add_argument(
        "--turn-timeout",
        type=float,
        default=30.0,
        help="seconds a turn may take before the bench fails (default 30)",
    )
    parser.add_argument("--serve", choices=["bridges", "echo"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    args.concurrency = args.concurrency or args.users
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    return args


async def bench(args: argparse.Namespace, database_url: str) -> list[BotRun]:
    scripts = [bridges_script(i) for i in range(args.users)]
    bridges = await run_bot("bridges", scripts, args, database_url)
    echo = await run_bot("echo", [echo_script(s) for s in scripts], args, database_url)
    return [bridges, echo]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        asyncio.run(serve(args))
        return 0
    with bench_database(args.database_url, args.users) as (database_url, database):
        runs = asyncio.run(bench(args, database_url))
    print_report(runs, args, database)
    if args.json:
        results = {
            "ratio_turns_per_s": ratio(*runs),
            "rate_limit": args.rate_limit,
            "concurrency": args.concurrency,
            "database": database,
            "runs": [as_json(run) for run in runs],
        }
        print(json.dumps(results))
    return 1 if report_failures(runs) else 0


if __name__ == "__main__":
    sys.exit(main())
