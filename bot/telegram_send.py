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
from telegram.error import BadRequest

from bot.render import OutButton, Outgoing
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
    """Send the replies in order; one marked `edit` replaces the tapped message instead."""
    for out in messages:
        reply_markup = markup(catalog, out)
        if out.document:
            # Their data export: a file, with the text as its caption.
            name, content = out.document
            await bot.send_document(
                chat_id, InputFile(content, filename=name), out.text or None,
                parse_mode=ParseMode.HTML, reply_markup=reply_markup,
            )  # fmt: skip
            continue
        if out.photo:
            # A kit photo, sent back by Telegram's file id; the text is its caption.
            caption = out.text or None
            await bot.send_photo(
                chat_id, out.photo, caption, parse_mode=ParseMode.HTML, reply_markup=reply_markup
            )
            continue
        editable = out.edit and tapped is not None
        if editable and not isinstance(reply_markup, ReplyKeyboardMarkup):
            assert tapped is not None
            if await _edit(bot, chat_id, tapped, out, reply_markup):
                continue
        await bot.send_message(
            chat_id,
            out.text,
            parse_mode=ParseMode.HTML,
            reply_markup=reply_markup,
            link_preview_options=NO_PREVIEW,
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
