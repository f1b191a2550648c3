"""Human-readable chat transcripts, so a failing test shows the conversation, not JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tests.fakebot.models import CallbackAnswer, HistoryEntry, SentMessage, UserAction

_INDENT = "     "


def describe_update(
    update: dict[str, Any], button_label: Callable[[int, int, str], str | None]
) -> str:
    """One-line summary of what the user did; button_label(chat_id, message_id, data)."""
    if "callback_query" in update:
        query = update["callback_query"]
        message = query.get("message") or {}
        chat_id = (message.get("chat") or {}).get("id", query["from"]["id"])
        label = button_label(chat_id, message.get("message_id", 0), query.get("data", ""))
        return f"[{label}]" if label is not None else f"[? data={query.get('data')!r}]"
    if "edited_message" in update:
        return f"(edited) {update['edited_message'].get('text', '')}"
    message = update.get("message") or {}
    if "text" in message:
        return str(message["text"])
    if "location" in message:
        loc = message["location"]
        return f"(location {loc['latitude']}, {loc['longitude']})"
    if "sticker" in message:
        return f"(sticker {message['sticker'].get('emoji', '')})".replace(" )", ")")
    caption = f" {message['caption']}" if message.get("caption") else ""
    if "photo" in message:
        return f"(photo){caption}"
    if "voice" in message:
        return f"(voice {message['voice'].get('duration', 0)}s)"
    if "document" in message:
        return f"(document {message['document'].get('file_name', '?')}){caption}"
    return "(update " + ", ".join(k for k in update if k != "update_id") + ")"


def _attachment(message: SentMessage) -> str:
    kind = message.method[4:].lower()  # "sendDocument" -> "document"
    if message.document is None:
        return f"[{kind}]"
    return f"[{kind} {message.document.filename}, {len(message.document.content)} bytes]"


def delivery_label(message: SentMessage) -> str:
    """What a bot message showed: its visible text (HTML parsed), or for media and locations
    "[document report.txt, 12 bytes] caption" / "[location]"."""
    if message.method == "sendMessage":
        return message.plain_text
    return f"{_attachment(message)} {message.plain_text}".rstrip()


def _bot_lines(message: SentMessage) -> list[str]:
    prefix = "bot"
    if message.deleted:
        prefix = f"bot (deleted #{message.message_id})"
    elif message.edited:
        prefix = f"bot (edited #{message.message_id})"
    body = message.text or ""
    if message.document is not None:
        body = f"{_attachment(message)} {body}".rstrip()
    lines = body.splitlines() or [""]
    out = [f"{prefix}: {lines[0]}"] + [_INDENT + line for line in lines[1:]]
    for row in message.buttons:
        out.append(_INDENT + " ".join(f"[{button.text}]" for button in row))
    for labels in message.reply_keyboard or []:
        out.append(_INDENT + " ".join(f"{{{label}}}" for label in labels))
    if message.reply_keyboard_remove:
        out.append(_INDENT + "(keyboard removed)")
    return out


def render(history: Iterable[HistoryEntry]) -> str:
    lines: list[str] = []
    for entry in history:
        if isinstance(entry, UserAction):
            lines.append(f"you: {entry.label}")
        elif isinstance(entry, SentMessage):
            lines.extend(_bot_lines(entry))
        elif isinstance(entry, CallbackAnswer) and entry.text:
            kind = "alert" if entry.show_alert else "toast"
            lines.append(f"bot ({kind}): {entry.text}")
    return "\n".join(lines)
