"""Telegram updates turned into engine events (and nothing else)."""

from __future__ import annotations

from telegram import Message, MessageEntity, Update

from dialogs.model import Command, Event, Location, Photo, Press, Text, Unsupported

# Message attributes we recognise but cannot use, in the words the reply uses.
_MEDIA = (
    ("sticker", "sticker"),
    ("animation", "GIF"),
    ("photo", "photo"),
    ("video", "video"),
    ("video_note", "video message"),
    ("voice", "voice message"),
    ("audio", "audio file"),
    ("document", "file"),
    ("contact", "contact"),
    ("poll", "poll"),
    ("dice", "dice"),
    ("venue", "place"),
)


def parse_command(text: str) -> Command | None:
    if not text.startswith("/") or len(text) < 2:
        return None
    head, _, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if not name or not all(c.isalnum() or c == "_" for c in name):
        return None
    return Command(name, args.strip())


def _from_message(message: Message) -> Event:
    if message.text is not None:
        entities = message.entities or ()
        starts_with_command = any(
            e.type == MessageEntity.BOT_COMMAND and e.offset == 0 for e in entities
        )
        command = parse_command(message.text) if starts_with_command else None
        return command or Text(message.text)
    if message.location is not None and message.venue is None:
        return Location(message.location.latitude, message.location.longitude)
    if message.photo:
        # Telegram lists each photo in several sizes, the largest last.
        return Photo(message.photo[-1].file_id, message.caption or "")
    for attribute, kind in _MEDIA:
        if getattr(message, attribute, None):
            return Unsupported(kind, message.caption or "")
    return Unsupported("message", message.caption or "")


def event_from_update(update: Update) -> Event | None:
    if update.callback_query is not None:
        return Press(update.callback_query.data or "")
    if update.edited_message is not None:
        return Unsupported("edited", update.edited_message.text or "")
    if update.message is not None:
        return _from_message(update.message)
    return None
