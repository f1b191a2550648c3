"""The sweep's storage half: who is due, claiming them a batch at a time, and reading and
moving a person's due time.

Each person's next check-in, nudge, crisis follow-up and reminder is a UTC timestamp in
an indexed column of `users` (None: nothing planned).

`claim_due` takes up to `limit` due people of one kind in one short transaction: one
SELECT of their rows (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so a second sweeper, or
a person's own turn holding their lock, is passed over, never waited for; on SQLite
the engine's `BEGIN IMMEDIATE` makes it the only writer), the caller's `settle` run on
each row in one pass in Python, and one executemany UPDATE. People for whom no turn
runs (a check-in missed by hours, a pause, a held nudge, a stale follow-up) get their
next time there and are done. The others are *held*: their due column is set to the
claim's `until` (now + the sweep's lease), a time no sweeper counts as due before it
passes. Each held person's turn then runs in a transaction of its own (bot/due_turn.py,
under their row lock via storage.repository `run_turn`): `due_at` reads the column,
finds `until` there (so the claim is still this sweeper's), `move_due` moves it on and
the check-in is written to the outbox, all in that one transaction. If the process
dies in between, the held people become due again once `until` passes, and any
sweeper takes them; `release` puts a held person's due time back at once when their
turn failed. Nobody is claimed twice: a held row is no longer due, and on PostgreSQL
a row another claim has locked is skipped (and re-checked against the WHERE clause
once that claim commits).

`due_candidates` is a plain read of the same index (no lock, no write), for reports
and tests. `due_person` is the snapshot of a locked ORM row the sweep's rules decide on.

Also here: planning a time by hand (`set_next`) and people who blocked the bot
(`mark_inactive`, `mark_inactive_person`, `mark_active`). A blocked person's due
times are cleared, so they never sit in the sweep's index as ever-due rows.

Timestamps go in as UTC (SQLite drops offsets) and come back aware.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    and_,
    bindparam,
    false,
    or_,
    select,
    true,
    update,
)

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
        .where(_after(column, after))
        .limit(limit)
    )
    with engine.connect() as conn:
        return [Candidate(row[0], row[1], row[2], _from_db(row[3])) for row in conn.execute(query)]


# What a claim reads of each row: what the sweep's rules (bot/due_turn.py plan) decide on.
_PERSON = (
    USERS.c.id,
    USERS.c.channel,
    USERS.c.external_id,
    USERS.c.timezone,
    USERS.c.checkin_time,
    USERS.c.nudges,
    USERS.c.quiet_start,
    USERS.c.quiet_end,
    USERS.c.paused_until,
    USERS.c.last_seen_at,
    USERS.c.unanswered,
)

# settle(person) -> (a turn runs, the next time when none does). See `claim_due`.
Settle = Callable[["DuePerson"], tuple[bool, datetime | None]]


@dataclass(frozen=True)
class Claimed:
    """What one `claim_due` took.

    `held`: people whose turn is to run, each with the due time that was taken (their
    column now holds `until`). `settled`: how many were moved to their next time with no
    turn. `last`: (due time, id) of the last row claimed, in claim order, for the next
    page's `after`; None when nothing was due.
    """

    held: list[DuePerson]
    settled: int
    last: tuple[datetime, int] | None

    @property
    def count(self) -> int:
        """Rows claimed (held and settled): fewer than the limit means none are left due."""
        return len(self.held) + self.settled


def _after(column: Column[Any], after: tuple[datetime, int] | None) -> ColumnElement[bool]:
    if after is None:
        return true()
    last_at, last_id = _to_db(after[0]), after[1]
    return or_(column > last_at, and_(column == last_at, USERS.c.id > last_id))


def _row_person(row: Any, due: datetime) -> DuePerson:
    """A DuePerson from anything with the users table's column names as attributes (a Core
    row of the claim, or an ORM User)."""
    return DuePerson(
        user_id=row.id,
        channel=row.channel,
        external_id=row.external_id,
        timezone=row.timezone,
        checkin_time=row.checkin_time,
        due_at=due,
        nudges=row.nudges,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        paused_until=_from_db(row.paused_until) if row.paused_until is not None else None,
        last_seen_at=_from_db(row.last_seen_at) if row.last_seen_at is not None else None,
        unanswered=row.unanswered or 0,
    )


def claim_due(
    engine: Engine,
    kind: Kind,
    now: datetime,
    until: datetime,
    settle: Settle,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> Claimed:
    """Claim up to `limit` active people whose `kind` is due at `now`, oldest first, in one
    transaction: one SELECT, `settle` on each row, one UPDATE of those held (and one
    executemany UPDATE of those moved on, if any).

    `settle(person)` says whether their turn runs and, if not, their next time (None:
    nothing planned). Those with no turn are moved to that time and done; the others
    are held: their column becomes `until` (aware, later than `now`) until their own
    transaction takes them (bot/due_turn.py) or `release` puts them back. `settle` must
    not raise (it runs inside the claim: an error rolls back the whole batch).
    `after` is the previous page's `Claimed.last`: the page starts behind it, so someone
    released after a failed turn is not claimed again in the same sweep.
    Raises ValueError for an unknown `kind`, naive times, or `until` not after `now`.
    """
    column = _column(kind)
    if until <= now:
        raise ValueError("a claim must hold people until after now")
    if limit <= 0:
        return Claimed([], 0, None)
    query = (
        select(*_PERSON, column.label("due"))
        .where(column <= _to_db(now), USERS.c.active == true(), _after(column, after))
        .order_by(column, USERS.c.id)
        .limit(limit)
        # PostgreSQL: rows another claim or a person's turn has locked are skipped, not
        # waited for. Not rendered on SQLite, where BEGIN IMMEDIATE already excludes both.
        .with_for_update(skip_locked=True)
    )
    held: list[DuePerson] = []
    moves: list[dict[str, Any]] = []
    with engine.begin() as conn:
        rows = conn.execute(query).all()
        if not rows:
            return Claimed([], 0, None)
        for row in rows:
            person = _row_person(row, _from_db(row.due))
            runs, next_at = settle(person)
            if runs:
                held.append(person)
            else:
                moves.append({"b_id": row.id, "b_at": _to_db(next_at)})
        if held:  # the usual case: everyone to one value, in one statement
            ids = [p.user_id for p in held]
            hold = update(USERS).where(USERS.c.id.in_(ids)).values({column.name: _to_db(until)})
            conn.execute(hold)
        if moves:  # after downtime, pauses, held nudges: each their own next time
            conn.execute(_move(column), moves)
    last = rows[-1]
    return Claimed(held, len(rows) - len(held), (_from_db(last.due), last.id))


def release(engine: Engine, kind: Kind, until: datetime, people: Sequence[DuePerson]) -> int:
    """Put held people's due time back to what it was (`DuePerson.due_at`), for those whose
    column still holds this claim's `until` (a turn that committed, or another sweeper
    that took over after the claim passed, has moved it on: left alone). One executemany;
    returns how many were put back. Raises what the database raises."""
    column = _column(kind)
    if not people:
        return 0
    stmt = (
        update(USERS)
        .where(USERS.c.id == bindparam("b_id"), column == bindparam("b_until", type_=column.type))
        .values({column.name: bindparam("b_at", type_=column.type)})
    )
    hold_at = _to_db(until)
    moves = [{"b_id": p.user_id, "b_until": hold_at, "b_at": _to_db(p.due_at)} for p in people]
    with engine.begin() as conn:
        return int(conn.execute(stmt, moves).rowcount)


def _move(column: Column[Any]) -> Any:
    """UPDATE one due column by id, for executemany with b_id and b_at."""
    return (
        update(USERS)
        .where(USERS.c.id == bindparam("b_id"))
        .values({column.name: bindparam("b_at", type_=column.type)})
    )


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
    """The snapshot the sweep's rules decide on, from a locked ORM row (the same columns as
    the claim's rows, so the same reader)."""
    assert user.id is not None
    return _row_person(user, due)


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
