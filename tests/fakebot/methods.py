"""The emulated Bot API methods and the state behind them (chats, messages, files, commands).

Handlers take decoded params and return the JSON `result`, or raise ApiError; they run under
the state lock (see FakeBotApi.handle), which makes them safe against the server thread.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakebot.faults import ApiError, FaultPlan
from tests.fakebot.formatting import html_error, is_html, strip_html, utf16_len
from tests.fakebot.lint import RECORDER, Kind
from tests.fakebot.media import MEDIA_METHODS, file_path_for, media_json
from tests.fakebot.models import Call, CallbackAnswer, HistoryEntry, SentMessage, UploadedFile
from tests.fakebot.params import Keyboards, as_int, decode_params, parse_reply_markup
from tests.fakebot.signals import Signals
from tests.fakebot.updates import JSON, UpdateFactory

BOT_ID = 7_000_000_001
BOT_USERNAME = "bridges_test_bot"
FAKE_TOKEN = f"{BOT_ID}:AAFakeBridgesTokenForTestsOnly_0123456789"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
Reply = tuple[int, JSON]  # (HTTP status, Bot API response body)
Handler = Callable[[JSON, dict[str, UploadedFile]], Any]


def chat_key(chat_id: int) -> tuple[str, int]:
    """Signals key for "something happened in this chat"."""
    return ("chat", chat_id)


def update_chat_id(update: Mapping[str, Any]) -> int | None:
    """The chat an update belongs to (message, edit or callback query)."""
    for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if kind in update:
            return int(update[kind]["chat"]["id"])
    query = update.get("callback_query")
    if query:
        message = query.get("message") or {}
        return int((message.get("chat") or {}).get("id", query["from"]["id"]))
    return None


@dataclass
class _ChatState:
    last_message_id: int = 0
    info: JSON | None = None
    messages: dict[int, SentMessage] = dataclasses.field(default_factory=dict)  # current versions
    history: list[HistoryEntry] = dataclasses.field(default_factory=list)
    activity: int = 0  # bumps on every bot-side event in this chat
    delivered_update_id: int = 0  # highest update for this chat returned by getUpdates


class BotApiMethods:
    """Telegram's side of the conversation: state plus one handler per Bot API method."""

    def __init__(
        self,
        *,
        strict: bool = True,
        bot_first_name: str = "Bridges",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.strict = strict
        self.clock = clock  # seconds; times fail_for windows (replaceable in tests)
        self.bot_user: JSON = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.signals = Signals()
        self.calls: list[Call] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.webhook_url: str = ""
        self._lock = threading.RLock()
        self._pending: list[JSON] = []  # not yet confirmed via getUpdates offset
        self._chats: dict[int, _ChatState] = {}
        self.faults = FaultPlan()
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._queries: dict[str, int | None] = {}  # issued callback query id -> chat id
        self._files: dict[str, tuple[str, UploadedFile]] = {}  # file_id -> (kind, content)
        self._file_ids = itertools.count(1)
        self.factory = UpdateFactory(self._next_message_id, self._find_raw, self._new_file_id)
        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._acknowledge,
            "sendlocation": self._send_location,
            "getfile": self._get_file,
            "getchat": self._get_chat,
        }
        for method in MEDIA_METHODS:
            self._handlers[method] = self._send_media_handler(method)

    # --- internals: bookkeeping -------------------------------------------------------------

    def _chat(self, chat_id: int) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            state = self._chats[chat_id] = _ChatState()
        return state

    def _known(self, update: JSON) -> JSON:
        """Remember chat details from an update so bot messages carry the same Chat object."""
        payload = update.get("message") or update.get("edited_message") or {}
        chat = payload.get("chat")
        if chat:
            with self._lock:
                self._chat(chat["id"]).info = chat
        return update

    def _next_message_id(self, chat_id: int) -> int:
        with self._lock:
            state = self._chat(chat_id)
            state.last_message_id += 1
            return state.last_message_id

    def _find_raw(self, chat_id: int, message_id: int) -> JSON | None:
        with self._lock:
            state = self._chats.get(chat_id)
            message = state.messages.get(message_id) if state else None
        return None if message is None or message.deleted else dict(message.raw)

    def _button_label(self, chat_id: int, message_id: int, data: str) -> str | None:
        with self._lock:
            state = self._chats.get(chat_id)
            message = state.messages.get(message_id) if state else None
        for row in message.buttons if message else []:
            for button in row:
                if button.callback_data == data:
                    return button.text
        return None

    def _new_file_id(self, kind: str) -> tuple[str, str]:
        with self._lock:
            n = next(self._file_ids)
        return f"fake-{kind}-{n:06d}", f"AQAD{n:06d}"

    def _lookup_file(self, file_id: str) -> tuple[str, UploadedFile] | None:
        with self._lock:
            entry = self._files.get(file_id)
        if entry is None and file_id.startswith("fake-"):
            # Media the simulated user sent has no real bytes; hand out a stable placeholder.
            kind = file_id.split("-")[1]
            entry = (kind, UploadedFile(file_id, f"fake {kind} content".encode()))
        return entry

    def _bot_event(self, chat_id: int, entry: HistoryEntry) -> None:
        state = self._chat(chat_id)
        state.history.append(entry)
        state.activity += 1
        self.signals.fire(chat_key(chat_id))

    def _chat_json(self, chat_id: int) -> JSON:
        info = self._chat(chat_id).info
        if info:
            return info
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "User"}
        return {"id": chat_id, "type": "group", "title": "Test group"}

    def _message_json(self, chat_id: int, message_id: int, extra: JSON) -> JSON:
        return {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": self._chat_json(chat_id),
            "date": int(time.time()),
            **extra,
        }

    # --- internals: validation --------------------------------------------------------------

    def _require_chat(self, params: JSON) -> int:
        chat_id = as_int(params.get("chat_id"))
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _check_text(self, raw: Any, parse_mode: str | None, limit: int, empty_ok: bool) -> str:
        text = "" if raw is None else str(raw)
        if not self.strict:
            return text
        if is_html(parse_mode) and (error := html_error(text)):
            raise ApiError(400, error)
        visible = strip_html(text) if is_html(parse_mode) else text
        if not visible.strip() and not empty_ok:
            raise ApiError(400, "Bad Request: message text is empty")
        # Counted in UTF-16 code units after parsing (an emoji or 𝐛𝐨𝐥𝐝 letter is 2, a
        # combining mark 1): the stricter of the two counts reported for Telegram.
        if utf16_len(visible) > limit:
            what = "message caption" if limit == MAX_CAPTION else "message"
            raise ApiError(400, f"Bad Request: {what} is too long")  # Telegram's wording
        return text

    def _lint(self, method: str, params: JSON, key: str, kind: Kind) -> None:
        """The reply check (tests/fakebot/lint.py) on the text a person would read."""
        raw = params.get(key)
        if raw is None and kind == "caption":
            return  # no caption at all
        text = "" if raw is None else str(raw)
        visible = self._visible(text, params.get("parse_mode"))
        RECORDER.record(method, as_int(params.get("chat_id")), visible, kind)

    def _keyboards(self, params: JSON) -> Keyboards:
        keyboards = parse_reply_markup(params.get("reply_markup"))
        if self.strict:
            for data in keyboards.callback_data:
                if len(data.encode()) > MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return keyboards

    def _visible(self, text: str, parse_mode: str | None) -> str:
        # Telegram returns the parsed text (tags removed); entities are not reconstructed.
        return strip_html(text) if is_html(parse_mode) else text

    # --- Bot API methods --------------------------------------------------------------------

    @staticmethod
    def _poll_args(params: Mapping[str, Any] | None) -> tuple[int, float]:
        decoded = decode_params(params)
        return as_int(decoded.get("offset")) or 0, float(decoded.get("timeout") or 0)

    def _poll_ready(self, offset: int) -> bool:
        with self._lock:
            if self.faults.blocks_poll(self.clock()):
                return True
            return any(u["update_id"] >= offset for u in self._pending)

    def _acknowledge(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        """Methods we only record (sendChatAction, unknown ones): Telegram answers true."""
        return True

    def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return self.bot_user

    def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        offset = as_int(params.get("offset")) or 0
        limit = min(max(as_int(params.get("limit")) or 100, 1), 100)
        if offset < 0:  # negative offset: only the last -offset updates, older ones forgotten
            self._pending = self._pending[offset:]
        elif offset:  # calling with an offset confirms every update below it
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        batch = self._pending[:limit]
        for update in batch:
            chat_id = update_chat_id(update)
            if chat_id is not None:
                state = self._chat(chat_id)
                state.delivered_update_id = max(state.delivered_update_id, update["update_id"])
                self.signals.fire(chat_key(chat_id))
        return batch

    def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = str(params.get("url") or "")
        return True

    def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [dict(c) for c in params.get("commands") or []]
        return True

    def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._commands.pop(
            self._commands_key(params.get("scope"), params.get("language_code")), None
        )
        return True

    def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return self._commands.get(key, [])

    def _record_sent(
        self,
        chat_id: int,
        method: str,
        text: str | None,
        params: JSON,
        keyboards: Keyboards,
        extra: JSON,
        document: UploadedFile | None = None,
    ) -> JSON:
        message_id = self._next_message_id(chat_id)
        if keyboards.inline_markup is not None:  # Telegram only echoes inline keyboards
            extra = {**extra, "reply_markup": keyboards.inline_markup}
        raw = self._message_json(chat_id, message_id, extra)
        sent = SentMessage(
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode=params.get("parse_mode"),
            buttons=keyboards.buttons,
            reply_keyboard=keyboards.reply_keyboard,
            reply_keyboard_remove=keyboards.reply_keyboard_remove,
            location_requests=keyboards.location_requests,
            method=method,
            document=document,
            raw=raw,
        )
        self._chat(chat_id).messages[message_id] = sent
        self._bot_event(chat_id, sent)
        return raw

    def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._require_chat(params)
        parse_mode = params.get("parse_mode")
        self._lint("sendMessage", params, "text", "text")
        text = self._check_text(params.get("text"), parse_mode, MAX_TEXT, empty_ok=False)
        keyboards = self._keyboards(params)
        extra: JSON = {"text": self._visible(text, parse_mode)}
        if isinstance(params.get("entities"), list):
            extra["entities"] = params["entities"]
        return self._record_sent(chat_id, "sendMessage", text, params, keyboards, extra)

    def _send_location(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat_id = self._require_chat(params)
        location = {"latitude": params.get("latitude"), "longitude": params.get("longitude")}
        extra = {"location": location}
        return self._record_sent(
            chat_id, "sendLocation", None, params, self._keyboards(params), extra
        )

    def _send_media_handler(self, method: str) -> Handler:
        kind = MEDIA_METHODS[method]
        name = "send" + "".join(part.title() for part in kind.split("_"))

        def send(params: JSON, files: dict[str, UploadedFile]) -> JSON:
            chat_id = self._require_chat(params)
            parse_mode = params.get("parse_mode")
            self._lint(name, params, "caption", "caption")
            caption = self._check_text(params.get("caption"), parse_mode, MAX_CAPTION, True)
            value = params.get(kind)
            upload = files.get(kind)
            if upload is None and isinstance(value, str) and value.startswith("attach://"):
                upload = files.get(value.removeprefix("attach://"))
            if upload is not None:
                file_id, unique_id = self._new_file_id(kind)
                self._files[file_id] = (kind, upload)
            elif isinstance(value, str) and value:  # re-sent file_id or URL
                file_id, unique_id = value, f"AQAD{abs(hash(value)) % 10**6:06d}"
                entry = self._lookup_file(value)
                upload = entry[1] if entry else None
            else:
                raise ApiError(400, f"Bad Request: there is no {kind} in the request")
            size = len(upload.content) if upload else 0
            extra: JSON = {
                kind: media_json(
                    kind,
                    file_id,
                    unique_id,
                    size,
                    upload.filename if upload else None,
                    upload.mime_type if upload else None,
                )
            }
            if caption:
                extra["caption"] = self._visible(caption, parse_mode)
            keyboards = self._keyboards(params)
            return self._record_sent(
                chat_id, name, caption or None, params, keyboards, extra, upload
            )

        return send

    def _editable(self, params: JSON) -> tuple[int, SentMessage] | None:
        """The targeted message, or None for inline messages (which we only acknowledge)."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._require_chat(params)
        state = self._chats.get(chat_id)
        message_id = as_int(params.get("message_id")) or 0
        message = state.messages.get(message_id) if state else None
        if message is None and self.factory.sent_by_user(chat_id, message_id):
            # Like Telegram: a bot can edit only its own messages.
            raise ApiError(400, "Bad Request: message can't be edited")
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat_id, message

    def _apply_edit(self, old: SentMessage, new: SentMessage, raw_extra: JSON) -> JSON:
        if self.strict and (new.text, new.buttons) == (old.text, old.buttons):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup of "
                "the message",
            )
        raw = {k: v for k, v in old.raw.items() if k != "reply_markup"}
        raw.update(raw_extra, edit_date=int(time.time()))
        new = dataclasses.replace(new, edited=True, raw=raw)
        self._chat(old.chat_id).messages[old.message_id] = new
        self._bot_event(old.chat_id, new)
        return raw

    def _markup_extra(self, keyboards: Keyboards) -> JSON:
        return {"reply_markup": keyboards.inline_markup} if keyboards.inline_markup else {}

    def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:
        parse_mode = params.get("parse_mode")
        self._lint("editMessageText", params, "text", "text")
        text = self._check_text(params.get("text"), parse_mode, MAX_TEXT, empty_ok=False)
        keyboards = self._keyboards(params)
        target = self._editable(params)
        if target is None:
            return True
        _, old = target
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        new = dataclasses.replace(old, text=text, parse_mode=parse_mode, buttons=keyboards.buttons)
        extra = {"text": self._visible(text, parse_mode), **self._markup_extra(keyboards)}
        return self._apply_edit(old, new, extra)

    def _edit_message_caption(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:
        parse_mode = params.get("parse_mode")
        self._lint("editMessageCaption", params, "caption", "caption")
        caption = self._check_text(params.get("caption"), parse_mode, MAX_CAPTION, True)
        keyboards = self._keyboards(params)
        target = self._editable(params)
        if target is None:
            return True
        _, old = target
        new = dataclasses.replace(
            old, text=caption, parse_mode=parse_mode, buttons=keyboards.buttons
        )
        extra = {"caption": self._visible(caption, parse_mode), **self._markup_extra(keyboards)}
        return self._apply_edit(old, new, extra)

    def _edit_message_reply_markup(
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> JSON | bool:
        keyboards = self._keyboards(params)
        target = self._editable(params)
        if target is None:
            return True
        _, old = target
        new = dataclasses.replace(old, buttons=keyboards.buttons)
        return self._apply_edit(old, new, self._markup_extra(keyboards))

    def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._require_chat(params)
        state = self._chats.get(chat_id)
        message = state.messages.get(as_int(params.get("message_id")) or 0) if state else None
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        deleted = dataclasses.replace(message, deleted=True)
        self._chat(chat_id).messages[message.message_id] = deleted
        self._bot_event(chat_id, deleted)
        return True

    def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._queries and self.strict:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        chat_id = self._queries.get(query_id)
        answer = CallbackAnswer(
            callback_query_id=query_id,
            text=params.get("text"),
            show_alert=bool(params.get("show_alert")),
            url=params.get("url"),
            chat_id=chat_id,
            at=time.monotonic(),
        )
        self.callback_answers.append(answer)
        if chat_id is not None:
            self._bot_event(chat_id, answer)
        return True

    def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        file_id = str(params.get("file_id") or "")
        entry = self._lookup_file(file_id)
        if entry is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        kind, upload = entry
        return {
            "file_id": file_id,
            "file_unique_id": f"AQAD{file_id[-6:]}",
            "file_size": len(upload.content),
            "file_path": file_path_for(kind, file_id),
        }

    def _get_chat(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._chat_json(self._require_chat(params))
        # Fields PTB's ChatFullInfo requires.
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        }
