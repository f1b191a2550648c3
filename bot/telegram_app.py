"""Telegram in: each update received, stored before it is acknowledged, and read.

One message's way in, in this file's order:

1. Polling (`run_polling`, `poll`). python-telegram-bot's own Updater confirms a batch
   (by asking for the next offset) as soon as it has queued it in memory, before any
   handler ran: a crash then loses those messages. Here each batch is written to the
   inbox first (bot/intake.py `Intake.accept`) and only then is the offset moved past it.
   If the inbox can't be written, the offset stays, and Telegram gives the same updates
   again on the next poll (crisis messages among them get the fallback reply meanwhile).
   A webhook POST arrives instead through bot/webhook.py and `TelegramAdapter.accept_json`.
2. `TelegramAdapter.take`: messages from groups are answered from memory (nothing is
   stored); the rest go to the inbox.
3. Reading an update (`incoming` for the inbox entry, `read_update` and
   `event_from_update` for the dialog manager's event, at the turn). Every word a person sends
   reaches the dialog manager, which screens it for crisis language before anything else: message
   text, photo and file captions, edited messages (text or caption) and words after a
   command ("/menu I want to die" is read as text).

`build_application` is the one composition root that builds the PTB Application.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import Bot, BotCommand, LinkPreviewOptions, Message, MessageEntity, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import Conflict, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, BaseRateLimiter, ContextTypes, ExtBot, JobQueue, TypeHandler
from telegram.request import BaseRequest

from bot import startup
from bot.core import Bridges
from bot.fallback import crisis_text_for_update
from bot.probe import NotingLimiter, NotingRateLimiter, Probe
from bot.scheduler import Sweeper
from bot.sender import Sender
from dialogs.commands import listed
from dialogs.model import Command, Event, Location, Photo, Press, Text, Unsupported
from dialogs.safety import assess
from prompts import DEFAULT_LOCALE
from storage.inbox import Incoming
from storage.message_log import MessageLog
from storage.sent_journal import SentJournal

if TYPE_CHECKING:
    from bot.intake import Intake  # imported by build_application: bot/intake.py imports this

log = logging.getLogger("bridges.telegram")
poll_log = logging.getLogger("bridges.polling")
Clock = Callable[[], datetime]
T = TypeVar("T")
# TelegramAdapter.take: the updates, and the JSON Telegram sent for each (by update id)
Take = Callable[[list[Update], Mapping[int, dict[str, Any]]], Awaitable[bool]]
AnyApp = Application[Any, Any, Any, Any, Any, Any]
CONCURRENT_UPDATES = 4096
# Connections to the Bot API for everything but getUpdates. PTB's default pool of 256 costs
# on every request: httpcore (1.0) scans all pooled connections each time one is asked for
# or given back, quadratically in places, which made turn latency bimodal (issue 15).
# Telegram takes about 30 messages a second from a bot (the rate limiter, bot/probe.py) and
# a call takes ~0.05-0.3 s, so ~2-9 are in flight at that rate; 16 leaves room for callback
# answers and a photo upload. More wait for a free connection (cheap) rather than fail:
# hence no pool timeout, as a pool timeout is a TimedOut, which the sender must count as
# "maybe sent" (bot/sender.py) and could drop a check-in for. The wait is bounded anyway:
# every request that holds a connection has its own connect, read and write timeouts, and
# the sender lets at most PARALLEL_CHATS chats send at once.
SEND_CONNECTIONS = 16
POLL_CONNECTIONS = 1  # getUpdates: one long poll at a time (`poll`), on its own connection
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
    """The current time, timezone-aware, in UTC (the adapter's default clock)."""
    return datetime.now(UTC)


# --- polling --------------------------------------------------------------------------------

POLL_TIMEOUT = 25  # seconds Telegram may hold a getUpdates open (long polling)
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)  # seconds between tries while polling fails


async def poll(app: AnyApp, take: Take, stop: asyncio.Event) -> None:
    """getUpdates until `stop` is set; each batch stored before it is acknowledged."""
    stopping = asyncio.ensure_future(stop.wait())  # one for the whole poll, not one per batch
    try:
        await _poll(app, take, stop, stopping)
    finally:
        stopping.cancel()


async def _poll(
    app: AnyApp, take: Take, stop: asyncio.Event, stopping: asyncio.Future[Any]
) -> None:
    bot = app.bot
    raw = app.bot_data.get("raw_updates")
    offset: int | None = None
    failures = 0
    # Said until a getUpdates is answered, then no more: Telegram keeps the last list it
    # was given, and the ~20 names cost each call request building and JSON (issue 15).
    allowed: list[str] | None = list(Update.ALL_TYPES)
    while not stop.is_set():
        try:
            updates = await _until_stopped(
                bot.get_updates(
                    offset=offset,
                    timeout=POLL_TIMEOUT,
                    read_timeout=POLL_TIMEOUT + 10,
                    allowed_updates=allowed,
                ),
                stopping,
            )
            if updates is None:
                return  # asked to stop: the batch was not taken, so nothing is lost
        except TimedOut:
            continue  # a long poll that ran out: normal
        except (NetworkError, RetryAfter, Conflict) as err:
            failures += 1
            if failures == 1:
                # Once, not on every retry; the type only (its text may hold the URL).
                poll_log.warning(
                    "getUpdates failed (%s); retrying with backoff", type(err).__name__
                )
            await _sleep(stop, BACKOFF[min(failures, len(BACKOFF)) - 1])
            continue
        allowed = None
        if failures:
            poll_log.info("getUpdates works again")
            failures = 0
        if not updates:
            continue
        # The JSON Telegram sent is what the inbox stores: no second serialisation.
        payloads = raw.take() if isinstance(raw, RawUpdates) else {}
        if await take(list(updates), payloads):
            offset = updates[-1].update_id + 1
        else:  # not stored: asked for again after a pause, never acknowledged
            await _sleep(stop, BACKOFF[1])


async def _until_stopped(call: Coroutine[Any, Any, T], stopping: asyncio.Future[Any]) -> T | None:
    """`call`'s result, or None as soon as `stopping` is done (a long poll is not waited
    out)."""
    task = asyncio.ensure_future(call)
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None
    return task.result()


class RawUpdates:
    """The JSON of getUpdates' last answer, as Telegram sent it, by update id.

    python-telegram-bot gives `get_updates` callers Update objects only; the inbox stores
    each update's JSON, and making it again with `Update.to_dict()` cost ~0.2 ms per
    update on the event loop. This keeps what the request for getUpdates (used for
    nothing else) parsed, through `parse_json_payload`, the hook PTB offers for it.
    """

    def __init__(self, request: BaseRequest) -> None:
        self._last: list[Any] = []
        parse = request.parse_json_payload

        def keeping(payload: bytes) -> dict[str, Any]:
            data = parse(payload)
            result = data.get("result") if isinstance(data, dict) else None
            self._last = result if isinstance(result, list) else []
            return data

        request.parse_json_payload = keeping  # type: ignore[method-assign]

    def take(self) -> dict[int, dict[str, Any]]:
        """The last answer's updates (update id -> JSON), once."""
        last, self._last = self._last, []
        return {
            data["update_id"]: data
            for data in last
            if isinstance(data, dict) and isinstance(data.get("update_id"), int)
        }


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
        poll_log.info("Bridges is running (long polling)")
        try:
            await poll(app, adapter.take, stop)
        finally:
            await app.stop()  # post_stop lets running turns and sends finish
    finally:
        await app.shutdown()


# --- the adapter: groups answered from memory, private chats to the inbox -------------------


class TelegramAdapter:
    """What the Application calls: updates in (`take`, `accept_json`, `on_update`), groups
    answered from memory, errors, start and stop. `intake` is set by `build_application`.
    """

    def __init__(self, bridges: Bridges, clock: Clock = utc_now) -> None:
        self.bridges = bridges
        self.clock = clock
        self.intake: Intake  # set by build_application once the Bot exists
        self.recover = False  # run_polling and webhook mode turn crash recovery on
        self._told_groups: OrderedDict[int, None] = OrderedDict()
        self._group_crisis_at: OrderedDict[int, datetime] = OrderedDict()

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An update handed to the Application (in-process tests, PTB's own queue): through
        the inbox like any other, waiting until its replies went."""
        if not await self.groups(update, context.bot):
            await self.intake.accept([update], wait=True)

    async def take(
        self, updates: list[Update], payloads: Mapping[int, dict[str, Any]] | None = None
    ) -> bool:
        """A batch from getUpdates or a webhook: groups answered from memory, the rest
        stored in the inbox (`payloads`: the JSON Telegram sent, by update id, if known).
        True once stored (bot/intake.py `accept`)."""
        private: list[Update] = []
        answered: list[Update] = []
        for update in updates:
            (answered if await self.groups(update, self.intake.bot) else private).append(update)
        return await self.intake.accept(private, seen=answered, payloads=payloads)

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
            return 400  # type: ignore[unreachable]  # PTB types it as never None
        return 200 if await self.take([update], {update.update_id: data}) else 503

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
        # No profile is read for a group: the sender's app language says how to answer.
        locale = self.bridges.catalog.locale_for(user.language_code)
        if query is None and _at_risk(words_in(update)):
            await self._group_crisis(bot, chat.id, locale)
            return True
        await self._private_only(bot, chat.id, locale)
        return True

    async def _private_only(self, bot: Bot, chat_id: int, locale: str) -> None:
        # Nothing from a group touches the database; we only remember, in memory,
        # that we already explained, so the group is not spammed.
        if chat_id in self._told_groups:
            return
        _remember(self._told_groups, chat_id, None)
        text = self.bridges.catalog.render(locale, "common/private_only")
        await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)

    async def _group_crisis(self, bot: Bot, chat_id: int, locale: str) -> None:
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
        text = self.bridges.catalog.render(locale, "common/group_crisis", ctx)
        await bot.send_message(
            chat_id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB's error handler: log the error's type and stack (never its message), and tell a
        private chat, with the crisis reply if their words call for it. Raises nothing.
        """
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
                # Their app's language: the turn that failed may be what reads their profile.
                user = update.effective_user
                locale = self.bridges.catalog.locale_for(user.language_code if user else None)
                text = self.bridges.catalog.render(locale, "common/error")
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
        """Once the Application is up: start crash recovery in a real run, and set the command
        menu Telegram shows. Raises telegram.error.* if setMyCommands fails.
        """
        if self.recover:
            # A real run (not a test): look for work a crash left, now and every few seconds.
            self.intake.start()
        catalog = self.bridges.catalog
        entries = listed(self.bridges.dialogs.dialogs.values())
        # English for everyone, and each other language for the apps set to it: Telegram
        # picks the list by the person's app language.
        for locale in [DEFAULT_LOCALE, *(x for x in catalog.locales if x != DEFAULT_LOCALE)]:
            commands = [BotCommand(e.command, catalog.label(locale, e.describe)) for e in entries]
            language = None if locale == DEFAULT_LOCALE else locale
            await app.bot.set_my_commands(commands, language_code=language)


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


# --- reading an update: the inbox entry, and the dialog manager's event at the turn ---------

# Message attributes we recognise but cannot use; the attribute is the Unsupported kind,
# which common/unsupported.j2 names in each language.
_MEDIA = (
    "sticker",
    "animation",
    "photo",
    "video",
    "video_note",
    "voice",
    "audio",
    "document",
    "contact",
    "poll",
    "dice",
    "venue",
)


@dataclass(frozen=True)
class Read:
    """What an update means to the dialog manager (`read_update`), for the turn in bot/intake.py."""

    event: Event | None  # None: nothing for the dialog manager to do (it is just marked done)
    chat_id: int | None
    tapped: int | None = None  # the message whose button was tapped, for edits in place
    words: str = ""  # what they wrote, for screening; never stored or logged


def parse_command(text: str) -> Command | None:
    """`/name args` (or `/name@bot args`) as a Command with a lower-case name; None if the
    text is not a command.
    """
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name or not all(c.isalnum() or c == "_" for c in name):
        return None
    return Command(name, args.strip())


def _from_message(message: Message) -> Event:
    if message.text is not None:
        # The app's language: a new person's locale at /start (dialogs/engine_events.py).
        language = (message.from_user.language_code if message.from_user else None) or ""
        entities = message.entities or ()
        starts_with_command = any(
            e.type == MessageEntity.BOT_COMMAND and e.offset == 0 for e in entities
        )
        command = parse_command(message.text) if starts_with_command else None
        if command is not None and command.args and assess(command.args).level != "none":
            # Commands ignore their words; these must be screened like any message.
            return Text(message.text, language)
        if command is not None:
            return replace(command, language=language)
        return Text(message.text, language)
    if message.location is not None and message.venue is None:
        return Location(message.location.latitude, message.location.longitude)
    if message.photo:
        # Telegram lists each photo in several sizes, the largest last.
        return Photo(message.photo[-1].file_id, message.caption or "")
    for kind in _MEDIA:
        if getattr(message, kind, None):
            return Unsupported(kind, message.caption or "")
    return Unsupported("message", message.caption or "")


def event_from_update(update: Update) -> Event | None:
    """The dialog manager's event for an update: a tap, a message (text, command, location, photo,
    other media) or an edit (its words screened, nothing changed); None for anything else.
    """
    if update.callback_query is not None:
        return Press(update.callback_query.data or "")
    if update.edited_message is not None:
        # An edit never changes a saved answer, but its words are screened like any message.
        return Unsupported("edited", words_of(update.edited_message))
    if update.message is not None:
        return _from_message(update.message)
    return None


def words_of(message: Message | None) -> str:
    """What the person wrote in a message: its text, else its caption ("" if neither)."""
    if message is None:
        return ""
    return message.text or message.caption or ""


def words_in(update: Update) -> str:
    """The words of a message or an edited message (text or caption); "" for anything else."""
    return words_of(update.message or update.edited_message)


def read_update(data: dict[str, Any], bot: Bot | None, known: Update | None = None) -> Read:
    """What a stored update (its JSON) means to the dialog manager, for the turn (bot/intake.py).

    `known`: the same update already parsed (this process received it), so the JSON
    need not be parsed again. Anything not from a person in a private chat reads as
    no event.
    """
    update = known if known is not None else Update.de_json(data, bot)
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or user.is_bot or chat.type != ChatType.PRIVATE:
        return Read(None, None)
    query = update.callback_query
    tapped = query.message.message_id if query is not None and query.message else None
    return Read(event_from_update(update), chat.id, tapped, words_in(update))


def incoming(update: Update, data: dict[str, Any] | None = None) -> Incoming | None:
    """The inbox entry for an update from a person in a private chat, else None (groups
    and channels are answered from memory, never stored: bot/telegram_app.py). `data`: the
    JSON Telegram sent for it, stored as it is; without it, `update.to_dict()`."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or user.is_bot or chat.type != ChatType.PRIVATE:
        return None
    if update.callback_query is not None:
        kind = "callback"
    elif update.edited_message is not None:
        kind = "edited"
    elif update.message is not None:
        kind = "message"
    else:
        kind = "other"
    payload = data if data is not None else update.to_dict()
    return Incoming(update.update_id, "telegram", str(user.id), chat.id, kind, payload)


def seen_only(update: Update) -> Incoming:
    """The inbox entry for an update we only note as seen (groups, other kinds): done at
    once, nothing of it kept but its id, so webhook replicas see no gap (storage/inbox.py)."""
    chat = update.effective_chat
    owner = f"chat:{chat.id}" if chat is not None else "none"
    return Incoming(
        update.update_id, "telegram", owner, chat.id if chat else None, "other", {}, done=True
    )


# --- building the Application ---------------------------------------------------------------


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
    from bot.intake import Intake  # bot/intake.py reads updates with this module's functions

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
    builder = builder.request(
        request or startup.bot_api_request(SEND_CONNECTIONS, pool_timeout=None)
    )
    updates_request = updates_request or startup.bot_api_request(POLL_CONNECTIONS)
    raw_updates = RawUpdates(updates_request)
    builder = builder.get_updates_request(updates_request)
    app = builder.build()
    app.bot_data["raw_updates"] = raw_updates
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
