"""The inbox: every update recorded by `update_id` before it is acknowledged.

Why a durable queue rather than acknowledging only after each turn commits
(docs/delivery.md): getUpdates confirms *every* update below
the offset, so holding the offset back for one slow person would hold back
everyone else's messages too (and a 200-message burst would fill getUpdates'
batch of 100 with one person's messages). Recording a batch is one insert; the
offset then moves on at once, and each person's worker takes their own updates
from here in `update_id` order, on whichever replica holds them.

A row's `payload` (the update, with the person's words) lives only until its
turn commits; the turn's transaction sets it to None and `done_at` to now.
Done rows (update_id, person, kind, times) are kept for DONE_KEPT so a
redelivered update is still recognised, then pruned.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.db import begin
from storage.hot import Hot, Sent, bound_columns
from storage.tables import InboxRow

INBOX = InboxRow.__table__
# Telegram keeps an unconfirmed update for 24 hours; twice that covers any redelivery.
DONE_KEPT = timedelta(hours=48)


@dataclass(frozen=True)
class Incoming:
    """One update as received: who it is from, what kind, and the update itself (JSON)."""

    update_id: int
    channel: str
    external_id: str
    chat_id: int | None
    kind: str
    payload: dict[str, Any]
    # Already dealt with (a group message answered from memory, an update kind we don't
    # use): stored done and without its JSON, only so its id counts as arrived when
    # webhook replicas look for gaps (missing_before).
    done: bool = False


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


# The statements every turn runs, built once and run on the turn's DBAPI cursor
# (storage/hot.py: SQLAlchemy's own SQL and type processing, without its per-call cost).
# The payload as stored text: the worker that received an update still holds it parsed
# (bot/intake.py), so decoding it again on every turn would be wasted (issue 15).
_PENDING_HEAD = (
    select(INBOX.c.update_id, cast(INBOX.c.payload, Text), INBOX.c.received_at)
    .where(INBOX.c.external_id == bindparam("e"), INBOX.c.done_at.is_(None))
    .order_by(INBOX.c.update_id)
    .limit(2)
)
_HOT_PENDING_HEAD = Hot(_PENDING_HEAD)
_MARK_DONE = (
    update(INBOX)
    .where(INBOX.c.update_id == bindparam("u"), INBOX.c.done_at.is_(None))
    .values(done_at=bindparam("at", type_=INBOX.c.done_at.type), payload=None)
)
_HOT_MARK_DONE = Hot(_MARK_DONE)
# PostgreSQL: the same UPDATE in a function that fails when it changed nothing (migration
# 0012), so a turn learns "already done" from its transaction's failure instead of a row
# count read before its COMMIT, and the COMMIT rides with the turn's writes.
_HOT_MARK_DONE_OR_FAIL = Hot(
    select(
        func.bridges_mark_done(
            bindparam("u", type_=BigInteger), bindparam("at", type_=INBOX.c.done_at.type)
        )
    )
)
ALREADY_DONE = "BR001"  # the SQLSTATE bridges_mark_done raises


def record(engine: Engine, updates: Sequence[Incoming], now: datetime) -> list[Incoming]:
    """Store `updates` (all or none); return the ones that were new.

    An update already in the inbox (pending or done) is left as it is: Telegram
    delivered it again. Raises sqlalchemy errors when the database can't be used;
    then nothing was stored and the updates must not be acknowledged.
    """
    if not updates:
        return []
    rows = [
        {
            "update_id": u.update_id,
            "channel": u.channel,
            "external_id": u.external_id,
            "chat_id": u.chat_id,
            "kind": u.kind,
            "received_at": _utc(now),
            "done_at": _utc(now) if u.done else None,
            "payload": None if u.done else u.payload,
        }
        for u in updates
    ]
    # The ids that were new come back (RETURNING; PostgreSQL, and SQLite since 3.35); an id
    # already there is left alone.
    if engine.dialect.name == "postgresql":
        # One statement on its own (autocommit), atomic for the whole batch: one round trip
        # where BEGIN, INSERT, COMMIT took three (issue 15). One row runs on the cursor;
        # several go as one multi-row INSERT (SQLAlchemy's insertmanyvalues).
        with engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            stmt = _insert_ignoring_duplicates("postgresql")
            if len(rows) == 1:
                new = {found[0] for found in stmt.rows(auto, rows[0])}
            else:
                new = set(auto.scalars(stmt.statement, rows))
        return [u for u in updates if u.update_id in new]
    with begin(engine) as conn:
        # A row at a time on the cursor: a batch is a few updates (one getUpdates' worth,
        # at most PTB's 100), and executemany with RETURNING goes through SQLAlchemy's
        # insertmanyvalues batching, which cost ~80 us for one to three rows where a row on
        # the cursor cost ~12 us (issue 15). The transaction keeps the batch atomic.
        stmt = _insert_ignoring_duplicates(conn.dialect.name)
        new = {found[0] for row in rows for found in stmt.rows(conn, row)}
    return [u for u in updates if u.update_id in new]


@functools.cache
def _insert_ignoring_duplicates(name: str) -> Hot:
    """The inbox's INSERT ... RETURNING update_id for dialect `name`, built once (one row
    runs on the DBAPI cursor: storage/hot.py)."""
    # Two replicas may be given the same update at once: the second insert is a no-op.
    if name == "postgresql":
        stmt: Any = pg_insert(INBOX).on_conflict_do_nothing(index_elements=["update_id"])
    elif name == "sqlite":
        stmt = sqlite_insert(INBOX).on_conflict_do_nothing(index_elements=["update_id"])
    else:
        stmt = insert(INBOX)
    return Hot(stmt.values(bound_columns(INBOX)).returning(INBOX.c.update_id))


def next_pending(conn: Connection, external_id: str) -> tuple[int, dict[str, Any], datetime] | None:
    """The person's oldest pending update: (update_id, update JSON, received_at aware UTC),
    or None when nothing of theirs is pending."""
    found = pending_head(conn, external_id)
    return None if found is None else (found.update_id, found.payload(), found.received_at)


@dataclass(frozen=True)
class Head:
    """A person's oldest pending update, as `pending_head` reads it."""

    update_id: int
    raw: str | None  # the update's JSON, as stored; `payload()` decodes it
    received_at: datetime  # aware UTC
    more: bool  # another update of theirs is pending after it

    def payload(self) -> dict[str, Any]:
        """The update's JSON ({} if none was kept)."""
        return dict(json.loads(self.raw) or {}) if self.raw else {}


def pending_head(conn: Connection, external_id: str) -> Head | None:
    """next_pending plus whether another update of theirs is pending after it, read in the
    same statement: a worker that knows nothing else waits need not open one more
    transaction just to find that out (bot/intake.py). The JSON is left undecoded."""
    return head_of(send_pending_head(conn, external_id))


def send_pending_head(conn: Connection, external_id: str) -> Sent:
    """pending_head's statement, sent (storage/hot.py `Hot.send`); `head_of` reads it."""
    return _HOT_PENDING_HEAD.send(conn, {"e": external_id})


def head_of(sent: Sent) -> Head | None:
    """What `send_pending_head` found (see pending_head)."""
    rows = sent.rows()
    if not rows:
        return None
    row = rows[0]
    received = row[2] if row[2].tzinfo else row[2].replace(tzinfo=UTC)
    return Head(int(row[0]), row[1], received, len(rows) > 1)


def mark_done(conn: Connection, update_id: int, now: datetime) -> bool:
    """Mark one update done and forget its words. False if it was already done (then the
    caller must roll its turn back: someone else ran it)."""
    return _HOT_MARK_DONE.count(conn, {"u": update_id, "at": _utc(now)}) > 0


def send_mark_done(conn: Connection, update_id: int, now: datetime) -> Sent:
    """mark_done's statement, sent (storage/hot.py `Hot.send`): its count() is 0 if the
    update was already done. On PostgreSQL the statement itself fails instead (SQLSTATE
    ALREADY_DONE, raised as sqlalchemy's DBAPIError when the batch is read; see
    `already_done`), and its count() is 1."""
    values = {"u": update_id, "at": _utc(now)}
    if conn.dialect.name == "postgresql":
        return _HOT_MARK_DONE_OR_FAIL.send(conn, values)
    return _HOT_MARK_DONE.send(conn, values)


def already_done(err: BaseException) -> bool:
    """Whether `err` (a sqlalchemy DBAPIError) is PostgreSQL's "update already done" from
    `send_mark_done`."""
    return getattr(getattr(err, "orig", None), "sqlstate", None) == ALREADY_DONE


def missing_before(conn: Connection, update_id: int, window: int = 200) -> bool:
    """Whether an update_id just below `update_id` has not arrived yet.

    Telegram numbers a bot's updates one by one. With several webhook replicas, a
    person's earlier update may still be on its way to another replica; a gap in the
    `window` ids below tells us to wait a moment (bot.intake's ORDER_HOLD) rather than
    answer out of order. Ids below the oldest one we hold count as arrived.
    """
    oldest = conn.scalar(select(func.min(INBOX.c.update_id)))
    if oldest is None:
        return False
    low = max(update_id - window, int(oldest))
    if low >= update_id:
        return False
    have = conn.scalar(
        select(func.count())
        .select_from(INBOX)
        .where(INBOX.c.update_id >= low, INBOX.c.update_id < update_id)
    )
    return int(have or 0) < update_id - low


def people_waiting(engine: Engine, limit: int = 1000) -> list[tuple[str, str]]:
    """(channel, external_id) of people with pending updates: work left by a crash."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(INBOX.c.channel, INBOX.c.external_id)
            .where(INBOX.c.done_at.is_(None))
            .group_by(INBOX.c.channel, INBOX.c.external_id)
            .limit(limit)
        )
        return [(str(r[0]), str(r[1])) for r in rows]


def prune(engine: Engine, now: datetime) -> int:
    """Forget done updates older than DONE_KEPT; how many went."""
    with engine.begin() as conn:
        result = conn.execute(
            delete(INBOX).where(
                INBOX.c.done_at.is_not(None), INBOX.c.received_at < _utc(now - DONE_KEPT)
            )
        )
        return int(result.rowcount or 0)


def forget_person(conn: Connection, external_id: str) -> None:
    """/delete: their done updates go too (pending ones are newer messages, still to answer)."""
    conn.execute(
        delete(INBOX).where(INBOX.c.external_id == external_id, INBOX.c.done_at.is_not(None))
    )
