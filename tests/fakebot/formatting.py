"""Telegram-style HTML handling: strip tags for assertions, reject markup Telegram would reject."""

from __future__ import annotations

import html
import re

# Tags the Bot API accepts with parse_mode=HTML (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "code", "pre", "blockquote", "tg-emoji",
    }
)  # fmt: skip

_TAG_RE = re.compile(r"<(/?)([a-zA-Z][\w-]*)([^<>]*)>")
# A "<" that starts something tag-like but is not a well-formed tag, e.g. "<b" or "</".
_BROKEN_TAG_RE = re.compile(r"<(?=[/a-zA-Z])")


def is_html(parse_mode: str | None) -> bool:
    return (parse_mode or "").lower() == "html"


def strip_html(text: str) -> str:
    """Text as the user sees it: tags removed, entities (&lt; &amp; ...) decoded."""
    return html.unescape(_TAG_RE.sub("", text))


def html_error(text: str) -> str | None:
    """Return Telegram's parse error for bad HTML, or None if Telegram would accept it.

    Catches the classic bugs: unescaped user input containing "<", unknown tags, and
    unbalanced nesting, which real Telegram answers with 400 "can't parse entities".
    """
    stack: list[str] = []
    pos = 0
    for match in _TAG_RE.finditer(text):
        if _BROKEN_TAG_RE.search(text, pos, match.start()):
            return f"Bad Request: can't parse entities: unexpected '<' at offset {pos}"
        pos = match.end()
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in ALLOWED_TAGS:
            kind = "end" if closing else "start"
            return (
                f'Bad Request: can\'t parse entities: unsupported {kind} tag "{name}" '
                f"at byte offset {match.start()}"
            )
        if not closing:
            stack.append(name)
        elif stack and stack[-1] == name:
            stack.pop()
        else:
            expected = stack[-1] if stack else ""
            return (
                "Bad Request: can't parse entities: unmatched end tag at byte offset "
                f'{match.start()}, expected "</{expected}>", found "</{name}>"'
            )
    if _BROKEN_TAG_RE.search(text, pos):
        return f"Bad Request: can't parse entities: unexpected '<' at offset {pos}"
    if stack:
        return (
            "Bad Request: can't parse entities: can't find end tag corresponding to "
            f'start tag "{stack[-1]}"'
        )
    return None


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets/lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
