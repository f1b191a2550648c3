"""Telegram updates turned into engine events (and nothing else).

Every word a person sends reaches the engine, which screens it for crisis language
before anything else: message text, photo and file captions, edited messages (text or
caption) and words after a command ("/menu I want to die" is read as text).
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, Message, MessageEntity, Update
from telegram.constants import ChatType

from bot.inbox_turn import Read
from dialogs.model import Command, Event, Location, Photo, Press, Text, Unsupported
from dialogs.safety import assess
from storage.inbox import Incoming

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
        if command is not None and command.args and assess(command.args).level != "none":
            # Commands ignore their words; these must be screened like any message.
            return Text(message.text)
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
        # An edit never changes a saved answer, but its words are screened like any message.
        return Unsupported("edited", words_of(update.edited_message))
    if update.message is not None:
        return _from_message(update.message)
    return None


def words_of(message: Message | None) -> str:
    """What the person wrote in a message: its text, else its caption ("" if neither)."""
    if message is None:
        return ""
    return message.text or message.caption or ""


def words_in(update: Update) -> str:
    """The words of a message or an edited message (text or caption); "" for anything else."""
    return words_of(update.message or update.edited_message)


def read_update(data: dict[str, Any], bot: Bot | None, known: Update | None = None) -> Read:
    """What a stored update (its JSON) means to the engine, for bot/inbox_turn.py.

    `known`: the same update already parsed (this process received it), so the JSON
    need not be parsed again. Anything not from a person in a private chat reads as
    no event.
    """
    update = known if known is not None else Update.de_json(data, bot)
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or user.is_bot or chat.type != ChatType.PRIVATE:
        return Read(None, None)
    query = update.callback_query
    tapped = query.message.message_id if query is not None and query.message else None
    return Read(event_from_update(update), chat.id, tapped, words_in(update))


def incoming(update: Update) -> Incoming | None:
    """The inbox entry for an update from a person in a private chat, else None (groups
    and channels are answered from memory, never stored: bot/telegram_app.py)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or user.is_bot or chat.type != ChatType.PRIVATE:
        return None
    if update.callback_query is not None:
        kind = "callback"
    elif update.edited_message is not None:
        kind = "edited"
    elif update.message is not None:
        kind = "message"
    else:
        kind = "other"
    return Incoming(update.update_id, "telegram", str(user.id), chat.id, kind, update.to_dict())


def seen_only(update: Update) -> Incoming:
    """The inbox entry for an update we only note as seen (groups, other kinds): done at
    once, nothing of it kept but its id, so webhook replicas see no gap (storage/inbox.py)."""
    chat = update.effective_chat
    owner = f"chat:{chat.id}" if chat is not None else "none"
    return Incoming(
        update.update_id, "telegram", owner, chat.id if chat else None, "other", {}, done=True
    )
