"""Crisis screening: runs on every free-text message before any dialog sees it.

`is_crisis` is eager on purpose: a missed crisis costs far more than a check-in that was not
needed. The phrasings live in dialogs/data/crisis_patterns.yaml, commented and reviewable;
this module only normalises the text (so spelling tricks, emoji, HTML and look-alike letters
do not hide the words) and applies the patterns, compiled once at import.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

PATTERNS_FILE = Path(__file__).parent / "data" / "crisis_patterns.yaml"

# --- normalisation ---------------------------------------------------------------------------

# Zero-width, soft-hyphen and direction marks vanish, so "sui\u200bcide" reads "suicide".
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e"
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u3164\ufe0e\ufe0f\ufeff"
)
_APOSTROPHES = "’‘`´′ʼʹ"
_CHARS = str.maketrans({**dict.fromkeys(_INVISIBLE, ""), **dict.fromkeys(_APOSTROPHES, "'")})

# Cyrillic and Greek letters that look Latin, swapped back only inside words that mix them
# with Latin letters or are made of them alone ("ѕuicide", "кмѕ"); real Russian words keep
# their letters, so the Russian patterns still read them.
_LOOKALIKES = str.maketrans(
    "аеёіјкмопрсухѕԁһӏαεικνορτυχօսց",
    "aeeijkmoprcyxsdhlaeikvoptuxoug",
)
_LOOKALIKE_SET = frozenset("аеёіјкмопрсухѕԁһӏαεικνορτυχօսց")
_NON_ASCII_WORD = re.compile(r"\w*[^\x00-\x7f]\w*")

_TAG = re.compile(r"</?[a-z][a-z0-9-]*(?:\s[^<>]{0,300})?/?>", re.IGNORECASE)
# Leetspeak inside a word: "su1c1de", "k*ll", "d!e", "my$elf"; and "$uicide", "@live".
_LEET_CHARS = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
_LEET_CHARS |= {"!": "i", "|": "i", "*": "i"}
_LEET = re.compile(r"(?<=[a-z])[013457@$!|*](?=[a-z])|(?<![\w@$])[@$](?=[a-z]{2})")
_INNER_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
# An ellipsis or a dot inside a word ("i.want.to.die", "k.m.s") is a pause, not a full stop.
_PAUSES = re.compile(r"\.{2,}|\u2026|(?<=\w)\.(?=\w)")
_STOPS = re.compile(r"[.!?;:,\n\r\u3001\u3002\u061f\u060c\u0964]+")
_SYMBOLS = re.compile(r"[^\w\s.]|_")
_SPACES = re.compile(r"\s+")
_DOTS = re.compile(r"\.(?: \.)+")
_RUN3 = re.compile(r"([^\W\d_])\1{2,}")
# Words one per sentence for effect: "Kill. My. Self."
_ONE_WORD_SENTENCES = re.compile(r"(?:^|\. )\w+ \. \w+ \. \w+(?: \.|$)")
# Letters spelled one at a time: "k m s", "s.u.i.c.i.d.e", "k-m-s".
_SPELLED = re.compile(r"(?<![\w])[a-z](?:(?: \.)? [a-z](?!\w)){2,}")


def _unmask_lookalikes(match: re.Match[str]) -> str:
    word = match.group()
    letters = [c for c in word if c.isalpha()]
    mixed = any("a" <= c <= "z" for c in letters)
    if mixed or all(c in _LOOKALIKE_SET for c in letters):
        return word.translate(_LOOKALIKES)
    return word


def normalise(text: str) -> str:
    """The text as the patterns read it: lower case, plain letters, single spaces, "." for
    sentence breaks, no apostrophes, runs of 3+ same letters cut to 2 ("killlll" -> "kill")."""
    return _RUN3.sub(r"\1\1", _plain(text))


def _plain(text: str) -> str:
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = text.translate(_CHARS).casefold()
    if not text.isascii():
        folded = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in folded if not unicodedata.combining(c))
        text = _NON_ASCII_WORD.sub(_unmask_lookalikes, text)
    text = _LEET.sub(lambda m: _LEET_CHARS[m.group()], text)
    text = _INNER_APOSTROPHE.sub("", text)
    text = _PAUSES.sub(" ", text)
    text = _STOPS.sub(" . ", text)
    text = _SYMBOLS.sub(" ", text)
    text = _SPACES.sub(" ", text)
    return _DOTS.sub(".", text).strip(" .")


def _spellings(text: str) -> list[str]:
    """The normalised text, plus the extra spellings worth a look (usually none): runs
    squeezed to one letter ("diiiie" -> "die"), and spelled-out letters joined ("k m s")."""
    plain = _plain(text)
    spellings = [_RUN3.sub(r"\1\1", plain)]
    if _RUN3.search(plain):
        spellings.append(_RUN3.sub(r"\1", plain))
    if _ONE_WORD_SENTENCES.search(spellings[0]):
        spellings.append(spellings[0].replace(" .", ""))
    for spelling in list(spellings):
        if _SPELLED.search(spelling):
            spellings.append(_SPELLED.sub(_join_letters, spelling))
    return spellings


def _join_letters(match: re.Match[str]) -> str:
    return match.group().replace(" ", "").replace(".", "")


# --- patterns --------------------------------------------------------------------------------

_MACRO = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class PatternBook:
    """The YAML lists with their macros expanded, raw (for reviewers and the bench)."""

    overrides: list[str]
    removals: list[str]  # negations, then idioms
    crisis: list[str]
    sources: dict[str, str]  # expanded pattern -> the line as written in the YAML


def load_patterns(path: Path = PATTERNS_FILE) -> PatternBook:
    data = yaml.safe_load(path.read_text("utf-8"))
    macros: dict[str, str] = {}
    for name, body in data["macros"].items():
        macros[name] = _expand(str(body), macros)
    sources: dict[str, str] = {}

    def expand_all(key: str) -> list[str]:
        out = []
        for raw in data[key]:
            expanded = _expand(raw, macros)
            sources[expanded] = raw
            out.append(expanded)
        return out

    return PatternBook(
        overrides=expand_all("overrides"),
        removals=expand_all("negations") + expand_all("idioms"),
        crisis=expand_all("crisis"),
        sources=sources,
    )


def _expand(pattern: str, macros: dict[str, str]) -> str:
    def macro(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise ValueError(f"crisis_patterns.yaml: unknown macro {{{name}}} in {pattern!r}")
        return f"(?:{macros[name]})"

    return _MACRO.sub(macro, pattern)


def compile_one(pattern: str) -> re.Pattern[str]:
    """A pattern as the screen uses it: whole words only. (Every pattern starts with a word,
    so "at the start of a word" is the same as \\b there, and about twice as fast: the
    alternatives are not tried again at every word's end.)"""
    return re.compile(rf"(?<!\w)(?=\w)(?:{pattern})\b")


def _compile_all(patterns: list[str]) -> re.Pattern[str]:
    return compile_one("|".join(f"(?:{p})" for p in patterns))


_BOOK = load_patterns()
_OVERRIDES = _compile_all(_BOOK.overrides)
_REMOVALS = _compile_all(_BOOK.removals)
_CRISIS = _compile_all(_BOOK.crisis)


# --- the screen ------------------------------------------------------------------------------

Level = Literal["none", "concern", "crisis"]
Subject = Literal["self", "other"]


@dataclass(frozen=True)
class Risk:
    """What the screen read in one message: never the words, only the verdict.

    level: "none"; "concern" (might be: ask directly and kindly); "crisis" (a clear statement
    of intent, plan, means, a recent act or a goodbye: help first).
    subject: "self", or "other" when the person speaks of someone else at risk.
    families: ids of the pattern families that fired (for the bench and reviewers).
    abuse: the person discloses abuse or violence against them (any level).
    """

    level: Level = "none"
    subject: Subject = "self"
    families: tuple[str, ...] = ()
    abuse: bool = False


NO_RISK = Risk()


def assess(text: str, recent: Risk | None = None) -> Risk:
    """Grade one message. `recent` is the person's last non-"none" Risk if it came within
    the last 30 minutes (the caller keeps level and time, never text): a concern then counts
    as a crisis."""
    # Placeholder over the old yes/no screen until the graded patterns land.
    if _is_crisis_v1(text):
        return Risk("crisis", "self", ("v1",))
    return NO_RISK


def is_crisis(text: str) -> bool:
    """True when the message is a crisis: `assess(text).level == "crisis"`."""
    return assess(text).level == "crisis"


def _is_crisis_v1(text: str) -> bool:
    if not text:
        return False
    for spelling in _spellings(text):
        if _OVERRIDES.search(spelling):
            return True
        # Cheap first: most messages match nothing and are done after this one search (cutting
        # out negations and idioms takes words away; it does not make new crisis phrases).
        if _CRISIS.search(spelling) and _CRISIS.search(_REMOVALS.sub(".", spelling)):
            return True
    return False


def explain(text: str) -> list[str]:
    """The YAML lines that make `text` fire (for the bench and for reviewing a miss)."""
    hits: list[str] = []
    for spelling in _spellings(text):
        cleaned = _REMOVALS.sub(".", spelling)
        for pattern in _BOOK.overrides:
            if compile_one(pattern).search(spelling):
                hits.append(f"override: {_BOOK.sources[pattern]}")
        for pattern in _BOOK.crisis:
            if compile_one(pattern).search(cleaned):
                hits.append(_BOOK.sources[pattern])
    return list(dict.fromkeys(hits))
