"""The sweep's storage half: claim due check-ins, nudges and crisis follow-ups, atomically,
advancing first.

Each person's next check-in and nudge is a UTC timestamp in an indexed column of
`users`. `claim_due` takes the rows that are due and, in the same transaction,
moves each one's due time on to what the caller's `advance` says, before anything
is sent. So a crash after claiming never re-sends, and two sweepers (two bot
processes) never claim the same person:

- PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED LIMIT n`, then the UPDATE, in one
  transaction; a second sweeper skips the locked rows and takes the next ones.
- SQLite: the engine begins every transaction with `BEGIN IMMEDIATE` (storage.db),
  so the select and the update run under the single writer lock; FOR UPDATE is
  not rendered there.

A crisis follow-up (`users.followup_at`, planned by the engine after a crisis screen)
is claimed the same way; its `advance` returns None, so the claim clears it: each
follow-up is sent at most once.

Timestamps go in as UTC (SQLite drops offsets) and come back aware.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Column, Engine, bindparam, false, select, true, update

from storage.tables import User

Kind = Literal["checkin", "nudge", "followup"]

USERS = User.__table__
_DUE: dict[str, Column[Any]] = {
    "checkin": USERS.c.next_checkin_at,
    "nudge": USERS.c.next_nudge_at,
    "followup": USERS.c.followup_at,
}


@dataclass(frozen=True)
class ClaimedUser:
    """One person whose check-in, nudge or follow-up was due, as it stood when claimed."""

    user_id: int
    channel: str
    external_id: str
    timezone: str | None
    checkin_time: str | None  # "HH:MM" local, as chosen
    due_at: datetime  # the due time that was claimed (UTC, aware), not the new one
    # What deciding a nudge needs (defaults: the settings a new person starts with).
    nudges: str = "gentle"  # "off" | "gentle" | "daily"
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    paused_until: datetime | None = None  # UTC, aware
    last_seen_at: datetime | None = None  # when they last wrote (UTC, aware)
    unanswered: int = 0  # check-ins and nudges sent since they last wrote


def _column(kind: str) -> Column[Any]:
    try:
        return _DUE[kind]
    except KeyError:
        raise ValueError(f"unknown schedule kind: {kind!r}") from None


def _to_db(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    if at.tzinfo is None:
        raise ValueError("due times must be timezone-aware")
    return at.astimezone(UTC)


def _from_db(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def claim_due(
    engine: Engine,
    kind: Kind,
    now: datetime,
    advance: Callable[[ClaimedUser], datetime | None],
    limit: int = 1000,
) -> list[ClaimedUser]:
    """Claim up to `limit` active people whose next `kind` is due at `now`, oldest first.

    In the same transaction each one's due time becomes `advance(person)` (None:
    nothing planned), so the rows are no longer due when this returns, before
    anything is sent. If `advance` raises, nothing is claimed.
    """
    column = _column(kind)
    if limit <= 0:
        return []
    query = (
        select(
            USERS.c.id,
            USERS.c.channel,
            USERS.c.external_id,
            USERS.c.timezone,
            USERS.c.checkin_time,
            column,
            USERS.c.nudges,
            USERS.c.quiet_start,
            USERS.c.quiet_end,
            USERS.c.paused_until,
            USERS.c.last_seen_at,
            USERS.c.unanswered,
        )
        .where(column <= _to_db(now), USERS.c.active == true())
        .order_by(column, USERS.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; not rendered on SQLite
    )
    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, the writer lock
        claimed = [
            ClaimedUser(
                user_id=row[0],
                channel=row[1],
                external_id=row[2],
                timezone=row[3],
                checkin_time=row[4],
                due_at=_from_db(row[5]),
                nudges=row[6],
                quiet_start=row[7],
                quiet_end=row[8],
                paused_until=_from_db(row[9]) if row[9] is not None else None,
                last_seen_at=_from_db(row[10]) if row[10] is not None else None,
                unanswered=row[11],
            )
            for row in conn.execute(query)
        ]
        if not claimed:
            return []
        moves = [{"b_id": c.user_id, "b_at": _to_db(advance(c))} for c in claimed]
        _advance(conn, column, moves)
    return claimed


def _advance(conn: Any, column: Column[Any], moves: Sequence[dict[str, Any]]) -> None:
    stmt = (
        update(USERS)
        .where(USERS.c.id == bindparam("b_id"))
        .values({column.name: bindparam("b_at", type_=column.type)})
    )
    conn.execute(stmt, list(moves))


def set_next(engine: Engine, user_id: int, kind: Kind, at: datetime | None) -> None:
    """Plan a person's next `kind` at `at` (aware; None: nothing planned)."""
    column = _column(kind)
    with engine.begin() as conn:
        conn.execute(update(USERS).where(USERS.c.id == user_id).values({column.name: _to_db(at)}))


def count_unanswered(engine: Engine, user_id: int) -> None:
    """A check-in or nudge was sent: one more unanswered, until they write (storage resets it)."""
    with engine.begin() as conn:
        conn.execute(
            update(USERS).where(USERS.c.id == user_id).values(unanswered=USERS.c.unanswered + 1)
        )


def mark_inactive(engine: Engine, user_id: int) -> None:
    """They blocked the bot: nothing more until they write again.

    Their due times are cleared too, so blocked people never sit in the sweep's
    index as ever-due rows; whoever calls `mark_active` plans them again.
    """
    with engine.begin() as conn:
        conn.execute(
            update(USERS)
            .where(USERS.c.id == user_id)
            .values(active=False, next_checkin_at=None, next_nudge_at=None, followup_at=None)
        )


def mark_active(engine: Engine, user_id: int) -> bool:
    """They wrote again. True if they had been inactive (so their times need planning)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(USERS)
            .where(USERS.c.id == user_id, USERS.c.active == false())
            .values(active=True)
        )
        return bool(result.rowcount)
