"""`bridges stats`: a few counts for whoever runs the bot, never anything about a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from storage.tables import InboxRow, OutboxRow, RecordRow, User

ACTIVE_DAYS = 7
MOOD_KIND = "mood"  # one record per answered check-in (dialogs/hooks/checkin.py)


@dataclass(frozen=True)
class Stats:
    """Counts only: people, people active in the last ACTIVE_DAYS days, check-ins answered
    today, updates waiting in the inbox and replies queued in the outbox.
    """

    users: int
    active: int
    checkins_today: int
    updates_waiting: int = 0
    replies_queued: int = 0

    def report(self) -> str:
        """The counts as lines of text, each saying what its number means."""
        # Each line says what its number means; only aggregate counts ever appear.
        return "\n".join(
            [
                f"People: {self.users} (everyone who has ever written to Bridges)",
                f"Active: {self.active} (wrote in the last {ACTIVE_DAYS} days)",
                f"Check-ins answered today: {self.checkins_today} "
                "(moods recorded since midnight UTC; sent check-ins are not stored)",
                f"Updates waiting for their turn: {self.updates_waiting} "
                "(stored, not yet answered; see docs/delivery.md)",
                f"Replies waiting to be sent: {self.replies_queued}",
            ]
        )


def collect(engine: Engine, now: datetime) -> Stats:
    """Count from the database; "today" starts at midnight of `now`'s day (callers pass UTC).

    Raises sqlalchemy errors if the database can't be read.
    """
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with Session(engine) as session:
        users = session.scalar(select(func.count()).select_from(User)) or 0
        active = (
            session.scalar(
                select(func.count())
                .select_from(User)
                .where(col(User.last_seen_at) >= now - timedelta(days=ACTIVE_DAYS))
            )
            or 0
        )
        moods = (
            session.scalar(
                select(func.count())
                .select_from(RecordRow)
                .where(col(RecordRow.kind) == MOOD_KIND, col(RecordRow.created_at) >= midnight)
            )
            or 0
        )
        waiting = (
            session.scalar(
                select(func.count()).select_from(InboxRow).where(col(InboxRow.done_at).is_(None))
            )
            or 0
        )
        queued = session.scalar(select(func.count()).select_from(OutboxRow)) or 0
    return Stats(users, active, moods, waiting, queued)
