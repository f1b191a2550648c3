"""Turn cost and latency: Bridges' real PTB Application beside two bare PTB bots.

N simulated users go through the whole Bridges onboarding over real HTTP: the bot long-polls a
fake Telegram Bot API (tests.fakebot) on 127.0.0.1, the users queue updates into the fake and
wait for the bot's replies. The same script then goes through two bots with no logic:

- the replay bot (bench/turns_replay.py): for each update, exactly the Bot API calls Bridges
  made for that turn in this run (methods and parameters, from the fake's log), with the request
  settings (pool size, timeouts, HTTP version) and update concurrency Bridges' Application has:
  the fair floor, what PTB + HTTP + the same messages cost anyway;
- the echo bot: one short message with one button per turn (and the tap answered).

The fake and the users live in this process; each bot runs in a child process of its own
(bench/turns_bots.py), so its CPU time and peak RSS are its own. CPU ms per turn is the bot
process alone (steadier than turns/s on a shared machine); start-up runs from the spawn of the
child to the first getUpdates the fake receives; every child reads bytecode compiled once before
the first (bench/bytecode.py), as an installed bot does. `--runs N` interleaves Bridges, replay
and echo N times (a fresh database for each Bridges run) and reports medians [min-max].

Load: by default a closed loop (each user waits for its reply before the next turn), so once a
bot saturates its core, latency is mostly queueing. `--rate N`: an open loop, turns due at N per
second as a Poisson process (seeded), dealt round robin to the users, each user still one turn
at a time; latency counts from when a turn was due. `--rate half`: a closed-loop Bridges run
first gives its saturating rate, then all bots run at half of it.

`--history 0,5000` (bench/turns_history.py): onboard, give every person N stored records, and
measure Bridges on an ordinary day's turns, for each N; prints CPU per turn and the ratio.

Exits non-zero if a turn fails or times out, if any user did not finish onboarding, or if one
of issue 15's bounds breaks (bench/turns_report.py; `--no-bounds` only prints them).

    python bench/turns.py --users 200 [--runs 3] [--rate N|half] [--history 0,5000]
        [--concurrency C] [--database-url URL] [--no-bounds] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `tests.fakebot` and `bot` importable
    sys.path.insert(0, str(ROOT))

from bench.scratch_db import scratch_schema  # noqa: E402
from bench.turns_bots import FIRST_USER_ID, BotChild, BotKind  # noqa: E402

# Warm-up users: their own id range (after the measured ones), one per zone/check-in path.
WARM_FIRST_USER = FIRST_USER_ID + 500_000
WARM_USERS = 40
from bench.turns_history import parse_history, seed_history  # noqa: E402
from bench.turns_replay import Recording, calls_per_turn, record_turns, save  # noqa: E402
from bench.turns_report import (  # noqa: E402
    BotRun,
    as_json,
    check_bounds,
    median,
    print_bounds,
    print_table,
    ratios,
    report_failures,
    spread,
)
from bench.turns_users import (  # noqa: E402
    Step,
    TimedFake,
    bridges_script,
    daily_script,
    drive,
    echo_script,
    percentile,
    wrong_totals,
)
from tests.fakebot import LoopbackBotApiServer  # noqa: E402


def progress(message: str) -> None:
    """One line per phase on stderr, so a long run shows where it is."""
    print(f"[turns] {message}", file=sys.stderr, flush=True)


# --- one bot, one run ---------------------------------------------------------------------------


async def run_bot(
    kind: BotKind,
    scripts: list[list[Step]],
    args: argparse.Namespace,
    database_url: str,
    rate: float | None = None,
    extra: list[str] | None = None,
    fake: TimedFake | None = None,
    warm: list[list[Step]] | None = None,
) -> tuple[BotRun, TimedFake, dict[str, Any], Recording | None]:
    """Run one bot child against a fake (a fresh one unless given) and play the scripts.
    With `warm`, those scripts first (users WARM_FIRST_USER...), not measured, then the bot
    counts CPU from its "mark" (its own start-up warm-up finished too): a steady state, not
    the one-off costs of a fresh process (templates and regexes compiled at first use).
    Returns the run, the fake, the child's READY settings and, for Bridges, its calls per turn.
    """
    fake = fake or TimedFake()
    fake.first_poll_at = None
    warm_marks: dict[int, Any] = {}
    async with LoopbackBotApiServer(fake) as server:
        child = await BotChild.start(kind, server.base_url, args, database_url, extra)
        try:
            if warm:
                warmed = await drive(
                    fake, warm, len(warm), args.turn_timeout, first_user=WARM_FIRST_USER
                )
                if warmed.failures:
                    raise RuntimeError(f"warm-up turns failed: {warmed.failures[0]}")
                warm_marks = warmed.marks
                await child.mark()
            load = await drive(fake, scripts, args.concurrency, args.turn_timeout, rate)
        finally:
            report = await child.stop()
    failures = list(load.failures)
    if fake.first_poll_at is None:
        failures.append("the bot never polled")
    failures += [f"bot handler raised {name}" for name in report["handler_errors"]]
    turns = len(load.latencies)
    run = BotRun(
        bot=kind,
        users=len(scripts),
        turns_per_user=len(scripts[0]),
        turns=turns,
        attempted=load.attempted,
        wall_s=load.wall,
        turns_per_s=turns / load.wall if load.wall else float("nan"),
        p50_ms=percentile(load.latencies, 0.50) * 1000,
        p99_ms=percentile(load.latencies, 0.99) * 1000,
        bot_cpu_ms_per_turn=(
            report["cpu_s"] / load.attempted * 1000 if load.attempted else float("nan")
        ),
        harness_cpu_pct=load.harness_cpu / load.wall * 100 if load.wall else float("nan"),
        peak_rss_mb=report["peak_rss_mb"],
        startup_s=(fake.first_poll_at or float("nan")) - child.spawned_at,
        offered_rate=rate,
        late_turns=load.late,
        onboarded=report.get("onboarded"),
        failures=failures,
    )
    marks = {**warm_marks, **load.marks}
    recording = record_turns(fake.calls, marks) if kind == "bridges" else None
    return run, fake, child.settings, recording


@dataclass
class Comparison:
    """One interleaved run: each bot's figures, Bridges' calls per turn and request settings."""

    runs: dict[str, BotRun]
    recording: Recording
    settings: dict[str, Any]


async def compare(
    args: argparse.Namespace, database_url: str, rate: float | None, workdir: Path, index: int
) -> Comparison:
    """Bridges, then the replay of its calls, then echo, on the same script and load."""
    scripts = [bridges_script(i) for i in range(args.users)]
    # Every zone and check-in path once, by users of their own, before the measured turns.
    warm = [bridges_script(i) for i in range(WARM_USERS)]
    label = f"run {index + 1}/{args.runs}" + (f" at {rate:.1f} turns/s" if rate else "")
    progress(f"{label}: Bridges")
    bridges, bridges_fake, settings, recording = await run_bot(
        "bridges", scripts, args, database_url, rate, warm=warm
    )
    bridges.failures += wrong_totals(bridges_fake, scripts)
    assert recording is not None
    path = workdir / f"recording-{index}.json"
    save(recording, path)
    progress(f"{label}: replay of Bridges' calls")
    extra = ["--recording", str(path), "--settings", json.dumps(settings)]
    replay, replay_fake, _, _ = await run_bot(
        "replay", scripts, args, "sqlite://", rate, extra, warm=warm
    )
    replay.failures += wrong_totals(replay_fake, scripts)
    progress(f"{label}: echo")
    echo_scripts = [echo_script(s) for s in scripts]
    echo_warm = [echo_script(s) for s in warm]
    echo, echo_fake, _, _ = await run_bot(
        "echo", echo_scripts, args, "sqlite://", rate, warm=echo_warm
    )
    echo.failures += wrong_totals(echo_fake, echo_scripts)
    return Comparison({"bridges": bridges, "replay": replay, "echo": echo}, recording, settings)


async def history_runs(
    args: argparse.Namespace, database_url: str, counts: list[int], index: int
) -> dict[int, BotRun]:
    """Onboard (not measured), then per count: seed the records, measure the daily script."""
    onboarding = [bridges_script(i) for i in range(args.users)]
    progress(f"history run {index + 1}/{args.runs}: onboarding {args.users} users (not measured)")
    onboarded, fake, _, _ = await run_bot("bridges", onboarding, args, database_url)
    if onboarded.failures or onboarded.onboarded != args.users:
        raise SystemExit(
            f"--history: onboarding failed ({onboarded.onboarded}/{args.users} onboarded)\n"
            + "\n".join(onboarded.failures[:1])
        )
    found: dict[int, BotRun] = {}
    daily = [daily_script(i) for i in range(args.users)]
    for count in counts:
        progress(f"history run {index + 1}/{args.runs}: seeding {count} records per person")
        await asyncio.to_thread(seed_history, database_url, args.users, count)
        progress(f"history run {index + 1}/{args.runs}: daily turns with {count} records")
        run, fake, _, _ = await run_bot("bridges", daily, args, database_url, fake=fake)
        run.history = count
        found[count] = run
    return found


# --- the database -------------------------------------------------------------------------------


@contextmanager
def bench_database(url: str | None, users: int) -> Iterator[tuple[str, str, str]]:
    """(URL for the bot, description, backend name). Default: a fresh SQLite file in a temp dir.
    PostgreSQL: a scratch schema, dropped afterwards, so no table is left behind for the tests
    to meet. Any other explicit URL: the bench's own users (an id range of its own) are
    forgotten first, so runs repeat, and nobody else's rows are touched."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="bridges-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db", "SQLite (fresh temp file)", "sqlite"
        return
    from sqlalchemy.engine import make_url

    from storage.db import normalise_url

    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        with scratch_schema(url, "bench_turns") as (scoped, schema):
            yield scoped, f"PostgreSQL (scratch schema {schema}, dropped afterwards)", backend
        return
    forget_bench_users(url, users)
    yield url, make_url(url).render_as_string(hide_password=True), backend


def forget_bench_users(url: str, users: int) -> None:
    from sqlalchemy import bindparam, create_engine, inspect, text

    engine = create_engine(url)
    ids = [str(FIRST_USER_ID + i) for i in range(users)]
    ids += [str(WARM_FIRST_USER + i) for i in range(WARM_USERS)]
    mine = "SELECT id FROM users WHERE channel = 'telegram' AND external_id IN :ids"
    try:
        with engine.begin() as conn:
            if not inspect(conn).has_table("users"):
                return
            for sql in (
                f"DELETE FROM records WHERE user_id IN ({mine})",
                f"DELETE FROM conversations WHERE user_id IN ({mine})",
                f"DELETE FROM users WHERE id IN ({mine})",
            ):
                conn.execute(text(sql).bindparams(bindparam("ids", expanding=True)), {"ids": ids})
    finally:
        engine.dispose()


# --- the whole bench ----------------------------------------------------------------------------


@dataclass
class Results:
    comparisons: list[Comparison]
    history: dict[int, list[BotRun]]  # --history count -> one run per --runs
    saturating: BotRun | None  # --rate half: the closed-loop Bridges run that set the rate
    rate: float | None
    database: str
    backend: str


async def bench(args: argparse.Namespace) -> Results:
    rate: float | None = None
    saturating = None
    if args.rate == "half":
        progress("saturating rate: a closed-loop Bridges run")
        scripts = [bridges_script(i) for i in range(args.users)]
        with bench_database(args.database_url, args.users) as (url, _, _):
            warm = [bridges_script(i) for i in range(WARM_USERS)]
            saturating, fake, _, _ = await run_bot("bridges", scripts, args, url, warm=warm)
        saturating.failures += wrong_totals(fake, scripts)
        rate = saturating.turns_per_s / 2
    elif args.rate is not None:
        rate = float(args.rate)
    comparisons: list[Comparison] = []
    history: dict[int, list[BotRun]] = {}
    database = backend = ""
    with tempfile.TemporaryDirectory(prefix="bridges-replay-") as tmp:
        for index in range(args.runs):
            with bench_database(args.database_url, args.users) as (url, database, backend):
                comparisons.append(await compare(args, url, rate, Path(tmp), index))
    for index in range(args.runs if args.history else 0):
        with bench_database(args.database_url, args.users) as (url, database, backend):
            for count, run in (await history_runs(args, url, args.history, index)).items():
                history.setdefault(count, []).append(run)
    return Results(comparisons, history, saturating, rate, database, backend)


def print_report(results: Results, args: argparse.Namespace) -> None:
    runs = [c.runs for c in results.comparisons]
    first = runs[0]["bridges"]
    load = "closed loop (each user waits for its reply)"
    if results.rate is not None:
        load = f"open loop, {results.rate:.1f} turns/s offered (seeded Poisson arrivals)"
    print(
        f"Bridges onboarding bench: {args.users} users x {first.turns_per_user} turns, "
        f"concurrency {args.concurrency}, {load}, {results.database}, over HTTP on 127.0.0.1; "
        f"{args.runs} interleaved run(s): median [min-max]"
    )
    limiter = "ON for all bots" if args.rate_limit else "off for all bots (our own cost)"
    print(f"PTB rate limiter: {limiter}.")
    if results.saturating is not None:
        sat = results.saturating
        print(
            f"Saturating rate (closed-loop Bridges run): {sat.turns_per_s:.1f} turns/s "
            f"(p50 {sat.p50_ms:.0f} ms, p99 {sat.p99_ms:.0f} ms); offered half: "
            f"{results.rate:.1f} turns/s"
        )
    print()
    print_table("", {bot: [run[bot] for run in runs] for bot in ("bridges", "replay", "echo")})
    if results.rate is not None:
        for bot in ("bridges", "replay", "echo"):
            achieved = spread([run[bot].turns_per_s for run in runs], 1)
            late = sum(run[bot].late_turns for run in runs)
            print(
                f"{bot}: achieved {achieved} turns/s at {results.rate:.1f} offered; "
                f"turns started late (user still waiting): {late}"
            )
    print()
    print(f"replay CPU / Bridges CPU: {spread(ratios(runs, 'replay'), 3)}")
    print(f"echo CPU / Bridges CPU:   {spread(ratios(runs, 'echo'), 3)}")
    per_turn = calls_per_turn(results.comparisons[0].recording)
    print(
        "Bridges' Bot API calls per turn (what the replay makes): "
        + ", ".join(f"{method} {n:.2f}" for method, n in per_turn.items())
    )
    settings = results.comparisons[0].settings
    request = settings.get("request", {})
    print(
        f"Request settings read from Bridges' Application (the replay's too): "
        f"concurrent updates {settings.get('concurrent_updates')}, "
        + ", ".join(f"{k} {v}" for k, v in request.items())
    )
    onboarded = median([run["bridges"].onboarded or 0 for run in runs])
    print(f"Onboarded (onboarded_at set in the database): {onboarded:.0f}/{args.users} users")
    harness = spread([run["bridges"].harness_cpu_pct for run in runs], 0)
    print(f"CPU ms/turn is the bot process alone; the fake + users used {harness}% of a core.")
    if results.history:
        print()
        daily = results.history[min(results.history)][0]
        print_table(
            f"--history: {args.users} onboarded people x {daily.turns_per_user} daily turns "
            "(check-in, /menu, wins), Bridges only, closed loop:",
            {f"history {n}": rs for n, rs in results.history.items()},
        )
        if len(results.history) >= 2:
            low, high = min(results.history), max(results.history)
            cpu = {
                n: median([r.bot_cpu_ms_per_turn for r in results.history[n]]) for n in (low, high)
            }
            print(f"CPU/turn history {high} / history {low}: {cpu[high] / cpu[low]:.2f}")


# --- entry points -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100, help="simulated users (default 100)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="closed loop: simulated users active at once (default: all of them)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file in a temp dir; PostgreSQL URLs get a "
        "scratch schema that is dropped afterwards",
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="interleaved Bridges/replay/echo runs (default 3)"
    )
    parser.add_argument(
        "--rate",
        default=None,
        help="open loop: turns/s offered (Poisson), or 'half' for half of Bridges' "
        "saturating rate, measured first (default: closed loop)",
    )
    parser.add_argument(
        "--history",
        default=None,
        help="comma-separated counts of stored records per person, e.g. 0,5000: "
        "measure Bridges' daily turns with each",
    )
    parser.add_argument(
        "--no-bounds", action="store_true", help="print issue 15's bounds, exit 0 if broken"
    )
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument(
        "--rate-limit",
        action="store_true",
        help="turn PTB's rate limiter on for all bots (off by default)",
    )
    parser.add_argument(
        "--turn-timeout",
        type=float,
        default=30.0,
        help="seconds a turn may take before the bench fails (default 30)",
    )
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.concurrency = args.concurrency or args.users
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.rate not in (None, "half"):
        try:
            if float(args.rate) <= 0:
                raise ValueError
        except ValueError:
            parser.error("--rate wants turns per second (> 0) or 'half'")
    if args.history is not None:
        try:
            args.history = parse_history(args.history)
        except ValueError as error:
            parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(bench(args))
    print_report(results, args)
    runs = [c.runs for c in results.comparisons]
    bounds = check_bounds(runs, results.backend, args.rate == "half", results.history)
    broken = print_bounds(bounds, enforced=not args.no_bounds)
    if args.json:
        print(
            json.dumps(
                {
                    "database": results.database,
                    "rate": results.rate,
                    "concurrency": args.concurrency,
                    "rate_limit": args.rate_limit,
                    "saturating": as_json(results.saturating) if results.saturating else None,
                    "runs": [{b: as_json(r) for b, r in run.items()} for run in runs],
                    "history": {n: [as_json(r) for r in rs] for n, rs in results.history.items()},
                    "bounds": [vars(b) for b in bounds],
                }
            )
        )
    everything = [r for run in runs for r in run.values()]
    everything += [r for rs in results.history.values() for r in rs]
    everything += [results.saturating] if results.saturating else []
    failed = report_failures(everything)
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())
