"""The outbox: rendered replies written in their turn's transaction, sent afterwards.

A turn (or a check-in, nudge or follow-up) adds its replies here in the same
transaction that saves the person's new state, claimed by the process that ran
it for LEASE. That process's sender (bot/sender.py) sends a chat's rows in `id`
order and deletes each as soon as Telegram accepted it. If the process dies
first, the rows stay; once their claim has passed, any process takes them over
(`claim_stale`) and sends them: a crash between commit and send resends on
restart instead of losing the reply.

`payload` is the rendered message (bot/sender.py `outgoing_to_json`); it can quote
what the person wrote, so a row lives only until it is sent or given up.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, select, text, update

from storage.db import begin
from storage.hot import Hot, batched
from storage.tables import OutboxRow, User

OUTBOX = OutboxRow.__table__
USERS = User.__table__
# How long a process holds rows it wrote before another may take them over. A live
# sender renews the claim on everything it has queued every few seconds (`renew`), and
# one waiting out a retry extends it (`hold`), so only a dead sender's rows pass it.
LEASE = timedelta(seconds=30)
OLDER_SEEN = 50  # enough to tell "only this process's own rows" from "someone else's"

# What every turn runs, built once; the turn's two run on its DBAPI cursor (storage/hot.py:
# SQLAlchemy's own SQL and type processing, without its per-call cost; issue 15).
_OLDER = Hot(select(OUTBOX.c.id).where(OUTBOX.c.chat_id == bindparam("c")).limit(OLDER_SEEN))
# One plain INSERT ... RETURNING per reply (a turn queues one to three): an executemany
# with RETURNING in parameter order goes through SQLAlchemy's insertmanyvalues batching,
# which costs several times the insert itself for so few rows.
_COLUMNS = (
    "chat_id", "external_id", "origin", "update_id", "created_at", "claimed_until", "attempts",
    "payload",
)  # fmt: skip
_INSERT = Hot(
    OUTBOX.insert()
    .values({name: bindparam(f"p_{name}", type_=OUTBOX.c[name].type) for name in _COLUMNS})
    .returning(OUTBOX.c.id)
)
_DELETE = delete(OUTBOX).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
# For this transaction only (see `sent`).
_SYNC_OFF = Hot(text("SET LOCAL synchronous_commit TO OFF"))
SMALL_DELETE = 8  # up to this many ids, a statement of their count (storage/hot.py)


@functools.cache
def _small_delete(count: int) -> Hot:
    """DELETE FROM outbox WHERE id IN (count placeholders): what the sender's coalesced
    "sent" mostly is (one to a few rows), run on the DBAPI cursor."""
    return Hot(delete(OUTBOX).where(OUTBOX.c.id.in_([bindparam(f"i{n}") for n in range(count)])))


def _delete(conn: Connection, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        if len(part) <= SMALL_DELETE:
            _small_delete(len(part)).send(conn, {f"i{n}": i for n, i in enumerate(part)})
        else:
            conn.execute(_DELETE, {"ids": part})


@dataclass(frozen=True)
class Pending:
    """One reply waiting to be sent."""

    id: int
    chat_id: int
    external_id: str
    origin: str  # "turn", "checkin", "nudge", "followup", "notice"
    update_id: int | None
    attempts: int
    payload: dict[str, Any]
    # Ids of this chat's rows still unsent when this one was queued (maybe another
    # replica's): the sender waits for them first, so a chat's replies keep their order.
    after_older: tuple[int, ...] = ()


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def add(
    conn: Connection,
    chat_id: int,
    external_id: str,
    origin: str,
    payloads: Sequence[dict[str, Any]],
    now: datetime,
    update_id: int | None = None,
) -> list[Pending]:
    """Queue replies in the caller's transaction; return them with their ids, in order.

    Each row is claimed by this process until `now` (aware) + LEASE; each Pending carries
    the ids of up to OLDER_SEEN rows of the chat still queued before it (`after_older`).
    """
    if not payloads:
        return []
    # Sent together (storage/hot.py: one round trip inside `batched` on PostgreSQL).
    looking = _OLDER.send(conn, {"c": chat_id})
    row = {
        "p_chat_id": chat_id,
        "p_external_id": external_id,
        "p_origin": origin,
        "p_update_id": update_id,
        "p_created_at": _utc(now),
        "p_claimed_until": _utc(now + LEASE),
        "p_attempts": 0,
    }
    inserting = [_INSERT.send(conn, row | {"p_payload": p}) for p in payloads]
    older = tuple(found[0] for found in looking.rows())
    ids = [int(sent.rows()[0][0]) for sent in inserting]
    return [
        Pending(i, chat_id, external_id, origin, update_id, 0, payload, older)
        for i, payload in zip(ids, payloads, strict=True)
    ]


def older_unsent(engine: Engine, chat_id: int, row_id: int) -> list[int]:
    """Ids of the chat's rows queued before `row_id` and not yet sent."""
    with engine.connect() as conn:
        return list(
            conn.scalars(
                select(OUTBOX.c.id)
                .where(OUTBOX.c.chat_id == chat_id, OUTBOX.c.id < row_id)
                .order_by(OUTBOX.c.id)
            )
        )


def sent(engine: Engine, row_ids: Sequence[int]) -> None:
    """Telegram accepted them (or they were given up): the rows and their words go.

    Until this commits, a crash resends the reply, so it must commit fast; the sender
    passes every id that became sent while the last call ran, so under load one commit
    serves many replies. On PostgreSQL it does not wait for the WAL flush
    (synchronous_commit off for this transaction only): a bot crash cannot lose it, only a
    database crash in the next moment could, and then the reply is sent once more rather
    than lost.
    """
    ids = list(row_ids)
    if not ids:
        return
    # One round trip for all of it, COMMIT included (storage/hot.py).
    with begin(engine) as conn, batched(conn, commit=True):
        if conn.dialect.name == "postgresql":
            _SYNC_OFF.send(conn, {})
        _delete(conn, ids)


def forget(engine: Engine, row_ids: Sequence[int]) -> None:
    """Delete rows known to be sent (storage/sent_journal.py)."""
    ids = list(row_ids)
    with engine.begin() as conn:
        _delete(conn, ids)


def hold(engine: Engine, row_id: int, until: datetime, attempts: int) -> None:
    """Keep the claim on a row while waiting to retry it, and count the attempt."""
    with engine.begin() as conn:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == row_id)
            .values(claimed_until=_utc(until + LEASE), attempts=attempts)
        )


def renew(engine: Engine, row_ids: Sequence[int], now: datetime) -> None:
    """Keep holding rows still queued in this process (a morning's check-ins can wait in
    the rate limiter for longer than LEASE)."""
    ids = list(row_ids)
    with engine.begin() as conn:
        for start in range(0, len(ids), 500):
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(ids[start : start + 500]))
                .values(claimed_until=_utc(now + LEASE))
            )


def claim_stale(engine: Engine, now: datetime, limit: int = 500) -> list[Pending]:
    """Take over rows whose claim has passed (their sender died), oldest first."""
    query = (
        select(OUTBOX)
        .where(OUTBOX.c.claimed_until < _utc(now))
        .order_by(OUTBOX.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite holds the writer lock
    )
    with engine.begin() as conn:
        rows = list(conn.execute(query).mappings())
        if not rows:
            return []
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_([r["id"] for r in rows]))
            .values(claimed_until=_utc(now + LEASE))
        )
    return [
        Pending(
            int(r["id"]),
            int(r["chat_id"]),
            str(r["external_id"]),
            str(r["origin"]),
            r["update_id"],
            int(r["attempts"]),
            dict(r["payload"]),
        )
        for r in rows
    ]


def undelivered(engine: Engine, channel: str, external_id: str, now: datetime) -> None:
    """A reply could not be delivered: their next message shows the question again first."""
    with engine.begin() as conn:
        conn.execute(
            update(USERS)
            .where(USERS.c.channel == channel, USERS.c.external_id == external_id)
            .values(undelivered_at=_utc(now))
        )


def drop_chat(engine: Engine, chat_id: int) -> None:
    """They blocked the bot: nothing queued for them can be delivered."""
    with engine.begin() as conn:
        conn.execute(delete(OUTBOX).where(OUTBOX.c.chat_id == chat_id))
