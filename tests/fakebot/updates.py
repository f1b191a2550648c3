"""Build Update JSON exactly as Telegram delivers it (ids, nesting, entities)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TypedDict, Unpack

from tests.fakebot.formatting import utf16_len

ChatType = Literal["private", "group", "supergroup"]
JSON = dict[str, Any]


class SenderOptions(TypedDict, total=False):
    """Who sends the update and where; shared by all make_*_update factories."""

    chat_type: ChatType
    chat_id: int | None
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None
    title: str  # group title


def default_chat_id(user_id: int, chat_type: ChatType) -> int:
    if chat_type == "private":
        return user_id
    # Real ids: small groups are plain negatives, supergroups are -100xxxxxxxxxx.
    if chat_type == "group":
        return -(4_000_000_000 + abs(user_id))
    return -(1_000_000_000_000 + abs(user_id))


class UpdateFactory:
    """Creates updates; message ids come from the fake so user and bot share one per-chat
    sequence, as in a real chat."""

    def __init__(
        self,
        next_message_id: Callable[[int], int],
        find_message: Callable[[int, int], JSON | None],
        new_file_id: Callable[[str], tuple[str, str]],
    ) -> None:
        self._next_message_id = next_message_id
        self._find_message = find_message
        self._new_file_id = new_file_id
        self._lock = threading.Lock()
        self._update_ids = itertools.count(700_000_001)
        self._query_ids = itertools.count(4_382_000_000_000_001)
        self._user_messages: dict[tuple[int, int], JSON] = {}

    def _next(self, counter: itertools.count[int]) -> int:
        with self._lock:
            return next(counter)

    def wrap(self, kind: str, payload: JSON) -> JSON:
        return {"update_id": self._next(self._update_ids), kind: payload}

    @staticmethod
    def user(user_id: int, **sender: Unpack[SenderOptions]) -> JSON:
        user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": sender.get("first_name", "Ada"),
        }
        for key in ("last_name", "username"):
            if sender.get(key):
                user[key] = sender[key]
        language_code = sender.get("language_code", "en")
        if language_code:
            user["language_code"] = language_code
        return user

    @staticmethod
    def chat(user_id: int, **sender: Unpack[SenderOptions]) -> JSON:
        chat_type = sender.get("chat_type", "private")
        chat_id = sender.get("chat_id") or default_chat_id(user_id, chat_type)
        if chat_type == "private":
            chat: JSON = {"id": chat_id, "type": "private"}
            chat["first_name"] = sender.get("first_name", "Ada")
            if sender.get("last_name"):
                chat["last_name"] = sender["last_name"]
            if sender.get("username"):
                chat["username"] = sender["username"]
            return chat
        return {"id": -abs(chat_id), "type": chat_type, "title": sender.get("title", "Test group")}

    def message(self, user_id: int, content: JSON, **sender: Unpack[SenderOptions]) -> JSON:
        chat = self.chat(user_id, **sender)
        message: JSON = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self.user(user_id, **sender),
            "chat": chat,
            "date": int(time.time()),
            **content,
        }
        with self._lock:
            self._user_messages[(chat["id"], message["message_id"])] = message
        return message

    def sent_by_user(self, chat_id: int, message_id: int) -> bool:
        """Whether the person sent message `message_id` in `chat_id` (bots can't edit it)."""
        with self._lock:
            return (chat_id, message_id) in self._user_messages

    # --- concrete updates -------------------------------------------------------------------

    def text(self, user_id: int, text: str, **sender: Unpack[SenderOptions]) -> JSON:
        content: JSON = {"text": text}
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self.wrap("message", self.message(user_id, content, **sender))

    def callback(
        self, user_id: int, data: str, message_id: int, **sender: Unpack[SenderOptions]
    ) -> JSON:
        chat = self.chat(user_id, **sender)
        # Unknown/old messages arrive as InaccessibleMessage (date 0), like real Telegram.
        message = self._find_message(chat["id"], message_id) or {
            "message_id": message_id,
            "chat": chat,
            "date": 0,
        }
        query: JSON = {
            "id": str(self._next(self._query_ids)),
            "from": self.user(user_id, **sender),
            "message": message,
            "chat_instance": str(-(8_000_000_000_000_000_000 + abs(chat["id"]))),
            "data": data,
        }
        return self.wrap("callback_query", query)

    def location(
        self, user_id: int, lat: float, lon: float, **sender: Unpack[SenderOptions]
    ) -> JSON:
        content = {"location": {"latitude": lat, "longitude": lon}}
        return self.wrap("message", self.message(user_id, content, **sender))

    def sticker(self, user_id: int, emoji: str, **sender: Unpack[SenderOptions]) -> JSON:
        file_id, unique_id = self._new_file_id("sticker")
        sticker = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "FakeStickers",
            "file_size": 23_000,
        }
        return self.wrap("message", self.message(user_id, {"sticker": sticker}, **sender))

    def photo(self, user_id: int, caption: str | None, **sender: Unpack[SenderOptions]) -> JSON:
        sizes = []
        for width, height, size in ((90, 67, 1_500), (1280, 960, 120_000)):
            file_id, unique_id = self._new_file_id("photo")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "width": width,
                    "height": height,
                    "file_size": size,
                }
            )
        content: JSON = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self.wrap("message", self.message(user_id, content, **sender))

    def voice(self, user_id: int, duration: int, **sender: Unpack[SenderOptions]) -> JSON:
        file_id, unique_id = self._new_file_id("voice")
        voice = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4_000 * duration,
        }
        return self.wrap("message", self.message(user_id, {"voice": voice}, **sender))

    def document(
        self,
        user_id: int,
        file_name: str,
        mime_type: str,
        size: int,
        caption: str | None,
        **sender: Unpack[SenderOptions],
    ) -> JSON:
        file_id, unique_id = self._new_file_id("document")
        document = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": size,
        }
        content: JSON = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return self.wrap("message", self.message(user_id, content, **sender))

    def edited_text(
        self, user_id: int, message_id: int, text: str, **sender: Unpack[SenderOptions]
    ) -> JSON:
        chat = self.chat(user_id, **sender)
        with self._lock:
            original = self._user_messages.get((chat["id"], message_id))
        now = int(time.time())
        message: JSON = {
            "message_id": message_id,
            "from": self.user(user_id, **sender),
            "chat": chat,
            "date": original["date"] if original else now,
            "edit_date": now,
            "text": text,
        }
        return self.wrap("edited_message", message)

    def edited_caption(
        self, user_id: int, message_id: int, caption: str, **sender: Unpack[SenderOptions]
    ) -> JSON:
        """The person edits the caption of a photo or file they sent (an edited_message)."""
        chat = self.chat(user_id, **sender)
        with self._lock:
            original = self._user_messages.get((chat["id"], message_id))
        if original is None or not ({"photo", "document"} & set(original)):
            raise ValueError(f"message {message_id} in chat {chat['id']} has no caption to edit")
        media = {k: original[k] for k in ("photo", "document") if k in original}
        message: JSON = {
            "message_id": message_id,
            "from": self.user(user_id, **sender),
            "chat": chat,
            "date": original["date"],
            "edit_date": int(time.time()),
            **media,
            "caption": caption,
        }
        return self.wrap("edited_message", message)
