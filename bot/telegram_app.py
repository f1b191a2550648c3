"""The Telegram adapter: one composition root that builds the PTB Application."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import AIORateLimiter, Application, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot.core import Bridges
from bot.scheduler import Sweeper
from bot.telegram_events import event_from_update, words_in
from bot.telegram_send import send_all
from bot.update_processor import PerUserUpdateProcessor
from dialogs.commands import MENU_COMMANDS
from dialogs.safety import assess
from storage.repository import UserKey

log = logging.getLogger("bridges.telegram")
Clock = Callable[[], datetime]
GROUP_MEMORY = 1024  # groups already told "private chats only", kept in memory only
# At most one crisis reply per group in this long (memory only): a group talking about a
# hard moment gets the emergency number once, not after every message.
GROUP_CRISIS_EVERY = timedelta(minutes=5)


def utc_now() -> datetime:
    return datetime.now(UTC)


class TelegramAdapter:
    def __init__(self, bridges: Bridges, clock: Clock = utc_now) -> None:
        self.bridges = bridges
        self.clock = clock
        self._told_groups: OrderedDict[int, None] = OrderedDict()
        self._group_crisis_at: OrderedDict[int, datetime] = OrderedDict()

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None:
            # Answer first so the button stops spinning, whatever happens next.
            await query.answer()
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or user.is_bot:
            return
        if chat.type != ChatType.PRIVATE:
            if query is None and _at_risk(words_in(update)):
                await self._group_crisis(context, chat.id)
            else:
                await self._private_only(context, chat.id)
            return
        event = event_from_update(update)
        if event is None:
            return
        key = UserKey("telegram", str(user.id))
        messages = await asyncio.to_thread(self.bridges.handle, key, event, self.clock())
        tapped = query.message.message_id if query is not None and query.message else None
        await send_all(context.bot, self.bridges.catalog, chat.id, messages, tapped)

    async def _private_only(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        # Nothing from a group touches the database; we only remember, in memory,
        # that we already explained, so the group is not spammed.
        if chat_id in self._told_groups:
            return
        _remember(self._told_groups, chat_id, None)
        text = self.bridges.catalog.render("en", "common/private_only")
        await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)

    async def _group_crisis(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
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
        ctx = {"bot_link": _bot_link(context)}
        text = self.bridges.catalog.render("en", "common/group_crisis", ctx)
        await context.bot.send_message(
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
            if _at_risk(words_in(update)):
                text = self.bridges.catalog.render("en", "common/crisis_fallback")
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

    async def post_init(self, app: Application) -> None:
        label = self.bridges.catalog.label
        await app.bot.set_my_commands(
            [
                BotCommand(name, label("en", f"command.{name}"))
                for name in MENU_COMMANDS
                if name in self.bridges.engine.commands
            ]
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


def _bot_link(context: ContextTypes.DEFAULT_TYPE) -> str | None:
    """https://t.me/<bot's username>, or None before getMe has answered."""
    try:
        username = context.bot.username
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
) -> Application:
    """The bot; with `sweep_seconds`, also the repeating sweep that sends due check-ins."""
    adapter = TelegramAdapter(bridges, clock)
    builder = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .concurrent_updates(PerUserUpdateProcessor())
        .post_init(adapter.post_init)
    )
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    app = builder.build()
    app.add_handler(TypeHandler(Update, adapter.on_update))
    app.add_error_handler(adapter.on_error)
    app.bot_data["adapter"] = adapter
    if sweep_seconds:
        _schedule_sweep(app, Sweeper(bridges, clock), sweep_seconds)
    return app


def _schedule_sweep(app: Application, sweeper: Sweeper, seconds: float) -> None:
    if app.job_queue is None:
        raise RuntimeError("the sweep needs python-telegram-bot[job-queue] installed")
    # One sweep at a time; a slow one makes the next wait rather than overlap or pile up.
    app.job_queue.run_repeating(
        sweeper.sweep,
        interval=seconds,
        first=1.0,  # soon after start: check-ins missed during downtime are still fresh
        name="sweep",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    app.bot_data["sweeper"] = sweeper
