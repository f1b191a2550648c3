"""The tables. Alembic migrations in storage/migrations create and change them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
    true,
)
from sqlmodel import Field, SQLModel

if TYPE_CHECKING:
    from sqlalchemy import Table


def utcnow() -> datetime:
    """The current time, aware UTC: what every timestamp column holds."""
    return datetime.now(UTC)


class User(SQLModel, table=True):
    """One person on one channel: settings, the sweep's due times and the safety memory.

    Every time is UTC (DateTime with time zone; SQLite hands them back naive); "HH:MM"
    strings are local times in `timezone` (an IANA name). The comments on the columns
    say what each one means. Deleting the row deletes their Conversation and RecordRows
    (ON DELETE CASCADE); inbox and outbox rows are keyed by `external_id` instead.
    """

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_users_channel_ext"),
        # Partial: the sweep only ever looks for rows that have a due time. With the id: a
        # claim reads a page in (due time, id) order, so PostgreSQL stops after the page
        # instead of sorting every row due at the same instant (issue 15).
        *(
            Index(
                f"ix_users_{name}",
                name,
                "id",
                postgresql_where=text(f"{name} IS NOT NULL"),
                sqlite_where=text(f"{name} IS NOT NULL"),
            )
            for name in ("next_checkin_at", "next_nudge_at", "next_reminder_at", "followup_at")
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)  # "telegram" or "console"
    external_id: str = Field(max_length=64)  # Telegram user id, or the console name
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    consented_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    onboarded_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    locale: str = Field(default="en", max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    checkin_time: str | None = Field(default=None, max_length=5)
    country: str | None = Field(default=None, max_length=2)  # chosen in Settings (ISO alpha-2)
    # Check-in and nudge settings: nudges "off"/"gentle"/"daily", quiet hours local "HH:MM",
    # paused_until UTC (None = not paused): the sweep sends nothing before it.
    nudges: str = Field(default="gentle", max_length=8)
    quiet_start: str = Field(default="21:00", max_length=5)
    quiet_end: str = Field(default="08:00", max_length=5)
    paused_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # The sweep (storage/schedule_store.py): next due times in UTC, None = nothing planned.
    next_checkin_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    next_nudge_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # The small-steps reminders (dialogs/reminders.py): planned steps, reflections, the
    # weekly review, the loneliness measure, connection windows; the earliest of them.
    next_reminder_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # Safety memory (issue 9): a level and times only, never what they wrote. risk_level
    # "concern"/"crisis" and risk_at: their last risky message; unsafe_at: when they said
    # "No, I'm not safe"; followup_at: the gentle follow-up the sweep sends after a crisis
    # screen (None = none planned). All UTC.
    risk_level: str | None = Field(default=None, max_length=8)
    risk_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    unsafe_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    followup_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # Set when a reply of theirs could not be delivered after retries: their next message
    # shows the current question again before anything is taken as its answer (issue 10).
    undelivered_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    # The newest Telegram message id known in their chat (theirs or ours), written in
    # batches by maintenance: before a check-in goes, the sender notes it, so a restart can
    # look for the check-in instead of sending it twice (bot/probe.py).
    last_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # Check-ins and nudges sent since they last wrote: nudges back off as it grows.
    unanswered: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default=text("0"))
    )
    # False once they blocked the bot; True again when they write.
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )


class ClaimRow(SQLModel, table=True):
    """A sweeper's hold on one person's due check-in, nudge, follow-up or reminder (issue 15).

    Written by a claim (storage/schedule_store.py `claim_due`), one narrow row per held
    person, instead of rewriting their wide `users` row: while `until` has not passed, no
    sweeper claims that person's `kind` again. Their own transaction (bot/due_turn.py)
    deletes the row when it takes them, `release` when it failed; a crashed sweeper's row
    is simply overwritten by the next claim once `until` has passed. So the table holds
    only the batches in flight. No words, no contact: a row id, a kind and a time.
    On PostgreSQL the table is UNLOGGED (migration 0011): a claim commits without a WAL
    flush, and a database crash merely ends every hold in flight early.
    """

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "claims"

    # No foreign key: checking one per held person costs PostgreSQL more than the rest of
    # the claim's INSERT. Deleting a person deletes their claims (storage.repository).
    user_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    kind: str = Field(sa_column=Column(String(8), primary_key=True))  # "checkin", "nudge"...
    until: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Conversation(SQLModel, table=True):
    """The dialog stack of one person: where they are and what they have said so far."""

    __tablename__ = "conversations"

    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    stack: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    version: int = 0
    script_version: str = Field(default="", max_length=32)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RecordRow(SQLModel, table=True):
    """Everything a person keeps (contacts, needs maps, thought entries, drafts...).

    One table for all kinds: the data is private to one person, never queried
    across people, and a new kind needs no migration. A turn loads a kind only when it
    reads it, often only its newest rows (index user_id, kind, position; issue 15).
    """

    __tablename__ = "records"
    __table_args__ = (Index("ix_records_user_kind", "user_id", "kind", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(max_length=32)
    position: int = 0
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class InboxRow(SQLModel, table=True):
    """Every update Telegram gave us, by its `update_id` (docs/delivery.md).

    Written and committed before the update is acknowledged (getUpdates offset or the
    webhook's 200), so a crash loses nothing; its turn marks it done in the turn's own
    transaction, so a redelivered update is recognised and skipped. `payload` (the update
    as Telegram sent it, words included) is kept only until then: the turn sets it to None.
    """

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "inbox"
    __table_args__ = (
        # Partial: the workers only ever look for a person's pending updates, oldest first.
        Index(
            "ix_inbox_pending",
            "external_id",
            "update_id",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
        Index("ix_inbox_received_at", "received_at"),
    )

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)  # the person (Telegram user id), or "chat:<id>"
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    kind: str = Field(max_length=16)  # "message", "callback", "edited", "group", "other"
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class OutboxRow(SQLModel, table=True):
    """A rendered reply waiting to be sent, written in the transaction of the turn (or the
    check-in) that made it. The sender sends a chat's rows in `id` order and deletes each
    once Telegram has accepted it. No foreign key to users: the goodbye after /delete is
    still sent after the person's rows are gone.
    """

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "outbox"
    # AUTOINCREMENT on SQLite: ids are never reused after a delete, so a sender that just
    # sent (and deleted) row N can't mistake a new row N for one it already has.
    __table_args__ = (Index("ix_outbox_chat", "chat_id", "id"), {"sqlite_autoincrement": True})

    # BIGINT on PostgreSQL; INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    external_id: str = Field(max_length=64)  # whose reply, for /delete and "missed" marks
    origin: str = Field(max_length=16)  # "turn", "checkin", "nudge", "followup", "notice"
    update_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # Whoever holds the row may send it until then; a crashed sender's rows are taken over
    # after it passes (storage/outbox.py).
    claimed_until: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    attempts: int = 0
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
