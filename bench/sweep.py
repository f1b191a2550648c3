"""The check-in sweep at scale: claim due users, take each in its transaction, the bot, sending.

Fills a database with N onboarded users (varied IANA zones, half-hour ones included, varied
check-in times, `next_checkin_at` from dialogs.schedule.next_checkin), then measures:

1. reading a page of 1,000 due users (storage.schedule_store.due_candidates: a plain SELECT on
   the partial index, nothing locked or moved; median of a few runs), and claiming 1,000 due
   users as the sweep does (bot.scheduler.Sweeper.claim, batch after batch of
   bot.scheduler.BATCH: the page read and one narrow `claims` row written per person in one
   short transaction (on PostgreSQL one statement), then the rules in one pass; median of a
   few runs, each put back afterwards: claims deleted, due times as they were). More than
   CLAIM_BOUND_MS fails the bench;
2. a full sweep (bot.scheduler.Sweeper: for each due user one transaction that re-checks the
   due time under the row lock, moves it on, runs the Due("checkin") turn and writes the
   replies to the outbox; the sender given the rows only records them, nothing is sent) when
   1% of users are due, and when none are. Due times, unanswered counts and outbox rows are
   put back afterwards;
3. the bot process (`python -m bot.cli run`, a subprocess of its own) against a loopback fake
   Bot API and the filled database: start-up time (spawn until the fake sees its first
   getUpdates) and peak RSS (VmHWM) after it has run for a few seconds (its bytecode compiled
   first, as an installed bot's is: bench/bytecode.py);
4. sending to the loopback fake through the Application that bot.telegram_app.build_application
   builds, with its default rate limiter (PTB's AIORateLimiter): messages per second achieved,
   as a fraction of the overall limit (30/s);
5. with --deliver N: N due users swept and delivered end to end through build_application's
   Sweeper and Sender (default rate limiter) to the loopback fake: when the sweep had
   committed them all, when the last was delivered, and how long rows waited in the outbox
   (compare storage.outbox.LEASE: a row waiting longer may be taken over by another replica).

"Now" is the real clock at filling time: every user's next check-in lies within the next day.
Also printed: this bench process's own peak RSS (ru_maxrss, after filling and sweeping).
The sweeps run at a later instant chosen so that exactly the wanted number of users are due
(as if the clock had moved on), so nothing depends on when the bench runs.

    python bench/sweep.py --users 100000 [--database-url URL] [--messages 300] [--deliver 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `tests.fakebot` and `bot` importable
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update  # noqa: E402

from bench import bytecode  # noqa: E402
from bench.scratch_db import scratch_schema  # noqa: E402
from bot.core import Bridges  # noqa: E402
from bot.scheduler import BATCH as CLAIM_BATCH  # noqa: E402
from bot.scheduler import Sweeper  # noqa: E402
from dialogs.schedule import next_checkin  # noqa: E402
from storage.outbox import LEASE, Pending  # noqa: E402
from storage.schedule_store import due_candidates  # noqa: E402
from storage.tables import ClaimRow, OutboxRow, User  # noqa: E402
from tests.fakebot import FAKE_TOKEN, FakeBotApi, LoopbackBotApiServer  # noqa: E402

FIRST_USER_ID = 770_000_001  # Telegram ids of the bench's users
BATCH = 1000
FILL_CHUNK = 10_000
CLAIM_RUNS = 5
CLAIM_BOUND_MS = 30.0  # issue 15: claiming 1,000 due people
BOT_RUN_SECONDS = 5.0
BOT_START_TIMEOUT = 120.0
BOT_STOP_TIMEOUT = 30.0

# Whole-hour, half-hour and 45-minute zones, both hemispheres, with and without DST.
ZONES = [
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30 / -02:30
    "Australia/Adelaide",  # +09:30 / +10:30
    "Australia/Sydney",
    "Asia/Tokyo",
    "Africa/Nairobi",
    "Pacific/Auckland",
    "Asia/Tehran",  # +03:30
    "UTC",
]
CHECKIN_TIMES = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(0, 60, 5)]
USERS = User.__table__
OUTBOX = OutboxRow.__table__
CLAIMS = ClaimRow.__table__


# --- the database -------------------------------------------------------------------------------


@contextmanager
def bench_database(url: str | None) -> Iterator[tuple[str, str]]:
    """(URL, description). Default: a fresh SQLite file in a temp dir. PostgreSQL: a scratch
    schema, dropped afterwards. Other URLs are refused: the bench fills a whole table."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="bridges-sweep-") as tmp:
            yield f"sqlite:///{tmp}/bench.db", "SQLite (fresh temp file)"
        return
    from sqlalchemy.engine import make_url

    from storage.db import normalise_url

    url = normalise_url(url)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be PostgreSQL (SQLite uses a fresh temp file)")
    with scratch_schema(url, "bench_sweep") as (scoped, schema):
        yield scoped, f"PostgreSQL (scratch schema {schema}, dropped afterwards)"


def fill(engine: Engine, users: int, now: datetime) -> float:
    """Insert `users` onboarded people in bulk (executemany, in chunks). Returns seconds."""
    started = time.perf_counter()
    planned: dict[tuple[str, str], datetime] = {}  # next_checkin per (time, zone): same `now`
    since = now - timedelta(days=30)
    for start in range(0, users, FILL_CHUNK):
        rows = []
        for i in range(start, min(start + FILL_CHUNK, users)):
            zone = ZONES[i % len(ZONES)]
            at = CHECKIN_TIMES[(i * 7919) % len(CHECKIN_TIMES)]  # spread over the day
            due = planned.get((at, zone))
            if due is None:
                due = planned[(at, zone)] = next_checkin(at, zone, now)
            rows.append(
                {
                    "channel": "telegram",
                    "external_id": str(FIRST_USER_ID + i),
                    "created_at": since,
                    "last_seen_at": since,
                    "consented_at": since,
                    "onboarded_at": since,
                    "locale": "en",
                    "timezone": zone,
                    "checkin_time": at,
                    "country": None,
                    "next_checkin_at": due,
                    "next_nudge_at": None,
                    "active": True,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(USERS), rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE users")
    return time.perf_counter() - started


def due_times(engine: Engine) -> list[datetime]:
    with engine.connect() as conn:
        values = conn.execute(select(USERS.c.next_checkin_at).order_by(USERS.c.next_checkin_at))
        return [v if v.tzinfo else v.replace(tzinfo=UTC) for (v,) in values]


def instant_with_due(times: list[datetime], count: int) -> datetime:
    """The earliest instant at which at least `count` users are due (all of them at or before)."""
    if count <= 0:
        return times[0] - timedelta(seconds=1)
    return times[min(count, len(times)) - 1]


def count_due(engine: Engine, at: datetime) -> int:
    with engine.connect() as conn:
        query = (
            select(func.count())
            .select_from(USERS)
            .where(USERS.c.next_checkin_at <= at.astimezone(UTC))
        )
        return int(conn.execute(query).scalar_one())


@dataclass(frozen=True)
class Saved:
    """A due user's row as it was before a sweep took them."""

    user_id: int
    due_at: datetime
    unanswered: int


def due_rows(engine: Engine, at: datetime) -> list[Saved]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(USERS.c.id, USERS.c.next_checkin_at, USERS.c.unanswered).where(
                USERS.c.next_checkin_at <= at.astimezone(UTC)
            )
        )
        return [Saved(r[0], r[1], r[2]) for r in rows]


def restore(engine: Engine, saved: list[Saved]) -> None:
    """Put swept rows back as they were (due again, unanswered as before, no claims, outbox
    empty)."""
    with engine.begin() as conn:
        conn.execute(delete(OUTBOX))
        conn.execute(delete(CLAIMS))
        if not saved:
            return
        stmt = (
            update(USERS)
            .where(USERS.c.id == bindparam("b_id"))
            .values(
                next_checkin_at=bindparam("b_at", type_=USERS.c.next_checkin_at.type),
                unanswered=bindparam("b_n"),
            )
        )
        conn.execute(
            stmt, [{"b_id": s.user_id, "b_at": s.due_at, "b_n": s.unanswered} for s in saved]
        )


# --- 1 and 2: finding due users and sweeping them ----------------------------------------------


def time_candidates(engine: Engine, at: datetime, runs: int) -> tuple[list[float], int]:
    """Seconds for each of `runs` reads of one page of BATCH users due at `at`."""
    timings, got = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        got = len(due_candidates(engine, "checkin", at, BATCH))
        timings.append(time.perf_counter() - started)
    return timings, got


def time_claims(bridges: Bridges, at: datetime, runs: int) -> tuple[list[float], int, int]:
    """Seconds for each of `runs` claims of everyone due at `at` (batch after batch, as
    Sweeper.claim does it), each put back afterwards. Also (held, batches) of the last run."""
    engine = bridges.store.engine
    sweeper = Sweeper(bridges, lambda: at)
    until = at + timedelta(minutes=1)
    timings, held, batches = [], 0, 0
    for _ in range(runs):
        saved = due_rows(engine, at)
        held, batches, after = 0, 0, None
        started = time.perf_counter()
        while True:
            claimed = sweeper.claim("checkin", at, until, after)
            held, batches, after = held + len(claimed.held), batches + 1, claimed.last
            if claimed.count < sweeper.batch:
                break
        timings.append(time.perf_counter() - started)
        restore(engine, saved)
    return timings, held, batches


def peak_rss_mb() -> float:
    """This process's peak RSS (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Recorder:
    """Stands in for the sender: keeps the committed outbox rows, sends nothing."""

    def __init__(self) -> None:
        self.items: list[Pending] = []

    def enqueue(self, items: Any) -> None:
        self.items.extend(items)


def sweep(bridges: Bridges, at: datetime, parallel: int | None) -> dict[str, Any]:
    """One Sweeper.sweep at `at` (one transaction per due user), then everything put back."""
    engine = bridges.store.engine
    saved = due_rows(engine, at)
    recorder = Recorder()
    sweeper = Sweeper(bridges, lambda: at, sender=recorder, batch=BATCH, parallel=parallel)  # type: ignore[arg-type]
    started = time.perf_counter()
    queued = asyncio.run(sweeper.sweep(None))
    wall = time.perf_counter() - started
    with engine.connect() as conn:
        rows = int(conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one())
        left = int(
            conn.execute(
                select(func.count())
                .select_from(USERS)
                .where(USERS.c.next_checkin_at <= at.astimezone(UTC))
            ).scalar_one()
        )
    restore(engine, saved)
    return {
        "due": len(saved),
        "queued": queued,
        "rows": rows,
        "handed": len(recorder.items),
        "left_due": left,
        "wall_s": wall,
        "parallel": sweeper.parallel,
    }


# --- 3: the bot process -------------------------------------------------------------------------


class PollWatchingFake(FakeBotApi):
    """Notes when the first getUpdates arrives (the fake logs a call when it answers it, which
    for a long poll is up to its timeout later)."""

    first_poll_at: float | None = None

    async def handle_async(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.first_poll_at is None and method.lower() == "getupdates":
            self.first_poll_at = time.monotonic()
        return await super().handle_async(method, *args, **kwargs)


def vm_hwm_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def bot_process(database_url: str, run_seconds: float) -> dict[str, Any]:
    """Start `bridges run` against a loopback fake; start-up time and VmHWM; stop with SIGINT."""
    fake = PollWatchingFake()
    async with LoopbackBotApiServer(fake) as server:
        env = {
            **bytecode.child_env(),  # read, not compiled, as an installed bot does
            "TELEGRAM_API_BASE_URL": server.base_url,
            "TELEGRAM_BOT_TOKEN": FAKE_TOKEN,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        with tempfile.TemporaryDirectory(prefix="bridges-sweep-bot-") as cwd:  # no stray .env
            spawned = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                env=env,
                cwd=cwd,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                while fake.first_poll_at is None:
                    if process.returncode is not None:
                        raise RuntimeError(f"bot exited ({process.returncode}) before polling")
                    if time.monotonic() - spawned > BOT_START_TIMEOUT:
                        raise RuntimeError("bot did not poll within the start timeout")
                    await asyncio.sleep(0.005)
                startup = fake.first_poll_at - spawned
                await asyncio.sleep(run_seconds)
                if process.returncode is not None:
                    raise RuntimeError(f"bot exited ({process.returncode}) while running")
                hwm = vm_hwm_mb(process.pid)
                process.send_signal(signal.SIGINT)
                _, err = await asyncio.wait_for(process.communicate(), BOT_STOP_TIMEOUT)
            except BaseException:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                raise
    errors = [
        line
        for line in err.decode(errors="replace").splitlines()
        if "Traceback" in line or "ERROR" in line
    ]
    return {
        "startup_s": startup,
        "vm_hwm_mb": hwm,
        "exit_code": process.returncode,
        "polls": len(fake.calls_to("getUpdates")),
        "stderr_errors": errors,
    }


# --- 4: sending under the default rate limit ----------------------------------------------------


async def send_rate(database_url: str, messages: int) -> dict[str, Any]:
    """Send one message each to `messages` chats through build_application's bot."""
    from telegram.constants import FloodLimit

    from bot.telegram_app import build_application

    bridges = Bridges.open(database_url, apply_migrations=False)
    fake = FakeBotApi()
    try:
        async with LoopbackBotApiServer(fake) as server:
            app = build_application(bridges, FAKE_TOKEN, server.base_url)  # default rate_limit
            limiter = app.bot.rate_limiter
            base = getattr(limiter, "_base_limiter", None)
            limit = (
                base.max_rate / base.time_period
                if base is not None
                else float(FloodLimit.MESSAGES_PER_SECOND)
            )
            await app.initialize()
            try:
                chats = [FIRST_USER_ID + i for i in range(messages)]
                started = time.perf_counter()
                await asyncio.gather(
                    *(
                        app.bot.send_message(chat, "Good morning. How are you today?")
                        for chat in chats
                    )
                )
                wall = time.perf_counter() - started
            finally:
                await app.shutdown()
    finally:
        bridges.close()
    sent = sorted(c.at for c in fake.calls_to("sendMessage") if c.error_code is None)
    burst = int(limit)  # the limiter's bucket starts full: the first second's worth goes at once
    steady = (
        (len(sent) - 1 - burst) / (sent[-1] - sent[burst])
        if len(sent) > burst + 1
        else float("nan")
    )
    return {
        "limiter": type(limiter).__name__ if limiter else "none",
        "limit": limit,
        "sent": len(sent),
        "wall_s": wall,
        "rate": len(sent) / wall,
        "steady_rate": steady,
    }


# --- 5: sweep and deliver end to end ------------------------------------------------------------


async def deliver(database_url: str, at: datetime) -> dict[str, Any]:
    """Everyone due at `at` swept and sent through build_application's Sweeper and Sender."""
    from bot.telegram_app import build_application

    bridges = Bridges.open(database_url, apply_migrations=False)
    engine = bridges.store.engine
    saved = due_rows(engine, at)
    fake = FakeBotApi()
    try:
        async with LoopbackBotApiServer(fake) as server:
            app = build_application(bridges, FAKE_TOKEN, server.base_url, clock=lambda: at)
            sender = app.bot_data["adapter"].intake.sender
            await app.initialize()
            try:
                started = time.monotonic()
                queued = await Sweeper(bridges, lambda: at, sender=sender).sweep(app)
                committed = time.monotonic()
                await sender.idle()
                done = time.monotonic()
            finally:
                await app.shutdown()
        with engine.connect() as conn:
            left = int(conn.execute(select(func.count()).select_from(OUTBOX)).scalar_one())
        restore(engine, saved)
    finally:
        bridges.close()
    sent = [c for c in fake.calls_to("sendMessage") if c.error_code is None]
    chats = {c.params["chat_id"] for c in sent}
    # The fake stamps calls with time.monotonic(): the last row waited from (at the latest)
    # the end of the sweep until its send.
    last = max((c.at for c in sent), default=committed)
    return {
        "due": len(saved),
        "queued": queued,
        "sent": len(sent),
        "chats": len(chats),
        "left": left,
        "commit_s": committed - started,
        "done_s": done - started,
        "longest_wait_s": last - started,
    }


# --- report -------------------------------------------------------------------------------------


def row(label: str, value: str) -> None:
    print(f"  {label:<58} {value}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100_000, help="users (default 100000)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL (a scratch schema, dropped afterwards); "
        "default: a fresh SQLite file in a temp dir",
    )
    parser.add_argument(
        "--due-percent",
        type=float,
        default=1.0,
        help="share of users due in the full sweep (default 1)",
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=300,
        help="messages (to as many chats) for the send-rate test (default 300)",
    )
    parser.add_argument(
        "--bot-seconds",
        type=float,
        default=BOT_RUN_SECONDS,
        help="how long the bot runs before its VmHWM is read (default 5)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=None,
        help="people whose sweep transactions run at once (default: the Sweeper's, "
        "1 on SQLite, 4 on PostgreSQL)",
    )
    parser.add_argument(
        "--deliver",
        type=int,
        default=0,
        help="also sweep this many due users and deliver them through the Sender to the "
        "loopback fake, rate-limited (default 0: skipped)",
    )
    args = parser.parse_args(argv)
    if args.users < BATCH:
        parser.error(f"--users must be at least {BATCH}")
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with bench_database(args.database_url) as (url, database):
        print(f"Bridges sweep bench: {args.users:,} onboarded users, {database}")
        bridges = Bridges.open(url)  # applies the migrations
        engine = bridges.store.engine
        now = datetime.now(UTC).replace(microsecond=0)
        fill_s = fill(engine, args.users, now)
        times = due_times(engine)
        has_checkin = "checkin" in bridges.dialogs
        print(
            f"Filled in {fill_s:.2f} s ({args.users / fill_s:,.0f} users/s), "
            f"{len(ZONES)} zones (incl. +05:30, +05:45, -03:30, +09:30, +03:30), "
            f"{len(CHECKIN_TIMES)} check-in times"
        )
        print()

        at_batch = instant_with_due(times, BATCH)
        reads, got = time_candidates(engine, at_batch, CLAIM_RUNS)
        claim_due_n = count_due(engine, at_batch)  # ties: a few more than BATCH
        claims, held, batches = time_claims(bridges, at_batch, CLAIM_RUNS)

        due_n = round(args.users * args.due_percent / 100)
        at_some = instant_with_due(times, due_n)
        due_n = count_due(engine, at_some)
        some = sweep(bridges, at_some, args.parallel)
        at_none = instant_with_due(times, 0)
        nones = [sweep(bridges, at_none, args.parallel) for _ in range(CLAIM_RUNS)]
        none_s = statistics.median(n["wall_s"] for n in nones)
        bridges.close()
        bench_rss = peak_rss_mb()

        bot = asyncio.run(bot_process(url, args.bot_seconds))
        send = asyncio.run(send_rate(url, args.messages))
        delivered = None
        if args.deliver:
            delivered = asyncio.run(deliver(url, instant_with_due(times, args.deliver)))

    print("Results")
    row(
        f"read a page of {BATCH:,} due users (median of {CLAIM_RUNS})",
        f"{statistics.median(reads) * 1000:.1f} ms  (found {got:,}; runs "
        + ", ".join(f"{c * 1000:.0f}" for c in reads)
        + " ms)",
    )
    claim_ms = statistics.median(claims) * 1000
    row(
        f"claim {BATCH:,} due users, {batches} batches of {CLAIM_BATCH} (median of {CLAIM_RUNS})",
        f"{claim_ms:.1f} ms  (held {held:,} of {claim_due_n:,}; runs "
        + ", ".join(f"{c * 1000:.1f}" for c in claims)
        + f" ms; bound {CLAIM_BOUND_MS:g} ms)",
    )
    per_user = some["wall_s"] / max(some["due"], 1) * 1e3
    row(
        f"full sweep, {args.due_percent:g}% due ({due_n:,} users), {some['parallel']} at once",
        f"{some['wall_s']:.2f} s ({per_user:.2f} ms/user: re-check, move, turn, outbox)",
    )
    row(
        "  queued / outbox rows / handed to the sender / left due",
        f"{some['queued']:,} / {some['rows']:,} / {some['handed']:,} / {some['left_due']:,}",
    )
    row(f"full sweep, none due (median of {CLAIM_RUNS})", f"{none_s * 1000:.2f} ms")
    row("bench process peak RSS (after filling and sweeping)", f"{bench_rss:.1f} MB")
    row("bot process start-up (spawn -> first getUpdates)", f"{bot['startup_s']:.2f} s")
    row(
        f"bot process peak RSS (VmHWM after {args.bot_seconds:g} s polling)",
        f"{bot['vm_hwm_mb']:.1f} MB",
    )
    row("bot process stop (SIGINT) exit code", f"{bot['exit_code']}")
    row(
        f"send {send['sent']} messages to {send['sent']} chats ({send['limiter']})",
        f"{send['wall_s']:.2f} s",
    )
    row(
        f"  messages/s achieved, fraction of the {send['limit']:g}/s limit",
        f"{send['rate']:.1f}/s = {send['rate'] / send['limit']:.2f}",
    )
    row(
        f"  steady rate after the first {int(send['limit'])} (bucket burst)",
        f"{send['steady_rate']:.1f}/s = {send['steady_rate'] / send['limit']:.2f}",
    )
    if delivered is not None:
        row(
            f"sweep and deliver {delivered['due']:,} due users (Sender, rate-limited)",
            f"committed in {delivered['commit_s']:.2f} s, all sent after "
            f"{delivered['done_s']:.2f} s",
        )
        row(
            "  sent / chats / rows left in the outbox",
            f"{delivered['sent']:,} / {delivered['chats']:,} / {delivered['left']:,}",
        )
        row(
            f"  longest a row waited to be sent (LEASE {LEASE.total_seconds():g} s)",
            f"{delivered['longest_wait_s']:.1f} s",
        )
    print()
    if not has_checkin:
        print(
            "Note: there is no 'checkin' dialog yet, so the check-in turns produce no replies "
            "(the engine ignores a Due for a dialog that does not exist); the turn time is "
            "load + step + save only."
        )
    if bot["stderr_errors"]:
        print("Bot process stderr had errors:", *bot["stderr_errors"][:5], sep="\n  ")
    failed = got != BATCH or some["queued"] != due_n or some["left_due"] != 0
    failed = failed or some["handed"] != some["rows"] or any(n["due"] for n in nones)
    failed = failed or send["sent"] != args.messages
    if delivered is not None:
        failed = failed or delivered["chats"] != delivered["due"] or delivered["left"] != 0
        failed = failed or delivered["sent"] != delivered["queued"]
    if failed:
        print(
            "FAILED: swept, queued or sent counts differ from what was due / asked",
            file=sys.stderr,
        )
    slow = held != claim_due_n or claim_ms > CLAIM_BOUND_MS
    if slow:
        print(
            f"FAILED: claiming {BATCH:,} due users took {claim_ms:.1f} ms (bound "
            f"{CLAIM_BOUND_MS:g} ms), or held {held:,} of {claim_due_n:,} due",
            file=sys.stderr,
        )
    return 1 if failed or slow else 0


if __name__ == "__main__":
    sys.exit(main())
