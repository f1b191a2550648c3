"""Rendered replies sent through python-telegram-bot: keyboards, links, edits in place."""

from __future__ import annotations

from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.render import OutButton, Outgoing
from bot.split import MESSAGE_LIMIT, split_caption, split_html
from prompts import Catalog

ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _inline(button: OutButton) -> InlineKeyboardButton:
    if button.url:
        return InlineKeyboardButton(button.label, url=button.url)
    return InlineKeyboardButton(button.label, callback_data=button.data)


def markup(catalog: Catalog, out: Outgoing, locale: str = "en") -> ReplyMarkup:
    if out.buttons:
        return InlineKeyboardMarkup([[_inline(b) for b in row] for row in out.buttons])
    if out.keyboard == "location":
        label = catalog.label(locale, "common.share_location")
        return ReplyKeyboardMarkup(
            [[KeyboardButton(label, request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    if out.keyboard == "main":
        # Always one tap away: "Need a quick chat?" first, the menu second.
        return ReplyKeyboardMarkup(
            [[catalog.label(locale, "keyboard.sos")], [catalog.label(locale, "keyboard.menu")]],
            resize_keyboard=True,
            is_persistent=True,
        )
    if out.keyboard == "remove":
        return ReplyKeyboardRemove()
    return None


async def send_all(
    bot: Bot, catalog: Catalog, chat_id: int, messages: list[Outgoing], tapped: int | None
) -> None:
    """Send the replies in order, now, without the outbox (tests and one-off notices).
    Raises the first telegram.error the Bot API gives."""
    for out in messages:
        await send_one(bot, catalog, chat_id, out, tapped)


async def send_one(
    bot: Bot,
    catalog: Catalog,
    chat_id: int,
    out: Outgoing,
    tapped: int | None = None,
    done: int = 0,
    limit: int = MESSAGE_LIMIT,
) -> int:
    """Send one rendered reply as one or more Telegram messages; return how many parts went.

    A text longer than Telegram's limit (`limit`, counted in UTF-16 code units after
    HTML parsing, bot/split.py) goes as several messages split at paragraph or line
    breaks, the keyboard on the last; a photo's or file's caption over 1,024 likewise
    continues in messages after it. One marked `edit` replaces the tapped message
    when it fits in one. `done`: parts already sent by an earlier attempt, skipped.
    Raises telegram.error.* from the Bot API; the parts sent before are then counted
    in the exception's `parts_sent` attribute (set here).
    """
    reply_markup = markup(catalog, out)
    sent = 0
    try:
        if out.document or out.photo or out.image:
            caption, rest = split_caption(out.text) if out.text else ("", [])
            last = not rest
            if done <= sent:
                await _send_media(bot, chat_id, out, caption, reply_markup if last else None)
            sent += 1
            parts = rest
        else:
            parts = split_html(out.text, limit) if out.text else [out.text]
            editable = len(parts) == 1 and out.edit and tapped is not None and done == 0
            if editable and not isinstance(reply_markup, ReplyKeyboardMarkup):
                assert tapped is not None
                if await _edit(bot, chat_id, tapped, out, reply_markup):
                    return 1
        for i, part in enumerate(parts):
            if done <= sent:
                await bot.send_message(
                    chat_id,
                    part,
                    parse_mode=ParseMode.HTML,
                    reply_markup=reply_markup if i == len(parts) - 1 else None,
                    link_preview_options=NO_PREVIEW,
                )
            sent += 1
    except TelegramError as err:
        err.parts_sent = max(sent, done)  # type: ignore[attr-defined]
        raise
    return sent


async def _send_media(
    bot: Bot, chat_id: int, out: Outgoing, caption: str, reply_markup: ReplyMarkup
) -> None:
    if out.document:
        # Their data export: a file, with the text as its caption.
        name, content = out.document
        await bot.send_document(
            chat_id, InputFile(content, filename=name), caption or None,
            parse_mode=ParseMode.HTML, reply_markup=reply_markup,
        )  # fmt: skip
        return
    # A drawn chart (uploaded), or a kit photo sent back by Telegram's file id; the text
    # is its caption.
    photo: InputFile | str
    if out.image:
        photo = InputFile(out.image[1], filename=out.image[0])
    else:
        assert out.photo is not None  # the caller sends media only with one of the three
        photo = out.photo
    await bot.send_photo(
        chat_id, photo, caption or None, parse_mode=ParseMode.HTML, reply_markup=reply_markup
    )


async def _edit(bot: Bot, chat_id: int, message_id: int, out: Outgoing, reply_markup: Any) -> bool:
    inline = reply_markup if isinstance(reply_markup, InlineKeyboardMarkup) else None
    try:
        await bot.edit_message_text(
            out.text,
            chat_id,
            message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=inline,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as err:
        # Unchanged is fine; too old or deleted means: send it as a new message.
        return "not modified" in str(err).lower()
    return True
