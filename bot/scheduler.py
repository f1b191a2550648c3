"""The sweep: every few seconds, find whose morning check-in is due and send it.

One repeating JobQueue job (APScheduler) runs `Sweeper.sweep`. It claims the due
people atomically and moves each one's due time on to their next local check-in
time *before* anything is sent (storage.schedule_store.claim_due), so a crash
never re-sends and two bot processes never send the same check-in. Then each
claimed person gets a `Due("checkin")` turn through the engine, and its replies
are sent like any other: all wording and branching stay in dialogs and prompts.

The clock is injected (the Telegram adapter's), so tests control time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.core import Bridges
from bot.render import Outgoing
from bot.telegram_send import send_all
from dialogs.model import Due
from dialogs.schedule import is_stale, next_checkin
from storage.repository import UserKey
from storage.schedule_store import ClaimedUser, claim_due, mark_inactive

log = logging.getLogger("bridges.scheduler")
Clock = Callable[[], datetime]

BATCH = 1000  # people claimed per transaction
PARALLEL = 16  # people whose turn and sending run at once (the rate limiter paces sending)
SEND_ATTEMPTS = 3  # for a send error other than "blocked" (RetryAfter: AIORateLimiter)
BACKOFF_SECONDS = 0.5  # doubled after each failed attempt


def next_after(now: datetime) -> Callable[[ClaimedUser], datetime | None]:
    """How a claimed person's due time moves on: their next local check-in after `now`.

    Always from `now`, never from the missed time, so after downtime each person
    gets at most one check-in, never a burst.
    """

    def advance(person: ClaimedUser) -> datetime | None:
        if not (person.timezone and person.checkin_time):
            return None
        try:
            return next_checkin(person.checkin_time, person.timezone, now)
        except (ValueError, KeyError):  # a broken zone must not block the whole batch
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
        bot: Bot = context.bot
        now = self.clock()
        engine = self.bridges.store.engine
        sent = 0
        limit = asyncio.Semaphore(PARALLEL)
        while True:
            claimed = await asyncio.to_thread(
                claim_due, engine, "checkin", now, next_after(now), self.batch
            )

            async def one(person: ClaimedUser) -> bool:
                async with limit:
                    return await self._check_in(bot, person, now)

            results = await asyncio.gather(*(one(p) for p in claimed))
            sent += sum(results)
            if len(claimed) < self.batch:
                return sent

    async def _check_in(self, bot: Bot, person: ClaimedUser, now: datetime) -> bool:
        if person.channel != "telegram":
            return False  # console people only see what they ask for
        if is_stale(person.due_at, now):
            return False  # missed by hours (downtime): skipped; the next one is planned
        try:
            messages = await asyncio.to_thread(self._turn, person, now)
        except Exception as err:  # one person's failure must not stop the sweep
            log.error(
                "check-in turn failed for %s: %s", pseudonym(person.external_id), type(err).__name__
            )
            return False
        if messages is None:
            return False
        return await self._send(bot, person, messages)

    def _turn(self, person: ClaimedUser, now: datetime) -> list[Outgoing] | None:
        """The engine's turn for a due check-in; None while they paused check-ins."""
        key = UserKey(person.channel, person.external_id)
        paused_until = self.bridges.store.load(key).profile.paused_until
        if paused_until is not None and paused_until > now:
            return None
        return self.bridges.handle(key, Due("checkin"), now)

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
                        "check-in: %s blocked the bot; marked inactive",
                        pseudonym(person.external_id),
                    )
                    return False
                except TelegramError as err:  # NetworkError, TimedOut, RetryAfter left over
                    final = isinstance(err, BadRequest) or attempt == self.send_attempts
                    # The error's type only: no message text, no real id in the logs.
                    log.warning(
                        "check-in send to %s failed (%s), attempt %d%s",
                        pseudonym(person.external_id),
                        type(err).__name__,
                        attempt,
                        ", giving up" if final else "",
                    )
                    if final:
                        return False
                    await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        return bool(messages)
