"""Decode Bot API parameters that arrive as JSON values, form strings or JSON-in-form strings."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakebot.models import Button

# Parameters that are strings by definition. They must never be JSON-decoded, otherwise a user
# text like "42" or a callback_query_id like "1234" would silently turn into an int.
TEXT_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "action",
        "url", "language_code", "emoji", "title", "description", "short_description", "name",
        "query", "business_connection_id", "message_effect_id", "phone_number", "first_name",
        "last_name", "vcard", "address", "question", "explanation", "payload", "currency",
        "start_parameter", "secret_token", "custom_title", "filename", "file_id",
    }
)  # fmt: skip

_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def _looks_like_json(value: str) -> bool:
    stripped = value.strip()
    if not stripped:
        return False
    return (
        stripped[0] in '{["'
        or stripped in ("true", "false", "null")
        or _NUMBER_RE.fullmatch(stripped) is not None
    )


def decode_value(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in TEXT_PARAMS or not _looks_like_json(value):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. "@channelname" or a file_id: keep the raw string


def decode_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {name: decode_value(name, value) for name, value in (params or {}).items()}


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass
class Keyboards:
    """The parts of a reply_markup the tests care about."""

    buttons: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    reply_keyboard_remove: bool = False
    location_requests: list[str] = field(default_factory=list)
    inline_markup: dict[str, Any] | None = None  # echoed back in the returned Message

    @property
    def callback_data(self) -> list[str]:
        return [b.callback_data for row in self.buttons for b in row if b.callback_data]


def parse_reply_markup(markup: Any) -> Keyboards:
    markup = decode_value("reply_markup", markup)
    result = Keyboards()
    if not isinstance(markup, dict):
        return result
    if isinstance(markup.get("inline_keyboard"), list):
        result.inline_markup = markup
        result.buttons = [
            [
                Button(
                    text=str(button.get("text", "")),
                    callback_data=button.get("callback_data"),
                    url=button.get("url"),
                )
                for button in row
            ]
            for row in markup["inline_keyboard"]
        ]
    if isinstance(markup.get("keyboard"), list):
        result.reply_keyboard = []
        for row in markup["keyboard"]:
            labels: list[str] = []
            for button in row:
                # The API allows plain strings as well as KeyboardButton objects.
                spec = button if isinstance(button, dict) else {"text": str(button)}
                labels.append(str(spec.get("text", "")))
                if spec.get("request_location"):
                    result.location_requests.append(labels[-1])
            result.reply_keyboard.append(labels)
    result.reply_keyboard_remove = bool(markup.get("remove_keyboard"))
    return result
