"""Start-up time and memory of the real `bridges run` (issue 15).

Each run spawns `bridges run` (the console script next to this Python, else
`python -m bot.cli run`) against a fake Telegram Bot API (tests.fakebot) on 127.0.0.1 with a
fresh SQLite file (or, with --database-url, a scratch PostgreSQL schema dropped afterwards),
and times spawn -> the first getUpdates reaching the fake: imports, the
token check, opening the database (migrations), building the Application, setMyCommands,
deleteWebhook and crash recovery all lie in between. Then it reads the bot's RSS at idle,
plays a few users through onboarding (typed cities and offsets among them, so the city
lookup is used) and reads RSS again, and the peak (VmHWM) of the whole run.

Every run shares one database and one cache directory (XDG_CACHE_HOME, a temp dir unless
--cache-dir): the first run starts as a fresh install does (no tables, no city index file),
the later ones as a restart (each onboards new users). Every run reads the modules' bytecode
from a cache compiled once before the first (bench/bytecode.py), as an installed package does;
--source-each-time leaves the environment's bytecode settings as they are.

    python bench/startup.py [--runs 5] [--users 8] [--cache-dir DIR] [--database-url URL]
        [--json]

Prints each run and the medians; exits 1 if the median start-up exceeds 1.2 s, the peak RSS
after the turns (median) exceeds 100 MB, or a turn fails. Timing on a shared machine is
noisy: repeat before believing a difference of a few tens of ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `tests.fakebot` importable
    sys.path.insert(0, str(ROOT))

from bench import bytecode  # noqa: E402
from bench.scratch_db import scratch_schema  # noqa: E402
from tests.fakebot import FAKE_TOKEN, FakeBotApi, LoopbackBotApiServer, SentMessage  # noqa: E402

START_LIMIT_S = 1.2  # issue 15: spawn to first getUpdates
RSS_LIMIT_MB = 100.0  # issue 15: peak RSS after load
START_TIMEOUT = 60.0
TURN_TIMEOUT = 30.0
FIRST_USER_ID = 770_000_001

# Onboarding as in bench/turns.py: (kind, value, messages the bot sends, a button that must
# be on its newest buttoned message afterwards).
ONBOARDING = [
    ("text", "/start", 1, "Tell me more"),
    ("tap", "Tell me more", 1, "Okay, got it"),
    ("tap", "Okay, got it", 1, "Yes, keep my answers"),
    ("tap", "Yes, keep my answers", 2, "London / Dublin"),
    ("zone", "", 2, "7:30"),
    ("tap", "7:30", 2, "Skip for now"),
    ("tap", "Skip for now", 1, "Maybe later"),
    ("tap", "Maybe later", 1, "Close menu"),
]
# What each user types for their time zone: cities (the city lookup), an offset, a sentence.
ZONES = ["Berlin", "São Paulo", "UTC+2", "I live in Lisbon, Portugal", "Tokyo", "nyc",
         "Portland, OR", "Kyiv"]  # fmt: skip


class TimedFake(FakeBotApi):
    """The fake Bot API, noting when the first getUpdates arrives (before its long poll) and
    the CPU time the bot had used by then."""

    first_poll: float | None = None
    first_poll_cpu: float | None = None
    pid: int | None = None

    async def handle_async(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if method.lower() == "getupdates" and self.first_poll is None:
            self.first_poll = time.perf_counter()
            self.first_poll_cpu = cpu_seconds(self.pid) if self.pid else None
        return await super().handle_async(method, *args, **kwargs)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    start_s: float
    start_cpu_s: float  # the bot's CPU time until then: steadier than wall time when shared
    idle_rss_mb: float
    turns: int
    turns_rss_mb: float
    peak_rss_mb: float
    failures: list[str]


def command() -> list[str]:
    script = Path(sys.executable).with_name("bridges")
    if script.is_file():
        return [str(script), "run"]
    return [sys.executable, "-m", "bot.cli", "run"]


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024  # kB
    return out


def latest_buttoned(fake: FakeBotApi, user: int) -> SentMessage | None:
    return next((m for m in reversed(fake.messages(user)) if m.buttons), None)


async def play(fake: FakeBotApi, user: int, zone: str) -> list[str]:
    """One user through onboarding; the problems met (none if all went well)."""
    for kind, value, expect, then in ONBOARDING:
        if kind == "tap":
            message = latest_buttoned(fake, user)
            data = next(
                (b.callback_data for row in (message.buttons if message else []) for b in row
                 if b.text == value),
                None,
            )  # fmt: skip
            if message is None or data is None:
                return [f"user {user}: no button {value!r}"]
            update = fake.make_callback_update(user, data, message.message_id)
        else:
            update = fake.make_text_update(user, zone if kind == "zone" else value)
        before = len(fake.history(user))

        def sent(before: int = before) -> int:
            return sum(isinstance(e, SentMessage) for e in fake.history(user, since=before))

        fake.push_update(update)
        if not await fake.wait_for(user, lambda expect=expect: sent() >= expect, TURN_TIMEOUT):
            return [f"user {user}: no reply to {kind} {value or zone!r}"]
        message = latest_buttoned(fake, user)
        if message is None or then not in message.button_labels:
            return [f"user {user}: no {then!r} after {kind} {value or zone!r}"]
    return []


async def one_run(
    number: int,
    users: int,
    settle: float,
    tmp: Path,
    cache_dir: Path,
    use_bytecode: bool,
    database_url: str,
) -> Run:
    fake = TimedFake()
    first_user = FIRST_USER_ID + number * 1000
    # A restart reads the same inbox: update ids must go on rising across runs, or the bot
    # takes the new fake's first updates for ones it already has (the fake starts each at
    # the same number).
    fake.factory._update_ids = itertools.count(700_000_001 + number * 100_000)
    env = {
        **(bytecode.child_env() if use_bytecode else os.environ),
        "TELEGRAM_BOT_TOKEN": FAKE_TOKEN,
        "DATABASE_URL": database_url,
        "XDG_CACHE_HOME": str(cache_dir),
        "LOG_LEVEL": "WARNING",
    }
    async with LoopbackBotApiServer(fake) as server:
        env["TELEGRAM_API_BASE_URL"] = server.base_url
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *command(), env=env, cwd=tmp, stdout=asyncio.subprocess.DEVNULL
        )
        fake.pid = proc.pid
        try:
            deadline = started + START_TIMEOUT
            while fake.first_poll is None:
                if proc.returncode is not None or time.perf_counter() > deadline:
                    raise RuntimeError(f"bridges run did not poll (exit {proc.returncode})")
                await asyncio.sleep(0.002)
            start_s = fake.first_poll - started
            # Idle: after the first sweep and the warm-ups (the crisis screen at 1 s, the
            # intents and the city index file at 2 s: bot/cli.py), before anyone talks.
            await asyncio.sleep(settle)
            idle = memory(proc.pid)["VmRSS"]
            results = await asyncio.gather(
                *(play(fake, first_user + n, ZONES[n % len(ZONES)]) for n in range(users))
            )
            after = memory(proc.pid)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
    failures = [problem for found in results for problem in found]
    if proc.returncode != 0:
        failures.append(f"bridges run exited {proc.returncode}")
    cpu = fake.first_poll_cpu or 0.0
    return Run(start_s, cpu, idle, users * len(ONBOARDING), after["VmRSS"], after["VmHWM"],
               failures)  # fmt: skip


async def bench(args: argparse.Namespace) -> list[Run]:
    runs = []
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bridges-startup-"))
        cache = Path(args.cache_dir) if args.cache_dir else Path(tmp) / "cache"
        url = f"sqlite:///{tmp}/run.db"
        if args.database_url:
            from storage.db import is_sqlite, normalise_url

            url = normalise_url(args.database_url)
            if not is_sqlite(url):
                url, _ = stack.enter_context(scratch_schema(url, "bench_startup"))
        for n in range(args.runs):
            run = await one_run(
                n, args.users, args.settle, Path(tmp), cache, not args.source_each_time, url
            )
            runs.append(run)
            if not args.json:
                print(
                    f"run {n + 1}: start-up {run.start_s * 1000:.0f} ms "
                    f"({run.start_cpu_s * 1000:.0f} ms CPU); RSS idle "
                    f"{run.idle_rss_mb:.1f} MB, after {run.turns} turns {run.turns_rss_mb:.1f} "
                    f"MB, peak {run.peak_rss_mb:.1f} MB" + (" FAILED" if run.failures else ""),
                    flush=True,
                )
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--users", type=int, default=8, help="users onboarded after start-up")
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds after start-up before idle RSS"
    )
    parser.add_argument("--cache-dir", help="XDG_CACHE_HOME for the bot (default: a temp dir)")
    parser.add_argument(
        "--database-url",
        help="the database (default: an SQLite file in a temp dir); on PostgreSQL the runs "
        "share a scratch schema in it, dropped afterwards",
    )
    parser.add_argument(
        "--source-each-time", action="store_true", help="no bytecode cache for the bot"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    runs = asyncio.run(bench(args))
    start = statistics.median(r.start_s for r in runs)
    start_cpu = statistics.median(r.start_cpu_s for r in runs)
    idle = statistics.median(r.idle_rss_mb for r in runs)
    peak = statistics.median(r.peak_rss_mb for r in runs)
    failures = [f for r in runs for f in r.failures]
    if args.json:
        print(json.dumps({"runs": [asdict(r) for r in runs], "median_start_s": start,
                          "median_start_cpu_s": start_cpu, "median_idle_rss_mb": idle,
                          "median_peak_rss_mb": peak}))  # fmt: skip
    else:
        print(
            f"median of {len(runs)}: start-up {start * 1000:.0f} ms (limit "
            f"{START_LIMIT_S * 1000:.0f}; {start_cpu * 1000:.0f} ms CPU); RSS idle "
            f"{idle:.1f} MB, peak after turns {peak:.1f} MB (limit {RSS_LIMIT_MB:.0f})"
        )
    for failure in failures[:3]:
        print(failure, file=sys.stderr)
    return 1 if failures or start > START_LIMIT_S or peak > RSS_LIMIT_MB else 0


if __name__ == "__main__":
    sys.exit(main())
