"""Split long Telegram texts and captions (parse_mode=HTML) into parts Telegram accepts.

Unit: every length in this module is in UTF-16 code units of the text Telegram shows (tags
removed, entities decoded). Public reports disagree on whether Telegram's limits (4,096 for a
message, 1,024 for a caption) count code points or UTF-16 code units; a text within the limit
in UTF-16 units is within it in code points too (a code point is 1 or 2 units), so counting
UTF-16 units satisfies both readings. An emoji outside the BMP ("💛", "𝓗") counts 2.

Pure functions, no I/O: the sender (bot/sender.py `send_one`) decides what to send.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

MESSAGE_LIMIT = 4096  # UTF-16 code units of visible text per message
CAPTION_LIMIT = 1024  # UTF-16 code units of visible text per photo/document caption

# The same tag shape the fake Bot API strips (tests/fakebot/formatting.py), so both agree.
_TAG = r"<(/?)([a-zA-Z][\w-]*)([^<>]*)>"
# Everything Python's html.unescape would read as a character reference. Each match is kept
# whole, so a cut never lands inside "&amp;" even when Telegram would show it literally.
_ENTITY = r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)"
_TOKEN_RE = re.compile(f"(?:{_TAG})|{_ENTITY}")
# Telegram decodes only these named entities (and numeric ones), each with its ';'.
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

# Whitespace a part may be cut at (and loses at the cut). Not NBSP: that one means "no break".
_SPACE = frozenset(" \t\n\r\f\v")
_ZWJ = "\u200d"

Kind = Literal["open", "close", "text"]


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units (non-BMP characters count 2, others 1).

    This is the unit Telegram's limits are safely counted in (see the module docstring).
    Lone surrogates count 1 each, as they would on the wire.
    """
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def visible_len(html: str) -> int:
    """UTF-16 length of the text Telegram shows for `html` sent with parse_mode=HTML.

    Tags count 0; &lt; &gt; &amp; &quot; and numeric entities (&#39; &#x1F49B;) count as the
    character they stand for. Other "&name;" forms count at their literal length, which is
    what Telegram shows and never less than what html.unescape would give, so a text within
    a limit here is within it for Telegram and for the fake Bot API in tests alike.
    """
    return utf16_len(_TOKEN_RE.sub(_shown, html))


def _shown(match: re.Match[str]) -> str:
    return "" if match.group(2) is not None else _decode_entity(match.group(0))


def split_html(html: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split an HTML-parse-mode message into parts of at most `limit` visible UTF-16 units.

    A text within the limit comes back as [html], unchanged. Otherwise cuts prefer, within
    each part's reach, the last blank line, then the last line break, then the last space,
    and only then a cut between two characters (never inside a tag, an entity, or a cluster
    of base letter + combining marks / ZWJ sequence / variation selector / skin tone, unless
    one such cluster alone exceeds the limit). Whitespace at a cut is dropped. Tags open at a
    cut are closed at the end of the part and reopened (same attributes) at the start of the
    next, so each part is valid HTML on its own if the input was.

    Returns no empty parts: [] only for an over-limit text with nothing visible but spaces.
    Raises ValueError if a single character or entity is longer than `limit` (limit < 2).
    """
    # The raw text is never shorter than what it shows, so this skips parsing short texts.
    if utf16_len(html) <= limit or visible_len(html) <= limit:
        return [html]
    return _split(html, limit, limit)


def split_caption(html: str) -> tuple[str, list[str]]:
    """Split a photo's/document's HTML caption: (caption, message parts that follow it).

    The caption has at most CAPTION_LIMIT visible UTF-16 units, each following part at most
    MESSAGE_LIMIT; cut preferences as in split_html. A caption within the limit comes back
    unchanged with no parts.
    """
    if utf16_len(html) <= CAPTION_LIMIT or visible_len(html) <= CAPTION_LIMIT:
        return html, []
    parts = _split(html, CAPTION_LIMIT, MESSAGE_LIMIT)
    if not parts:
        return "", []
    return parts[0], parts[1:]


# --- tokens ---------------------------------------------------------------------------------


class _Token(NamedTuple):  # a tuple: one is built per character of a long text
    kind: Kind
    raw: str
    visible: str = ""  # text tokens: what Telegram shows
    name: str = ""  # tags: name as written


def _decode_entity(raw: str) -> str:
    """What Telegram shows for one entity-looking match: the character, or the raw text."""
    if not raw.endswith(";"):
        return raw
    body = raw[1:-1]
    if body in _NAMED:
        return _NAMED[body]
    if body.startswith("#"):
        digits = body[1:]
        base = 16 if digits[:1] in ("x", "X") else 10
        code = int(digits[1:] if base == 16 else digits, base)
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code)
    return raw


def _tokens(html: str) -> Iterator[_Token]:
    """Tags, entities and runs of plain text, in order; plain text runs are one token each."""
    pos = 0
    for match in _TOKEN_RE.finditer(html):
        if match.start() > pos:
            plain = html[pos : match.start()]
            yield _Token("text", plain, plain)
        raw = match.group(0)
        if match.group(2) is not None:
            kind: Kind = "close" if match.group(1) else "open"
            yield _Token(kind, raw, name=match.group(2))
        else:
            yield _Token("text", raw, _decode_entity(raw))
        pos = match.end()
    if pos < len(html):
        plain = html[pos:]
        yield _Token("text", plain, plain)


def _atoms(html: str) -> list[_Token]:
    """Tokens with plain text split into single characters (entities stay whole)."""
    out: list[_Token] = []
    for tok in _tokens(html):
        if tok.kind == "text" and tok.raw == tok.visible and len(tok.raw) > 1:
            out.extend(_Token("text", ch, ch) for ch in tok.raw)
        elif tok.kind != "text" or tok.visible:
            out.append(tok)
    return out


# --- where a cut may go ---------------------------------------------------------------------


def _extends(ch: str) -> bool:
    """Whether `ch` belongs to the character before it (so no cut may go before it)."""
    if ch < "\u0300":  # fast path: nothing below the combining diacritics block extends
        return False
    cp = ord(ch)
    return (
        unicodedata.combining(ch) != 0
        or unicodedata.category(ch) in ("Mn", "Mc", "Me")  # incl. keycap U+20E3
        or cp == 0x200D  # zero-width joiner
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # emoji tag sequences (subdivision flags)
        or 0xDC00 <= cp <= 0xDFFF  # low half of a surrogate pair
    )


def _is_regional(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _breakable(texts: list[str]) -> list[bool]:
    """ok[k]: a cut may go between visible atom k-1 and atom k (ok[0] is True)."""
    ok = [True] * len(texts)
    regional_run = 0
    for k in range(1, len(texts)):
        prev, cur = texts[k - 1][-1], texts[k][0]
        regional_run = regional_run + 1 if _is_regional(prev) else 0
        ok[k] = not (
            _extends(cur)
            or prev == _ZWJ
            or (prev == "\r" and cur == "\n")
            or (_is_regional(cur) and regional_run % 2 == 1)  # the second half of a flag
        )
    return ok


@dataclass(frozen=True, slots=True)
class _Run:
    """Whitespace atoms [start, end) a cut may fall on; rank 3 blank line, 2 line, 1 space."""

    start: int
    end: int
    rank: int


def _runs(texts: list[str], ok: list[bool]) -> list[_Run]:
    n = len(texts)
    # A space followed by a combining mark is that mark's base: visible, not a cut point.
    space = [t in _SPACE and (k + 1 == n or ok[k + 1]) for k, t in enumerate(texts)]
    runs: list[_Run] = []
    k = 0
    while k < n:
        if not space[k]:
            k += 1
            continue
        start = k
        while k < n and space[k]:
            k += 1
        newlines = sum(texts[i].count("\n") for i in range(start, k))
        runs.append(_Run(start, k, 3 if newlines >= 2 else 2 if newlines == 1 else 1))
    return runs


# --- splitting ------------------------------------------------------------------------------


def _split(html: str, first_limit: int, limit: int) -> list[str]:
    """Parts of `html`: the first within `first_limit`, the others within `limit`."""
    tokens = _atoms(html)
    where = [i for i, tok in enumerate(tokens) if tok.kind == "text"]  # token index per atom
    texts = [tokens[i].visible for i in where]
    n = len(texts)
    prefix = [0]
    for text in texts:  # utf16_len inlined: this loop runs once per character
        prefix.append(prefix[-1] + len(text) + sum(ch > "\uffff" for ch in text))
    ok = _breakable(texts)
    runs = _runs(texts, ok)
    run_starts = [r.start for r in runs]
    space_end = {k: r.end for r in runs for k in range(r.start, r.end)}
    last = n  # one past the last visible non-space atom
    while last > 0 and last - 1 in space_end:
        last -= 1

    ranges: list[tuple[int, int]] = []  # visible atoms [s, e) per part
    s = space_end.get(0, 0)
    budget = first_limit
    while s < last:
        if prefix[last] - prefix[s] <= budget:
            ranges.append((s, last))
            break
        reach = bisect_right(prefix, prefix[s] + budget) - 1  # atoms [s, reach) fit
        if reach <= s:
            raise ValueError(f"limit {budget} is shorter than one character or entity")
        run = _best_run(runs, run_starts, s, reach)
        if run is not None:
            ranges.append((s, run.start))
            s = run.end
        else:
            cut = next((k for k in range(reach, s, -1) if ok[k]), reach)
            ranges.append((s, cut))
            s = space_end.get(cut, cut)
        budget = limit
    stacks = _stacks(tokens)
    return [_render(tokens, stacks, where[a], _end_token(tokens, where[b - 1])) for a, b in ranges]


def _best_run(runs: list[_Run], starts: list[int], s: int, reach: int) -> _Run | None:
    """The highest-ranked whitespace run starting in (s, reach], the latest among equals."""
    best: _Run | None = None
    i = bisect_right(starts, reach) - 1
    while i >= 0 and runs[i].start > s:
        run = runs[i]
        if best is None or run.rank > best.rank:
            best = run
            if run.rank == 3:
                break  # nothing outranks the latest blank line
        i -= 1
    return best


def _end_token(tokens: list[_Token], i: int) -> int:
    """One past token i and the closing tags right after it (they belong to this part)."""
    i += 1
    while i < len(tokens) and tokens[i].kind == "close":
        i += 1
    return i


Stack = tuple[_Token, ...]


def _stacks(tokens: list[_Token]) -> list[Stack]:
    """stacks[i]: the open tags (outermost first) just before token i; one extra at the end."""
    stack: Stack = ()
    out: list[Stack] = []
    for tok in tokens:
        out.append(stack)
        if tok.kind == "open":
            stack = (*stack, tok)
        elif tok.kind == "close":
            name = tok.name.lower()
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth].name.lower() == name:
                    stack = stack[:depth]
                    break
    out.append(stack)
    return out


def _render(tokens: list[_Token], stacks: list[Stack], start: int, end: int) -> str:
    """Tokens [start, end) with the tags open at start reopened and those open at end closed."""
    head = "".join(tag.raw for tag in stacks[start])
    body = "".join(tok.raw for tok in tokens[start:end])
    tail = "".join(f"</{tag.name}>" for tag in reversed(stacks[end]))
    return head + body + tail
