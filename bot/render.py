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
    image: tuple[str, bytes] | None = None  # a drawn picture (name, PNG bytes) sent as a photo

    @property
    def plain(self) -> str:
        return html_to_plain(self.text)


def render(catalog: Catalog, locale: str, replies: list[Reply]) -> list[Outgoing]:
    """The replies in `locale`: text rendered, labels looked up, charts drawn (PNG)."""
    out = []
    for reply in replies:
        rows = tuple(tuple(_button(catalog, locale, b) for b in row) for row in reply.buttons)
        text = catalog.render(locale, reply.template, reply.ctx)
        image = _chart(catalog, locale, reply.chart) if reply.chart else None
        out.append(
            Outgoing(text, rows, reply.keyboard, reply.edit, reply.photo, reply.document, image)
        )
    return out


CHART_NAME = "bridges-mood-chart.png"


def _chart(catalog: Catalog, locale: str, chart: dict[str, Any]) -> tuple[str, bytes]:
    """A chart reply's picture. bot.chart is imported here, only when a chart is drawn:
    matplotlib costs start-up time and memory that a turn without a chart never needs."""
    from datetime import date

    from bot import chart as drawing

    days = [(date.fromisoformat(str(day)), mood) for day, mood in chart.get("days") or []]
    return CHART_NAME, drawing.draw_mood_chart(days, drawing.chart_words(catalog, locale))


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
    for key, file in (("document", out.document), ("image", out.image)):
        if file:
            name, content = file
            data[key] = {"name": name, "content": base64.b64encode(content).decode("ascii")}
    return data


def outgoing_from_json(data: dict[str, Any]) -> tuple[Outgoing, int | None]:
    """The Outgoing and the tapped message id that `outgoing_to_json` stored."""
    buttons = tuple(
        tuple(OutButton(b["label"], b.get("data") or "", b.get("url")) for b in row)
        for row in data.get("buttons") or ()
    )
    doc, image = (
        (file["name"], base64.b64decode(file["content"])) if (file := data.get(key)) else None
        for key in ("document", "image")
    )
    tapped = data.get("edit")
    out = Outgoing(
        data["text"],
        buttons,
        data.get("keyboard"),
        tapped is not None,
        data.get("photo"),
        doc,
        image,
    )
    return out, tapped
