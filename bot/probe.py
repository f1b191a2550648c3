"""Did a reply arrive before the crash? Look before sending it again.

The Bot API has no idempotency key and no way to read a chat, so a process killed after
Telegram took a message but before the sent journal recorded it (storage/sent_journal.py)
used to send that reply twice after the restart. Now every send is noted (the message id
Telegram gave, storage/message_log.py) and, before a reply that may need it goes, so is
the newest message id known in its chat. A restarted process that finds a reply with an
attempt but no "sent" looks at the chat's messages after that id: it asks Telegram to
edit each into exactly the reply's text and buttons. "Message is not modified" can only
mean the message is already exactly that reply: it arrived, and is not sent again.
"Message can't be edited" is the person's own message; "not found", an id with nothing
(yet) in this chat. After PROBE_SPAN ids without the reply, it is sent as usual.

Why this is safe: every message this bot sends, however it is sent, is noted with its id
the moment Telegram answers (`NotingLimiter`), and those ids are never looked at. A chat's
replies go one at a time (bot/sender.py), so the only message of the bot in that chat
that was never noted is the reply the crash interrupted: an edit can't land on another. It
relies on Telegram giving a chat's messages increasing ids (documented as unique per chat;
in practice increasing). Where ids leave gaps wider than PROBE_SPAN, or the newest id of
the chat was not known before the send (the first reply to a chat after a restart that no
message of theirs preceded), the reply is sent again, as before: a duplicate is still
possible there, never a loss.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import AIORateLimiter, BaseRateLimiter

from bot.split import MESSAGE_LIMIT, split_html
from storage.message_log import MessageLog

if TYPE_CHECKING:
    from bot.sender import Outgoing  # bot/sender.py imports this module

log = logging.getLogger("bridges.probe")

PROBE_SPAN = 12  # message ids looked at after the newest known one
CHATS_REMEMBERED = 100_000  # newest ids kept in memory (an unknown chat is never probed)
OURS_KEPT = 64  # ids of our own recent messages kept per chat: never looked at
ROTATE_EVERY = timedelta(minutes=5)  # the message log's generations
SENDS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "copyMessage"})

NOT_FOUND_RUN = 3  # "not found" this many ids in a row: past the chat's newest message
# The outbox row being sent by this task, and its chat: set by the sender around a send,
# read by the rate limiter just before the request leaves.
SENDING: ContextVar[tuple[int, int] | None] = ContextVar("bridges_sending", default=None)


class Probe:
    """The newest message id of each chat, the log of sends, and the look after a restart."""

    def __init__(self, message_log: MessageLog | None) -> None:
        self.log = message_log
        self._newest: OrderedDict[int, int] = OrderedDict()
        self._ours: dict[int, deque[int]] = {}
        self._unkept: dict[int, int] = {}  # newest ids not yet written to the database
        self._attempted: dict[int, tuple[int, int]] = {}
        self._rotated_at: datetime | None = None
        if message_log is not None:
            try:
                seen = message_log.read()
            except OSError as err:
                log.warning("message log unreadable (%s)", type(err).__name__)
            else:
                self._attempted = seen.attempts
                for chat_id, message_id in seen.newest.items():
                    self.saw(chat_id, message_id)
                for chat_id, ids in seen.ours.items():
                    self._ours[chat_id] = deque(ids, maxlen=OURS_KEPT)

    def saw(self, chat_id: int, message_id: int) -> None:
        """A message exists in `chat_id` with this id (theirs, or ours)."""
        if message_id > self._newest.get(chat_id, 0):
            self._newest[chat_id] = message_id
            self._unkept[chat_id] = message_id
        if chat_id in self._newest:
            self._newest.move_to_end(chat_id)
        while len(self._newest) > CHATS_REMEMBERED:
            gone, _ = self._newest.popitem(last=False)
            self._ours.pop(gone, None)

    def take_unkept(self) -> dict[int, int]:
        """Newest ids learnt since the last call (chat id -> message id), for the database
        (storage/chat_ids.py); give them back with `give_back` if writing fails."""
        taken, self._unkept = self._unkept, {}
        return taken

    def give_back(self, unkept: dict[int, int]) -> None:
        """Put back what `take_unkept` returned (chat id -> newest message id) when it could
        not be written, keeping any newer id noted meanwhile."""
        for chat_id, message_id in unkept.items():
            if message_id > self._unkept.get(chat_id, 0):
                self._unkept[chat_id] = message_id

    def newest(self, chat_id: int) -> int | None:
        """The highest message id known in `chat_id`, or None."""
        return self._newest.get(chat_id)

    def sent(self, chat_id: int, message_id: int) -> None:
        """Telegram answered a send of ours with this message id: noted and logged."""
        self.saw(chat_id, message_id)
        self._ours.setdefault(chat_id, deque(maxlen=OURS_KEPT)).append(message_id)
        self._write(lambda m: m.went(0, chat_id, message_id))

    def ours(self, chat_id: int) -> frozenset[int]:
        """Ids of this bot's recent messages in `chat_id` that Telegram confirmed."""
        return frozenset(self._ours.get(chat_id, ()))

    def before_send(self, row_id: int, chat_id: int) -> None:
        """Row `row_id` is about to go: note the chat's newest id, if we know it."""
        newest = self._newest.get(chat_id)
        if newest:
            self._write(lambda m: m.attempt(row_id, chat_id, newest))

    def left_attempt(self, row_id: int) -> int | None:
        """The newest id known when an earlier process began sending this row (once)."""
        found = self._attempted.pop(row_id, None)
        return found[1] if found else None

    def rotate(self, now: datetime) -> None:
        """Start a new generation of the log every ROTATE_EVERY (maintenance calls this)."""
        if self._rotated_at is None:
            self._rotated_at = now
        elif now - self._rotated_at >= ROTATE_EVERY:
            self._rotated_at = now
            self._write(lambda m: m.rotate())
            self._attempted.clear()  # their rows were sent or retried long ago

    def _write(self, action: Callable[[MessageLog], None]) -> None:
        if self.log is None:
            return
        try:
            action(self.log)
        except OSError as err:  # then a crash may resend one reply, as before
            log.warning("message log failed (%s)", type(err).__name__)


def probe_able(out: Outgoing, tapped: int | None) -> bool:
    """A reply sent as one plain text message (no file, photo or edit in place)."""
    if out.document or out.photo or (out.edit and tapped is not None) or not out.text:
        return False
    return len(split_html(out.text, MESSAGE_LIMIT)) == 1


async def arrived(
    bot: Bot, chat_id: int, out: Outgoing, markup: Any, after: int, ours: frozenset[int]
) -> bool:
    """Whether the reply `out` is already in the chat, after message id `after`; ids in
    `ours` (messages of ours Telegram confirmed, e.g. a newer reply sent meanwhile) are
    never touched.

    Raises nothing: a network error means "don't know", and the reply is sent again."""
    from bot.sender import NO_PREVIEW  # bot/sender.py imports this module

    inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
    not_found = 0
    for message_id in range(after + 1, after + 1 + PROBE_SPAN):
        if message_id in ours:
            not_found = 0
            continue
        try:
            await bot.edit_message_text(
                out.text, chat_id, message_id, parse_mode=ParseMode.HTML,
                reply_markup=inline, link_preview_options=NO_PREVIEW,
            )  # fmt: skip
        except BadRequest as err:
            reason = str(err).lower()
            if "not modified" in reason:
                return True
            # Their message ("can't be edited"), or nothing there ("not found"): a few of
            # those in a row and we are past the chat's newest message.
            not_found = not_found + 1 if "not found" in reason else 0
            if not_found >= NOT_FOUND_RUN:
                return False
            continue
        except TelegramError as err:
            log.warning("could not look for a sent reply (%s)", type(err).__name__)
            return False
        # Edited: by the reasoning above only the reply itself can be there, so it had
        # arrived (only its buttons or keyboard differed).
        log.warning("a sent reply was found by editing it")
        return True
    return False


class _Noting:
    """Logs a reply's attempt the moment its request leaves (after any rate-limit wait, so
    replies still queued in the limiter at a crash are not looked for), and notes the chat
    and message id of every message Telegram says it took."""

    probe: Callable[[], Probe] | None = None

    def before(self, endpoint: str) -> None:
        sending = SENDING.get()
        if self.probe is not None and sending is not None and endpoint == "sendMessage":
            self.probe().before_send(*sending)

    def note(self, endpoint: str, result: Any) -> None:
        if self.probe is None or endpoint not in SENDS or not isinstance(result, dict):
            return
        chat = result.get("chat")
        message_id = result.get("message_id")
        if (
            isinstance(chat, dict)
            and isinstance(chat.get("id"), int)
            and isinstance(message_id, int)
        ):
            self.probe().sent(chat["id"], message_id)

    def wrap(
        self, endpoint: str, callback: Callable[..., Coroutine[Any, Any, Any]]
    ) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self.call(endpoint, callback, args, kwargs)

        return call

    async def call(
        self,
        endpoint: str,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> Any:
        """`callback(*args, **kwargs)`, the Bot API call, noted before and after."""
        self.before(endpoint)
        result = await callback(*args, **kwargs)
        self.note(endpoint, result)
        return result


class NotingLimiter(_Noting, BaseRateLimiter[dict[str, Any]]):
    """No rate limit, only noting (tests that run without AIORateLimiter)."""

    async def initialize(self) -> None:
        """Nothing to set up."""
        return None

    async def shutdown(self) -> None:
        """Nothing to close."""
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> Any:
        """Make the Bot API call at once, noting it (PTB's BaseRateLimiter interface)."""
        return await self.call(endpoint, callback, args, kwargs)


class NotingRateLimiter(_Noting, AIORateLimiter):
    """python-telegram-bot's AIORateLimiter, noting each send's message id as well."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Any:
        """Make the Bot API call when AIORateLimiter lets it go, noting it; raises what the
        call raises."""
        return await super().process_request(
            self.wrap(endpoint, callback), args, kwargs, endpoint, data, rate_limit_args
        )
