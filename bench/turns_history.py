"""--history for bench/turns.py: the cost of an ordinary day's turns when every person already
has N stored records.

The users are onboarded first through Bridges itself (the real onboarding turns, not measured).
Then, for each N asked for (smallest first, in the same database), every bench person's growing
records are replaced by N written straight into the records table (storage/tables.py, with
SQLAlchemy Core): the kinds that pile up in real life, one "mood" check-in a day going back N
days (dialogs/hooks/checkin.py), with a "win" (dialogs/coaching.py) in place of every tenth.
A fresh Bridges process then plays the daily script (bench/turns_users.py `daily_script`:
the check-in, /menu, their wins), measured as the main bench measures a bot.

One fake Bot API serves all phases of a database: the inbox keys updates by their id, so a new
fake numbering updates from 1 again would look like updates already handled.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.turns_bots import FIRST_USER_ID

SEEDED_KINDS = ("mood", "win")  # what the seeding replaces (the daily script adds these too)
WIN_EVERY = 10  # one record in this many is a win, the rest moods
BATCH = 5_000  # rows per executemany


def seeded_rows(user_id: int, count: int, now: datetime) -> Iterator[dict[str, Any]]:
    """`count` records for one person (users.id `user_id`), oldest first, one a day back from
    yesterday: moods (shape of dialogs/hooks/checkin.py) and every WIN_EVERY-th a win, each kind
    numbered from position 0 as storage keeps them."""
    positions = dict.fromkeys(SEEDED_KINDS, 0)
    for index in range(count):
        at = now - timedelta(days=count - index, hours=index % 5)
        if index % WIN_EVERY == WIN_EVERY - 1:
            kind = "win"
            text = f"Said hello to a neighbour ({index})"
            data: dict[str, Any] = {"text": text, "source": "typed"}
        else:
            kind = "mood"
            data = {"at": at.isoformat(), "mood": 1 + index % 5, "connected": 1 + index % 4}
        yield {
            "user_id": user_id,
            "kind": kind,
            "position": positions[kind],
            "created_at": at,
            "updated_at": at,
            "data": data,
        }
        positions[kind] += 1


def seed_history(database_url: str, users: int, count: int) -> int:
    """Give each of the bench's `users` people exactly `count` seeded records (their earlier
    moods and wins are deleted first). Returns the rows written. RuntimeError if a bench person
    is missing (onboarding failed)."""
    from sqlalchemy import create_engine, delete, insert, select

    from storage.tables import RecordRow, User

    records = RecordRow.metadata.tables[str(RecordRow.__tablename__)]
    people = User.metadata.tables[str(User.__tablename__)]
    ids = [str(FIRST_USER_ID + i) for i in range(users)]
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    written = 0
    try:
        with engine.begin() as conn:
            found = conn.execute(
                select(people.c.id)
                .where(people.c.channel == "telegram")
                .where(people.c.external_id.in_(ids))
            ).scalars()
            user_ids = list(found)
            if len(user_ids) != users:
                raise RuntimeError(f"only {len(user_ids)}/{users} bench people in the database")
            conn.execute(
                delete(records)
                .where(records.c.user_id.in_(user_ids))
                .where(records.c.kind.in_(SEEDED_KINDS))
            )
            batch: list[dict[str, Any]] = []
            for user_id in user_ids:
                for row in seeded_rows(user_id, count, now):
                    batch.append(row)
                    if len(batch) >= BATCH:
                        conn.execute(insert(records), batch)
                        written += len(batch)
                        batch = []
            if batch:
                conn.execute(insert(records), batch)
                written += len(batch)
    finally:
        engine.dispose()
    return written


def parse_history(value: str) -> list[int]:
    """ "0,5000" -> [0, 5000] (sorted, no repeats). ValueError for anything but counts >= 0."""
    counts = sorted({int(part) for part in value.split(",") if part.strip()})
    if not counts or counts[0] < 0:
        raise ValueError(f"--history wants counts >= 0 like 0,5000, not {value!r}")
    return counts
