"""What one turn costs as a person's history grows (issue 15): flat, or not.

For people who keep 0, 50, 500 and 5,000 records (mostly mood check-ins, with wins,
thought entries, follow-up answers, reflections, measures, contacts, a needs map, a rhythm
and a check-in log, as a long-time user has), runs `StateStore.run_turn` with the real
dialog manager deciding (bot.core.Bridges.handle: load, step, render, save in one
transaction) on a realistic cycle of four turns: the sweep's morning check-in, the mood
typed ("3"), how connected ("3", which picks today's idea), then /menu.

The sizes are measured in interleaved rounds (each round runs one cycle per person, in
turn), so a noisy neighbour hits every size alike. Prints, per size, the median over rounds
of wall ms per turn and CPU ms per turn, then the ratio of the largest size to 0 records;
exits 1 when the CPU ratio exceeds --bound (1.2, the issue's target, which is stated in CPU:
steadier on a shared machine, and wall time on SQLite is mostly the commit's fsync).

    python bench/turn_cost.py [--database-url URL] [--rounds 15] [--sizes 0,50,500,5000]

SQLite (a temporary file) by default; a PostgreSQL URL runs in a scratch schema that is
dropped afterwards (bench/scratch_db.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `bot` and `bench` importable
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert, text  # noqa: E402

from bench.scratch_db import scratch_schema  # noqa: E402
from bot.core import Bridges  # noqa: E402
from dialogs.model import Command, Due, Event, Text  # noqa: E402
from storage.repository import UserKey  # noqa: E402
from storage.tables import RecordRow, User  # noqa: E402

USERS = User.__table__
RECORDS = RecordRow.__table__
START = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # a Tuesday morning: no review due
FIRST_ID = 880_000_001
CYCLE: tuple[Event, ...] = (Due("checkin"), Text("3"), Text("3"), Command("menu"))
# Kinds interleaved through a history: (kind, every, at) puts one at each n % every == at;
# the rest are mood check-ins, the kind that grows daily (about 8% wins, 4% thoughts...).
MIX = (("win", 12, 5), ("thought", 25, 7), ("step_follow_up", 33, 11), ("reflection", 50, 13))


def _data(kind: str, n: int, at: datetime) -> dict[str, Any]:
    if kind == "mood":
        return {"at": at.isoformat(), "mood": 1 + n % 5, "connected": 1 + n % 4}
    if kind == "win":
        return {"text": f"win {n}", "source": "typed"}
    if kind == "thought":
        return {"thought": f"thought {n}", "belief": 50, "date": at.date().isoformat()}
    if kind == "step_follow_up":
        return {"at": at.isoformat(), "step": "ask_how", "answer": "easy"}
    return {"ladder": 1, "step": 1, "happened": True, "expected": 4, "actual": 6}


def history(size: int, now: datetime) -> list[tuple[str, dict[str, Any], datetime]]:
    """`size` records (kind, data, created_at), oldest first, ending an hour before `now`:
    the fixed ones a person keeps (rhythm, log, needs map, contacts, measures), the MIX
    shares, and mood check-ins for the rest, a few hours apart."""
    if size == 0:
        return []
    fixed: list[tuple[str, dict[str, Any]]] = [
        ("rhythm", {"review_day": 6, "review_time": "18:00", "windows": []}),
        ("checkin_log", {"shown": {}}),
        ("needs_map", {"focus": "casual"}),
        ("contact", {"name": "Ana", "reach": "telegram", "handle": "ana"}),
        ("contact", {"name": "Ben", "reach": "phone", "handle": "+34600000000"}),
        ("ucla", {"items": [2, 2, 1], "total": 5}),
    ]
    count = max(size - len(fixed), 0)
    kinds = [next((k for k, every, at in MIX if n % every == at), "mood") for n in range(count)]
    out: list[tuple[str, dict[str, Any], datetime]] = []
    total = len(kinds) + len(fixed)
    for n, kind in enumerate(kinds):
        at = now - timedelta(hours=5 * (total - n))
        out.append((kind, _data(kind, n, at), at))
    for n, (kind, data) in enumerate(fixed):
        out.append((kind, data, now - timedelta(hours=1, minutes=n)))
    return out[:size]


def fill(engine: Engine, sizes: list[int], now: datetime) -> dict[int, UserKey]:
    """One onboarded Telegram person per size, with that many records; their keys."""
    keys: dict[int, UserKey] = {}
    with engine.begin() as conn:
        for n, size in enumerate(sizes):
            key = UserKey("telegram", str(FIRST_ID + n))
            row = conn.execute(
                insert(USERS).returning(USERS.c.id),
                {
                    "channel": key.channel,
                    "external_id": key.external_id,
                    "created_at": now - timedelta(days=400),
                    "last_seen_at": now - timedelta(hours=1),
                    "consented_at": now - timedelta(days=400),
                    "onboarded_at": now - timedelta(days=400),
                    "locale": "en",
                    "timezone": "Europe/Madrid",
                    "checkin_time": "08:00",
                    "nudges": "gentle",
                    "quiet_start": "21:00",
                    "quiet_end": "08:00",
                    "unanswered": 0,
                    "active": True,
                },
            ).one()
            positions: dict[str, int] = {}
            rows = []
            for kind, data, at in history(size, now):
                position = positions.get(kind, 0)
                positions[kind] = position + 1
                rows.append(
                    {
                        "user_id": row.id,
                        "kind": kind,
                        "position": position,
                        "created_at": at,
                        "updated_at": at,
                        "data": data,
                    }
                )
            if rows:
                conn.execute(insert(RECORDS), rows)
            keys[size] = key
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # as autovacuum would have on a live database
            conn.execute(text("ANALYZE records"))
    return keys


def cycle(bridges: Bridges, key: UserKey, now: datetime) -> tuple[float, float]:
    """One check-in answered and the menu opened: (wall ms, CPU ms) per turn."""
    wall, cpu = time.perf_counter(), time.process_time()
    for n, event in enumerate(CYCLE):
        bridges.handle(key, event, now + timedelta(seconds=20 * n))
    turns = len(CYCLE)
    return (
        (time.perf_counter() - wall) * 1000 / turns,
        (time.process_time() - cpu) * 1000 / turns,
    )


def measure(url: str, sizes: list[int], rounds: int) -> dict[int, tuple[float, float]]:
    """Median (wall, CPU) ms per turn for each size, over `rounds` interleaved rounds
    (after one warm-up round)."""
    bridges = Bridges.open(url)
    try:
        keys = fill(bridges.store.engine, sizes, START)
        seen: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
        for r in range(rounds + 1):
            now = START + timedelta(days=r, minutes=5)  # a check-in a day, as the sweep does
            for size in sizes:
                wall, cpu = cycle(bridges, keys[size], now)
                if r:  # the first round warms caches (templates, dialogs, the pool)
                    seen[size].append((wall, cpu))
        return {
            size: (
                statistics.median(w for w, _ in found),
                statistics.median(c for _, c in found),
            )
            for size, found in seen.items()
        }
    finally:
        bridges.close()


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """The URL to run on: a scratch PostgreSQL schema, or a temporary SQLite file."""
    if url and url.startswith("postgresql"):
        with scratch_schema(url, "turn_cost") as (scoped, _schema):
            yield scoped
    elif url:
        yield url
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/turn_cost.db"


def main() -> int:
    """Run the bench; 0 when the largest size costs at most --bound times 0 records (CPU)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", default="0,50,500,5000")
    parser.add_argument("--bound", type=float, default=1.2)
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    with database(args.database_url) as url:
        found = measure(url, sizes, args.rounds)
    name = url.split(":", 1)[0] if args.database_url else "sqlite (temporary file)"
    print(f"turn cost, {name}, {args.rounds} rounds of {len(CYCLE)} turns, median per turn:")
    for size in sizes:
        wall, cpu = found[size]
        print(f"  {size:>6} records: {wall:7.2f} ms wall  {cpu:7.2f} ms CPU")
    low, high = found[sizes[0]], found[sizes[-1]]
    ratio, cpu_ratio = high[0] / low[0], high[1] / low[1]
    verdict = "ok" if cpu_ratio <= args.bound else "TOO HIGH"
    print(
        f"ratio {sizes[-1]}/{sizes[0]}: {ratio:.2f} wall, {cpu_ratio:.2f} CPU "
        f"(bound {args.bound}): {verdict}"
    )
    return 0 if cpu_ratio <= args.bound else 1


if __name__ == "__main__":
    sys.exit(main())
