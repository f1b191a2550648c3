"""The terminal adapter: the same dialogs and database, one line a message.

Buttons are shown as bracketed options under the message ("  [1] Tell me more"), so a
numbered list inside a message ("1. Anna") never looks like them; typing the number (with
or without brackets) or the label taps one. Works with piped input (one line a message)
and ends cleanly at end of input. At a keyboard, lines can be edited and recalled with the
arrow keys (bot/console_input.py); that history is kept in memory only.

Every sentence shown here comes from prompts/<locale>/console/.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from bot import console_input
from bot.core import Bridges
from bot.sender import Outgoing, html_to_plain, render
from bot.telegram_app import parse_command
from dialogs.inputs import fold
from dialogs.model import Command, Event, Press, Text
from dialogs.safety import assess
from storage.repository import UserKey

Clock = Callable[[], datetime]
Buttons = list[tuple[str, str]]  # (label, callback data) of the latest reply's buttons

YOU = "you> "
BOT = "bridges> "
DIM, RESET = "\x1b[2m", "\x1b[0m"
_BRACKETED = re.compile(r"\[\s*(\d+)\s*\]")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def event_from_line(line: str, buttons: Buttons) -> Event:
    """What a typed line means: a command, a button press, or text.

    A label wins over a position: on a 0-4 scale, "3" means the button "3". A position may
    be typed as shown, "[2]", or plainly, "2". A command with words that need screening
    ("/start I want to die") is read as text, as the Telegram adapter does.
    """
    text = line.rstrip("\r\n")
    stripped = text.strip()
    command = parse_command(stripped)
    if command is not None:
        if command.args and assess(command.args).level != "none":
            return Text(text)
        return command
    bracketed = _BRACKETED.fullmatch(stripped)
    wanted = bracketed.group(1) if bracketed else stripped
    for label, data in buttons:
        if wanted and fold(wanted) == fold(label):
            return Press(data)
    # On a scale whose buttons are numbers ("0 25 50 75 100"), a typed number is a value
    # ("2" means 2, not the second button): the step reads it.
    scale = any(label.strip().isdecimal() for label, _ in buttons)
    if not scale and wanted.isdecimal() and 1 <= int(wanted) <= len(buttons):
        return Press(buttons[int(wanted) - 1][1])
    return Text(text)


def format_message(out: Outgoing) -> tuple[str, Buttons]:
    """The message as terminal lines, and its (non-link) buttons as (label, data).

    Link buttons come first, as in Telegram where a crisis screen puts people at the top:
    "-> Send Anna: ..." before the choices. Choices are indented and bracketed, "  [1] Label"
    (numbers right-aligned), unlike any "1." list in the text; a scale of plain numbers
    shows the values themselves, "  [0]  [1]  [2]", so typing "1" plainly means 1.
    """
    lines = [f"[photo] {out.plain}".rstrip() if out.photo or out.image else out.plain]
    links = [b for row in out.buttons for b in row if b.url]
    lines += [f"  -> {b.label}: {b.url}" for b in links]
    flat = [(b.label, b.data) for row in out.buttons for b in row if not b.url]
    if flat and all(label.isdigit() for label, _ in flat):
        lines.append("  " + "  ".join(f"[{label}]" for label, _ in flat))
    else:
        width = len(str(len(flat))) + 2
        lines += [f"  {f'[{i}]':>{width}} {label}" for i, (label, _) in enumerate(flat, 1)]
    return "\n".join(lines), flat


def person_id(user: str) -> str:
    """A short stable id for a console user (8 hex digits), never the name they typed.

    Names files so that two people sharing a machine don't overwrite each other's export,
    without writing anyone's name on the disk.
    """
    return hashlib.sha256(f"console:{user}".encode()).hexdigest()[:8]


def export_name(name: str, user: str, today: date) -> str:
    """The file name for a document the bot sends, made personal: "bridges-export-
    2026-11-30.json" becomes "bridges-export-1a2b3c4d-2026-11-30.json". A name without a
    date gets `today`'s. Only the base name is kept, so it never points outside the folder.
    """
    base = Path(name).name
    if base in ("", ".", ".."):
        base = "bridges-file"
    stem, suffix = Path(base).stem, Path(base).suffix
    day = _DAY.search(stem)
    pid = person_id(user)
    if day is None:
        return f"{stem}-{pid}-{today.isoformat()}{suffix}"
    head = stem[: day.start()].rstrip("-")
    return f"{head}-{pid}-{stem[day.start() :]}{suffix}" if head else f"{pid}-{stem}{suffix}"


def save_document(name: str, content: bytes, folder: Path | None = None) -> Path:
    """Write a file the bot sends (their export) into `folder` (default: the working
    directory), readable by its owner only where the system allows (mode 0600). A symlink
    in its place is not followed (someone else's trap on a shared machine).
    Returns the absolute path. Raises OSError if it can't be written.
    """
    path = (folder or Path.cwd()).resolve() / Path(name).name  # never outside the folder
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
    os.chmod(path, 0o600)  # an older file of the same name keeps its mode otherwise
    return path


def _wants_color(out: TextIO) -> bool:
    # https://no-color.org: any NO_COLOR value turns colour off.
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return _is_terminal(out)


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


class _Session:
    """One person's chat: turns through Bridges, lines written to `out`. `language`: the
    terminal's language (--lang), an IETF tag such as "es", or None."""

    def __init__(
        self, bridges: Bridges, user: str, out: TextIO, clock: Clock, language: str | None = None
    ) -> None:
        self.bridges = bridges
        self.user = user
        self.key = UserKey("console", user)
        self.out = out
        self.clock = clock
        self.language = language
        self.buttons: Buttons = []

    def locale(self) -> str:
        """The person's language; before onboarding is finished, the terminal's (--lang),
        which /start makes theirs, as Telegram's app language does."""
        profile = self.bridges.store.load(self.key).profile
        if self.language and not profile.onboarded:
            return self.bridges.catalog.locale_for(self.language)
        return profile.locale

    def say(self, name: str, **ctx: object) -> str:
        """A console sentence in the person's language, as plain text."""
        return html_to_plain(self.bridges.catalog.render(self.locale(), f"console/{name}", ctx))

    def completions(self) -> list[str]:
        commands = [f"/{name}" for name in sorted(self.bridges.manager.commands)]
        return commands + [label for label, _ in self.buttons]

    def where_we_were(self) -> None:
        """A chat started again: show the question that waits for an answer, with its
        buttons, so a typed "3" means its third button (not 03:00 at a time step)."""
        state = self.bridges.store.load(self.key)
        replies = self.bridges.manager.where_we_were(state, self.clock())
        for message in render(self.bridges.catalog, state.profile.locale, replies):
            text, flat = format_message(message)
            self.buttons = flat or self.buttons
            self.out.write(f"{BOT}{text}\n\n")

    def turn(self, line: str) -> None:
        event = event_from_line(line, self.buttons)
        if self.language and isinstance(event, Command | Text):
            event = replace(event, language=self.language)
        self.buttons = []  # numbers always refer to the buttons of the latest reply
        now = self.clock()
        for message in self.bridges.handle(self.key, event, now):
            if message.keyboard == "location":
                continue  # a Telegram-only hint: there is no location button here
            text, flat = format_message(message)
            self.buttons = flat or self.buttons
            self.out.write(f"{BOT}{text}\n\n")
            for file in (message.document, message.image):  # an export, a chart
                if file:
                    self.out.write(f"{BOT}{self.save(*file, now.date())}\n\n")

    def save(self, name: str, content: bytes, today: date) -> str:
        """Save a file the bot sent under this person's own name; what to tell them."""
        personal = export_name(name, self.user, today)
        try:
            path = save_document(personal, content)
        except OSError:
            return self.say("file_not_saved", folder=str(Path.cwd()))
        return self.say("file_saved", path=str(path))


def chat(
    bridges: Bridges,
    user: str,
    lines: Iterable[str],
    out: TextIO,
    interactive: bool = False,
    clock: Clock = _utc_now,
    hint: bool | None = None,
    language: str | None = None,
) -> None:
    """Talk with Bridges as console user `user` until `lines` end (or Ctrl-C).

    interactive: someone types at a keyboard: a welcome and goodbye are shown, and when
      `lines` is sys.stdin and `out` sys.stdout, lines are read with `input()` (editing,
      in-memory history, Tab completion). Otherwise each line read is echoed as "you> ...".
    hint: show the one-line /sos reminder before each prompt; None means when someone is
      at the terminal (interactive, or `out` is a terminal). It is dimmed on a colour
      terminal (not when NO_COLOR is set).
    language: the terminal's language (`bridges chat --lang es`): what /start reads, as
      Telegram's app language, so a new person is answered in it; someone who has finished
      onboarding keeps the language they have (/settings changes it).
    """
    session = _Session(bridges, user, out, clock, language)
    show_hint = (interactive or _is_terminal(out)) if hint is None else hint
    dim = _wants_color(out)

    def before_prompt() -> None:
        if show_hint:
            sos = session.say("sos_hint")
            out.write(f"{DIM}{sos}{RESET}\n" if dim else f"{sos}\n")
        out.flush()

    typed: Iterator[str]
    editing = False
    if interactive and lines is sys.stdin and out is sys.stdout:
        editing = console_input.enable_line_editing(session.completions)
        typed = console_input.typed_lines(YOU, before_prompt)
    else:
        typed = _echoed(lines, out, interactive, before_prompt)

    if interactive:
        out.write(f"{session.say('welcome')}\n\n")
    session.where_we_were()
    try:
        for line in typed:
            session.turn(line)
    except KeyboardInterrupt:
        if not interactive:
            raise
    finally:
        if editing:
            console_input.forget_history()
    if interactive:
        out.write(f"\n{session.say('bye')}\n")
        out.flush()


def _echoed(
    lines: Iterable[str], out: TextIO, interactive: bool, before_prompt: Callable[[], None]
) -> Iterator[str]:
    """Lines from a stream or list. At a keyboard the prompt comes before the person types;
    from a pipe each line is echoed after the prompt, so the output reads as a transcript
    (and nothing trails after the last line)."""
    if interactive:
        source = iter(lines)
        while True:
            before_prompt()
            out.write(YOU)
            out.flush()
            line = next(source, None)
            if line is None:
                return
            yield line
    for line in lines:
        before_prompt()
        out.write(f"{YOU}{line.rstrip()}\n")
        yield line


def farewell(bridges: Bridges, user: str, language: str | None = None) -> str:
    """The goodbye line for console user `user`, in their language (see `chat`)."""
    return _Session(bridges, user, sys.stdout, _utc_now, language).say("bye")
