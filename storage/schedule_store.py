"""The sweep's storage half: who is due, claiming them a batch at a time, and reading and
moving a person's due time.

Each person's next check-in, nudge, crisis follow-up and reminder is a UTC timestamp in
an indexed column of `users` (None: nothing planned).

`claim_due` takes up to `limit` due people of one kind: one short transaction reads
their rows and *holds* them with one narrow `claims` row each (user id, kind, the
claim's `until` = now + the sweep's lease); on PostgreSQL that is one statement, on
SQLite a SELECT and an INSERT under the engine's `BEGIN IMMEDIATE`. A person with a
claim whose `until` has not passed is not due for any sweeper. Their wide `users` row
is not written by the claim at all (issue 15: rewriting a hundred of them, with all
their indexes, per batch was most of what a claim cost), and no row is locked, so a
person's own turn is never waited for. Then the caller's `settle` runs on each row in
one pass in Python: people for whom no turn runs (a check-in missed by hours, a pause,
a held nudge, a stale follow-up) are moved to their next time and their hold ended,
and are done. Each held person's turn then runs in a transaction of its own
(bot/due_turn.py, under their row lock via storage.repository `run_turn`): `end_hold`
deletes the claim row if it still holds this claim's `until` (so the claim is still
this sweeper's), the due column must still hold the time the claim took, `move_due`
moves it on and the check-in is written to the outbox, all in that one transaction.
If the process dies in between, the held people become due again once `until` passes,
and any sweeper takes them (its claim overwrites the stale row); `release` ends a held
person's claim at once when their turn failed.
Nobody is claimed twice: the INSERT takes over a person's claim row only once its
`until` has passed (ON CONFLICT ... WHERE, which PostgreSQL checks against the newest
committed row, whatever the SELECT's snapshot saw), and only those it wrote are held.

`due_candidates` is a plain read of the same index (no lock, no write), for reports
and tests. `due_person` is the snapshot of a locked ORM row the sweep's rules decide on.

Also here: planning a time by hand (`set_next`) and people who blocked the bot
(`mark_inactive`, `mark_inactive_person`, `mark_active`). A blocked person's due
times are cleared, so they never sit in the sweep's index as ever-due rows.

Timestamps go in as UTC (SQLite drops offsets) and come back aware.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from storage.tables import ClaimRow, User

Kind = Literal["checkin", "nudge", "followup", "reminder"]

USERS = User.__table__
CLAIMS = ClaimRow.__table__
# The column of each kind; its name is also the attribute on the ORM `User`.
_DUE: dict[str, Column[Any]] = {
    "checkin": USERS.c.next_checkin_at,
    "nudge": USERS.c.next_nudge_at,
    "followup": USERS.c.followup_at,
    "reminder": USERS.c.next_reminder_at,
}
# The first page's `after`: behind every due time there is.
_BEFORE_ALL = (datetime(1970, 1, 1, tzinfo=UTC), 0)


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


def _unclaimed(kind: str, now: Any) -> ColumnElement[bool]:
    """No claim of `kind` holds the person after `now` (a held person is not due)."""
    held = exists().where(
        CLAIMS.c.user_id == USERS.c.id, CLAIMS.c.kind == kind, CLAIMS.c.until > now
    )
    return ~held


def due_candidates(
    engine: Engine,
    kind: Kind,
    now: datetime,
    limit: int = 1000,
    after: tuple[datetime, int] | None = None,
) -> list[Candidate]:
    """Up to `limit` active people whose `kind` is due at `now` and whom no claim holds,
    ordered by (due time, id).

    `after` is the last (due_at, user_id) of the previous page: the next page starts
    behind it, so someone left due by a failed transaction is not read again in the
    same sweep. A plain SELECT on the partial index: no lock, no write.
    Raises ValueError for an unknown `kind` or a naive `now`.
    """
    column = _column(kind)
    if limit <= 0:
        return []
    at = _to_db(now)
    query = (
        select(USERS.c.id, USERS.c.channel, USERS.c.external_id, column)
        .where(column <= at, USERS.c.active == true(), _unclaimed(kind, at))
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

    `held`: people whose turn is to run, each with the due time that was taken (a claim
    row now holds them until the claim's `until`). `settled`: how many were moved to
    their next time with no turn. `elsewhere`: how many another sweeper's claim, committed
    while this one read, turned out to hold (PostgreSQL only; left to it). `last`: (due
    time, id) of the last row read, in claim order, for the next page's `after`; None
    when nothing was due.
    """

    held: list[DuePerson]
    settled: int
    last: tuple[datetime, int] | None
    elsewhere: int = 0

    @property
    def count(self) -> int:
        """Rows read (held, settled or held elsewhere): fewer than the limit means none are
        left due."""
        return len(self.held) + self.settled + self.elsewhere


def _after(column: Column[Any], after: tuple[datetime, int] | None) -> ColumnElement[bool]:
    if after is None:
        return true()
    last_at, last_id = _to_db(after[0]), after[1]
    return or_(column > last_at, and_(column == last_at, USERS.c.id > last_id))


def _person(row: Sequence[Any]) -> DuePerson:
    """A DuePerson from a claim's row (the `_PERSON` columns, then the due time), by
    position: this runs for every person claimed."""
    uid, channel, external_id, zone, at_time, nudges, q_start, q_end, paused, seen, n, due = row
    return DuePerson(
        uid,
        channel,
        external_id,
        zone,
        at_time,
        _from_db(due),
        nudges,
        q_start,
        q_end,
        None if paused is None else _from_db(paused),
        None if seen is None else _from_db(seen),
        n or 0,
    )


@cache
def _due_page(kind: str) -> Select[Any]:
    """The due rows a claim reads for `kind` (parameters: now, after_at, after_id, limit):
    the `_PERSON` columns, then the due time. Built once per kind."""
    column = _column(kind)
    now = bindparam("now", type_=column.type)
    after_at = bindparam("after_at", type_=column.type)
    # `column >= after_at` too, though the OR implies it: the index scan starts there
    # instead of at the oldest due row, which every later page would read past again.
    behind = or_(column > after_at, and_(column == after_at, USERS.c.id > bindparam("after_id")))
    return (
        select(*_PERSON, column.label("due"))
        .where(column <= now, column >= after_at, behind, USERS.c.active == true())
        .order_by(column, USERS.c.id)
        .limit(bindparam("limit", type_=Integer))
    )


def _take_over(insert: Any) -> Any:
    """INSERT ... ON CONFLICT for claim rows: a person's row already there is taken over
    only if its `until` has passed (`now`), and RETURNING names those written: the
    people this claim holds. PostgreSQL checks the WHERE against the newest committed
    row, whatever the statement's snapshot saw, so two claims never both hold someone."""
    stmt = insert.on_conflict_do_update(
        index_elements=[CLAIMS.c.user_id, CLAIMS.c.kind],
        set_={"until": insert.excluded.until},
        where=CLAIMS.c.until <= bindparam("now", type_=CLAIMS.c.until.type),
    )
    return stmt.returning(CLAIMS.c.user_id)


@cache
def _hold_pg(kind: str) -> Any:
    """PostgreSQL: read a page of due rows and write their claim rows in one statement (a
    data-modifying CTE), run on its own (autocommit: one round trip, nothing held open).
    Each row comes back with whether this claim now holds the person. No row locks: the
    claim writes no users row, so it never waits for a person's own turn, and the
    INSERT's conflict rule (`_take_over`) is what keeps two claims apart."""
    due = _due_page(kind).cte("due")
    until = bindparam("until", type_=CLAIMS.c.until.type)
    rows = select(due.c.id, bindparam("kind", type_=CLAIMS.c.kind.type), until)
    written = _take_over(
        postgresql.insert(CLAIMS).from_select(["user_id", "kind", "until"], rows)
    ).cte("written")
    mine = written.c.user_id.is_not(None).label("mine")
    return (
        select(*due.c, mine)
        .select_from(due.outerjoin(written, written.c.user_id == due.c.id))
        .order_by(due.c.due, due.c.id)
    )


@cache
def _hold_sqlite() -> Any:
    """SQLite: one INSERT of a page's claim rows from one parameter (`ids`, a JSON list),
    with kind, until and now; RETURNING names the people it holds."""
    each = func.json_each(bindparam("ids")).table_valued("value")
    until = bindparam("until", type_=CLAIMS.c.until.type)
    # The WHERE: SQLite would read "ON CONFLICT" after a bare SELECT as a join's ON.
    rows = select(each.c.value, bindparam("kind", type_=CLAIMS.c.kind.type), until).where(true())
    return _take_over(sqlite.insert(CLAIMS).from_select(["user_id", "kind", "until"], rows))


def _hold(
    engine: Engine, kind: str, read: dict[str, Any], until: datetime
) -> tuple[Sequence[Any], set[int]]:
    """Read a page of due rows and hold them with claim rows, committed before this
    returns: (the rows, in (due, id) order; the ids this claim holds). Someone whose
    claim row another sweeper holds (its `until` not passed) is read but not held."""
    hold = {**read, "kind": kind, "until": _to_db(until)}
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            found = auto.execute(_hold_pg(kind), hold).all()
        return [r[:-1] for r in found], {r[0] for r in found if r[-1]}
    if engine.dialect.name != "sqlite":
        raise NotImplementedError(f"claims on {engine.dialect.name}: PostgreSQL and SQLite only")
    # One writer at a time (the engine's BEGIN IMMEDIATE): read and hold in one transaction.
    with engine.begin() as conn:
        rows = conn.execute(_due_page(kind), read).all()
        if not rows:
            return rows, set()
        ids = json.dumps([r[0] for r in rows])
        return rows, set(conn.scalars(_hold_sqlite(), {**hold, "ids": ids}))


def claim_due(
    engine: Engine,
    kind: Kind,
    now: datetime,
    until: datetime,
    settle: Settle,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> Claimed:
    """Claim up to `limit` active people whose `kind` is due at `now` and whom no other
    claim holds, oldest first: one short transaction reads them and writes one narrow
    claim row each (PostgreSQL: one statement; SQLite: one SELECT and one INSERT), then
    `settle` runs on each, in one pass.

    `settle(person)` says whether their turn runs and, if not, their next time (None:
    nothing planned). Those with a turn stay held until `until` (aware, later than
    `now`), or until their own transaction takes them (bot/due_turn.py, `end_hold`) or
    `release` ends the hold; their due column is not written. Those with no turn are
    moved to their next time and their claim ended, in a second transaction (one
    executemany UPDATE, one DELETE); that is the rarer case (after downtime, a pause, a
    held nudge). A crash, or `settle` raising, in between leaves the batch held until
    `until`. `after` is the previous page's `Claimed.last`: the page starts behind it,
    so someone released after a failed turn is not claimed again in the same sweep.
    Raises ValueError for an unknown `kind`, naive times, or `until` not after `now`.
    """
    column = _column(kind)
    if until <= now:
        raise ValueError("a claim must hold people until after now")
    if limit <= 0:
        return Claimed([], 0, None)
    last_at, last_id = after or _BEFORE_ALL
    at = _to_db(now)
    read = {"now": at, "after_at": _to_db(last_at), "after_id": last_id, "limit": limit}
    rows, mine = _hold(engine, kind, read, until)
    if not rows:
        return Claimed([], 0, None)
    held: list[DuePerson] = []
    moves: list[dict[str, Any]] = []
    for row in rows:
        if row[0] not in mine:
            continue  # another sweeper's claim holds them
        person = _person(row)
        runs, next_at = settle(person)
        if runs:
            held.append(person)
        else:
            moves.append({"b_id": person.user_id, "b_at": _to_db(next_at), "b_due": row[-1]})
    if moves:
        _settle_moves(engine, kind, column, until, moves)
    uid, due = rows[-1][0], rows[-1][-1]
    return Claimed(held, len(moves), (_from_db(due), uid), len(rows) - len(mine))


def _settle_moves(
    engine: Engine, kind: str, column: Column[Any], until: datetime, moves: list[dict[str, Any]]
) -> None:
    """Move people with no turn to their next time and end this claim's hold on them, in
    one transaction. Only where the due column still holds the time claimed: a person's
    own turn may have changed it since (they are not locked between the two)."""
    ids = [m["b_id"] for m in moves]
    ours = CLAIMS.c.kind == kind, CLAIMS.c.until == _to_db(until), CLAIMS.c.user_id.in_(ids)
    with engine.begin() as conn:
        conn.execute(_move(column).where(column == bindparam("b_due", type_=column.type)), moves)
        conn.execute(delete(CLAIMS).where(*ours))


def release(engine: Engine, kind: Kind, until: datetime, people: Sequence[DuePerson]) -> int:
    """End this claim's hold on `people` at once (their turn failed or never ran), so they
    are due again for the next sweep: deletes their claim rows that still hold this
    claim's `until` (a turn that committed has deleted its own; a sweeper that took over
    after the claim passed has written its own `until`: left alone). One DELETE; returns
    how many holds ended. Raises ValueError for an unknown `kind`, and what the database
    raises."""
    _column(kind)
    if not people:
        return 0
    ours = (
        CLAIMS.c.kind == kind,
        CLAIMS.c.until == _to_db(until),
        CLAIMS.c.user_id.in_([p.user_id for p in people]),
    )
    with engine.begin() as conn:
        return int(conn.execute(delete(CLAIMS).where(*ours)).rowcount)


def end_hold(conn: Connection, user_id: int, kind: Kind, until: datetime) -> bool:
    """In a held person's own transaction: end the claim that holds their `kind` until
    `until` (delete its row). True if it was there, i.e. the claim is still this
    sweeper's; False if it was released, or passed and another sweeper took them over."""
    _column(kind)
    mine = CLAIMS.c.user_id == user_id, CLAIMS.c.kind == kind, CLAIMS.c.until == _to_db(until)
    return bool(conn.execute(delete(CLAIMS).where(*mine)).rowcount)


def is_held(conn: Connection, user_id: int, kind: Kind, now: datetime) -> bool:
    """Whether a sweeper's claim holds the person's `kind` after `now` (so it is theirs to
    take, not anyone else's)."""
    _column(kind)
    live = CLAIMS.c.user_id == user_id, CLAIMS.c.kind == kind, CLAIMS.c.until > _to_db(now)
    return conn.execute(select(exists().where(*live))).scalar_one() is True


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
    """The snapshot the sweep's rules decide on, from a locked ORM row (the same columns
    as the claim's rows)."""
    assert user.id is not None
    return _person([getattr(user, c.name) for c in _PERSON] + [due])


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
