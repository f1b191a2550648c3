"""Replies from the engine, rendered into text and buttons any adapter can send."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from dialogs.model import Keyboard, Reply
from prompts import Catalog


@dataclass(frozen=True)
class Outgoing:
    text: str  # Telegram HTML
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()  # rows of (label, callback data)
    keyboard: Keyboard = None

    @property
    def plain(self) -> str:
        return html_to_plain(self.text)


def render(catalog: Catalog, locale: str, replies: list[Reply]) -> list[Outgoing]:
    out = []
    for reply in replies:
        rows = tuple(
            tuple((catalog.label(locale, b.label, dict(b.ctx)), b.data) for b in row)
            for row in reply.buttons
        )
        out.append(
            Outgoing(catalog.render(locale, reply.template, reply.ctx), rows, reply.keyboard)
        )
    return out


_TAG = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text))
