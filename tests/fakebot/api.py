"""FakeBotApi: an in-memory Telegram Bot API, independent of how requests reach it.

Thread-safety: the loopback server may run its own event loop in a background thread while
tests and drivers run on theirs, so every state change happens under one RLock and waiters are
woken through Signals (call_soon_threadsafe across loops).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Unpack

from tests.fakebot.faults import ApiError, LostReply, WireReply, make_fault
from tests.fakebot.methods import BotApiMethods, Reply, chat_key, update_chat_id
from tests.fakebot.models import Call, HistoryEntry, SentMessage, UploadedFile, UserAction
from tests.fakebot.params import as_int, decode_params
from tests.fakebot.transcript import delivery_label, describe_update
from tests.fakebot.updates import JSON, SenderOptions


class FakeBotApi(BotApiMethods):
    """In-memory Bot API. Answers methods by name (``handle``/``handle_async``), records every
    call, queues updates for getUpdates and offers queries/waits/update factories for tests.

    strict=True (default) mimics Telegram's 400s (bad HTML, empty/too long text, oversized
    callback_data, unknown callback query ids, "message is not modified") so bot bugs surface
    in tests instead of production.
    """

    # --- transport entry points -------------------------------------------------------------

    def handle(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
    ) -> Reply:
        """Answer one call without waiting (getUpdates behaves as timeout=0)."""
        decoded = decode_params(params)
        uploads = dict(files or {})
        name = method.lower()
        with self._lock:
            lost = None
            fault = self.faults.take_error(name, self._call_chat(name, decoded), self.clock())
            if fault is not None:  # never reached Telegram's servers: nothing is performed
                reply = fault.reply()  # not raised: an outage reuses one instance many times
            else:
                lost = self.faults.take_lost(name)
                try:
                    handler = self._handlers.get(name, self._acknowledge)
                    reply = (200, {"ok": True, "result": handler(decoded, uploads)})
                except ApiError as error:
                    reply = error.reply()
            error_code = None if reply[1]["ok"] else reply[0]
            if lost is not None:  # performed, but the answer is lost on its way back
                reply = (reply[0], WireReply(reply[1], lost=lost))
            call = Call(method, decoded, time.monotonic(), uploads, error_code, lost is not None)
            self.calls.append(call)
        return reply

    async def handle_async(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, UploadedFile] | None = None,
        abort: Callable[[], bool] | None = None,
    ) -> Reply:
        """Like handle, but long-polls getUpdates without blocking the event loop.

        A long poll ends early when updates arrive or abort() turns true (checked after
        wake_pollers()), which lets a server shut down without waiting for the timeout.
        """
        if method.lower() == "getupdates":
            offset, timeout = self._poll_args(params)

            def ready() -> bool:
                return self._poll_ready(offset) or (abort is not None and abort())

            await self.signals.wait_until("updates", ready, timeout)
        return self.handle(method, params, files)

    def wake_pollers(self) -> None:
        """Make pending long polls re-check their abort condition."""
        self.signals.fire("updates")

    # --- test controls ----------------------------------------------------------------------

    def push_update(self, update: JSON) -> JSON:
        """Queue an update for getUpdates (HTTP/polling mode) and log it in the chat history."""
        with self._lock:
            self.note_incoming(update)
            self._pending.append(update)
        self.signals.fire("updates")
        return update

    def note_incoming(self, update: JSON) -> None:
        """Log an update the test delivers itself (in-process mode) in the chat history."""
        chat_id = update_chat_id(update)
        if chat_id is None:
            return
        label = describe_update(update, self._button_label)
        with self._lock:
            self._chat(chat_id).history.append(UserAction(update, label))

    def fail_next(
        self,
        method: str,
        error_code: int = 403,
        description: str | None = None,
        retry_after: int | None = None,
        *,
        html: bool | None = None,
    ) -> None:
        """Make the next call of `method` fail like Telegram would (queued per method).

        description=None uses Telegram's wording for the code; 429 carries retry_after (1 s
        unless given); html=None answers 502/504 with nginx's HTML page, others with JSON.
        """
        fault = make_fault(error_code, description, retry_after, html)
        with self._lock:
            self.faults.next.setdefault(method.lower(), deque()).append(fault)
        self._fault_added(method)

    def fail_next_for_chat(
        self,
        method: str,
        chat_id: int,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next call of `method` for one chat fail; calls for other chats succeed.

        The chat is the call's chat_id, or for answerCallbackQuery the chat of the query's
        message. Queued per (method, chat), ahead of fail_next. Defaults as for fail_next.
        """
        fault = make_fault(error_code, description, retry_after)
        with self._lock:
            self.faults.next_for_chat.setdefault((method.lower(), chat_id), deque()).append(fault)

    def fail_for(
        self,
        method: str,
        seconds: float,
        error_code: int = 502,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        html: bool | None = None,
    ) -> None:
        """An outage: every call of `method` fails for `seconds` from now, then succeeds.

        method="*" covers every method except getUpdates (name getUpdates to fail polls).
        Time is self.clock() (time.monotonic unless replaced). The failing calls perform
        nothing. html=None answers 502/504 with nginx's HTML page (PTB: NetworkError
        "Bad Gateway (502). Parsing the server response ... failed"), others with JSON.
        description=None: Telegram's wording for the code ("Bad Gateway" for 502).
        A new outage for the same method replaces the previous one; seconds=0 ends it.
        """
        fault = make_fault(error_code, description, retry_after, html)
        with self._lock:
            self.faults.windows[method.lower()] = (self.clock() + seconds, fault)
        self._fault_added(method)

    def timeout_after_delivery(self, method: str, count: int = 1, *, drop: bool = False) -> None:
        """The next `count` calls of `method` are performed (a message is recorded and shown
        in the chat, as Telegram would) but the caller never gets the answer.

        drop=False: in-process raises telegram.error.TimedOut; over HTTP the server withholds
        the answer until the client gives up (its read timeout: PTB raises TimedOut) or 60 s
        pass (then it closes the connection). drop=True: the connection is closed without an
        answer (PTB raises NetworkError "httpx.RemoteProtocolError: Server disconnected
        without sending a response."), in-process too. method="*": any method but getUpdates.
        Only calls that get past injected failures count (a 502 never reached Telegram).
        """
        with self._lock:
            queue = self.faults.lost.setdefault(method.lower(), deque())
            queue.extend(LostReply(drop) for _ in range(count))

    def clear_faults(self) -> None:
        """Forget every queued failure, outage and pending lost reply."""
        with self._lock:
            self.faults.clear()

    def _fault_added(self, method: str) -> None:
        if method.lower() == "getupdates":
            self.signals.fire("updates")  # a pending long poll answers with the failure now

    def _call_chat(self, method: str, params: JSON) -> int | None:
        """The chat a call concerns, for per-chat failures (None: no chat, or @username)."""
        if method == "answercallbackquery":
            return self._queries.get(str(params.get("callback_query_id") or ""))
        return as_int(params.get("chat_id"))

    # --- queries ----------------------------------------------------------------------------

    def messages(self, chat_id: int, include_deleted: bool = False) -> list[SentMessage]:
        """Current version of every message the bot sent to the chat, oldest first."""
        with self._lock:
            state = self._chats.get(chat_id)
            found = list(state.messages.values()) if state else []
        return [m for m in found if include_deleted or not m.deleted]

    def deliveries(self, chat_id: int) -> list[SentMessage]:
        """Every message the bot sent to the chat, as first delivered (before edits), oldest
        first, including messages deleted since. A resend is a second delivery."""
        with self._lock:
            state = self._chats.get(chat_id)
            history = list(state.history) if state else []
        return [e for e in history if isinstance(e, SentMessage) and not e.edited and not e.deleted]

    def sent_texts(self, chat_id: int) -> list[str]:
        """What each delivery showed, in order: the visible text (HTML parsed), or for media
        and locations "[document report.txt, 12 bytes] caption" / "[location]"."""
        return [delivery_label(m) for m in self.deliveries(chat_id)]

    def duplicate_messages(self, chat_id: int) -> list[str]:
        """Deliveries that repeat the previous one with nothing from the user in between (one
        entry per extra copy, in order). [] means nothing was said twice in a row.

        Two updates the user sent back to back both come before the replies in the history,
        so two identical replies to them count as a repeat: assert on chats where that is
        not expected.
        """
        with self._lock:
            state = self._chats.get(chat_id)
            history = list(state.history) if state else []
        repeats: list[str] = []
        previous: str | None = None
        for entry in history:
            if isinstance(entry, UserAction):
                previous = None
            elif isinstance(entry, SentMessage) and not entry.edited and not entry.deleted:
                label = delivery_label(entry)
                if label == previous:
                    repeats.append(label)
                previous = label
        return repeats

    def last_message(self, chat_id: int) -> SentMessage | None:
        found = self.messages(chat_id)
        return found[-1] if found else None

    def history(self, chat_id: int, since: int = 0) -> list[HistoryEntry]:
        """What happened in the chat (user actions, bot messages/edits, answers), in order."""
        with self._lock:
            state = self._chats.get(chat_id)
            return state.history[since:] if state else []

    def activity(self, chat_id: int) -> int:
        with self._lock:
            state = self._chats.get(chat_id)
            return state.activity if state else 0

    def delivered(self, update_id: int, chat_id: int) -> bool:
        """Whether getUpdates has handed this update to the bot."""
        with self._lock:
            state = self._chats.get(chat_id)
            return bool(state and state.delivered_update_id >= update_id)

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._pending)

    @property
    def commands(self) -> list[JSON]:
        """Commands set for the default scope and no language."""
        return self.commands_for()

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        with self._lock:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    def unanswered_callback_queries(self) -> list[str]:
        with self._lock:
            answered = {a.callback_query_id for a in self.callback_answers}
            return [q for q in self._queries if q not in answered]

    def file_content(self, file_id: str) -> UploadedFile | None:
        entry = self._lookup_file(file_id)
        return entry[1] if entry else None

    def download(self, file_path: str) -> bytes | None:
        """Bytes for a getFile path (what PTB's File.download_* fetches)."""
        entry = self.file_content(file_path.rsplit("/", 1)[-1])
        return entry.content if entry else None

    # --- waiting (asyncio side; safe while the server thread mutates state) ------------------

    async def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least `count` messages to the chat in total."""
        ok = await self.signals.wait_until(
            chat_key(chat_id), lambda: len(self.messages(chat_id, True)) >= count, timeout
        )
        if not ok:
            got = len(self.messages(chat_id, True))
            raise TimeoutError(f"chat {chat_id}: expected {count} bot messages, got {got}")
        return self.messages(chat_id)

    async def wait_for(
        self, chat_id: int, predicate: Callable[[], bool], timeout: float | None
    ) -> bool:
        """Wait until predicate() holds; re-checked whenever something happens in the chat."""
        return await self.signals.wait_until(chat_key(chat_id), predicate, timeout)

    # --- update factories -------------------------------------------------------------------

    def make_text_update(self, user_id: int, text: str, **sender: Unpack[SenderOptions]) -> JSON:
        """A message; "/cmd args" gets a bot_command entity. Group chats: chat_type="group"."""
        return self._known(self.factory.text(user_id, text, **sender))

    def make_callback_update(
        self, user_id: int, data: str, message_id: int, **sender: Unpack[SenderOptions]
    ) -> JSON:
        update = self.factory.callback(user_id, data, message_id, **sender)
        with self._lock:
            self._queries[update["callback_query"]["id"]] = update_chat_id(update)
        return update

    def make_location_update(
        self, user_id: int, lat: float, lon: float, **sender: Unpack[SenderOptions]
    ) -> JSON:
        return self._known(self.factory.location(user_id, lat, lon, **sender))

    def make_sticker_update(
        self, user_id: int, emoji: str = "\N{THUMBS UP SIGN}", **sender: Unpack[SenderOptions]
    ) -> JSON:
        return self._known(self.factory.sticker(user_id, emoji, **sender))

    def make_photo_update(
        self, user_id: int, caption: str | None = None, **sender: Unpack[SenderOptions]
    ) -> JSON:
        return self._known(self.factory.photo(user_id, caption, **sender))

    def make_voice_update(
        self, user_id: int, duration: int = 3, **sender: Unpack[SenderOptions]
    ) -> JSON:
        return self._known(self.factory.voice(user_id, duration, **sender))

    def make_document_update(
        self,
        user_id: int,
        file_name: str = "notes.txt",
        content: bytes = b"hello from the user\n",
        mime_type: str = "text/plain",
        caption: str | None = None,
        **sender: Unpack[SenderOptions],
    ) -> JSON:
        update = self.factory.document(
            user_id, file_name, mime_type, len(content), caption, **sender
        )
        file_id = update["message"]["document"]["file_id"]
        with self._lock:  # so the bot can getFile + download what the user "uploaded"
            self._files[file_id] = ("document", UploadedFile(file_name, content, mime_type))
        return self._known(update)

    def make_edited_text_update(
        self, user_id: int, message_id: int, text: str, **sender: Unpack[SenderOptions]
    ) -> JSON:
        return self._known(self.factory.edited_text(user_id, message_id, text, **sender))

    def make_edited_caption_update(
        self, user_id: int, message_id: int, caption: str, **sender: Unpack[SenderOptions]
    ) -> JSON:
        return self._known(self.factory.edited_caption(user_id, message_id, caption, **sender))
