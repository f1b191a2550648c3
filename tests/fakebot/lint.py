"""The reply check: every text the fake Bot API receives is read the way a person would.

`lint_reply(text, kind)` names what is wrong with one visible text (tags already parsed
away): doubled punctuation such as "?." or "..", an empty or blank line at either end,
leading or trailing spaces, and Telegram's limits counted in UTF-16 code units (4,096 for a
message, 1,024 for a caption).

The fake records a violation for every message, caption and edit it receives
(`record`); tests/conftest.py fails the test that produced any (`take_violations`). The
record is process-wide, since one test may run several fakes, and thread-safe, since the
loopback server answers from its own thread.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Literal

from tests.fakebot.formatting import utf16_len

Kind = Literal["text", "caption"]
LIMITS: dict[str, int] = {"text": 4096, "caption": 1024}

# Two marks where one belongs: "tap Need a quick chat?." or "Saved!." or "Hi,,".
# "..." (an ellipsis) is allowed; "?!", "!?", "!!" and "??" are emphasis, not mistakes.
_DOUBLED = re.compile(r"\.{2,}|[?!,][.,]|[.,][?!,]")
ELLIPSIS = "..."
# Links and numbers may hold dots next to other marks ("https://a.b/?x=1.", "1..5").
_URL = re.compile(r"(?:https?://|tg://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*")


def _doubled(text: str) -> list[str]:
    found: list[str] = []
    spans = [m.span() for m in _URL.finditer(text)]
    for match in _DOUBLED.finditer(text):
        start, end = match.span()
        mark = match.group()
        if mark == ELLIPSIS:
            continue
        if any(a <= start < b for a, b in spans):
            continue
        before, after = text[start - 1 : start], text[end : end + 1]
        if before.isdigit() and after.isdigit():
            continue  # a number range or version, such as 1..5
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line = text[line_start : line_end if line_end != -1 else len(text)].strip()
        found.append(f"doubled punctuation {mark!r} in: {line[:120]!r}")
    return found


def lint_reply(text: str, kind: Kind = "text") -> list[str]:
    """What is wrong with one visible text a person would read; [] when nothing is.

    `text` is what Telegram shows (HTML parsed away); `kind` is "text" (a message, limit
    4,096) or "caption" (a photo's or file's, limit 1,024; an empty caption is fine). Each
    problem is one short English line. Raises ValueError for an unknown kind.
    """
    if kind not in LIMITS:
        raise ValueError(f"kind must be 'text' or 'caption', not {kind!r}")
    problems: list[str] = []
    if not text.strip():
        return [] if kind == "caption" else ["an empty message"]
    lines = text.split("\n")
    if len(lines) > 1 and not lines[0].strip():
        problems.append("starts with an empty line")
    elif text[0].isspace():
        problems.append("starts with spaces")
    if len(lines) > 1 and not lines[-1].strip():
        problems.append("ends with an empty line")
    elif text[-1].isspace():
        problems.append("ends with spaces")
    problems += _doubled(text)
    units, limit = utf16_len(text), LIMITS[kind]
    if units > limit:
        problems.append(f"{units} UTF-16 units, over Telegram's {kind} limit of {limit}")
    return problems


@dataclass(frozen=True)
class Violation:
    method: str  # sendMessage, sendPhoto, editMessageText...
    chat_id: int | None
    kind: Kind
    problem: str
    text: str

    def __str__(self) -> str:
        return f"{self.method} to {self.chat_id} ({self.kind}): {self.problem}"


class Recorder:
    """Violations seen since the last `take`, across every fake in the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[Violation] = []
        self.enabled = True

    def record(self, method: str, chat_id: int | None, text: str, kind: Kind) -> list[Violation]:
        """Check one visible text; keep and return its violations."""
        if not self.enabled:
            return []
        found = [Violation(method, chat_id, kind, p, text) for p in lint_reply(text, kind)]
        if found:
            with self._lock:
                self._seen.extend(found)
        return found

    def take(self) -> list[Violation]:
        """The violations recorded so far, forgetting them."""
        with self._lock:
            seen, self._seen = self._seen, []
        return seen


RECORDER = Recorder()


def take_violations() -> list[Violation]:
    """Everything the fakes received since the last call that the reply check flags."""
    return RECORDER.take()
