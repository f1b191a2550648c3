"""The sweep: every few seconds, find whose crisis follow-up, check-in or nudge is due
and send it.

One repeating JobQueue job (APScheduler) runs `Sweeper.sweep`. It claims the due
people atomically and moves each one's due time on *before* anything is sent
(storage.schedule_store.claim_due), so a crash never re-sends and two bot
processes never send the same message. Then each claimed person gets a
`Due("followup")`, `Due("checkin")` or `Due("nudge")` turn through the engine, and
its replies are sent like any other: all wording and branching stay in dialogs and
prompts.

Follow-ups first, then check-ins, then nudges, each in batches:

- Follow-up: the gentle message after a crisis screen (`users.followup_at`, planned
  by the engine). Claimed and cleared in one step, so it is sent at most once. Not
  held by a pause (it is about their safety, not coaching) and, unlike a check-in,
  still sent after downtime: a late "how are you doing now?" is still kind. Only one
  more than 12 hours late (FOLLOWUP_STALE) is dropped, because by then it would
  arrive as an out-of-the-blue reminder of their worst moment, a day later. Never
  counted as unanswered (it is not coaching to back off from).

- Check-in: moved on to their next local check-in time; skipped when missed by
  hours (downtime) or while paused.
- Nudge: skipped (and planned again for the first allowed moment) while paused,
  in their quiet hours, or within 3 hours after they last wrote; otherwise sent and
  moved on by `dialogs.schedule.next_nudge`.

Unanswered back-off: every check-in or nudge actually sent adds one to
`users.unanswered`; any message from the person resets it (storage.repository).
Nudges back off with it (next_nudge: the interval doubles every 2 unanswered, up
to a week). Check-ins never pile up (at most one per local day; a missed one is
skipped, never sent late), and after 3 unanswered they come less often
(`checkin_gap_days`: every 2nd day, every 4th, then weekly) and open more softly.

The clock is injected (the Telegram adapter's), so tests control time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.core import Bridges
from bot.render import Outgoing
from bot.telegram_send import send_all
from dialogs.model import Due
from dialogs.schedule import (
    NUDGE_QUIET_AFTER_MESSAGE,
    SOFT_AFTER_UNANSWERED,
    after_quiet_hours,
    checkin_gap_days,
    in_quiet_hours,
    is_stale,
    next_checkin,
    next_nudge,
)
from storage.repository import UserKey
from storage.schedule_store import ClaimedUser, Kind, claim_due, count_unanswered, mark_inactive

log = logging.getLogger("bridges.scheduler")
Clock = Callable[[], datetime]

BATCH = 1000  # people claimed per transaction
PARALLEL = 16  # people whose turn and sending run at once (the rate limiter paces sending)
SEND_ATTEMPTS = 3  # for a send error other than "blocked" (RetryAfter: AIORateLimiter)
BACKOFF_SECONDS = 0.5  # doubled after each failed attempt
# A crisis follow-up later than this (downtime) is dropped rather than sent; see above.
FOLLOWUP_STALE = timedelta(hours=12)


def no_next(_person: ClaimedUser) -> None:
    """A follow-up is sent once: the claim clears it."""
    return None


def next_after(now: datetime) -> Callable[[ClaimedUser], datetime | None]:
    """How a claimed person's due time moves on: their next local check-in after `now`.

    Always from `now`, never from the missed time, so after downtime each person
    gets at most one check-in, never a burst.
    """

    def advance(person: ClaimedUser) -> datetime | None:
        if not (person.timezone and person.checkin_time):
            return None
        try:
            # Fewer check-ins while several go unanswered (see checkin_gap_days).
            start = now + timedelta(days=checkin_gap_days(person.unanswered) - 1)
            return next_checkin(person.checkin_time, person.timezone, start)
        except (ValueError, KeyError):  # a broken zone must not block the whole batch
            return None

    return advance


def nudge_held_until(person: ClaimedUser, now: datetime) -> datetime | None:
    """When a due nudge may go out at the earliest, or None if it may go now.

    Held while paused, in quiet hours, or within 3 hours after they last wrote.
    """
    if not person.timezone:
        return None
    earliest = now
    if person.paused_until is not None:
        earliest = max(earliest, person.paused_until)
    if person.last_seen_at is not None:
        earliest = max(earliest, person.last_seen_at + NUDGE_QUIET_AFTER_MESSAGE)
    earliest = after_quiet_hours(earliest, person.timezone, person.quiet_start, person.quiet_end)
    return earliest if earliest > now else None


def next_nudge_after(now: datetime) -> Callable[[ClaimedUser], datetime | None]:
    """How a claimed person's nudge moves on: held back if now is the wrong moment,
    else the next one after the one sent now (backed off by what went unanswered)."""

    def advance(person: ClaimedUser) -> datetime | None:
        if not person.timezone:
            return None
        try:
            held = nudge_held_until(person, now)
            if held is not None:
                return held
            return next_nudge(
                now,
                person.timezone,
                person.nudges,
                person.quiet_start,
                person.quiet_end,
                person.last_seen_at,
                person.paused_until,
                person.unanswered,
            )
        except (ValueError, KeyError, OverflowError):  # never block the whole batch
            return None

    return advance


def pseudonym(external_id: str) -> str:
    """A short stable stand-in for a person's id in logs."""
    return hashlib.sha256(external_id.encode()).hexdigest()[:10]


class Sweeper:
    def __init__(
        self,
        bridges: Bridges,
        clock: Clock,
        batch: int = BATCH,
        send_attempts: int = SEND_ATTEMPTS,
        backoff_seconds: float = BACKOFF_SECONDS,
    ) -> None:
        self.bridges = bridges
        self.clock = clock
        self.batch = batch
        self.send_attempts = send_attempts
        self.backoff_seconds = backoff_seconds

    async def sweep(self, context: Any) -> int:
        """One sweep (the JobQueue callback; an Application works too): how many were sent."""
        now = self.clock()
        # Follow-ups first: after a crisis screen they matter most.
        sent = await self._sweep(context.bot, "followup", no_next, now)
        sent += await self._sweep(context.bot, "checkin", next_after(now), now)
        return sent + await self._sweep(context.bot, "nudge", next_nudge_after(now), now)

    async def _sweep(
        self,
        bot: Bot,
        kind: Kind,
        advance: Callable[[ClaimedUser], datetime | None],
        now: datetime,
    ) -> int:
        engine = self.bridges.store.engine
        sent = 0
        limit = asyncio.Semaphore(PARALLEL)
        while True:
            claimed = await asyncio.to_thread(claim_due, engine, kind, now, advance, self.batch)

            async def one(person: ClaimedUser) -> bool:
                async with limit:
                    return await self._deliver(bot, kind, person, now)

            results = await asyncio.gather(*(one(p) for p in claimed))
            sent += sum(results)
            if len(claimed) < self.batch:
                return sent

    async def _deliver(self, bot: Bot, kind: Kind, person: ClaimedUser, now: datetime) -> bool:
        if person.channel != "telegram":
            return False  # console people only see what they ask for
        if kind == "checkin" and is_stale(person.due_at, now):
            return False  # missed by hours (downtime): skipped; the next one is planned
        if kind == "nudge" and not self._may_nudge(person, now):
            return False  # held: already planned again for the first allowed moment
        if kind == "followup" and now - person.due_at > FOLLOWUP_STALE:
            who = pseudonym(person.external_id)
            log.info("sweep: a follow-up for %s was too late; dropped", who)
            return False  # already cleared by the claim
        try:
            messages = await asyncio.to_thread(self._turn, kind, person, now)
        except Exception as err:  # one person's failure must not stop the sweep
            log.error(
                "%s turn failed for %s: %s", kind, pseudonym(person.external_id), type(err).__name__
            )
            return False
        if messages is None or not await self._send(bot, person, messages):
            return False
        if kind != "followup":  # a follow-up is not coaching to back off from
            await asyncio.to_thread(count_unanswered, self.bridges.store.engine, person.user_id)
        return True

    @staticmethod
    def _may_nudge(person: ClaimedUser, now: datetime) -> bool:
        """Checked again at send time: nudges off, paused, quiet hours or just wrote."""
        if person.nudges == "off" or not person.timezone:
            return False
        try:
            if in_quiet_hours(now, person.timezone, person.quiet_start, person.quiet_end):
                return False
            return nudge_held_until(person, now) is None
        except (ValueError, KeyError, OverflowError):
            return False

    def _turn(self, kind: Kind, person: ClaimedUser, now: datetime) -> list[Outgoing] | None:
        """The engine's turn for a due follow-up, check-in or nudge.

        None for a check-in or nudge while they are paused; a follow-up is never paused.
        """
        key = UserKey(person.channel, person.external_id)
        if kind != "followup":
            paused_until = self.bridges.store.load(key).profile.paused_until
            if paused_until is not None and paused_until > now:
                return None
        soft = kind == "checkin" and person.unanswered >= SOFT_AFTER_UNANSWERED
        return self.bridges.handle(key, Due(kind, soft=soft), now)

    async def _send(self, bot: Bot, person: ClaimedUser, messages: list[Outgoing]) -> bool:
        chat_id = int(person.external_id)
        for out in messages:
            for attempt in range(1, self.send_attempts + 1):
                try:
                    await send_all(bot, self.bridges.catalog, chat_id, [out], None)
                    break
                except Forbidden:
                    # They blocked the bot: nothing more until they write again.
                    await asyncio.to_thread(
                        mark_inactive, self.bridges.store.engine, person.user_id
                    )
                    log.info(
                        "sweep: %s blocked the bot; marked inactive",
                        pseudonym(person.external_id),
                    )
                    return False
                except TelegramError as err:  # NetworkError, TimedOut, RetryAfter left over
                    final = isinstance(err, BadRequest) or attempt == self.send_attempts
                    # The error's type only: no message text, no real id in the logs.
                    log.warning(
                        "send to %s failed (%s), attempt %d%s",
                        pseudonym(person.external_id),
                        type(err).__name__,
                        attempt,
                        ", giving up" if final else "",
                    )
                    if final:
                        return False
                    await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        return bool(messages)
