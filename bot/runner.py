"""Long polling that acknowledges an update only once it is stored.

python-telegram-bot's own Updater confirms a batch (by asking for the next
offset) as soon as it has queued it in memory, before any handler ran: a crash
then loses those messages. Here each batch is written to the inbox first
(bot/intake.py) and only then is the offset moved past it. If the inbox can't
be written, the offset stays, and Telegram gives the same updates again on the
next poll (crisis messages among them get the fallback reply meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot import startup

log = logging.getLogger("bridges.polling")
T = TypeVar("T")
Take = Callable[[list[Update]], Awaitable[bool]]  # TelegramAdapter.take
AnyApp = Application[Any, Any, Any, Any, Any, Any]

POLL_TIMEOUT = 25  # seconds Telegram may hold a getUpdates open (long polling)
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)  # seconds between tries while polling fails


async def poll(app: AnyApp, take: Take, stop: asyncio.Event) -> None:
    """getUpdates until `stop` is set; each batch stored before it is acknowledged."""
    bot = app.bot
    offset: int | None = None
    failures = 0
    while not stop.is_set():
        try:
            updates = await _until_stopped(
                bot.get_updates(
                    offset=offset,
                    timeout=POLL_TIMEOUT,
                    read_timeout=POLL_TIMEOUT + 10,
                    allowed_updates=Update.ALL_TYPES,
                ),
                stop,
            )
            if updates is None:
                return  # asked to stop: the batch was not taken, so nothing is lost
        except TimedOut:
            continue  # a long poll that ran out: normal
        except (NetworkError, RetryAfter, Conflict) as err:
            failures += 1
            if failures == 1:
                # Once, not on every retry; the type only (its text may hold the URL).
                log.warning("getUpdates failed (%s); retrying with backoff", type(err).__name__)
            await _sleep(stop, BACKOFF[min(failures, len(BACKOFF)) - 1])
            continue
        if failures:
            log.info("getUpdates works again")
            failures = 0
        if not updates:
            continue
        if await take(list(updates)):
            offset = updates[-1].update_id + 1
        else:  # not stored: asked for again after a pause, never acknowledged
            await _sleep(stop, BACKOFF[1])


async def _until_stopped(call: Coroutine[Any, Any, T], stop: asyncio.Event) -> T | None:
    """`call`'s result, or None as soon as `stop` is set (a long poll is not waited out)."""
    task = asyncio.ensure_future(call)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None
    return task.result()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run_polling(app: AnyApp) -> None:
    """The bot in long-polling mode until SIGINT/SIGTERM, with the app's full lifecycle.

    Raises startup.StartupError if Telegram rejects the token.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    adapter = app.bot_data["adapter"]
    adapter.recover = True
    await startup.connect(app.bot, log=logging.getLogger("bridges"))
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        # Polling and a webhook exclude each other; keep what Telegram holds for us.
        await app.bot.delete_webhook(drop_pending_updates=False)
        await app.start()  # also the job queue, hence the sweep
        # Only one process can poll (Telegram refuses a second), so every reply still
        # queued belongs to a run that died: it goes first, before anything new, and each
        # chat keeps its order. Updates it left are taken again too.
        await adapter.intake.recover(takeover=True)
        log.info("Bridges is running (long polling)")
        try:
            await poll(app, adapter.take, stop)
        finally:
            await app.stop()  # post_stop lets running turns and sends finish
    finally:
        await app.shutdown()
