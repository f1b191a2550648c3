"""The Telegram adapter: one composition root that builds the PTB Application."""

from __future__ import annotations

import logging
import traceback
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import Bot, BotCommand, LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, BaseRateLimiter, ContextTypes, ExtBot, JobQueue, TypeHandler
from telegram.request import BaseRequest

from bot.core import Bridges
from bot.fallback import crisis_text_for_update
from bot.intake import Intake
from bot.probe import NotingLimiter, NotingRateLimiter, Probe
from bot.scheduler import Sweeper
from bot.sender import Sender
from bot.telegram_events import words_in
from dialogs.commands import listed
from dialogs.safety import assess
from storage.message_log import MessageLog
from storage.sent_journal import SentJournal

log = logging.getLogger("bridges.telegram")
Clock = Callable[[], datetime]
CONCURRENT_UPDATES = 4096
GROUP_MEMORY = 1024  # groups already told "private chats only", kept in memory only
# At most one crisis reply per group in this long (memory only): a group talking about a
# hard moment gets the emergency number once, not after every message.
GROUP_CRISIS_EVERY = timedelta(minutes=5)
# The Application build_application makes: PTB's default context and data types, with a
# bot whose rate limiter's arguments are AIORateLimiter's or NotingLimiter's (bot/probe.py).
BridgesApp = Application[
    ExtBot[Any],
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]


def utc_now() -> datetime:
    return datetime.now(UTC)


class TelegramAdapter:
    def __init__(self, bridges: Bridges, clock: Clock = utc_now) -> None:
        self.bridges = bridges
        self.clock = clock
        self.intake: Intake  # set by build_application once the Bot exists
        self.recover = False  # bot/runner.py and webhook mode turn crash recovery on
        self._told_groups: OrderedDict[int, None] = OrderedDict()
        self._group_crisis_at: OrderedDict[int, datetime] = OrderedDict()

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An update handed to the Application (in-process tests, PTB's own queue): through
        the inbox like any other, waiting until its replies went."""
        if not await self.groups(update, context.bot):
            await self.intake.accept([update], wait=True)

    async def take(self, updates: list[Update]) -> bool:
        """A batch from getUpdates or a webhook: groups answered from memory, the rest
        stored in the inbox. True once stored (bot/intake.py `accept`)."""
        private: list[Update] = []
        answered: list[Update] = []
        for update in updates:
            (answered if await self.groups(update, self.intake.bot) else private).append(update)
        return await self.intake.accept(private, seen=answered)

    async def accept_json(self, data: dict[str, Any]) -> int:
        """A webhook POST's update: the HTTP status to answer (bot/webhook.py).

        200 once it is stored (or answered from memory, for a group); 503 if it can't be
        stored now, so Telegram delivers it again later; 400 if it is no update.
        """
        try:
            update = Update.de_json(data, self.intake.bot)
        except Exception as err:  # never log the body: it holds what people wrote
            log.warning("webhook: unreadable update (%s)", type(err).__name__)
            return 400
        if update is None:
            return 400
        return 200 if await self.take([update]) else 503

    async def groups(self, update: Update, bot: Bot) -> bool:
        """Answer an update from a group from memory (nothing stored). True if it was one."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot or chat.type == ChatType.PRIVATE:
            return False
        query = update.callback_query
        if query is not None:
            try:
                await query.answer()
            except TelegramError as err:
                log.info("callback answer failed (%s)", type(err).__name__)
        elif _at_risk(words_in(update)):
            await self._group_crisis(bot, chat.id)
            return True
        await self._private_only(bot, chat.id)
        return True

    async def _private_only(self, bot: Bot, chat_id: int) -> None:
        # Nothing from a group touches the database; we only remember, in memory,
        # that we already explained, so the group is not spammed.
        if chat_id in self._told_groups:
            return
        _remember(self._told_groups, chat_id, None)
        text = self.bridges.catalog.render("en", "common/private_only")
        await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)

    async def _group_crisis(self, bot: Bot, chat_id: int) -> None:
        """A group message that sounds like a crisis: the emergency number and an invitation
        to a private chat, at most once per group every GROUP_CRISIS_EVERY. Nothing stored,
        nothing logged about the message."""
        now = self.clock()
        # This reply already says "private chats only": no separate note afterwards.
        _remember(self._told_groups, chat_id, None)
        last = self._group_crisis_at.get(chat_id)
        if last is not None and timedelta(0) <= now - last < GROUP_CRISIS_EVERY:
            return
        # Checked and set with no await between: two updates at once send one reply.
        _remember(self._group_crisis_at, chat_id, now)
        ctx = {"bot_link": _bot_link(bot)}
        text = self.bridges.catalog.render("en", "common/group_crisis", ctx)
        await bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        err = context.error
        # Type and stack only: an exception's message could quote what someone wrote.
        frames = "".join(traceback.format_tb(err.__traceback__)) if err else ""
        log.error("update failed with %s\n%s", type(err).__name__, frames)
        if isinstance(update, Update) and update.effective_chat is not None:
            if update.effective_chat.type != ChatType.PRIVATE:
                return
            # A failed turn (database down, a send that broke) must not leave a crisis
            # message with only "something went wrong": the helplines, rendered without
            # any state, go instead.
            fallback = crisis_text_for_update(self.bridges.catalog, update)
            if fallback is not None:
                text = fallback
                parse_mode: str | None = ParseMode.HTML
            else:
                text = self.bridges.catalog.render("en", "common/error")
                parse_mode = None
            try:
                await context.bot.send_message(
                    update.effective_chat.id,
                    text,
                    parse_mode=parse_mode,
                    link_preview_options=NO_PREVIEW,
                )
            except Exception as send_err:  # the network may be what failed
                log.warning("could not send the error notice: %s", type(send_err).__name__)

    async def post_stop(self, app: BridgesApp) -> None:
        """Let running turns and sends finish (bounded); what is left goes after a restart."""
        await self.intake.stop()

    async def post_init(self, app: BridgesApp) -> None:
        if self.recover:
            # A real run (not a test): look for work a crash left, now and every few seconds.
            self.intake.start()
        label = self.bridges.catalog.label
        dialogs = self.bridges.dialogs.dialogs.values()
        await app.bot.set_my_commands(
            [BotCommand(e.command, label("en", e.describe)) for e in listed(dialogs)]
        )


NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _remember(memory: OrderedDict[int, Any], key: int, value: Any) -> None:
    """Keep `key` as the newest entry, forgetting the oldest beyond GROUP_MEMORY."""
    memory[key] = value
    memory.move_to_end(key)
    while len(memory) > GROUP_MEMORY:
        memory.popitem(last=False)


def _at_risk(words: str) -> bool:
    """Whether a message's words call for help first: a crisis or a concern, for
    themselves or someone else (dialogs.safety.assess). Never logged."""
    if not words.strip():
        return False
    try:
        return assess(words).level != "none"
    except Exception as err:  # the screen must never be what breaks a reply
        log.error("screening failed with %s", type(err).__name__)
        return False


def _bot_link(bot: Bot) -> str | None:
    """https://t.me/<bot's username>, or None before getMe has answered."""
    try:
        username = bot.username
    except RuntimeError:  # Bot not initialised yet
        return None
    return f"https://t.me/{username}" if username else None


def build_application(
    bridges: Bridges,
    token: str,
    base_url: str = "https://api.telegram.org/bot",
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    clock: Clock = utc_now,
    rate_limit: bool = True,
    sweep_seconds: float | None = None,
) -> BridgesApp:
    """The bot; with `sweep_seconds`, also the repeating sweep that sends due check-ins."""
    adapter = TelegramAdapter(bridges, clock)
    builder = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        # Updates handed to the Application wait in their person's inbox worker, not in
        # shared slots (bot/intake.py); PTB only has to let them all in.
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(adapter.post_init)
        .post_stop(adapter.post_stop)
    )
    journal = SentJournal.for_engine(bridges.store.engine)
    ids = journal.path.with_name(journal.path.name + "-ids") if journal else None
    probe = Probe(MessageLog(ids) if ids else None)
    # Every send's message id is noted, however it was sent (bot/probe.py). No retries
    # inside the rate limiter: on a 429 it would hold back every chat while it sleeps;
    # the sender waits out `retry_after` for that one chat (bot/sender.py).
    limiter = NotingRateLimiter(max_retries=0) if rate_limit else NotingLimiter()
    noting: BaseRateLimiter[Any] = limiter  # either kind: see BridgesApp
    builder = builder.rate_limiter(noting)
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    app = builder.build()
    sender = Sender(
        app.bot,
        bridges.catalog,
        bridges.store.engine,
        clock,
        db=bridges.db,
        journal=journal,
        probe=probe,
    )
    # Through the sender's current Probe (a test may swap it for one reading the log).
    limiter.probe = lambda: sender.probe
    adapter.intake = Intake(bridges, app.bot, sender, clock)
    app.add_handler(TypeHandler(Update, adapter.on_update))
    app.add_error_handler(adapter.on_error)
    app.bot_data["adapter"] = adapter
    if sweep_seconds:
        _schedule_sweep(app, Sweeper(bridges, clock, sender=sender), sweep_seconds)
    return app


def _schedule_sweep(app: BridgesApp, sweeper: Sweeper, seconds: float) -> None:
    if app.job_queue is None:
        raise RuntimeError("the sweep needs python-telegram-bot[job-queue] installed")
    # One sweep at a time; a slow one makes the next wait rather than overlap or pile up.
    # A sweep returns once its rows are committed and queued; the sender sends them.
    app.job_queue.run_repeating(
        sweeper.sweep,
        interval=seconds,
        first=1.0,  # soon after start: check-ins missed during downtime are still fresh
        name="sweep",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    app.bot_data["sweeper"] = sweeper
