"""The terminal adapter: the same dialogs and database, one line a message.

Buttons are shown as numbered options; typing the number or the label taps it.
Works with piped input (one line a message) and ends cleanly at end of input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.core import Bridges
from bot.render import Outgoing
from bot.telegram_events import parse_command
from dialogs.inputs import fold
from dialogs.model import Event, Press, Text
from storage.repository import UserKey

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def event_from_line(line: str, buttons: list[tuple[str, str]]) -> Event:
    text = line.rstrip("\r\n")
    command = parse_command(text.strip())
    if command is not None:
        return command
    stripped = text.strip()
    wanted = fold(stripped)
    # A label wins over a position: on a 0-4 scale, "3" means the button "3".
    for label, data in buttons:
        if wanted and wanted == fold(label):
            return Press(data)
    if stripped.isdigit() and 1 <= int(stripped) <= len(buttons):
        return Press(buttons[int(stripped) - 1][1])
    return Text(text)


def format_message(out: Outgoing) -> tuple[str, list[tuple[str, str]]]:
    """The message as terminal lines, and its numbered (non-link) buttons as (label, data).

    Link buttons come first, as in Telegram where a crisis screen puts people at the top:
    "-> Send Anna: ..." before the numbered choices.
    """
    lines = [f"[photo] {out.plain}".rstrip() if out.photo else out.plain]
    links = [b for row in out.buttons for b in row if b.url]
    lines += [f"  -> {b.label}: {b.url}" for b in links]
    flat = [(b.label, b.data) for row in out.buttons for b in row if not b.url]
    if flat and all(label.isdigit() for label, _ in flat):
        # A scale: show the values themselves, so typing "3" plainly means 3.
        lines.append("  " + "  ".join(f"[{label}]" for label, _ in flat))
    else:
        lines += [f"  {i}) {label}" for i, (label, _) in enumerate(flat, start=1)]
    return "\n".join(lines), flat


def save_document(name: str, content: bytes) -> Path:
    """A file the bot sends (their export) lands in the working directory."""
    path = Path.cwd() / Path(name).name  # never outside it, whatever the name says
    path.write_bytes(content)
    return path


def chat(
    bridges: Bridges,
    user: str,
    lines: Iterable[str],
    out: TextIO,
    interactive: bool = False,
    clock: Clock = _utc_now,
) -> None:
    key = UserKey("console", user)
    buttons: list[tuple[str, str]] = []
    if interactive:
        out.write("Bridges in your terminal. Type /start to begin; Ctrl-D to leave.\n\n")
    prompt = "you> " if interactive else ""
    out.write(prompt)
    out.flush()
    for line in lines:
        if not interactive:
            out.write(f"you> {line.rstrip()}\n")
        event = event_from_line(line, buttons)
        buttons = []  # numbers always refer to the buttons of the latest reply
        for message in bridges.handle(key, event, clock()):
            if message.keyboard == "location":
                continue  # a Telegram-only hint: there is no location button here
            text, flat = format_message(message)
            buttons = flat or buttons
            out.write(f"bridges> {text}\n\n")
            if message.document:
                out.write(f"bridges> [file] {save_document(*message.document)}\n\n")
        out.write(prompt)
        out.flush()
    if interactive:
        out.write("\nBye for now. Take care.\n")
