"""A reply's way out: rendered in the turn, queued in the outbox, sent per chat in order.

1. Rendering (`render`): the dialog manager's replies become text (Telegram HTML, from the
   Jinja2 templates in prompts/<locale>/) and buttons any adapter can show; a chart is
   drawn here (bot/chart.py). The turn writes them to the outbox as JSON
   (`outgoing_to_json`), in its own transaction.
2. The sender (`Sender`): each chat's committed rows, in order, retried, never stuck on
   one (below).
3. One reply to Telegram (`send_one`): keyboards, links, long texts split (bot/split.py),
   edits in place.

The sender:

Rows come from turns and the sweep (storage/outbox.py), already committed. One
asyncio task per chat with something to send takes that chat's rows in `id`
order, so one person's slow or failing chat never holds up anyone else's: a
429 `retry_after` or a 502 waits in that chat's task only.

What each Bot API error means here (python-telegram-bot's telegram.error):

- Forbidden: they blocked the bot. Their queue is dropped and they are marked
  inactive until they write again.
- RetryAfter: wait as long as Telegram says, for this chat only, then retry.
- BadRequest: permanent for this message (e.g. a file Telegram refuses). A file
  that fails gets an honest note instead; any other message is given up. Either
  way the chat's next messages still go.
- TimedOut: ambiguous, the request may have arrived. A reply is retried once; a
  check-in, nudge or follow-up never (a second copy would be worse than none).
- Other NetworkError (a 502, a dropped connection): transient, retried with
  backoff for up to RETRY_FOR.

A reply given up after all that marks the person `undelivered`: their next
message shows the current question again before taking anything as its answer
(bot/intake.py), so nobody answers a question they never saw.
"""

from __future__ import annotations

import asyncio
import base64
import html
import logging
import re
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.db_work import Coalescer, DbWork
from bot.probe import SENDING, Probe, arrived, probe_able
from bot.split import MESSAGE_LIMIT, split_caption, split_html
from dialogs.model import Button, Keyboard, Reply
from prompts import Catalog
from storage import chat_ids, outbox
from storage.outbox import Pending
from storage.schedule_store import mark_inactive_person
from storage.sent_journal import SentJournal

log = logging.getLogger("bridges.sender")
Clock = Callable[[], datetime]


# --- rendering: the dialog manager's replies as text and buttons ----------------------------------


@dataclass(frozen=True)
class OutButton:
    """A button ready to show: its label, and either callback data or a URL to open."""

    label: str
    data: str = ""  # callback data, or
    url: str | None = None  # a link to open


@dataclass(frozen=True)
class Outgoing:
    """One rendered reply: Telegram HTML text with its buttons or keyboard, and at most one
    of a photo (file id), a file (name, bytes) or a drawn picture (name, PNG bytes), the
    text then being its caption. `edit`: it replaces the message whose button was tapped.
    """

    text: str  # Telegram HTML
    buttons: tuple[tuple[OutButton, ...], ...] = ()
    keyboard: Keyboard = None
    edit: bool = False  # replace the message whose button was tapped
    photo: str | None = None  # a photo's file id; the text is then its caption
    document: tuple[str, bytes] | None = None  # a file (name, bytes); the text is its caption
    image: tuple[str, bytes] | None = None  # a drawn picture (name, PNG bytes) sent as a photo
    locale: str = "en"  # the person's language: a reply keyboard's labels are said in it

    @property
    def plain(self) -> str:
        """The text without tags or entities, as the terminal shows it."""
        return html_to_plain(self.text)


def render(catalog: Catalog, locale: str, replies: list[Reply]) -> list[Outgoing]:
    """The replies in `locale`: text rendered, labels looked up, charts drawn (PNG)."""
    out = []
    for reply in replies:
        rows = tuple(tuple(_button(catalog, locale, b) for b in row) for row in reply.buttons)
        text = catalog.render(locale, reply.template, reply.ctx)
        image = _chart(catalog, locale, reply.chart) if reply.chart else None
        out.append(
            Outgoing(
                text,
                rows,
                reply.keyboard,
                reply.edit,
                reply.photo,
                reply.document,
                image,
                locale,
            )
        )
    return out


CHART_NAME = "bridges-mood-chart.png"


def _chart(catalog: Catalog, locale: str, chart: dict[str, Any]) -> tuple[str, bytes]:
    """A chart reply's picture. bot.chart is imported here, only when a chart is drawn:
    matplotlib costs start-up time and memory that a turn without a chart never needs."""
    from datetime import date

    from bot import chart as drawing

    days = [(date.fromisoformat(str(day)), mood) for day, mood in chart.get("days") or []]
    return CHART_NAME, drawing.draw_mood_chart(days, drawing.chart_words(catalog, locale))


def _button(catalog: Catalog, locale: str, button: Button) -> OutButton:
    label = catalog.label(locale, button.label, dict(button.ctx))
    if button.checked:
        label = catalog.label(locale, "common.checked", {"label": label})
    return OutButton(label, button.data, button.url)


_TAG = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    """Telegram HTML as plain text: tags removed, entities such as &amp; decoded."""
    return html.unescape(_TAG.sub("", text))


def outgoing_to_json(out: Outgoing, tapped: int | None = None) -> dict[str, Any]:
    """An Outgoing as plain JSON for the outbox (storage/outbox.py); `tapped` is the id of
    the message whose button was tapped, which an `edit` reply replaces."""
    data: dict[str, Any] = {"text": out.text}
    if out.buttons:
        data["buttons"] = [
            [{"label": b.label, "data": b.data, "url": b.url} for b in row] for row in out.buttons
        ]
    if out.keyboard:
        data["keyboard"] = out.keyboard
    if out.locale != "en":  # for a reply keyboard's labels and a note about a failed send
        data["locale"] = out.locale
    if out.edit and tapped is not None:
        data["edit"] = tapped
    if out.photo:
        data["photo"] = out.photo
    for key, file in (("document", out.document), ("image", out.image)):
        if file:
            name, content = file
            data[key] = {"name": name, "content": base64.b64encode(content).decode("ascii")}
    return data


def outgoing_from_json(data: dict[str, Any]) -> tuple[Outgoing, int | None]:
    """The Outgoing and the tapped message id that `outgoing_to_json` stored."""
    buttons = tuple(
        tuple(OutButton(b["label"], b.get("data") or "", b.get("url")) for b in row)
        for row in data.get("buttons") or ()
    )
    doc, image = (
        (file["name"], base64.b64decode(file["content"])) if (file := data.get(key)) else None
        for key in ("document", "image")
    )
    tapped = data.get("edit")
    out = Outgoing(
        data["text"],
        buttons,
        data.get("keyboard"),
        tapped is not None,
        data.get("photo"),
        doc,
        image,
        str(data.get("locale") or "en"),  # rows queued before it was kept: English
    )
    return out, tapped


# --- the sender: each chat's rows in order ------------------------------------------------

RETRY_FOR = timedelta(minutes=2)  # transient errors are retried this long, then given up
FIRST_BACKOFF = 0.5  # seconds, doubled after each failed attempt...
# ...up to this: someone is waiting for the reply, so after an outage it should come
# within seconds of Telegram being back (measured: 15 s made replies ~10 s late).
MAX_BACKOFF = 5.0
# Only this many chats send at once (the rate limiter paces them further); more wait.
PARALLEL_CHATS = 64
FINISHED_MEMORY = 10_000  # ids of rows sent here, remembered to skip needless order checks
# A reply named in the sent journal needs no prompt delete: were the process to die first,
# recovery would find its id in the journal and delete the row unsent (storage/
# sent_journal.py). So those deletes wait this long (seconds) and go together, one
# transaction for every reply sent meanwhile instead of one per reply: at half of
# bench/turns.py's saturating rate that was ~0.3 ms of CPU per turn (issue 15). Without a
# journal (an in-memory database) each delete is still made at once.
SENT_DELETE_DELAY = 0.25
OLDER_POLL = 0.02  # seconds between looks while another process sends older replies
OLDER_WAIT = 45.0  # at most this long (more than outbox.LEASE)
MIN_LIMIT = 512  # "message is too long" halves the split size down to this, then gives up
# A check-in, nudge or follow-up is never sent twice on an ambiguous timeout.
NEVER_TWICE = frozenset({"checkin", "nudge", "followup"})


DEFERRED = object()  # _deliver's answer when an older reply of the chat must go first


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC (the sender's default clock)."""
    return datetime.now(UTC)


class Sender:
    """Sends outbox rows per chat, in order. `enqueue` never blocks; `settled` waits."""

    def __init__(
        self,
        bot: Bot,
        catalog: Catalog,
        engine: Engine,
        clock: Clock = utc_now,
        retry_for: timedelta = RETRY_FOR,
        first_backoff: float = FIRST_BACKOFF,
        db: DbWork | None = None,
        journal: SentJournal | None = None,
        probe: Probe | None = None,
    ) -> None:
        # Share the bot's DbWork (Bridges.db): on SQLite a second one would be a second
        # writer thread contending for the lock.
        self.db = db or DbWork(engine)
        # SQLite: "sent" is written here the instant Telegram answers (no lock to wait
        # for); the row's delete follows (storage/sent_journal.py).
        self.journal = journal
        # Rows' deletes once sent, one transaction for every row that became sent while
        # the last one ran (storage/outbox.py `sent`).
        self._sent: Coalescer[None] = Coalescer(
            self.db, lambda ids: outbox.sent(self.engine, ids), inline=True
        )
        # Message ids noted per chat, so a restart can look before resending (bot/probe.py).
        self.probe = probe or Probe(None)
        self.bot = bot
        self.catalog = catalog
        self.engine = engine
        self.clock = clock
        self.retry_for = retry_for
        self.first_backoff = first_backoff
        self._queues: dict[int, deque[Pending]] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._waiters: dict[int, asyncio.Future[None]] = {}
        self._known: set[int] = set()  # row ids queued or being sent here
        self._finished: OrderedDict[int, None] = OrderedDict()  # recently sent here
        self._slots = asyncio.Semaphore(PARALLEL_CHATS)
        self._to_delete: list[int] = []  # journaled ids whose rows are deleted soon
        self._deleting: asyncio.Task[None] | None = None  # the delete SENT_DELETE_DELAY away

    def enqueue(self, items: Iterable[Pending]) -> None:
        """Queue committed rows for sending (each row once, however often it is given)."""
        for item in items:
            if item.id in self._known:
                continue
            self._known.add(item.id)
            queue = self._queues.setdefault(item.chat_id, deque())
            # In row order, so a reply a crash left goes before newer ones queued first;
            # never before the head while the chat's task may be sending it.
            first = 1 if item.chat_id in self._tasks and queue else 0
            at = len(queue)
            while at > first and queue[at - 1].id > item.id:
                at -= 1
            queue.insert(at, item)
            if item.chat_id not in self._tasks:
                task = asyncio.get_running_loop().create_task(self._run_chat(item.chat_id))
                self._tasks[item.chat_id] = task

    async def settled(self, items: Iterable[Pending]) -> None:
        """Wait until each of `items` was sent or given up."""
        futures = []
        for item in items:
            if item.id not in self._known:
                continue
            future = self._waiters.get(item.id)
            if future is None:
                future = asyncio.get_running_loop().create_future()
                self._waiters[item.id] = future
            futures.append(future)
        if futures:
            await asyncio.gather(*futures)

    async def idle(self) -> None:
        """Wait until every chat's queue is empty and the rows sent are deleted (shutdown,
        tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        await self._flush_deletes_logged()

    def queued_ids(self) -> list[int]:
        """Ids of the rows queued or being sent here (their claims are renewed)."""
        return sorted(self._known)

    @property
    def busy_chats(self) -> int:
        """How many chats have a sending task right now (their queues are not empty)."""
        return len(self._tasks)

    async def _run_chat(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            async with self._slots:
                while queue:
                    item = queue[0]
                    try:
                        if await self._deliver(item) is DEFERRED:
                            # An older reply of this chat was queued while this one waited
                            # for it (a crash's, taken over): the older goes first.
                            ordered = sorted(queue, key=lambda p: p.id)
                            queue.clear()
                            queue.extend(ordered)
                            continue
                    except Exception as err:  # a bug must not stop the chat's queue
                        log.error("sending failed with %s", type(err).__name__)
                    queue.popleft()
                    self._finish(item)
        finally:
            del self._tasks[chat_id]
            if queue:  # enqueued while we were finishing
                self._tasks[chat_id] = asyncio.get_running_loop().create_task(
                    self._run_chat(chat_id)
                )
            else:
                self._queues.pop(chat_id, None)

    def _finish(self, item: Pending) -> None:
        self._known.discard(item.id)
        self._finished[item.id] = None
        while len(self._finished) > FINISHED_MEMORY:
            self._finished.popitem(last=False)
        future = self._waiters.pop(item.id, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def _deliver(self, item: Pending) -> object:  # DEFERRED or None
        """Send one row (or give it up); DEFERRED if an older row of the chat must go first."""
        if any(i not in self._known and i not in self._finished for i in item.after_older):
            # Not all ours: another process may still be sending this chat's older replies.
            await self._wait_for_older(item)
            if any(p.id < item.id for p in self._queues.get(item.chat_id, ())):
                return DEFERRED
        out, tapped = outgoing_from_json(item.payload)
        single = probe_able(out, tapped)
        after = self.probe.left_attempt(item.id)
        if single and self.probe.newest(item.chat_id) is None:
            # Someone we have not heard from since the start (a check-in): their chat's
            # newest id as last kept, so a crash during this send can be looked into.
            kept = await self.db.run(chat_ids.newest, self.engine, item.external_id)
            if kept:
                self.probe.saw(item.chat_id, kept)
        if single and after and await self._arrived(item, out, after):
            await self._accepted(item)
            return None
        started = self.clock()
        attempts, parts_sent, ambiguous = item.attempts, 0, False
        delay, limit = self.first_backoff, MESSAGE_LIMIT
        while True:
            attempts += 1
            # The rate limiter logs the attempt as the request leaves (bot/probe.py).
            sending = SENDING.set((item.id, item.chat_id) if single else None)
            try:
                await send_one(self.bot, self.catalog, item.chat_id, out, tapped, parts_sent, limit)
                await self._accepted(item)
                return None
            except TelegramError as err:
                parts_sent = max(parts_sent, getattr(err, "parts_sent", 0))
                error = err
            finally:
                SENDING.reset(sending)
            if _too_long(error) and parts_sent == 0 and limit > MIN_LIMIT:
                # Telegram counted longer than we did (its count is not documented):
                # split into smaller parts and try again at once.
                limit //= 2
                continue
            verdict = self._verdict(item, error, ambiguous)
            log.warning("send failed (%s, attempt %d): %s", type(error).__name__, attempts, verdict)
            if verdict == "blocked":
                await self._blocked(item)
                return None
            if verdict == "accepted":  # an ambiguous timeout we must not repeat
                await self._accepted(item)
                return None
            if verdict == "refused":
                await self._refused(item, out)
                return None
            ambiguous = ambiguous or isinstance(error, TimedOut)
            wait = delay
            if isinstance(error, RetryAfter):
                # The timedelta PTB keeps (its int `retry_after` is deprecated in v22.2).
                wait = _seconds(getattr(error, "_retry_after", 1)) + 0.1
            else:
                delay = min(delay * 2, MAX_BACKOFF)
            if self.clock() + timedelta(seconds=wait) - started > self.retry_for:
                await self._give_up(item)
                return None
            until = self.clock() + timedelta(seconds=wait)
            await self.db.run(outbox.hold, self.engine, item.id, until, attempts)
            await asyncio.sleep(wait)

    async def _arrived(self, item: Pending, out: Outgoing, after: int) -> bool:
        """An earlier process began sending this reply and died: is it in the chat?"""
        found = await arrived(
            self.bot, item.chat_id, out, markup(self.catalog, out), after,
            self.probe.ours(item.chat_id),
        )  # fmt: skip
        log.warning("reply left by a crash: %s", "already there" if found else "sent now")
        return found

    async def _wait_for_older(self, item: Pending) -> None:
        """Let another process send this chat's older replies first (two replicas may
        run one person's consecutive turns). Bounded: if that process died, its rows are
        taken over once their claim passes, and this one goes anyway after OLDER_WAIT."""
        waited = 0.0
        while waited < OLDER_WAIT:
            older = await self.db.run(outbox.older_unsent, self.engine, item.chat_id, item.id)
            # Rows sent here may wait a moment for their delete (SENT_DELETE_DELAY).
            if not [i for i in older if i not in self._known and i not in self._finished]:
                return
            await asyncio.sleep(OLDER_POLL)
            waited += OLDER_POLL
        log.warning("sent a reply before an older one another process still holds")

    @staticmethod
    def _verdict(item: Pending, error: TelegramError, ambiguous: bool) -> str:
        """ "blocked", "accepted", "refused" or "retry" for one failed attempt."""
        if isinstance(error, Forbidden):
            return "blocked"
        if isinstance(error, RetryAfter):
            return "retry"
        if isinstance(error, BadRequest):
            return "refused"
        if isinstance(error, TimedOut):
            if item.origin in NEVER_TWICE or ambiguous:
                return "accepted"
            return "retry"
        if isinstance(error, NetworkError):
            return "retry"
        return "refused"  # InvalidToken, Conflict...: retrying would not help

    async def _accepted(self, item: Pending) -> None:
        """Telegram took `item`: journal it, then delete its row (soon, if journaled)."""
        if self._journal(item):
            self._to_delete.append(item.id)
            if self._deleting is None:
                self._deleting = asyncio.get_running_loop().create_task(self._delete_later())
        else:
            await self._done(item)

    def _journal(self, item: Pending) -> bool:
        """Whether `item`'s id is now in the sent journal."""
        if self.journal is None:
            return False
        try:
            self.journal.add(item.id)
        except OSError as err:  # the delete that follows still marks it
            log.warning("sent journal failed (%s)", type(err).__name__)
            return False
        return True

    async def _delete_later(self) -> None:
        try:
            await asyncio.sleep(SENT_DELETE_DELAY)
        finally:
            self._deleting = None
        await self._flush_deletes_logged()

    async def _flush_deletes_logged(self) -> None:
        try:
            await self.flush_deletes()
        except Exception as err:  # still in the journal: recovery or maintenance deletes them
            log.warning("deleting sent rows failed (%s)", type(err).__name__)

    async def flush_deletes(self) -> None:
        """Delete now the rows of replies sent and journaled, and wait for any such delete
        already under way (idle, shutdown). Raises what the delete raised."""
        if self._deleting is not None:
            self._deleting.cancel()  # its ids are taken here, or already being written
            self._deleting = None
        ids, self._to_delete = self._to_delete, []
        await self._sent.add(ids)  # queued after a write under way: done once it is

    async def _done(self, item: Pending) -> None:
        await self._sent.add([item.id])

    async def _blocked(self, item: Pending) -> None:
        # Nothing more can reach them until they write again: drop what waits behind it
        # (the item itself is popped by the chat's loop).
        queue = self._queues.get(item.chat_id)
        while queue is not None and len(queue) > 1:
            self._finish(queue.pop())
        await self.db.run(outbox.drop_chat, self.engine, item.chat_id)
        await self.db.run(mark_inactive_person, self.engine, "telegram", item.external_id)

    async def _refused(self, item: Pending, out: Outgoing) -> None:
        if out.document is not None or out.image is not None:
            # Say honestly what happened and what to try; the replies after it still go.
            note = self.catalog.render(
                out.locale, "common/document_failed", {"chart": out.image is not None}
            )
            try:
                await self.bot.send_message(item.chat_id, note, parse_mode="HTML")
            except TelegramError as err:
                log.warning("could not send the file note: %s", type(err).__name__)
            await self._done(item)
            return
        await self._give_up(item)

    async def _give_up(self, item: Pending) -> None:
        if item.payload.get("safety"):
            # Help must not be what is lost: the crisis reply that needs no state instead.
            locale = str(item.payload.get("locale") or "en")
            note = self.catalog.render(locale, "common/crisis_fallback")
            try:
                await self.bot.send_message(item.chat_id, note, parse_mode="HTML")
            except TelegramError as err:
                log.warning("could not send the crisis fallback: %s", type(err).__name__)
        await self._sent.add([item.id])
        if item.origin != "notice":
            await self.db.run(
                outbox.undelivered, self.engine, "telegram", item.external_id, self.clock()
            )


def _too_long(error: TelegramError) -> bool:
    return isinstance(error, BadRequest) and "too long" in str(error).lower()


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# --- one reply to Telegram ----------------------------------------------------------------

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _inline(button: OutButton) -> InlineKeyboardButton:
    if button.url:
        return InlineKeyboardButton(button.label, url=button.url)
    return InlineKeyboardButton(button.label, callback_data=button.data)


# Inline keyboards already built, by their buttons: the same few keyboards (a question's
# answers, the menu) go to everyone, and building PTB's objects was ~1% of the event loop's
# time. PTB's objects are immutable once built, so one can go with many sends at once.
INLINE_KEPT = 512
_inline_markups: OrderedDict[tuple[tuple[OutButton, ...], ...], InlineKeyboardMarkup] = (
    OrderedDict()
)


def _inline_markup(rows: tuple[tuple[OutButton, ...], ...]) -> InlineKeyboardMarkup:
    built = _inline_markups.get(rows)
    if built is None:
        built = InlineKeyboardMarkup([[_inline(b) for b in row] for row in rows])
        _inline_markups[rows] = built
        if len(_inline_markups) > INLINE_KEPT:
            _inline_markups.popitem(last=False)
    return built


def markup(catalog: Catalog, out: Outgoing) -> ReplyMarkup:
    """The reply's Telegram keyboard: its inline buttons, else the location, main or removing
    reply keyboard it asks for, else None. Labels come from `catalog` in `out.locale`.
    """
    locale = out.locale
    if out.buttons:
        return _inline_markup(out.buttons)
    if out.keyboard == "location":
        label = catalog.label(locale, "common.share_location")
        return ReplyKeyboardMarkup(
            [[KeyboardButton(label, request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if out.keyboard == "main":
        # Always one tap away: "Need a quick chat?" first, the menu second.
        return ReplyKeyboardMarkup(
            [[catalog.label(locale, "keyboard.sos")], [catalog.label(locale, "keyboard.menu")]],
            resize_keyboard=True,
            is_persistent=True,
        )
    if out.keyboard == "remove":
        return ReplyKeyboardRemove()
    return None


async def send_all(
    bot: Bot, catalog: Catalog, chat_id: int, messages: list[Outgoing], tapped: int | None
) -> None:
    """Send the replies in order, now, without the outbox (tests and one-off notices).
    Raises the first telegram.error the Bot API gives."""
    for out in messages:
        await send_one(bot, catalog, chat_id, out, tapped)


async def send_one(
    bot: Bot,
    catalog: Catalog,
    chat_id: int,
    out: Outgoing,
    tapped: int | None = None,
    done: int = 0,
    limit: int = MESSAGE_LIMIT,
) -> int:
    """Send one rendered reply as one or more Telegram messages; return how many parts went.

    A text longer than Telegram's limit (`limit`, counted in UTF-16 code units after
    HTML parsing, bot/split.py) goes as several messages split at paragraph or line
    breaks, the keyboard on the last; a photo's or file's caption over 1,024 likewise
    continues in messages after it. One marked `edit` replaces the tapped message
    when it fits in one. `done`: parts already sent by an earlier attempt, skipped.
    Raises telegram.error.* from the Bot API; the parts sent before are then counted
    in the exception's `parts_sent` attribute (set here).
    """
    reply_markup = markup(catalog, out)
    sent = 0
    try:
        if out.document or out.photo or out.image:
            caption, rest = split_caption(out.text) if out.text else ("", [])
            last = not rest
            if done <= sent:
                await _send_media(bot, chat_id, out, caption, reply_markup if last else None)
            sent += 1
            parts = rest
        else:
            parts = split_html(out.text, limit) if out.text else [out.text]
            editable = len(parts) == 1 and out.edit and tapped is not None and done == 0
            if editable and not isinstance(reply_markup, ReplyKeyboardMarkup):
                assert tapped is not None
                if await _edit(bot, chat_id, tapped, out, reply_markup):
                    return 1
        for i, part in enumerate(parts):
            if done <= sent:
                await bot.send_message(
                    chat_id,
                    part,
                    parse_mode=ParseMode.HTML,
                    reply_markup=reply_markup if i == len(parts) - 1 else None,
                    link_preview_options=NO_PREVIEW,
                )
            sent += 1
    except TelegramError as err:
        err.parts_sent = max(sent, done)  # type: ignore[attr-defined]
        raise
    return sent


async def _send_media(
    bot: Bot, chat_id: int, out: Outgoing, caption: str, reply_markup: ReplyMarkup
) -> None:
    if out.document:
        # Their data export: a file, with the text as its caption.
        name, content = out.document
        await bot.send_document(
            chat_id, InputFile(content, filename=name), caption or None,
            parse_mode=ParseMode.HTML, reply_markup=reply_markup,
        )  # fmt: skip
        return
    # A drawn chart (uploaded), or a kit photo sent back by Telegram's file id; the text
    # is its caption.
    photo: InputFile | str
    if out.image:
        photo = InputFile(out.image[1], filename=out.image[0])
    else:
        assert out.photo is not None  # the caller sends media only with one of the three
        photo = out.photo
    await bot.send_photo(
        chat_id, photo, caption or None, parse_mode=ParseMode.HTML, reply_markup=reply_markup
    )


async def _edit(bot: Bot, chat_id: int, message_id: int, out: Outgoing, reply_markup: Any) -> bool:
    inline = reply_markup if isinstance(reply_markup, InlineKeyboardMarkup) else None
    try:
        await bot.edit_message_text(
            out.text,
            chat_id,
            message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=inline,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as err:
        # Unchanged is fine; too old or deleted means: send it as a new message.
        return "not modified" in str(err).lower()
    return True
