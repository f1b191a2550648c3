"""Plain records of what happened on the fake Bot API, shaped for readable assertions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakebot.formatting import is_html, strip_html


@dataclass(frozen=True)
class Call:
    """One Bot API request as the fake received it (params already JSON-decoded)."""

    method: str
    params: dict[str, Any]
    at: float
    files: dict[str, UploadedFile] = field(default_factory=dict)
    error_code: int | None = None  # set when the fake answered with ok=false
    reply_lost: bool = False  # performed, but the caller saw a timeout (timeout_after_delivery)


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Button:
    """An inline keyboard button."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent (or a new version of it after an edit).

    Snapshots are immutable: an edit produces a new SentMessage with ``edited=True`` and the
    same message_id, so results returned by earlier driver steps never change under you.
    """

    chat_id: int
    message_id: int
    text: str | None  # message text, or the caption for media
    parse_mode: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    reply_keyboard_remove: bool = False
    # Labels of reply-keyboard buttons with request_location=True.
    location_requests: list[str] = field(default_factory=list)
    method: str = "sendMessage"
    document: UploadedFile | None = None  # sendDocument / sendPhoto payload (if uploaded)
    edited: bool = False
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # Message JSON we returned

    @property
    def plain_text(self) -> str:
        """Text as the user sees it (HTML tags stripped, entities decoded)."""
        if self.text is None:
            return ""
        return strip_html(self.text) if is_html(self.parse_mode) else self.text

    @property
    def button_labels(self) -> list[str]:
        return [button.text for row in self.buttons for button in row]

    @property
    def requests_location(self) -> bool:
        return bool(self.location_requests)


@dataclass(frozen=True)
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    chat_id: int | None  # chat of the button's message, if the fake issued that query
    at: float


@dataclass(frozen=True)
class UserAction:
    """Something the simulated user did (one update), kept for transcripts."""

    update: dict[str, Any]
    label: str  # human readable, e.g. "/start", "[Tell me more]", "(location 1.0, 2.0)"


# A chat's history, in order: what the user did, what the bot sent/edited, callback answers.
HistoryEntry = UserAction | SentMessage | CallbackAnswer
