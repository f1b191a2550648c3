"""Replays a `.chat` transcript (tests/transcripts/README.md) through the real Application.

A file is a conversation as ChatDriver.transcript() prints it, plus a few directives::

    # what this file shows
    @onboard Lisbon 8:00
    you: /help
    bot: Here is what I can do ...
         [☰ Menu]

The runner reads the file, performs every `you:` line and directive in order against the
real PTB Application on the fake Bot API (tests/telegram_harness.py's `bridges_with_clock`, one
SQLite database per file, a movable `Clock`), and rebuilds the file with the bot lines it
saw. Where an expected line still matches what the bot said (placeholders included) the
file's own line is kept, so the rebuilt text equals the file exactly when the conversation
is unchanged. Otherwise `check_file` fails with a diff that marks the first difference, or,
with BRIDGES_REWRITE_TRANSCRIPTS=1, writes the rebuilt text back.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from prompts import default_catalog
from tests.fakebot import ChatDriver
from tests.fakebot.models import UserAction
from tests.fakebot.transcript import render
from tests.telegram_harness import FIXED_NOW, Clock, ClockedBot, bridges_with_clock, onboard

REWRITE_ENV = "BRIDGES_REWRITE_TRANSCRIPTS"
DEFAULT_USER = 1001
DEFAULT_NAME = "Ada"
RECENT_LINES = 25  # of the chat, shown when a step cannot be performed

# --- placeholders ----------------------------------------------------------------------

_MONTH = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
    r"|ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)[a-z]*"
)
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|lunes|martes|miércoles|jueves|viernes|sábado|domingo)[a-z]*"
PLACEHOLDERS: dict[str, str] = {
    # 2026-11-23, 23 Nov, 23 November 2026, Mon 23 Nov, Monday, 23 November; in Spanish
    # 23 nov 2026, lunes 23 de noviembre
    "date": rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|(?:{_DAY},? )?\d{{1,2}} (?:de )?{_MONTH}(?: \d{{4}})?"
    rf"|{_DAY})",
    "time": r"\d{1,2}:\d{2}(?: ?[AaPp][Mm])?",  # 09:00, 8:15, 7:30 pm
    "n": r"-?\d+(?:[.,]\d+)?",  # a number
    "any": r".*?",  # anything on the rest of this line, even nothing
}
_TOKEN = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}|\{re:")


def _regex_end(text: str, start: int) -> int:
    """Index of the `}` closing a `{re:` opened just before `start` (braces inside nest)."""
    depth = 1
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
        i += 1
    raise ValueError(f"unclosed {{re:...}} in {text!r}")


def compile_line(expected: str) -> re.Pattern[str] | None:
    """A regex for an expected line with placeholders, or None if it has none (compare as is).

    `{date}`, `{time}`, `{n}`, `{any}` and `{re:REGEX}` are placeholders; every other brace
    (a `{keyboard}` row such as `{☰ Menu}`) is literal text. Raises ValueError for a bad
    `{re:...}`.
    """
    parts: list[str] = []
    pos = 0
    found = False
    for match in _TOKEN.finditer(expected):
        if match.start() < pos:  # inside a {re:...} already consumed
            continue
        found = True
        parts.append(re.escape(expected[pos : match.start()]))
        if match.group(1):
            parts.append(PLACEHOLDERS[match.group(1)])
            pos = match.end()
        else:
            end = _regex_end(expected, match.end())
            parts.append(f"(?:{expected[match.end() : end]})")
            pos = end + 1
    if not found:
        return None
    parts.append(re.escape(expected[pos:]))
    return re.compile("".join(parts))


def line_matches(expected: str, actual: str) -> bool:
    """Whether a file's bot line says what the bot said.

    Trailing spaces never count; a continuation line (indented) matches whatever its
    indentation, so editors that trim or re-indent don't break a file.
    """
    expected, actual = expected.rstrip(), actual.rstrip()
    if expected[:1].isspace() and actual[:1].isspace():
        expected, actual = expected.lstrip(), actual.lstrip()
    elif (expected == "") != (actual == ""):
        return False
    pattern = compile_line(expected)
    return pattern.fullmatch(actual) is not None if pattern else expected == actual


def keep_expected(expected: list[str], actual: list[str]) -> list[str]:
    """The actual lines, with each one that an expected line matches (longest common
    subsequence, in order) replaced by that expected line: keeps placeholders and the
    writer's indentation wherever the text still fits them."""
    n, m = len(expected), len(actual)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if line_matches(expected[i], actual[j]):
                best[i][j] = best[i + 1][j + 1] + 1
            else:
                best[i][j] = max(best[i + 1][j], best[i][j + 1])
    out: list[str] = []
    i = j = 0
    while j < m:
        if i < n and line_matches(expected[i], actual[j]):
            out.append(expected[i])
            i, j = i + 1, j + 1
        elif i < n and best[i + 1][j] >= best[i][j + 1]:
            i += 1
        else:
            out.append(actual[j].rstrip())
            j += 1
    return out


# --- the file ----------------------------------------------------------------------------

_BOT = re.compile(r"^bot(?: \([^)]*\))?:")


@dataclass
class Step:
    """One `you:` line or directive, with the bot lines the file expects after it.

    `line` is 1-based; `bot_blocks` are the (start, end) index ranges in `Script.lines` of
    the bot lines that follow it (none: it expects the bot to say nothing).
    """

    line: int
    text: str
    bot_blocks: list[tuple[int, int]] = field(default_factory=list)

    @property
    def is_directive(self) -> bool:
        return self.text.startswith("@")


@dataclass
class Script:
    """A parsed `.chat` file: its lines as written and its steps in order."""

    path: Path
    lines: list[str]
    steps: list[Step]

    def expected(self, step: Step) -> list[str]:
        return [line for start, end in step.bot_blocks for line in self.lines[start:end]]


def parse(path: Path, text: str | None = None) -> Script:
    """Read a `.chat` file into steps. Raises ValueError (with the line) for a bot line
    before any step, or a line that is none of comment, directive, `you:`, `bot:`."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            i += 1
        elif line.startswith(("you:", "@")):
            steps.append(Step(i + 1, line.rstrip()))
            i += 1
        elif _BOT.match(line):
            if not steps:
                raise ValueError(f"{path.name}:{i + 1}: a bot line before any `you:` line")
            end = i + 1
            while end < len(lines) and (
                not lines[end].strip() or lines[end][:1].isspace() or _BOT.match(lines[end])
            ):
                end += 1
            while not lines[end - 1].strip():  # blank lines after a block separate it
                end -= 1
            steps[-1].bot_blocks.append((i, end))
            i = end
        else:
            raise ValueError(
                f"{path.name}:{i + 1}: expected `# comment`, `@directive`, `you:` or `bot:`, "
                f"got {line!r}"
            )
    return Script(path, lines, steps)


def rebuild(script: Script, actual: dict[int, list[str]]) -> str:
    """The file's text with each step's bot lines replaced by `actual[step.line]` (the
    expected line kept wherever it still matches); everything else as written."""
    out: list[str] = []
    replace: dict[int, tuple[int, list[str]]] = {}  # block start -> (block end, new lines)
    after_step: dict[int, list[str]] = {}  # step line index -> new lines (no block yet)
    for step in script.steps:
        new = keep_expected(script.expected(step), actual.get(step.line, []))
        if step.bot_blocks:
            first, *rest = step.bot_blocks
            replace[first[0]] = (first[1], new)
            for start, end in rest:
                replace[start] = (end, [])
        elif new:
            after_step[step.line - 1] = new
    i = 0
    while i < len(script.lines):
        if i in replace:
            end, new = replace[i]
            out.extend(new)
            i = end
            continue
        out.append(script.lines[i])
        out.extend(after_step.get(i, []))
        i += 1
    return "\n".join(out) + "\n"


# --- replaying ----------------------------------------------------------------------------

_LOCATION = re.compile(r"^\(location (-?[\d.]+), (-?[\d.]+)\)$")
_STICKER = re.compile(r"^\(sticker ?(.*)\)$")
_PHOTO = re.compile(r"^\(photo\) ?(.*)$")
_VOICE = re.compile(r"^\(voice (\d+)s\)$")
_RELATIVE = re.compile(r"^\+(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?$")
_TIME = re.compile(r"^\d{1,2}:\d{2}$")


def parse_now(arg: str, zone: ZoneInfo, current: datetime) -> datetime:
    """`2026-11-24 18:00 [Zone]` (in `zone` when none is named) or `+1d 2h 30m` from
    `current`. Raises ValueError otherwise."""
    arg = arg.strip()
    relative = _RELATIVE.match(arg)
    if relative and any(relative.groups()):
        days, hours, minutes = (int(g or 0) for g in relative.groups())
        return current + timedelta(days=days, hours=hours, minutes=minutes)
    parts = arg.split()
    if len(parts) not in (2, 3):
        raise ValueError(f"@now wants `YYYY-MM-DD HH:MM [Zone]` or `+1d 2h 30m`, got {arg!r}")
    where = zone if len(parts) == 2 else _zone(parts[2])
    local = datetime.strptime(f"{parts[0]} {parts[1]}", "%Y-%m-%d %H:%M")
    return local.replace(tzinfo=where).astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo("UTC" if name.upper() == "UTC" else name)


class Replay:
    """One file's conversation, live: the bot, the clock, who is talking."""

    def __init__(self, bot: ClockedBot, clock: Clock) -> None:
        self.bot = bot
        self.clock = clock
        self.zone = ZoneInfo("UTC")
        self.chats: dict[int, ChatDriver] = {}
        self.language = "en"  # the app language of people who start talking (@lang)
        self.seen: dict[int, int] = {}  # chat id -> history entries already shown (or hidden)
        self.chat = self._person(DEFAULT_USER, DEFAULT_NAME)
        self.setup = False  # between @setup and @end: performed, replies not shown

    def _person(self, user_id: int, name: str) -> ChatDriver:
        if user_id not in self.chats:
            self.chats[user_id] = self.bot.tg.chat(
                user_id, first_name=name, language_code=self.language
            )
        return self.chats[user_id]

    async def step(self, text: str) -> list[str]:
        """Perform one `you:` line or directive; then the bot lines that arrived in the
        current person's chat since it was last shown (after `@user`, what came while
        someone else was talking)."""
        shown = await (self._directive(text[1:]) if text.startswith("@") else self._you(text))
        await self.bot.sender.idle()
        chat = self.chat
        entries = chat.fake.history(chat.chat_id, since=self.seen.get(chat.chat_id, 0))
        self.seen[chat.chat_id] = self.seen.get(chat.chat_id, 0) + len(entries)
        if not shown or self.setup:
            return []
        lines = render(e for e in entries if not isinstance(e, UserAction))
        return lines.splitlines() if lines else []

    async def _you(self, text: str) -> bool:
        said = text[len("you:") :].strip()
        chat = self.chat
        if said.startswith("[") and said.endswith("]"):
            await chat.click(said[1:-1])
        elif m := _LOCATION.match(said):
            await chat.send_location(float(m[1]), float(m[2]))
        elif m := _STICKER.match(said):
            await chat.send_sticker(m[1] or "\N{THUMBS UP SIGN}")
        elif m := _PHOTO.match(said):
            await chat.send_photo(m[1] or None)
        elif m := _VOICE.match(said):
            await chat.send_voice(int(m[1]))
        else:
            await chat.send(said[1:] if said.startswith("\\") else said)
        return True

    async def _directive(self, text: str) -> bool:
        name, _, arg = text.partition(" ")
        arg = arg.strip()
        if name == "now":
            self.clock.set(parse_now(arg, self.zone, self.clock.now))
        elif name == "zone":
            self.zone = _zone(arg)
        elif name == "user":
            user_id, _, person = arg.partition(" ")
            self.chat = self._person(int(user_id), person.strip() or DEFAULT_NAME)
        elif name == "lang":
            # From now on this person's app is in that language (Telegram's language_code).
            self.language = arg
            self.chat.sender["language_code"] = arg
            return False
        elif name == "onboard":
            words = arg.split()
            time_label = words.pop() if words and _TIME.match(words[-1]) else "8:00"
            locale = default_catalog().locale_for(self.chat.sender["language_code"])
            await onboard(self.chat, " ".join(words) or "Lisbon", time_label, locale)
            return False  # the onboarding files show it whole; here it is only the setup
        elif name in ("setup", "end"):
            self.setup = name == "setup"
            return False
        elif name == "sweep":
            await self.bot.sweep()
        else:
            raise ValueError(f"unknown directive @{name} (see tests/transcripts/README.md)")
        return True


async def replay(script: Script, workdir: Path) -> dict[int, list[str]]:
    """Run every step of `script`, fresh bot and database in `workdir`: step line -> bot
    lines. A step that fails raises AssertionError naming the file and line."""
    workdir.mkdir(parents=True, exist_ok=True)
    clock = Clock(FIXED_NOW)
    actual: dict[int, list[str]] = {}
    async with bridges_with_clock(workdir, clock) as bot:
        live = Replay(bot, clock)
        for step in script.steps:
            try:
                actual[step.line] = await live.step(step.text)
            except (AssertionError, ValueError) as err:
                # ChatDriver's message ends with the whole chat; the last lines are enough.
                problem = str(err).split("\n--- transcript ---")[0]
                recent = live.chat.transcript().splitlines()[-RECENT_LINES:]
                raise AssertionError(
                    f"{script.path}:{step.line}: {step.text}\n{problem}\n"
                    f"--- the chat's last {len(recent)} lines ---\n" + "\n".join(recent)
                ) from None
    return actual


# --- checking ------------------------------------------------------------------------------


def _first_difference(old: list[str], new: list[str]) -> tuple[int, int] | None:
    """(line index in old, line index in new) of the first difference, or None."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, _i2, j1, _j2 in matcher.get_opcodes():
        if tag != "equal":
            return i1, j1
    return None


def _step_before(script: Script, index: int) -> str:
    before = [s for s in script.steps if s.line - 1 < index]
    return f" (after line {before[-1].line}: {before[-1].text})" if before else ""


def describe_difference(script: Script, rebuilt: str) -> str:
    """A readable failure: where the first difference is (marked), then a unified diff of
    the file (expected) against the replay (actual)."""
    old, new = script.lines, rebuilt.splitlines()
    first = _first_difference(old, new)
    if first is None:
        return ""
    i, j = first
    expected = old[i] if i < len(old) else "(nothing)"
    actual = new[j] if j < len(new) else "(nothing)"
    common = 0
    while common < min(len(expected), len(actual)) and expected[common] == actual[common]:
        common += 1
    diff = difflib.unified_diff(
        old, new, f"{script.path.name} (expected)", "replayed (actual)", n=3, lineterm=""
    )
    return "\n".join(
        [
            f"{script.path}: the bot said something else, first at line {i + 1}"
            f"{_step_before(script, i)}",
            f"  expected: {expected}",
            f"  actual:   {actual}",
            "            " + " " * common + "^",
            "",
            *diff,
            "",
            f"If the new wording is deliberate: {REWRITE_ENV}=1 "
            ".venv/bin/python -m pytest tests/test_transcripts.py",
        ]
    )


def rewrite_requested() -> bool:
    """Whether BRIDGES_REWRITE_TRANSCRIPTS asks to write the replayed bot lines back."""
    return os.environ.get(REWRITE_ENV, "").strip() not in ("", "0", "no", "false")


async def check_file(path: Path, workdir: Path, rewrite: bool | None = None) -> str:
    """Replay `path`; raise AssertionError with `describe_difference` if the bot said
    anything else, or (rewrite) write the new bot lines into the file. Returns the
    rebuilt text."""
    script = parse(path)
    rebuilt = rebuild(script, await replay(script, workdir))
    if rebuilt.splitlines() == script.lines:
        return rebuilt
    if rewrite if rewrite is not None else rewrite_requested():
        path.write_text(rebuilt, encoding="utf-8")
        return rebuilt
    raise AssertionError(describe_difference(script, rebuilt))


def chat_files(folder: Path) -> Iterator[Path]:
    """The `.chat` files of `folder`, by name."""
    yield from sorted(folder.glob("*.chat"))
