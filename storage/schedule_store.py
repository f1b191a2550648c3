"""The sweep's storage half: who is due, and reading and moving a person's due time.

Each person's next check-in, nudge and crisis follow-up is a UTC timestamp in an
indexed column of `users` (None: nothing planned). `due_candidates` is a plain
read of that index: up to `limit` active people whose `kind` is due, oldest
first, paged by (due time, id). It locks and changes nothing, because a
candidate is only a hint. The sweep (bot/due_turn.py) takes each candidate in a
transaction of its own, under that person's row lock (storage.repository
`run_turn`): it reads the due time again there with `due_at`, moves it on with
`move_due`, and writes the check-in to the outbox, all in that one transaction.
A candidate that another sweeper, or this one before a crash, has already taken
is then simply found no longer due.

`due_person` is the snapshot of a locked row that the sweep's rules decide on.

Also here: planning a time by hand (`set_next`) and people who blocked the bot
(`mark_inactive`, `mark_inactive_person`, `mark_active`). A blocked person's due
times are cleared, so they never sit in the sweep's index as ever-due rows.

Timestamps go in as UTC (SQLite drops offsets) and come back aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Column, Engine, and_, false, or_, select, true, update

from storage.tables import User

Kind = Literal["checkin", "nudge", "followup", "reminder"]

USERS = User.__table__
# The column of each kind; its name is also the attribute on the ORM `User`.
_DUE: dict[str, Column[Any]] = {
    "checkin": USERS.c.next_checkin_at,
    "nudge": USERS.c.next_nudge_at,
    "followup": USERS.c.followup_at,
    "reminder": USERS.c.next_reminder_at,
}


@dataclass(frozen=True)
class Candidate:
    """Someone whose `kind` looked due when the index was read (not locked, not claimed)."""

    user_id: int
    channel: str
    external_id: str
    due_at: datetime  # UTC, aware


@dataclass(frozen=True)
class DuePerson:
    """One person whose check-in, nudge or follow-up is due, as their locked row stands."""

    user_id: int
    channel: str
    external_id: str
    timezone: str | None
    checkin_time: str | None  # "HH:MM" local, as chosen
    due_at: datetime  # the due time being taken (UTC, aware), not the next one
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


def due_candidates(
    engine: Engine,
    kind: Kind,
    now: datetime,
    limit: int = 1000,
    after: tuple[datetime, int] | None = None,
) -> list[Candidate]:
    """Up to `limit` active people whose `kind` is due at `now`, ordered by (due time, id).

    `after` is the last (due_at, user_id) of the previous page: the next page starts
    behind it, so someone left due by a failed transaction is not read again in the
    same sweep. A plain SELECT on the partial index: no lock, no write.
    Raises ValueError for an unknown `kind` or a naive `now`.
    """
    column = _column(kind)
    if limit <= 0:
        return []
    query = (
        select(USERS.c.id, USERS.c.channel, USERS.c.external_id, column)
        .where(column <= _to_db(now), USERS.c.active == true())
        .order_by(column, USERS.c.id)
        .limit(limit)
    )
    if after is not None:
        last_at, last_id = _to_db(after[0]), after[1]
        query = query.where(or_(column > last_at, and_(column == last_at, USERS.c.id > last_id)))
    with engine.connect() as conn:
        return [Candidate(row[0], row[1], row[2], _from_db(row[3])) for row in conn.execute(query)]


def due_at(user: User, kind: Kind) -> datetime | None:
    """The person's planned `kind` (UTC, aware), as the locked ORM row holds it; None:
    nothing planned. Raises ValueError for an unknown `kind`."""
    value = getattr(user, _column(kind).name)
    return None if value is None else _from_db(value)


def move_due(user: User, kind: Kind, at: datetime | None) -> None:
    """Plan the person's next `kind` at `at` (aware; None: nothing planned) on the ORM row,
    so it is written with the rest of the caller's transaction. Raises ValueError for an
    unknown `kind` or a naive `at`."""
    setattr(user, _column(kind).name, _to_db(at))


def due_person(user: User, due: datetime) -> DuePerson:
    """The snapshot the sweep's rules decide on, from a locked ORM row."""
    assert user.id is not None
    return DuePerson(
        user_id=user.id,
        channel=user.channel,
        external_id=user.external_id,
        timezone=user.timezone,
        checkin_time=user.checkin_time,
        due_at=due,
        nudges=user.nudges,
        quiet_start=user.quiet_start,
        quiet_end=user.quiet_end,
        paused_until=_from_db(user.paused_until) if user.paused_until is not None else None,
        last_seen_at=_from_db(user.last_seen_at) if user.last_seen_at is not None else None,
        unanswered=user.unanswered or 0,
    )


def set_next(engine: Engine, user_id: int, kind: Kind, at: datetime | None) -> None:
    """Plan a person's next `kind` at `at` (aware; None: nothing planned), in a transaction
    of its own. Raises ValueError for an unknown `kind` or a naive `at`."""
    column = _column(kind)
    with engine.begin() as conn:
        conn.execute(update(USERS).where(USERS.c.id == user_id).values({column.name: _to_db(at)}))


_CLEARED = {
    "active": False,
    "next_checkin_at": None,
    "next_nudge_at": None,
    "followup_at": None,
    "next_reminder_at": None,
}


def mark_inactive(engine: Engine, user_id: int) -> None:
    """They blocked the bot: nothing more until they write again.

    Their due times are cleared too, so blocked people never sit in the sweep's
    index as ever-due rows; whoever calls `mark_active` plans them again.
    """
    with engine.begin() as conn:
        conn.execute(update(USERS).where(USERS.c.id == user_id).values(_CLEARED))


def mark_inactive_person(engine: Engine, channel: str, external_id: str) -> None:
    """`mark_inactive` by the person's key (the sender knows the chat, not the row id)."""
    with engine.begin() as conn:
        conn.execute(
            update(USERS)
            .where(USERS.c.channel == channel, USERS.c.external_id == external_id)
            .values(_CLEARED)
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
