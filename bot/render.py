"""Replies from the engine, rendered into text and buttons any adapter can send."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from typing import Any

from dialogs.model import Button, Keyboard, Reply
from prompts import Catalog


@dataclass(frozen=True)
class OutButton:
    label: str
    data: str = ""  # callback data, or
    url: str | None = None  # a link to open


@dataclass(frozen=True)
class Outgoing:
    text: str  # Telegram HTML
    buttons: tuple[tuple[OutButton, ...], ...] = ()
    keyboard: Keyboard = None
    edit: bool = False  # replace the message whose button was tapped
    photo: str | None = None  # a photo's file id; the text is then its caption
    document: tuple[str, bytes] | None = None  # a file (name, bytes); the text is its caption

    @property
    def plain(self) -> str:
        return html_to_plain(self.text)


def render(catalog: Catalog, locale: str, replies: list[Reply]) -> list[Outgoing]:
    out = []
    for reply in replies:
        rows = tuple(tuple(_button(catalog, locale, b) for b in row) for row in reply.buttons)
        text = catalog.render(locale, reply.template, reply.ctx)
        out.append(Outgoing(text, rows, reply.keyboard, reply.edit, reply.photo, reply.document))
    return out


def _button(catalog: Catalog, locale: str, button: Button) -> OutButton:
    label = catalog.label(locale, button.label, dict(button.ctx))
    if button.checked:
        label = catalog.label(locale, "common.checked", {"label": label})
    return OutButton(label, button.data, button.url)


_TAG = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


def outgoing_to_json(out: Outgoing, tapped: int | None = None) -> dict[str, Any]:
    """An Outgoing as plain JSON for the outbox (storage/outbox.py); `tapped` is the id of
    the message whose button was tapped, which an `edit` reply replaces."""
    data: dict[str, Any] = {"text": out.text}
    if out.buttons:
        data["buttons"] = [
            [{"label": b.label, "data": b.data, "url": b.url} for b in row] for row in out.buttons
        ]
    if out.keyboard:
        data["keyboard"] = out.keyboard
    if out.edit and tapped is not None:
        data["edit"] = tapped
    if out.photo:
        data["photo"] = out.photo
    if out.document:
        name, content = out.document
        data["document"] = {"name": name, "content": base64.b64encode(content).decode("ascii")}
    return data


def outgoing_from_json(data: dict[str, Any]) -> tuple[Outgoing, int | None]:
    """The Outgoing and the tapped message id that `outgoing_to_json` stored."""
    buttons = tuple(
        tuple(OutButton(b["label"], b.get("data") or "", b.get("url")) for b in row)
        for row in data.get("buttons") or ()
    )
    document = data.get("document")
    doc = (document["name"], base64.b64decode(document["content"])) if document else None
    tapped = data.get("edit")
    out = Outgoing(
        data["text"], buttons, data.get("keyboard"), tapped is not None, data.get("photo"), doc
    )
    return out, tapped
