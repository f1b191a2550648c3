"""The sweep: every few seconds, find whose crisis follow-up, check-in or nudge is due,
claim them a batch at a time, and queue each one's message in a transaction of their own.

One repeating JobQueue job (APScheduler) runs `Sweeper.sweep`. For each kind in
turn (follow-ups first: after a crisis screen they matter most, then check-ins,
then nudges, then reminders) it claims up to `batch` due people, oldest first
(storage.schedule_store.claim_due: one short transaction reads the page and writes
one narrow `claims` row per person, on PostgreSQL in one statement; then the rules
in one pass). People for whom no turn runs are moved to their next time right after
and are done; the rest are held until the claim's lease (`CLAIM_LEASE`) passes.
Then each held person is taken in a single transaction of their own
(bot/due_turn.py): under their row lock it ends the hold if it is still this
sweeper's, checks their due time is the one claimed, moves it on, runs the dialog
manager's
`Due(kind)` turn and writes the replies to the outbox. Only after that commit are
the rows handed to the sender (bot/sender.py), which delivers them per chat, in
order, with retries, and marks people who blocked the bot inactive. The sweep
itself never sends and never retries a send. Then the next batch.

Why a claim that holds, not one that moves everyone to their next time: claiming a
batch that way moved everyone to tomorrow before anything was sent, so a crash
mid-sweep silently lost hundreds of check-ins (issue 10). A held person is not lost:
a crash at any instant either leaves them held, and due again once the lease passes
(any sweeper, here after a restart or another replica, takes them), or has committed
both their moved time and their outbox rows (the sender, or after a restart the
outbox recovery in bot/intake.py, delivers them). Two sweepers never double: a
claim row is taken over only once its `until` has passed (the INSERT's ON CONFLICT
... WHERE, checked against the newest committed row), and a person's transaction
goes on only if it ended this sweeper's own claim row and their due time is still
the one claimed. A person whose transaction fails is released at once
(storage.schedule_store.release) and tried again at the next sweep, not within
this one (the next batch starts behind this one).

Why batches of `BATCH` (100): a crash holds at most one batch, for at most
`CLAIM_LEASE`, which is the outbox's own lease (storage.outbox.LEASE, 30 s): the
people a dead process held come back at the same moment as the replies it had
claimed, and no later than the chaos bench's quiet window expects. 100 check-ins are
about 3 s of sending at Telegram's 30 messages a second, so a crash delays a few
seconds' worth of them by 30 s. A batch's turns take about 3 ms each on SQLite (0.3 s
for 100), so even a database 50 times slower finishes them inside the lease (if one
did not, the person would be taken over after the lease, never sent twice). Each
batch's fixed cost (a round trip, a commit) is what smaller batches pay more often;
since a claim writes narrow `claims` rows instead of rewriting users rows (issue 15),
1,000 due people take about 15 ms to claim in batches of 100 on SQLite and about
20 ms on PostgreSQL, on a shared 2-core machine (bench/sweep.py prints the time;
docs/performance.md "The sweep" says where it went).

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
from bot.due_turn import FOLLOWUP_STALE, Hold, Plan, run_due, settle
from bot.sender import Sender
from storage.outbox import LEASE
from storage.repository import UserKey
from storage.schedule_store import Claimed, DuePerson, Kind, claim_due, release

log = logging.getLogger("bridges.scheduler")
Clock = Callable[[], datetime]

BATCH = 100  # people claimed per transaction (see above)
CLAIM_LEASE = LEASE  # how long a claim holds people a crash left (see above)
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
        limit = asyncio.Semaphore(self.parallel)
        db_errors: list[str] = []  # this kind's database failures, by type
        queued = 0
        after: tuple[datetime, int] | None = None
        while True:
            # The hold must outlast `now`, whatever the clock did since the sweep began.
            until = max(self.clock(), now) + CLAIM_LEASE
            try:
                claimed = await self.bridges.db.run(self.claim, kind, now, until, after)
            except SQLAlchemyError as err:
                raise DatabaseAway(type(err).__name__) from None

            async def one(person: DuePerson, until: datetime = until) -> bool | None:
                async with limit:
                    if len(db_errors) >= DB_ERRORS_TO_STOP:
                        return None  # the database is away: put the rest back
                    return await self._take(sender, kind, person, until, db_errors)

            taken = await asyncio.gather(*(one(p) for p in claimed.held))
            queued += sum(t is True for t in taken)
            back = [p for p, t in zip(claimed.held, taken, strict=True) if t is None]
            await self._release(kind, until, back)
            if len(db_errors) >= DB_ERRORS_TO_STOP:
                raise DatabaseAway(db_errors[-1])
            if claimed.count < self.batch:
                return queued
            after = claimed.last

    def claim(
        self, kind: Kind, now: datetime, until: datetime, after: tuple[datetime, int] | None
    ) -> Claimed:
        """One batch's claim (blocking: storage.schedule_store.claim_due with the sweep's
        rules, bot/due_turn.py settle). People moved on with no turn are done here."""
        return claim_due(
            self.bridges.store.engine, kind, now, until, settle(kind, now, _note), self.batch, after
        )

    async def _take(
        self, sender: Sender, kind: Kind, person: DuePerson, until: datetime, db_errors: list[str]
    ) -> bool | None:
        """One held person's transaction, then their rows to the sender. True if any were
        queued; None if it failed (rolled back: they are still held, for `_release`).
        """
        key = UserKey(person.channel, person.external_id)
        who = pseudonym(person.external_id)
        hold = Hold(until, person.due_at)
        try:
            # The time is read when their transaction starts, not when the sweep did: the
            # outbox rows' claim and the staleness rules count from then.
            work = await self.bridges.db.run(run_due, self.bridges, key, kind, self.clock(), hold)
        except SQLAlchemyError as err:  # a lock wait timed out, or the database is away
            db_errors.append(type(err).__name__)
            log.warning("%s for %s waits for the database (%s)", kind, who, type(err).__name__)
            return None
        except Exception as err:  # a bug in one person's turn must not stop the sweep
            log.error("%s turn failed for %s: %s", kind, who, type(err).__name__)  # type only
            return None
        if work.plan is not None:
            _note(person, work.plan)
        sender.enqueue(work.pending)
        return bool(work.pending)

    async def _release(self, kind: Kind, until: datetime, people: list[DuePerson]) -> None:
        """Put back people whose transaction failed or never ran, so the next sweep takes
        them; if the database refuses that too, their hold simply passes (CLAIM_LEASE)."""
        if not people:
            return
        engine = self.bridges.store.engine
        try:
            await self.bridges.db.run(release, engine, kind, until, people)
        except SQLAlchemyError as err:
            log.warning(
                "%d %s held until the claim passes (%s)", len(people), kind, type(err).__name__
            )


def _note(person: DuePerson, decided: Plan) -> None:
    """Logs what is worth knowing about a person moved on with no turn (no words, no ids)."""
    if decided.why == "late":
        log.info("sweep: a follow-up for %s was too late; dropped", pseudonym(person.external_id))


def _sender_of(context: Any) -> Sender:
    """The Telegram adapter's sender, from a JobQueue CallbackContext or an Application."""
    app = getattr(context, "application", context)
    sender: Sender = app.bot_data["adapter"].intake.sender
    return sender
