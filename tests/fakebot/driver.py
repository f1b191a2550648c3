"""ChatDriver: drive a real PTB Application like a user would, read the result as a transcript."""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from tests.fakebot.api import FakeBotApi
from tests.fakebot.methods import FAKE_TOKEN
from tests.fakebot.models import SentMessage
from tests.fakebot.request import InProcessRequest
from tests.fakebot.server import LoopbackBotApiServer
from tests.fakebot.transcript import render
from tests.fakebot.updates import JSON, ChatType, SenderOptions, default_chat_id

Mode = Literal["inprocess", "http"]
AnyApp = Application[Any, Any, Any, Any, Any, Any]


def fake_builder(
    fake: FakeBotApi, server: LoopbackBotApiServer | None = None
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An ApplicationBuilder wired to the fake: in-process, or over HTTP if a server is given."""
    builder = Application.builder().token(FAKE_TOKEN)
    if server is None:
        return builder.request(InProcessRequest(fake)).get_updates_request(InProcessRequest(fake))
    return builder.base_url(server.base_url).base_file_url(server.base_file_url)


@asynccontextmanager
async def running(
    app: AnyApp, *, polling: bool = False, poll_timeout: int = 1
) -> AsyncIterator[AnyApp]:
    """Run the app's real lifecycle (incl. post_init/post_stop/post_shutdown hooks).

    With polling=True the Updater long-polls getUpdates (HTTP mode); otherwise updates are fed
    straight into app.process_update by the driver.
    """
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        if polling and app.updater is not None:
            await app.updater.start_polling(poll_interval=0.0, timeout=poll_timeout)
        await app.start()
        try:
            yield app
        finally:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if app.post_stop:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)


class BotHandlerError(AssertionError):
    """A handler raised while processing this chat's update; the transcript shows the context."""

    def __init__(self, errors: list[BaseException], transcript: str) -> None:
        self.errors = errors
        summary = "; ".join(f"{type(e).__name__}: {e}" for e in errors)
        super().__init__(f"bot handler raised {summary}\n--- transcript ---\n{transcript}")


@dataclass
class _ErrorSink:
    errors: list[tuple[int | None, BaseException]] = field(default_factory=list)

    def take(self, chat_id: int) -> list[BaseException]:
        mine = [e for c, e in self.errors if c == chat_id]
        self.errors = [(c, e) for c, e in self.errors if c != chat_id]
        return mine


_SINKS: weakref.WeakKeyDictionary[AnyApp, _ErrorSink] = weakref.WeakKeyDictionary()


def _error_sink(app: AnyApp) -> _ErrorSink:
    """Register (once per app) an error handler so handler exceptions fail the test step
    instead of being swallowed into a log line."""
    sink = _SINKS.get(app)
    if sink is None:
        sink = _SINKS[app] = _ErrorSink()

        async def record(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
            chat = update.effective_chat if isinstance(update, Update) else None
            if context.error is not None:
                sink.errors.append((chat.id if chat else None, context.error))

        app.add_error_handler(record)
    return sink


class ChatDriver:
    """One simulated user in one chat. Every action returns the bot's messages for that step.

    mode="inprocess": updates go straight into ``app.process_update`` (deterministic).
    mode="http": updates are queued for getUpdates; the app must be polling (see ``running``).
    The step waits for ``expect`` bot messages (default 1 over HTTP, 0 in-process), then for
    ``quiet`` seconds without further activity in the chat. Edits and deletions count as bot
    messages and are returned as SentMessage snapshots with ``edited``/``deleted`` set.
    """

    def __init__(
        self,
        app: AnyApp,
        fake: FakeBotApi,
        user_id: int = 1001,
        first_name: str = "Ada",
        *,
        mode: Mode = "inprocess",
        chat_type: ChatType = "private",
        chat_id: int | None = None,
        language_code: str | None = "en",
        last_name: str | None = None,
        username: str | None = None,
        timeout: float = 5.0,
        quiet: float | None = None,
        raise_errors: bool = True,
    ) -> None:
        self.app = app
        self.fake = fake
        self.user_id = user_id
        self.mode = mode
        self.timeout = timeout
        self.quiet = quiet if quiet is not None else (0.05 if mode == "http" else 0.0)
        self.chat_id = chat_id if chat_id is not None else default_chat_id(user_id, chat_type)
        self.sender: SenderOptions = {
            "chat_type": chat_type,
            "chat_id": self.chat_id,
            "first_name": first_name,
            "language_code": language_code,
            "last_name": last_name,
            "username": username,
        }
        self._errors = _error_sink(app) if raise_errors else None
        self._last_user_message_id: int | None = None
        self._last_user_media_id: int | None = None

    # --- user actions -----------------------------------------------------------------------

    async def send(self, text: str, expect: int | None = None) -> list[SentMessage]:
        return await self._step(
            self.fake.make_text_update(self.user_id, text, **self.sender), expect
        )

    async def click(self, label: str, expect: int | None = None) -> list[SentMessage]:
        """Press an inline button on the latest bot message that has any (exact label wins,
        else a unique case-insensitive substring)."""
        message = self._last_with_buttons()
        buttons = [b for row in message.buttons for b in row]
        matches = [b for b in buttons if b.text == label] or [
            b for b in buttons if label.lower() in b.text.lower()
        ]
        labels = ", ".join(repr(b.text) for b in buttons)
        if len(matches) != 1:
            problem = "no button matches" if not matches else "ambiguous button"
            raise AssertionError(
                f"{problem} {label!r} on message #{message.message_id}; available: {labels}\n"
                f"--- transcript ---\n{self.transcript()}"
            )
        if matches[0].callback_data is None:
            raise AssertionError(f"button {matches[0].text!r} has no callback_data (URL button?)")
        return await self.click_data(matches[0].callback_data, message.message_id, expect)

    async def click_data(
        self, data: str, message_id: int | None = None, expect: int | None = None
    ) -> list[SentMessage]:
        """Send raw callback data (forged or stale), by default on the latest buttoned message."""
        if message_id is None:
            latest = self._latest_buttoned()
            message_id = latest.message_id if latest else 1
        update = self.fake.make_callback_update(self.user_id, data, message_id, **self.sender)
        return await self._step(update, expect)

    async def send_location(
        self, lat: float, lon: float, expect: int | None = None
    ) -> list[SentMessage]:
        update = self.fake.make_location_update(self.user_id, lat, lon, **self.sender)
        return await self._step(update, expect)

    async def send_sticker(
        self, emoji: str = "\N{THUMBS UP SIGN}", expect: int | None = None
    ) -> list[SentMessage]:
        return await self._step(
            self.fake.make_sticker_update(self.user_id, emoji, **self.sender), expect
        )

    async def send_photo(
        self, caption: str | None = None, expect: int | None = None
    ) -> list[SentMessage]:
        return await self._step(
            self.fake.make_photo_update(self.user_id, caption, **self.sender), expect
        )

    async def send_voice(self, duration: int = 3, expect: int | None = None) -> list[SentMessage]:
        return await self._step(
            self.fake.make_voice_update(self.user_id, duration, **self.sender), expect
        )

    async def send_document(
        self,
        file_name: str = "notes.txt",
        content: bytes = b"hello from the user\n",
        caption: str | None = None,
        expect: int | None = None,
    ) -> list[SentMessage]:
        update = self.fake.make_document_update(
            self.user_id, file_name, content, caption=caption, **self.sender
        )
        return await self._step(update, expect)

    async def edit_last(self, text: str, expect: int | None = None) -> list[SentMessage]:
        """Edit the user's most recent text message (an edited_message update)."""
        if self._last_user_message_id is None:
            raise AssertionError("edit_last: this user has not sent a message yet")
        update = self.fake.make_edited_text_update(
            self.user_id, self._last_user_message_id, text, **self.sender
        )
        return await self._step(update, expect)

    async def edit_last_caption(self, caption: str, expect: int | None = None) -> list[SentMessage]:
        """Edit the caption of the user's most recent photo or file (an edited_message update)."""
        if self._last_user_media_id is None:
            raise AssertionError("edit_last_caption: this user has not sent a photo or file yet")
        update = self.fake.make_edited_caption_update(
            self.user_id, self._last_user_media_id, caption, **self.sender
        )
        return await self._step(update, expect)

    # --- reading the chat -------------------------------------------------------------------

    @property
    def last(self) -> SentMessage:
        message = self.fake.last_message(self.chat_id)
        if message is None:
            raise AssertionError(f"the bot has not sent anything to chat {self.chat_id}")
        return message

    @property
    def last_text(self) -> str:
        """Raw text of the last bot message (use ``last.plain_text`` for tag-free text)."""
        return self.last.text or ""

    def buttons(self) -> list[str]:
        """Inline button labels of the latest bot message that has inline buttons."""
        return self._last_with_buttons().button_labels

    def reply_keyboard(self) -> list[list[str]] | None:
        """Reply keyboard of the latest bot message that set or removed one."""
        for message in reversed(self.fake.messages(self.chat_id)):
            if message.reply_keyboard_remove:
                return None
            if message.reply_keyboard is not None:
                return message.reply_keyboard
        return None

    def messages(self) -> list[SentMessage]:
        return self.fake.messages(self.chat_id)

    def transcript(self) -> str:
        return render(self.fake.history(self.chat_id))

    # --- internals --------------------------------------------------------------------------

    def _latest_buttoned(self) -> SentMessage | None:
        for message in reversed(self.fake.messages(self.chat_id)):
            if message.buttons:
                return message
        return None

    def _last_with_buttons(self) -> SentMessage:
        message = self._latest_buttoned()
        if message is None:
            raise AssertionError(
                f"no bot message with inline buttons in chat {self.chat_id}\n"
                f"--- transcript ---\n{self.transcript()}"
            )
        return message

    async def _step(self, update: JSON, expect: int | None) -> list[SentMessage]:
        message = update.get("message")
        if message is not None and "text" in message:  # only text messages can be edit_last'ed
            self._last_user_message_id = message["message_id"]
        if message is not None and ("photo" in message or "document" in message):
            self._last_user_media_id = message["message_id"]
        chat_id = self.chat_id
        baseline = len(self.fake.history(chat_id))
        deadline = time.monotonic() + self.timeout
        if self.mode == "http":
            self.fake.push_update(update)
        else:
            self.fake.note_incoming(update)
            await self.app.process_update(Update.de_json(update, self.app.bot))

        def produced() -> list[SentMessage]:
            entries = self.fake.history(chat_id, since=baseline)
            return [e for e in entries if isinstance(e, SentMessage)]

        wanted = expect if expect is not None else (1 if self.mode == "http" else 0)
        if wanted > 0:
            ok = await self.fake.wait_for(chat_id, lambda: len(produced()) >= wanted, self.timeout)
            if not ok:
                self._raise_errors()
                raise AssertionError(
                    f"expected {wanted} bot message(s) in chat {chat_id} within {self.timeout}s, "
                    f"got {len(produced())}\n--- transcript ---\n{self.transcript()}"
                )
        elif self.mode == "http":
            update_id = update["update_id"]
            ok = await self.fake.wait_for(
                chat_id, lambda: self.fake.delivered(update_id, chat_id), self.timeout
            )
            if not ok:
                raise AssertionError(f"update {update_id} was never fetched; is the app polling?")
        await self._settle(deadline)
        self._raise_errors()
        return produced()

    async def _settle(self, deadline: float) -> None:
        """Wait until the chat has been quiet for self.quiet seconds (bounded by deadline)."""
        while self.quiet > 0:
            seen = self.fake.activity(self.chat_id)
            window = min(self.quiet, deadline - time.monotonic())
            if window <= 0:
                return

            def moved(seen: int = seen) -> bool:
                return self.fake.activity(self.chat_id) != seen

            changed = await self.fake.wait_for(self.chat_id, moved, window)
            if not changed:
                return

    def _raise_errors(self) -> None:
        if self._errors is not None and (errors := self._errors.take(self.chat_id)):
            raise BotHandlerError(errors, self.transcript())
