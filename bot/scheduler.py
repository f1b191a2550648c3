"""The sweep: every few seconds, find whose crisis follow-up, check-in or nudge is due,
and queue it for sending, one person per transaction.

One repeating JobQueue job (APScheduler) runs `Sweeper.sweep`. For each kind in
turn (follow-ups first: after a crisis screen they matter most, then check-ins,
then nudges) it reads the due people from the index
(storage.schedule_store.due_candidates: a plain SELECT, oldest first, in pages of
`batch`) and takes each one in a single transaction of their own
(bot/due_turn.py): under the person's row lock it checks the time is still due,
moves it on, runs the dialog manager's `Due(kind)` turn and writes the replies to the
outbox. Only after that commit are the rows handed to the sender
(bot/sender.py), which delivers them per chat, in order, with retries, and marks
people who blocked the bot inactive. The sweep itself never sends and never
retries a send.

Why one transaction per person, not one claim for the whole batch: claiming a
batch moved everyone to tomorrow before anything was sent, so a crash mid-sweep
silently lost hundreds of check-ins (issue 10). Now a crash at any instant
either leaves the person due (the next sweep, here or after the restart, takes
them) or has committed both the moved time and the outbox rows (the sender, or
after a restart the outbox recovery in bot/intake.py, delivers them). Two
sweepers (two bot processes) never double: the second waits for the row lock,
then finds the time already moved and does nothing. A person whose transaction
fails stays due and is tried again at the next sweep, not again within this one.

The rules for what each kind does when due (follow-ups cleared and dropped when
FOLLOWUP_STALE late; check-ins skipped when missed by hours or paused; nudges
held while paused, in quiet hours or just after they wrote) live with the
transaction, in bot/due_turn.py.

Unanswered back-off: every check-in or nudge queued adds one to
`users.unanswered` in its transaction; any message from the person resets it
(storage.repository). Nudges back off with it (next_nudge: the interval doubles
every 2 unanswered, up to a week). Check-ins never pile up (at most one per
local day; a missed one is skipped, never sent late), and after 3 unanswered
they come less often (`checkin_gap_days`: every 2nd day, every 4th, then weekly)
and open more softly.

The clock is injected (the Telegram adapter's), so tests control time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.core import Bridges
from bot.due_turn import FOLLOWUP_STALE, run_due
from bot.sender import Sender
from storage.repository import UserKey
from storage.schedule_store import Candidate, Kind, due_candidates

log = logging.getLogger("bridges.scheduler")
Clock = Callable[[], datetime]

BATCH = 1000  # candidates read per query
# People whose transactions run at once on PostgreSQL (each holds one pooled connection,
# next to the turns of people writing). SQLite has one writer at a time: one there.
PARALLEL = 4
KINDS: tuple[Kind, ...] = ("followup", "checkin", "nudge", "reminder")
# Database failures in one sweep after which it stops (the database is likely away rather
# than one lock slow); whoever was not reached stays due for the next sweep.
DB_ERRORS_TO_STOP = 3

__all__ = ["FOLLOWUP_STALE", "Sweeper", "pseudonym"]  # FOLLOWUP_STALE: see bot/due_turn.py


def pseudonym(external_id: str) -> str:
    """A short stable stand-in for a person's id in logs."""
    return hashlib.sha256(external_id.encode()).hexdigest()[:10]


class DatabaseAway(Exception):
    """The database failed: the rest of this sweep waits for the next one."""


class Sweeper:
    """Finds due people and queues their follow-up, check-in or nudge (see above).

    `sender` receives the committed outbox rows; without one, `sweep` takes the
    Telegram adapter's (`application.bot_data["adapter"].intake.sender`).
    """

    def __init__(
        self,
        bridges: Bridges,
        clock: Clock,
        sender: Sender | None = None,
        batch: int = BATCH,
        parallel: int | None = None,
    ) -> None:
        self.bridges = bridges
        self.clock = clock
        self.sender = sender
        self.batch = batch
        if parallel is None:
            sqlite = bridges.store.engine.dialect.name == "sqlite"
            parallel = 1 if sqlite else PARALLEL
        self.parallel = parallel

    async def sweep(self, context: Any) -> int:
        """One sweep (the JobQueue callback; an Application works too).

        Returns how many people had something queued. Does not wait for the sending.
        """
        sender = self.sender or _sender_of(context)
        now = self.clock()
        queued = 0
        try:
            for kind in KINDS:
                queued += await self._sweep(sender, kind, now)
        except DatabaseAway as err:
            log.warning("sweep waits for the database (%s); the rest stay due", err)
        return queued

    async def _sweep(self, sender: Sender, kind: Kind, now: datetime) -> int:
        engine = self.bridges.store.engine
        limit = asyncio.Semaphore(self.parallel)
        db_errors: list[str] = []  # this kind's database failures, by type
        queued = 0
        after: tuple[datetime, int] | None = None
        while True:
            try:
                page = await self.bridges.db.run(
                    due_candidates, engine, kind, now, self.batch, after
                )
            except SQLAlchemyError as err:
                raise DatabaseAway(type(err).__name__) from None

            async def one(candidate: Candidate) -> bool:
                async with limit:
                    if len(db_errors) >= DB_ERRORS_TO_STOP:
                        return False  # the database is away: leave the rest due
                    return await self._take(sender, kind, candidate, db_errors)

            queued += sum(await asyncio.gather(*(one(c) for c in page)))
            if len(db_errors) >= DB_ERRORS_TO_STOP:
                raise DatabaseAway(db_errors[-1])
            if len(page) < self.batch:
                return queued
            after = (page[-1].due_at, page[-1].user_id)

    async def _take(
        self, sender: Sender, kind: Kind, candidate: Candidate, db_errors: list[str]
    ) -> bool:
        """One person's transaction, then their rows to the sender. True if any were queued.

        On any failure the transaction was rolled back: they are still due, and the next
        sweep tries again (this one's next page starts behind them).
        """
        key = UserKey(candidate.channel, candidate.external_id)
        who = pseudonym(candidate.external_id)
        try:
            # The time is read when their transaction starts, not when the sweep did: the
            # outbox rows' claim and the staleness rules count from then.
            work = await self.bridges.db.run(run_due, self.bridges, key, kind, self.clock())
        except SQLAlchemyError as err:  # a lock wait timed out, or the database is away
            db_errors.append(type(err).__name__)
            log.warning("%s for %s waits for the database (%s)", kind, who, type(err).__name__)
            return False
        except Exception as err:  # a bug in one person's turn must not stop the sweep
            log.error("%s turn failed for %s: %s", kind, who, type(err).__name__)  # type only
            return False
        if work.plan is not None and work.plan.why == "late":
            log.info("sweep: a follow-up for %s was too late; dropped", who)
        sender.enqueue(work.pending)
        return bool(work.pending)


def _sender_of(context: Any) -> Sender:
    """The Telegram adapter's sender, from a JobQueue CallbackContext or an Application."""
    app = getattr(context, "application", context)
    sender: Sender = app.bot_data["adapter"].intake.sender
    return sender
