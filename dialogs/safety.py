"""Crisis screening: runs on every text, caption and edit before any dialog sees it.

`assess` grades one message: "crisis" (a clear statement of intent, plan, means, a recent act,
a lethal-dose question or a goodbye), "concern" (anything that might be: the person is asked
directly) or "none"; whose risk it is ("self" or "other"); and whether the person discloses
abuse against them. The phrasings live in dialogs/data/crisis_patterns.yaml, by family,
commented and reviewable, and the Spanish ones in crisis_patterns_es.yaml (both read on every
message, whatever the person's language; dialogs/safety_es.py reads who is speaking in
Spanish); this module normalises the text (so spelling tricks, emoji, HTML,
look-alike letters, a stray full stop or line break do not hide the words), applies the
patterns (compiled once at import) and reads the subject from the words around each hit.
Beside the wordings, a structural reader (_field_hits) combines fields of words per clause
(a sign of ending, a means, "now", a time, a decision, a goodbye...), so that new wordings
of a plan, a goodbye or a lethal question are read by their shape; quoted or reported words
count for the person quoted, a self-frame ("(me)") for the writer; recovery told as past
and hyperbole about ordinary things are lowered. When the patterns see nothing in a message
that reads as Spanish, a second reader (dialogs/safety_model.py, a small linear model trained
on the labelled Spanish tables) may still make it a concern: Spanish phrasings vary more than
any list the project could write (docs/safety.md). Pure Python; no I/O after import but
reading that model's weights on the first Spanish message it is needed for.
"""

from __future__ import annotations

import html
import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from re import _constants as _C  # type: ignore[attr-defined]
from re import _parser as _sre_parse  # type: ignore[attr-defined]
from typing import Any, Literal

from dialogs import safety_es, safety_model
from dialogs.yaml_data import load_yaml

PATTERNS_FILE = Path(__file__).parent / "data" / "crisis_patterns.yaml"
# Spanish has its own file (issue 14): its idioms, negations and regional slang are many and
# reviewed by other people; each file keeps its own macros. Both are read on every message,
# whatever the person's language setting (a Spanish speaker may use English settings).
PATTERNS_FILE_ES = Path(__file__).parent / "data" / "crisis_patterns_es.yaml"
PATTERN_FILES = (PATTERNS_FILE, PATTERNS_FILE_ES)

# --- normalisation ---------------------------------------------------------------------------

# Zero-width, soft-hyphen and direction marks vanish, so "sui\u200bcide" reads "suicide".
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e"
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u3164\ufe0e\ufe0f\ufeff"
)
_APOSTROPHES = "’‘`´′ʼʹ"
# Risk emoji are read as words, so "🔪 my wrists" and "all of these 💊" meet the word patterns.
RISK_EMOJI = {
    "\U0001faa6": "grave",
    "\u26b0": "coffin",
    "\U0001faa2": "rope",
    "\U0001f52a": "knife",
    "\U0001f48a": "pills",
    "\U0001f52b": "gun",
    "\U0001fa78": "blood",
}
_CHARS = str.maketrans(
    {
        **dict.fromkeys(_INVISIBLE, ""),
        **dict.fromkeys(_APOSTROPHES, "'"),
        **{emoji: f" {word} " for emoji, word in RISK_EMOJI.items()},
        # Places and things that stand for a method, read as words (not risk emoji alone).
        **dict.fromkeys("\U0001f30a", " sea "),
        **dict.fromkeys("\U0001f682\U0001f686\U0001f684\U0001f685\U0001f687", " train "),
        **dict.fromkeys("\U0001f3e2\U0001f3d9\U0001f3ec", " building "),
        "\u2702": " scissors ",
        # A sleeping face: "want to 😴 forever" reads "want to sleep forever".
        "\U0001f634": " sleep ",
        # Laughing emoji read as "lol": a joke marker ("goodbye world 😂").
        **dict.fromkeys("\U0001f602\U0001f923\U0001f606\U0001f639", " lol "),
    }
)
# "🌉⬇️": a bridge and a way down, read as the words they stand for.
_EMOJI_PHRASES = (("\U0001f309\u2b07", " jump off the bridge "), ("\U0001f3e2\u2b07", " jump off "))
# A full stop or a line break followed by a lower-case letter is a pause inside a phrase
# ("I'm checking out. permanently", "i just want to\ndie"), not a sentence break.
_SOFT_BREAK = re.compile(r"(?:\.[ \t]*(?:\r?\n[ \t]*)*|[ \t]*(?:\r?\n[ \t]*)+)(?=[a-z])")

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
# Leetspeak at a word's edge, which the inner-letter rule leaves: "m4t4rm3", "n0", "3stoy"
# (a word of letters and 0 1 3 4 5 7, with a letter). Read only as a last spelling.
_LEET_DIGIT = re.compile("[a-z][013457]|[013457][a-z]")  # cheap first: most texts hold none
_EDGE_LEET = re.compile(r"(?<![\w])(?=[a-z]*[013457])(?=[0-9]*[a-z])[a-z013457]{2,}(?![\w])")


def _unmask_lookalikes(match: re.Match[str]) -> str:
    word = match.group()
    letters = [c for c in word if c.isalpha()]
    mixed = any("a" <= c <= "z" for c in letters)
    if mixed or all(c in _LOOKALIKE_SET for c in letters):
        return word.translate(_LOOKALIKES)
    return word


def normalise(text: str) -> str:
    """The text as the patterns read it: lower case, plain letters, single spaces, "." for
    sentence breaks (a full stop or line break before a lower-case letter is only a pause),
    risk emoji as words, no apostrophes, runs of 3+ same letters cut to 2 ("killlll" -> "kill").
    """
    return _RUN3.sub(r"\1\1", _plain(text))


def _plain(text: str) -> str:
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if "\u2b07" in text:
        for emoji, words in _EMOJI_PHRASES:
            text = text.replace(emoji, words)
    text = text.translate(_CHARS)
    if "\n" in text or ". " in text or "." in text:
        text = _SOFT_BREAK.sub(" ", text)
    text = text.casefold()
    if not text.isascii():
        folded = unicodedata.normalize("NFKD", text)
        # Accents dropped: the few distinct marks found once, then removed in C (a Spanish
        # message has accents in most sentences; char by char in Python was the slow part).
        marks = [c for c in set(folded) if unicodedata.combining(c)]
        text = folded.translate(dict.fromkeys(map(ord, marks))) if marks else folded
        text = _NON_ASCII_WORD.sub(_unmask_lookalikes, text)
    text = _LEET.sub(lambda m: _LEET_CHARS[m.group()], text)
    text = _INNER_APOSTROPHE.sub("", text)
    text = _PAUSES.sub(" ", text)
    text = _STOPS.sub(" . ", text)
    text = _SYMBOLS.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _DOTS.sub(".", text).strip(" .")
    return _respell(text)


def _respell(text: str) -> str:
    """Texting spellings of the words the patterns read, replaced word by word ("im gona kil
    myslf tonite" -> "im gonna kill myself tonight"; the map is `spelling:` in the patterns
    file). Two-word variants ("b dead" -> "be dead", "w out" -> "without") replace both
    words. One dict look-up per word, no regex per word."""
    words = text.split(" ")
    changed = False
    for index, word in enumerate(words):
        if word in _PAIR_FIRST and index + 1 < len(words):
            pair = _SPELLING_PAIRS.get((word, words[index + 1]))
            if pair is not None:
                words[index], words[index + 1] = pair, ""
                changed = True
                continue
        new = _SPELLING.get(word)
        if new is not None:
            words[index] = new
            changed = True
    return " ".join(w for w in words if w) if changed else text


def _spellings(text: str) -> list[str]:
    """The normalised text, plus the extra spellings worth a look (usually none): runs
    squeezed to one letter ("diiiie" -> "die"), spelled-out letters joined ("k m s"), and
    digits at a word's edge read as letters ("m4t4rm3", "n0 qu1er0"; tried last)."""
    plain = _plain(text)
    spellings = [_RUN3.sub(r"\1\1", plain)]
    if _RUN3.search(plain):
        spellings.append(_RUN3.sub(r"\1", plain))
    if _ONE_WORD_SENTENCES.search(spellings[0]):
        spellings.append(spellings[0].replace(" .", ""))
    for spelling in list(spellings):
        if _SPELLED.search(spelling):
            spellings.append(_SPELLED.sub(_join_letters, spelling))
    for spelling in list(spellings):
        if _LONG_WORD.search(spelling):
            spaced = _LONG_WORD.sub(_segment, spelling)
            if spaced != spelling:
                spellings.append(spaced)
    if _LEET_DIGIT.search(spellings[0]) and _EDGE_LEET.search(spellings[0]):
        unleet = _respell(_EDGE_LEET.sub(_unleet, spellings[0]))
        if unleet != spellings[0]:
            spellings.append(unleet)
    return spellings


def _unleet(match: re.Match[str]) -> str:
    return "".join(_LEET_CHARS.get(c, c) for c in match.group())


# Words run together ("nobodywouldcareifiwasgone", "k i l l m y s e l f t o n i g h t"
# once its letters are joined) are cut back into words when every piece is one of these.
_LEXICON_TEXT = (
    "i im me my myself want wanna to die dead kill end it all life live living anymore "
    "tonight today tomorrow now nobody no one would care if was were gone disappear vanish "
    "just dont do not going gonna hate everyone better off without be here alive exist sleep "
    "forever never wake up suicide suicidal hurt cut self harm goodbye bye sorry love you "
    "cant take this any more please help am so tired of need give"
)
_LONG_WORD = re.compile(r"(?<![\w])[a-z]{9,40}(?![\w])")


class _Lexicon:
    """A small lexicon that words run together are cut back into (one per language, so a
    word is never cut into a mix of English and Spanish pieces)."""

    def __init__(self, words: frozenset[str]) -> None:
        self.words = words
        self.by_first: dict[str, tuple[str, ...]] = {}
        self.by_last: dict[str, tuple[str, ...]] = {}
        for word in sorted(words):
            self.by_first[word[0]] = (*self.by_first.get(word[0], ()), word)
            self.by_last[word[-1]] = (*self.by_last.get(word[-1], ()), word)

    def cut(self, word: str) -> list[str] | None:
        """`word` as two or more lexicon words (the fewest), or None."""
        if word in self.words or not (
            any(word.startswith(w) for w in self.by_first.get(word[0], ()))
            and any(word.endswith(w) for w in self.by_last.get(word[-1], ()))
        ):
            return None  # a word, or one that cannot start and end with lexicon words
        best: list[list[str] | None] = [[]] + [None] * len(word)
        for end in range(1, len(word) + 1):
            for start in range(max(0, end - 11), end):
                piece = word[start:end]
                if best[start] is not None and piece in self.words:
                    candidate = best[start] + [piece]  # type: ignore[operator]
                    if best[end] is None or len(candidate) < len(best[end]):  # type: ignore[arg-type]
                        best[end] = candidate
        found = best[len(word)]
        return found if found and len(found) > 1 else None


_LEXICONS = (_Lexicon(frozenset(_LEXICON_TEXT.split())), _Lexicon(safety_es.LEXICON))


def _segment(match: re.Match[str]) -> str:
    """A run-together word cut into lexicon words, or left as it is."""
    word = match.group()
    for lexicon in _LEXICONS:
        found = lexicon.cut(word)
        if found:
            return " ".join(found)
    return word


def _join_letters(match: re.Match[str]) -> str:
    return match.group().replace(" ", "").replace(".", "")


# --- patterns --------------------------------------------------------------------------------

_MACRO = re.compile(r"\{([a-z_]+)\}")

Level = Literal["none", "concern", "crisis"]
Subject = Literal["self", "other"]
LEVELS: tuple[Level, ...] = ("none", "concern", "crisis")
_RANK = {level: rank for rank, level in enumerate(LEVELS)}


@dataclass(frozen=True)
class PatternBook:
    """The YAML lists with their macros expanded, raw (for reviewers, tests and the bench).

    families: (family id, level) -> patterns; level is "crisis" or "concern".
    sources: expanded pattern -> the line as written in the YAML.
    """

    overrides: list[str]
    removals: list[str]  # negations, idioms, hyperbole
    families: dict[tuple[str, str], list[str]]
    benign: list[str]
    benign_weak: list[str]
    benign_means: list[str]
    jokes: list[str]
    self_frame: list[str]
    abuse: list[str]
    abuse_not: list[str]
    sources: dict[str, str]
    fields: dict[str, list[str]] = field(default_factory=dict)  # the structural reader's
    spelling: dict[str, str] = field(default_factory=dict)  # texting variant -> the word
    # Read near each hit: laughter ("jajaja") lowers it like a joke marker, but only when
    # it is next to the hit, not anywhere in the message.
    laughter: list[str] = field(default_factory=list)
    serious: list[str] = field(default_factory=list)  # "no es broma": a joke marker is void
    # Stock exclamations ("me quiero morir") and the ordinary causes they are said about
    # ("se me cayó el café"): with a cause, a laugh makes one none, no laugh a concern.
    exclamations: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    # Family pattern -> the language of its file ("en" unless the file says `language:`):
    # who is speaking is read differently in Spanish, which drops the subject.
    origin: dict[str, str] = field(default_factory=dict)


def load_patterns(path: Path = PATTERNS_FILE) -> PatternBook:
    """Read and expand the pattern file. Raises ValueError on an unknown {macro} or a level
    other than crisis/concern, OSError when the file can't be read."""
    data = load_yaml(path.read_text("utf-8"))
    macros: dict[str, str] = {}
    for name, body in (data.get("macros") or {}).items():
        macros[name] = _expand(str(body), macros, path.name)
    sources: dict[str, str] = {}

    def expand_all(raws: list[str] | None) -> list[str]:
        out = []
        for raw in raws or []:
            expanded = _expand(raw, macros, path.name)
            sources[expanded] = raw
            out.append(expanded)
        return out

    families: dict[tuple[str, str], list[str]] = {}
    for family, levels in (data.get("families") or {}).items():
        for level, raws in (levels or {}).items():
            if level not in ("crisis", "concern"):
                raise ValueError(f"{path.name}: {family}: unknown level {level!r}")
            if raws:
                families[(family, level)] = expand_all(raws)
    # Older files keep one flat `crisis` list: read it as one family.
    if data.get("crisis"):
        families[("active_ideation", "crisis")] = expand_all(data["crisis"])
    return PatternBook(
        overrides=expand_all(data.get("overrides")),
        removals=expand_all(data.get("negations"))
        + expand_all(data.get("idioms"))
        + expand_all(data.get("hyperbole")),
        families=families,
        benign=expand_all(data.get("benign")),
        benign_weak=expand_all(data.get("benign_weak")),
        benign_means=expand_all(data.get("benign_means")),
        jokes=expand_all(data.get("jokes")),
        self_frame=expand_all(data.get("self_frame")),
        abuse=expand_all(data.get("abuse")),
        abuse_not=expand_all(data.get("abuse_not")),
        sources=sources,
        fields={name: expand_all(raws) for name, raws in (data.get("fields") or {}).items()},
        spelling={
            str(variant): str(word)
            for word, variants in (data.get("spelling") or {}).items()
            for variant in str(variants).split()
        },
        laughter=expand_all(data.get("laughter")),
        serious=expand_all(data.get("serious")),
        exclamations=expand_all(data.get("exclamations")),
        causes=expand_all(data.get("causes")),
        origin={p: str(data.get("language") or "en") for ps in families.values() for p in ps},
    )


def load_book(paths: tuple[Path, ...] = PATTERN_FILES) -> PatternBook:
    """Every pattern file read and merged into one book: lists joined in file order, the
    families and fields joined by name, spellings merged. What the screen runs."""
    books = [load_patterns(path) for path in paths]
    families: dict[tuple[str, str], list[str]] = {}
    fields: dict[str, list[str]] = {}
    for book in books:
        for key, patterns in book.families.items():
            families.setdefault(key, []).extend(patterns)
        for name, patterns in book.fields.items():
            fields.setdefault(name, []).extend(patterns)

    def joined(name: str) -> list[str]:
        return [p for book in books for p in getattr(book, name)]

    return PatternBook(
        overrides=joined("overrides"),
        removals=joined("removals"),
        families=families,
        benign=joined("benign"),
        benign_weak=joined("benign_weak"),
        benign_means=joined("benign_means"),
        jokes=joined("jokes"),
        self_frame=joined("self_frame"),
        abuse=joined("abuse"),
        abuse_not=joined("abuse_not"),
        sources={k: v for book in books for k, v in book.sources.items()},
        fields=fields,
        spelling={k: v for book in books for k, v in book.spelling.items()},
        laughter=joined("laughter"),
        serious=joined("serious"),
        exclamations=joined("exclamations"),
        causes=joined("causes"),
        origin={k: v for book in books for k, v in book.origin.items()},
    )


def _expand(pattern: str, macros: dict[str, str], where: str = "crisis_patterns.yaml") -> str:
    def macro(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in macros:
            raise ValueError(f"{where}: unknown macro {{{name}}} in {pattern!r}")
        return f"(?:{macros[name]})"

    return _MACRO.sub(macro, pattern)


def compile_one(pattern: str) -> re.Pattern[str]:
    """A pattern as the screen uses it: whole words only. (Every pattern starts with a word,
    so "at the start of a word" is the same as \\b there, and about twice as fast: the
    alternatives are not tried again at every word's end.) Raises re.error for an invalid
    pattern."""
    return re.compile(rf"(?<!\w)(?=\w)(?:{pattern})\b")


class _Lazy:
    """A regex compiled on first use (or by warm_up), with the methods the screen calls.

    Compiling every pattern of the screen takes about 2 s of CPU in Python's re (its parser
    is pure Python), which made that the largest part of the bot's start-up; most messages
    touch a few of these. Each is compiled once, under _BUILD_LOCK: the screen runs on the
    event loop and on the database threads at once.
    """

    __slots__ = ("_build", "_regex")

    def __init__(self, build: Callable[[], re.Pattern[str]] | None) -> None:
        self._build = build
        self._regex: re.Pattern[str] | None = None
        _ALL_LAZY.append(self)

    def _make(self) -> re.Pattern[str]:
        assert self._build is not None
        return self._build()

    def compiled(self) -> re.Pattern[str]:
        """The compiled regex (compiling it now if nothing did yet)."""
        regex = self._regex
        if regex is None:
            with _BUILD_LOCK:
                regex = self._regex
                if regex is None:
                    regex = self._regex = self._make()
                    self._build = None
        return regex

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        """re.Pattern.search."""
        return self.compiled().search(text, pos, endpos)

    def sub(self, repl: str | Callable[[re.Match[str]], str], text: str) -> str:
        """re.Pattern.sub."""
        return self.compiled().sub(repl, text)

    def findall(self, text: str) -> list[Any]:
        """re.Pattern.findall."""
        return self.compiled().findall(text)

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        """re.Pattern.match."""
        return self.compiled().match(text, pos)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """re.Pattern.finditer."""
        return self.compiled().finditer(text)


class _Group(_Lazy):
    """One dispatch group of _Dispatch: its patterns as a tuple of the book's own strings,
    joined into the regex's source only when it compiles. Each group's source written out
    at build time (1,327 of them, the same patterns over and over) held ~1.5 MB for the
    life of the bot, though only a few dozen groups ever compile (issue 15)."""

    __slots__ = ("_parts",)

    def __init__(self, parts: tuple[str, ...]) -> None:
        super().__init__(None)
        self._parts = parts

    def _make(self) -> re.Pattern[str]:
        source = r"(?=\w)(?:" + "|".join(f"(?:{p})" for p in self._parts) + r")\b"
        regex = re.compile(source)
        self._parts = ()  # the regex keeps its source
        return regex


# Held while a dispatch table is built or a lazy regex compiles. The screen runs on the
# event loop and on every database thread, and the first messages after a start (a backlog,
# or people writing at once) reach it before the warm-up does: without the lock, each thread
# built its own copy of the dispatch tables (all kept by _ALL_LAZY: 2-3 copies, ~2 MB each,
# in bench/turns.py) and compiled the same groups side by side, each with its own parse
# trees (issue 15). Building and compiling are Python under the GIL, so a thread waiting
# here loses no CPU it would have had; it gets the same tables and regexes as before.
# Reentrant: _Either builds both of its dispatches inside its own build.
_BUILD_LOCK = threading.RLock()
_ALL_LAZY: list[_Lazy] = []


def prepare() -> None:
    """Build the dispatch tables (about 0.2 s of CPU) but compile no group: what `bridges
    run` does in a thread soon after start (bot/cli.py), so the first message need not."""
    _ANY_OR_FIELD.ensure()


def warm_up() -> int:
    """Compile every regex of the screen now rather than at first use; returns how many
    were compiled. Bots call it in a thread once they are polling (bot/cli.py), so the
    first messages after a start do not pay for it; bench/safety.py before timing."""
    prepare()
    waiting = [lazy for lazy in list(_ALL_LAZY) if lazy._regex is None]
    for lazy in waiting:
        lazy.compiled()
    return len(waiting)


def _compile_all(patterns: list[str]) -> _Lazy:
    """All `patterns` as one regex (compiled at first use), dispatched on the first letter."""
    return _Lazy(lambda: _compile_all_now(patterns))


# Sets of fewer patterns than this are one alternation in their own order, not dispatched
# on first letters, whenever that gives the same matches (see _compile_all_now). On the test
# tables' 14,600 phrases such sets searched in 0.7-1.4x the time (faster on 4,096-character
# messages), and the regex is several times smaller: a pattern that can start with k letters
# is written once, not k times. The two sets every message needs (overrides and abuse, 12
# patterns each) went from 51,000 characters of regex to 11,000: ~3 MB less of re's parse
# trees while they compile, ~0.35 MB less kept, ~1.3 MB lower peak RSS in bench/turns.py
# (issue 15). Larger sets, where the dispatch pays, are dispatched as before.
_DISPATCH_FROM = 16


def _compile_all_now(patterns: list[str]) -> re.Pattern[str]:
    """All `patterns` in one regex, dispatched on the first letter: Python's re tries every
    alternative of an alternation at every word start, so 400 patterns over 4,096 characters
    cost about 10 ms; grouped behind a one-letter lookahead ("(?=k)(?:kms|kill...)") each word
    start tries only the patterns that can begin with its letter (about 10x faster).

    A small set is one plain alternation instead (fewer than 8 patterns always; fewer than
    _DISPATCH_FROM when no pattern that could start with any letter comes before one that
    cannot). The latter matches exactly as the dispatch would: at a word start both try the
    patterns that can begin with its letter in the patterns' own order, the others failing
    at their first letter, and then those that could start anywhere, which the dispatch puts
    last."""
    if not patterns:
        return re.compile(r"(?!x)x")  # matches nothing
    if len(patterns) < 8:
        return compile_one("|".join(f"(?:{p})" for p in patterns))
    firsts = [_first_chars(pattern) for pattern in patterns]
    if len(patterns) < _DISPATCH_FROM and _anywhere_last(firsts):
        return compile_one("|".join(f"(?:{p})" for p in patterns))
    return compile_one(_dispatched(patterns, firsts))


def _dispatched(patterns: list[str], firsts: list[set[str] | None]) -> str:
    """The alternation of `patterns` grouped by first letter (`firsts`: each pattern's
    _first_chars), those that could start with any letter last."""
    by_char: dict[str, list[str]] = {}
    anywhere: list[str] = []
    for pattern, chars in zip(patterns, firsts, strict=True):
        if chars is None:
            anywhere.append(pattern)
            continue
        for char in sorted(chars):
            by_char.setdefault(char, []).append(pattern)
    groups = [
        f"(?={re.escape(char)})(?:{'|'.join(f'(?:{p})' for p in group)})"
        for char, group in sorted(by_char.items())
    ]
    groups += [f"(?:{p})" for p in anywhere]
    return "|".join(groups)


def _anywhere_last(firsts: list[set[str] | None]) -> bool:
    """True when no pattern that could start with any letter (None) precedes one that can't."""
    seen_anywhere = False
    for chars in firsts:
        if chars is None:
            seen_anywhere = True
        elif seen_anywhere:
            return False
    return True


def _first_chars(pattern: str) -> set[str] | None:
    """The characters a match of `pattern` can start with, or None when it could be any."""
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception:
        return None
    chars, nullable = _firsts(list(parsed))
    return None if nullable else chars


# One item of a parsed pattern: (opcode, argument). re._parser is private and has no stubs,
# and the argument's shape depends on the opcode (an int, a list of items, a tuple...).
_Parsed = tuple[Any, Any]


def _firsts(items: list[_Parsed]) -> tuple[set[str] | None, bool]:
    """(chars or None, nullable) for a sequence of parsed items."""
    out: set[str] = set()
    for op, av in items:
        if op in (_C.ASSERT, _C.ASSERT_NOT, _C.AT):
            continue
        chars, nullable = _first_item(op, av)
        if chars is None:
            return None, False
        out |= chars
        if not nullable:
            return out, False
    return out, True


def _first_item(op: Any, av: Any) -> tuple[set[str] | None, bool]:
    if op is _C.LITERAL:
        return {chr(av)}, False
    if op is _C.IN:
        chars: set[str] = set()
        for iop, iav in av:
            if iop is _C.LITERAL:
                chars.add(chr(iav))
            elif iop is _C.RANGE:
                lo, hi = iav
                if hi - lo > 400:
                    return None, False
                chars |= {chr(c) for c in range(lo, hi + 1)}
            else:
                return None, False
        return chars, False
    if op is _C.SUBPATTERN:
        return _firsts(list(av[-1]))
    if op is _C.BRANCH:
        out: set[str] = set()
        nullable = False
        for branch in av[1]:
            found, n = _firsts(list(branch))
            if found is None:
                return None, False
            out |= found
            nullable = nullable or n
        return out, nullable
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
        lo, _hi, item = av
        found, n = _firsts(list(item))
        if found is None:
            return None, False
        return found, n or lo == 0
    return None, False


_MAX_KEYS = 300  # three-letter prefixes one pattern may expand to before two letters do


def _trie(keys: set[str]) -> str:
    """One regular expression matching any of `keys` as a prefix, nested by letter so
    that a word is rejected after a few steps ("ab", "ac", "b" -> "(?:a[bc]|b)")."""
    children: dict[str, set[str]] = {}
    ends = False
    for key in keys:
        if not key:
            ends = True
        else:
            children.setdefault(key[0], set()).add(key[1:])
    if ends:
        return ""  # a key ends here: anything may follow
    leaves = sorted(c for c, rest in children.items() if rest == {""})
    parts = [re.escape(c) + _trie(rest) for c, rest in sorted(children.items())
             if rest != {""}]  # fmt: skip
    if leaves:
        parts.append(
            re.escape(leaves[0])
            if len(leaves) == 1
            else "[" + "".join(re.escape(c) for c in leaves) + "]"
        )
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _prefixes(pattern: str, size: int = 2) -> set[str] | None:
    """The first `size` characters a match of `pattern` can start with (shorter strings mean
    "anything after that"), or None when a match could start with anything."""
    try:
        parsed = _sre_parse.parse(pattern)
    except re.error:
        return None
    found = _pre_seq(list(parsed), size)
    keys = {text for text, _complete in found}
    return None if "" in keys else keys


def _pre_seq(items: list[_Parsed], size: int) -> set[tuple[str, bool]]:
    """(prefix, complete) pairs for a parsed sequence; complete: the sequence ended there."""
    if not items:
        return {("", True)}
    if size == 0:
        return {("", False)}
    op, av = items[0]
    if op in (_C.ASSERT, _C.ASSERT_NOT, _C.AT):
        return _pre_seq(items[1:], size)
    heads = _pre_item(op, av, size)
    if heads is None:
        return {("", False)}
    out: set[tuple[str, bool]] = set()
    for head, complete in heads:
        if complete and len(head) < size:
            out |= {(head + tail, c) for tail, c in _pre_seq(items[1:], size - len(head))}
        else:
            out.add((head[:size], False))
    return out


def _pre_item(op: Any, av: Any, size: int) -> set[tuple[str, bool]] | None:
    if op is _C.LITERAL:
        return {(chr(av), True)}
    if op is _C.IN:
        chars: set[str] = set()
        for item_op, item_av in av:
            if item_op is _C.LITERAL:
                chars.add(chr(item_av))
            elif item_op is _C.RANGE and item_av[1] - item_av[0] <= 400:
                chars |= {chr(c) for c in range(item_av[0], item_av[1] + 1)}
            else:
                return None
        return {(c, True) for c in chars}
    if op is _C.SUBPATTERN:
        return _pre_seq(list(av[-1]), size)
    if op is _C.BRANCH:
        out: set[tuple[str, bool]] = set()
        for branch in av[1]:
            out |= _pre_seq(list(branch), size)
        return out
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
        low, high, item = av
        once = _pre_seq(list(item), size)
        out = {(s, c and high == 1) for s, c in once}  # after one of several: unknown
        if low == 0:
            out.add(("", True))
        return out
    return None


class _Dispatch:
    """`search(text)`: does any of `patterns` match at a word start? The same answer as one
    alternation of them all, about five times faster on long messages: Python's re tries
    every alternative at every word start, so here each word start only tries the patterns
    that can begin with its first two characters (a dict lookup), each group compiled once."""

    _WORD_START = re.compile(r"(?<!\w)\w")

    def __init__(self, patterns: list[str]) -> None:
        # Built at first use (or by prepare()): reading 1,200 patterns' first letters takes
        # about 0.2 s of CPU that `bridges run` should not spend before its first poll.
        self._patterns = patterns
        self._built = False

    def ensure(self) -> None:
        """Build the dispatch tables now if nothing did yet (idempotent; threads that need
        them meanwhile wait for this one build)."""
        if not self._built:
            with _BUILD_LOCK:  # one build, whichever threads need it first
                if not self._built:
                    self._build(self._patterns)
                    self._built = True

    def _build(self, patterns: list[str]) -> None:
        three: dict[str, list[str]] = {}
        two: dict[str, list[str]] = {}
        one: dict[str, list[str]] = {}
        anywhere: list[str] = []
        by_size = {3: three, 2: two, 1: one}
        for pattern in patterns:
            keys = _prefixes(pattern, 3)
            if keys is None or len(keys) > _MAX_KEYS:
                keys = _prefixes(pattern)
            if keys is None:
                anywhere.append(pattern)
                continue
            for key in keys:
                by_size[len(key)].setdefault(key, []).append(pattern)
        self._any = _compile_all(anywhere) if anywhere else None

        # Keys whose groups hold the same patterns share one group: one regex, compiled once.
        groups: dict[tuple[str, ...], _Group] = {}

        def group(ps: list[str]) -> _Group:
            parts = tuple(dict.fromkeys(ps))
            found = groups.get(parts)
            if found is None:
                found = groups[parts] = _Group(parts)
            return found

        # A word start tries only the patterns that can begin with its first three letters
        # (or two, or one, for patterns whose start is known only that far).
        self._one = {c: group(ps + anywhere) for c, ps in one.items()}
        self._two = {k: group(ps + one.get(k[0], []) + anywhere) for k, ps in two.items()}
        self._three = {
            k: group(ps + two.get(k[:2], []) + one.get(k[0], []) + anywhere)
            for k, ps in three.items()
        }
        # The word starts worth a look, found in C rather than word by word in Python: those
        # whose first letters begin some pattern (a trie, so each word costs a few steps).
        self.heads = {*three, *two, *one}
        self._candidates = re.compile(r"(?<!\w)" + _trie(self.heads)) if self.heads else None

    def search(self, text: str) -> bool:
        """True when any pattern matches in `text`."""
        return bool(self.starts(text, first=True))

    def starts(self, text: str, first: bool = False) -> list[int]:
        """Where matches start (only the first one when `first`)."""
        self.ensure()
        three, two, one = self._three, self._two, self._one
        found: list[int] = []
        for start in self._candidates.finditer(text) if self._candidates else ():
            pos = start.start()
            regex = (
                three.get(text[pos : pos + 3]) or two.get(text[pos : pos + 2]) or one.get(text[pos])
            )
            if regex is not None and regex.match(text, pos):
                found.append(pos)
                if first:
                    return found
        if self._any is not None:
            found = sorted({*found, *(m.start() for m in self._any.finditer(text))})
        return found

    def group(self, key: str) -> _Lazy | None:
        """The group for a word start beginning with `key` (up to 3 characters)."""
        self.ensure()
        return self._three.get(key) or self._two.get(key[:2]) or self._one.get(key[:1])

    def keys(self) -> tuple[set[str], set[str], set[str]]:
        """The 3-, 2- and 1-character keys it dispatches on."""
        self.ensure()
        return set(self._three), set(self._two), set(self._one)

    def anywhere(self, text: str) -> set[int]:
        """Where the patterns that could start with any letter match."""
        self.ensure()
        return {m.start() for m in self._any.finditer(text)} if self._any is not None else set()


_BOOK = load_book()
_SPELLING = {k: v for k, v in _BOOK.spelling.items() if "_" not in k}
# Two-word variants, replaced together ("b_dead": "b dead" -> "be dead"; "b" alone stays).
_SPELLING_PAIRS = {tuple(k.split("_", 1)): v for k, v in _BOOK.spelling.items() if "_" in k}
_PAIR_FIRST = frozenset(first for first, _second in _SPELLING_PAIRS)
_OVERRIDES = _compile_all(_BOOK.overrides)
_REMOVALS = _compile_all(_BOOK.removals)
# One search over every family first: most messages match nothing and stop there.
_ANY = _Dispatch([p for patterns in _BOOK.families.values() for p in patterns])
# Each family compiled once per language of its patterns (the language says how to read
# who is speaking: see _whose).
_FAMILIES = [
    (key, language, _compile_all(in_language))
    for key, patterns in _BOOK.families.items()
    for language in sorted({_BOOK.origin.get(p, "en") for p in patterns})
    if (in_language := [p for p in patterns if _BOOK.origin.get(p, "en") == language])
]
_BENIGN = _compile_all(_BOOK.benign)
_BENIGN_WEAK = _compile_all(_BOOK.benign_weak)
_BENIGN_MEANS = _compile_all(_BOOK.benign_means)
_LONG = 1000  # characters: longer messages are read around their matches only
_SPAN = 300  # characters each side of a match read in a long message
_NEAR = 120  # characters each side of a hit read for its setting (about a sentence)
_FICTION = re.compile(
    r"(?<!\w)(?:character|characters|book|novel|film|movie|show|series|episode|season|song|"
    r"poem|play|story|game|scene|documentary|podcast|news|article|anime|manga|comic|hamlet|"
    r"lyrics?|chapter|villain|hero|protagonist|actor|actress|doc|docu\w*|audiobook|thriller|"
    r"victim|true crime|case|" + safety_es.FICTION + r")s?\b"
)
_JOKES = _compile_all(_BOOK.jokes)
# Laughter counts for the hit it is next to (within _CLOSE characters), not for the whole
# message: "jaja, the cat meme... and if I jumped off the bridge?" is not a joke about it.
_LAUGHTER = _compile_all(_BOOK.laughter)
_CLOSE = 30
_SERIOUS_MORE = _compile_all(_BOOK.serious)
_EXCLAMATIONS = _compile_all(_BOOK.exclamations)
_CAUSES = _compile_all(_BOOK.causes)
_SELF_FRAME = _compile_all(_BOOK.self_frame)
_ABUSE = _compile_all(_BOOK.abuse)
_ABUSE_NOT = _compile_all(_BOOK.abuse_not)


# The structural reader (see "THE STRUCTURAL READER" in the YAML): one regex per field.
def _branches(patterns: list[str]) -> list[str]:
    """Each pattern cut at its top-level "|": a field is one long alternation, and the fast
    search dispatches branch by branch on their first letters (one branch that could start
    anywhere would otherwise send the whole field to be tried at every word)."""
    out = []
    for pattern in patterns:
        depth, escaped, in_class, start = 0, False, False, 0
        for index, char in enumerate(pattern):
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif in_class:
                in_class = char != "]"
            elif char == "[":
                in_class = True
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif char == "|" and depth == 0:
                out.append(pattern[start:index])
                start = index + 1
        out.append(pattern[start:])
    return [branch for branch in out if branch]


_FIELDS = {name: _compile_all(_branches(patterns)) for name, patterns in _BOOK.fields.items()}
_CLAUSE_FIELDS = (
    "act", "act_alone", "euphemism", "hopeless", "act_weak", "means", "now", "here", "time",
    "resolve", "resolve_weak", "intent", "leaving", "leaving_weak", "finality", "secret_time",
    "ask",
)  # fmt: skip
# Only a clause with one of these can fire; the rest only add to them.
_ANCHORS = (
    "act", "act_alone", "act_weak", "euphemism", "hopeless", "means", "resolve", "leaving",
    "secret_time",
)  # fmt: skip
_FIELD_ANY = _Dispatch([p for name in _ANCHORS for p in _branches(_BOOK.fields[name])])


class _Either:
    """Where either of two dispatches matches: the same answer as one dispatch built from
    both pattern lists, and as fast (one scan for the word starts of both), but reusing
    their compiled groups instead of compiling a third, larger set at import (that was half
    the start-up time)."""

    def __init__(self, first: _Dispatch, second: _Dispatch) -> None:
        self._both = (first, second)
        self._built = False

    def ensure(self) -> None:
        """Build both dispatches and the joint tables now if nothing did yet."""
        if not self._built:
            with _BUILD_LOCK:
                if not self._built:
                    self._build(*self._both)
                    self._built = True

    def _build(self, first: _Dispatch, second: _Dispatch) -> None:
        first.ensure()
        second.ensure()
        heads = first.heads | second.heads
        self._candidates = re.compile(r"(?<!\w)" + _trie(heads)) if heads else None
        # Each key -> the groups of both that a word start with it must try, looked up once.
        maps: list[dict[str, tuple[_Lazy, ...]]] = []
        for size in (0, 1, 2):
            keys = first.keys()[size] | second.keys()[size]
            maps.append(
                {
                    key: tuple(g for d in self._both if (g := d.group(key)) is not None)
                    for key in keys
                }
            )
        self._three, self._two, self._one = maps

    def search(self, text: str) -> bool:
        return bool(self.starts(text, first=True))

    def starts(self, text: str, first: bool = False) -> list[int]:
        self.ensure()
        found: list[int] = []
        three, two, one = self._three, self._two, self._one
        for start in self._candidates.finditer(text) if self._candidates else ():
            pos = start.start()
            groups = (
                three.get(text[pos : pos + 3])
                or two.get(text[pos : pos + 2])
                or one.get(text[pos])
                or ()
            )
            for regex in groups:
                if regex.match(text, pos):
                    found.append(pos)
                    if first:
                        return found
                    break
        elsewhere = set().union(*(dispatch.anywhere(text) for dispatch in self._both))
        return sorted({*found, *elsewhere}) if elsewhere else found


# Both, to find where a long message is worth reading.
_ANY_OR_FIELD = _Either(_ANY, _FIELD_ANY)
_NO_MATCH = re.compile(r"(?!x)x")
_PAST = _FIELDS.get("past", _NO_MATCH)
_BETTER = _FIELDS.get("better", _NO_MATCH)
_CURRENT = _FIELDS.get("current", _NO_MATCH)
_TRIVIAL = _FIELDS.get("trivial", _NO_MATCH)
# A joke said to be no joke: "kms fr this time not joking".
_SERIOUS = re.compile(
    r"(?<!\w)(?:not (?:joking|kidding|a joke)|no joke|im serious|i mean it|fr this time|"
    r"for real this time|deadass serious|srs)\b"
)
# "if I have to ... again", "this X makes me want to": a joke's usual frames.
_JOKE_FRAME = re.compile(
    r"(?<!\w)(?:if (?:i have to|i hear|(?:\w+ ){1,3}(?:doesnt|dont|lose|loses|wont))|one more|"
    r"makes? me (?:want|wanna)|made me (?:want|wanna)|got me (?:wanting|wanna)|kill me now|"
    r"put me out of my misery|pray for me|keep dying (?:on|in|at|to)|(?:die|died) \d+ times|"
    r"(?:this|that|last|final) (?:level|raid|dungeon|boss fight))\b"
)

_SHORT = 120  # characters: a message this short is read whole for a joke's frame

# Families whose vague hits an ordinary context (travel, job, party) explains away.
_SOFT = {("plan_timing", "concern"), ("plan_timing", "crisis"), ("goodbye", "concern")}
# Families where a joke marker lowers a crisis to a concern ("lol kms").
_JOKE_LOWERS = {"active_ideation", "slang", "passive_ideation", "goodbye"}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that say whose risk it is (read around each hit; see _whose).
_FIRST = _words("i im ive id ill me myself iam mine")
_FIRST_SUBJECT = _words("i im ive id ill iam")
_DETERMINERS = _words("my our his her a the your their")
_FIRST_REFLEXIVE = _words("myself meself myslef")
_THIRD_REFLEXIVE = _words("himself herself themselves themself sich")
_THIRD = (
    _words(
        "he she they him hes shes theyre theyve hed shed theyd theyll "
        "mum mom mother mam dad father parent parents sister sis brother bro wife husband "
        "stepdad stepfather stepmum stepmom stepmother grandad granddad grandfather grandmother "
        "granny nana grandson granddaughter man woman boy lad character "
        "partner boyfriend girlfriend bf gf ex kid kids son daughter child friend bestie mate "
        "roommate flatmate housemate neighbour neighbor colleague coworker cousin aunt uncle "
        "niece nephew grandma grandpa gran nan student client patient teammate classmate fiance "
        "fiancee someone somebody guy girl victim farmer lodger granddaughter grandchild homie "
        "boss manager teacher stranger lady widower grandfather grandmother bro colleague "
        "tutor pupil carer sibling stepson stepdaughter grandkid teen teenager roomie hubby "
        "missus crush pal buddy random follower streamer player member resident camper trainee "
        "il elle ils elles lui ele ela eles er sie ihr lei он она они він вона вони pote "
        "namorado namorada colega mitbewohner mitbewohnerin coinquilino compañero companero "
        # The same people in the other languages read (accents folded).
        "hermana hermano madre padre amiga amigo hijo hija esposo esposa novio novia irma irmao "
        "mae pai filho filha marido soeur frere mere pere ami amie fils fille copain copine "
        "schwester bruder mutter vater freund freundin sohn tochter mann frau sorella fratello "
        "amico amica figlio figlia сестра брат мама папа друг подруга сын дочь муж жена мати "
        "батько син донька чоловік дружина"
    )
    | safety_es.THIRD
)


# --- the screen ------------------------------------------------------------------------------


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
    """Grade one message (a text, caption or edit; any length, Telegram's is 4,096).

    `recent` is the person's last non-"none" Risk if it came within the last 30 minutes (the
    caller keeps level and time, never text): a concern then counts as a crisis. Returns a
    Risk; never raises on any str. Takes well under 10 ms for 4,096 characters.
    """
    risk = _assess(text)
    if risk.level == "concern" and recent is not None and recent.level != "none":
        return replace(risk, level="crisis")
    return risk


def is_crisis(text: str) -> bool:
    """True when the message is a crisis: `assess(text).level == "crisis"`."""
    return assess(text).level == "crisis"


@dataclass
class _Hit:
    family: str
    level: Level
    subject: Subject
    benign: int = 0  # 2: travel, a job, a move nearby; 1: a party, chores, an exam nearby;
    # 3: means in an ordinary use just after them (means_now lines)
    fiction: bool = False  # someone else's risk in a book, film, song, game
    near: str = ""  # the sentence it was read in (for the hyperbole reader)
    said: str = ""  # the words it matched (a family hit; for the exclamation reader)
    around: str = ""  # a few words each side of them (for laughter next to the hit)


def _assess(text: str) -> Risk:
    if not text or text.isspace():
        return NO_RISK
    hits: list[_Hit] = []
    abuse = False
    if _NAMED.search(text):
        # "Sarah wants to die", "Tom took a bunch of pills": a name as the subject is
        # someone else, read as "someone" (a third person) by the subject readers.
        text = _NAMED.sub(_as_someone, text)
    spellings = _spellings(text)
    read = spellings[0]
    for spelling in spellings:
        found = _read(spelling, text)
        if not abuse and _ABUSE.search(spelling):
            abuse = bool(_ABUSE.search(_ABUSE_NOT.sub(".", spelling)))
        if found:
            hits, read = found, spelling
            break
    seen = bool(hits)  # the patterns saw something (even if the frames below drop it)
    emoji = _RISK_EMOJI_SET.intersection(text)
    if emoji and not any(h.level == "crisis" for h in hits) and _emoji_alone(text):
        hits.append(_Hit("emoji", "concern", "self"))
    hits = [
        h
        for h in hits
        if not h.fiction
        and not (h.benign == 2 and ((h.family, h.level) in _SOFT or h.family == "passive_ideation"))
        and not (h.benign == 1 and h.level == "concern" and (h.family, h.level) in _SOFT)
    ]
    for hit in hits:
        if hit.family == "means_now" and hit.benign == 3 and hit.level == "crisis":
            hit.level = "concern"  # "pills on the table, I take them after lunch": ask
    # Two signs of leaving (a pet given away and goodbyes said, a date and "everything's
    # ready") together are a clear statement, not a maybe.
    leaving = {h.family for h in hits if h.family in ("goodbye", "plan_timing")}
    if leaving and sum(h.family in leaving for h in hits) >= 2:
        for hit in hits:
            if hit.family in leaving:
                hit.level = "crisis"
    # A long message is read for its frames (past, joking, serious) only around its hits.
    scope = read if len(read) <= _LONG else " . ".join(h.near for h in hits if h.near)
    serious = bool(hits) and bool(_SERIOUS.search(scope) or _SERIOUS_MORE.search(scope))
    if hits and not serious and _told_as_past(scope):
        hits = []  # recovery told as past, nothing said about now
    joking = bool(hits) and not serious and bool(_JOKES.search(scope))
    if hits and not serious:
        hits = _exclaimed(hits, scope, joking or bool(_LAUGH_EMOJI.search(text)))
    if hits and not serious and _TRIVIAL.search(scope):
        # Hyperbole about an ordinary thing, in the same sentence: "if I have to sit through
        # one more group project I'm gonna kms 💀", "this wifi... out the window jk".
        # With a joke's frame ("if I have to...", "makes me want to") the hit is dropped;
        # with only a laugh it is lowered to a concern (a joke beside a real wish is asked).
        kept = []
        for hit in hits:
            # A short message is one thought: "keep dying on this level, gonna hang myself
            # lol" has its frame in the clause before the hit's.
            near = scope if len(scope) <= _SHORT else hit.near
            if hit.subject == "other" or not _TRIVIAL.search(near):
                kept.append(hit)
            elif _JOKE_FRAME.search(near):
                continue
            elif joking:
                hit.level = "concern" if hit.level == "crisis" else hit.level
                kept.append(hit)
            else:
                kept.append(hit)
        hits = kept
    for hit in hits:
        laughing = joking or (not serious and bool(_LAUGHTER.search(hit.around)))
        if laughing and hit.level == "crisis" and hit.family in _JOKE_LOWERS:
            hit.level = "concern"
    if not hits:
        if seen:
            return Risk(abuse=True) if abuse else NO_RISK  # the frames explained it away
        return _read_again(Risk(abuse=True) if abuse else NO_RISK, read)
    level = max((h.level for h in hits), key=_RANK.__getitem__)
    subject: Subject = "self"
    if (
        all(h.subject == "other" for h in hits)
        and not _SELF_FRAME.search(read)
        and not _RAW_SELF.search(text)
    ):
        subject = "other"
    families = tuple(sorted({h.family for h in hits}))
    return _read_again(Risk(level, subject, families, abuse), read)


def _read_again(risk: Risk, read: str) -> Risk:
    """The Spanish second reader's rules (dialogs/safety_model.py, docs/safety.md): a
    message the patterns let through (no negation or idiom of theirs in it) that the risk
    model scores high is a concern; one only the other languages' lines flagged is dropped
    when the risk model scores it low; a short one the patterns flagged that it scores very
    low goes one level down (a crisis is still asked about); a concern the crisis model
    scores high is a crisis. Messages not in Spanish: as read."""
    if (
        risk.level == "crisis"
        and risk.families != ("other_language",)
        and read.count(" ") >= safety_model.WINDOW_WORDS
    ):
        return risk  # no rule can change it (rule 3 is for short messages): skip the scoring
    scores = safety_model.scores(read)
    if scores is None:
        return risk
    if risk.level == "none":
        if scores.risk < safety_model.THRESHOLD or _REMOVALS.search(read):
            return risk  # a negation or an idiom the patterns know is theirs to judge
        risk = Risk("concern", "self", ("model_es",), risk.abuse)
    elif (
        scores.pure
        and risk.families == ("other_language",)
        and scores.risk < safety_model.OTHER_LINES
    ):
        # Only the other languages' lines read it (written before the Spanish screen, they
        # know no Spanish negation or idiom: "ni se me pasa por la cabeza matarme") and the
        # Spanish model does not see risk in it.
        return Risk(abuse=risk.abuse)
    elif (
        scores.pure
        and scores.words <= safety_model.WINDOW_WORDS
        and scores.risk < safety_model.VETO
    ):
        if risk.level == "concern":
            return Risk(abuse=risk.abuse)
        risk = replace(risk, level="concern")
    if risk.level == "concern" and safety_model.crisis(read) >= safety_model.CRISIS_THRESHOLD:
        risk = replace(risk, level="crisis")
    return risk


# A skull said as laughter ("me quiero morir 💀 se me cayó el celu", decision D2 of the
# Spanish table); read for the stock exclamations only, which are Spanish.
_LAUGH_EMOJI = re.compile("[\U0001f480\u2620]")
# "si" (if) before a word: the exclamation is a condition ("si pierde el Madrid me mato").
_CONDITION = re.compile(r"(?<!\w)si (?=\w)")


def _exclaimed(hits: list[_Hit], scope: str, joking: bool) -> list[_Hit]:
    """Stock exclamations (`exclamations`: "me quiero morir", "me mato") read with their
    setting (decisions D2 and D3 of the Spanish table): an ordinary cause in the message
    (`causes`: the coffee, an exam, the bus) with laughter next to it, or said as a
    condition ("si..."), makes one none; a cause or a laugh alone makes it a concern. The
    cause is never the exclamation's own words, and an exclamation that is itself the
    condition ("y si me tiro del puente, alguien se daría cuenta?") is kept as it is.
    Structural hits read from such an exclamation count as one. The caller has already
    kept messages said to be no joke."""
    if not any(_EXCLAMATIONS.search(hit.said or hit.near) for hit in hits):
        return hits
    kept = []
    for hit in hits:
        said = hit.said or (hit.near if hit.family == "structure" else "")
        if not said or not _EXCLAMATIONS.search(said):
            kept.append(hit)
            continue
        if hit.said and f"si {hit.said}" in hit.near:
            kept.append(hit)  # the act itself is the "if" ("y si me tiro del puente...?")
            continue
        short = len(scope) <= _SHORT
        # The cause is looked for outside the exclamation's own words ("me quiero tirar
        # abajo del bondi": the bus is the method there, not what it is about).
        setting = scope if short else hit.near
        cause = bool(_CAUSES.search(setting.replace(hit.said, " ") if hit.said else setting))
        # A short message is one thought: its laugh goes with the exclamation wherever it
        # is ("ay me quiero morir que oso, saludé a alguien que no conocía jajaja").
        laughing = joking or bool(_LAUGHTER.search(scope if short else hit.around or hit.near))
        if cause and (laughing or _CONDITION.search(hit.near)):
            continue  # "me quiero morir jajaja se me cayó el café", "si vuelve... me tiro"
        if (cause or laughing) and hit.level == "crisis":
            hit.level = "concern"  # "me quiero morir, mañana tengo examen": ask
        kept.append(hit)
    return kept


# A capitalised name in the middle of a sentence, followed by a verb: the subject of it.
_NAMED = re.compile(
    r"(?P<before>(?:^|\s)[a-z][a-z0-9']*[,;:]? )"
    r"(?!(?:I|God|Lord|Jesus|Christ|Google|Siri|Alexa)\b)[A-Z][a-z]{2,}"
    r"(?= (?:said|says|told|tells|texted|texts|wants|wanted|took|has|had|is|was|keeps|kept|"
    r"just|posted|wrote|tried|cut|cuts|jumped|sent|asked|called|rang|doesnt|doesn't|will|"
    r"won't|wont|hasn't|hasnt|isn't|isnt|might|may|can't|cant|overdosed|swallowed|bought|"
    r"talks|talked|mentioned|messaged|hurt|hurts)\b)"
    # At the very start only before a verb of telling or of an act, since any first word is
    # capitalised ("Emma messaged the group chat saying goodbye"; but "Never had", "Which is").
    r"|(?P<start>^)(?!(?:God|Lord|Jesus|Google|Siri|Alexa|Nobody|Everyone|Everybody|Someone|"
    r"Somebody|Anyone|Anybody|Nothing|Everything|Mum|Mom|Dad|She|They|You|We|It|He|Who|"
    r"What|Which|That|This|Never|Just|Then|And|But|So|Also)\b)[A-Z][a-z]{2,}"
    r"(?= (?:said|told|texted|messaged|posted|wrote|sent|overdosed|swallowed|jumped)\b)"
)


def _as_someone(match: re.Match[str]) -> str:
    before = match.group("before") or ""
    name = match.group()[len(before) :]
    if _ANY_OR_FIELD.search(name.lower()):
        return match.group()  # a risk word written with a capital ("but Suicide is..")
    return before + "someone"


def _read(spelling: str, raw: str) -> list[_Hit]:
    """The hits of one spelling, with two readings of whose words they are:
    - someone else quoted ("my son wrote 'i want to die'", "he texted me 'sorry for
      everything'"): the quoted words are read as if the writer had said them, and what
      they show is about that person (subject "other"); the rest is read as usual;
    - the writer framing themselves as someone else ("this girl (me) keeps cutting her
      arms", "my 'friend' wants to kill herself. the friend is me"): the third person is
      read as the first, and what it shows is about the writer.
    A long message with nothing in it is not read again (the readings only move hits)."""
    base = _hits(spelling)
    if not base and len(spelling) > _LONG:
        return base
    quoted = _QUOTE.search(raw) and _REPORT.search(spelling)
    if not quoted:
        hits = base
        if _REPORT.search(spelling):
            # Reported without quotes ("my dad keeps saying he's ready to go"): a clause
            # about him or her, with no "I" in it, is read as if said in the first person.
            for clause in _cut_reported(spelling)[1]:
                words = clause.split()
                if not any(w in ("he", "she", "they", "hes", "shes", "theyre") for w in words):
                    continue
                if any(w in _FIRST_SUBJECT for w in words):
                    continue
                for hit in _hits(_as_first_person(clause)):
                    hit.subject = "other"
                    hits.append(hit)
    else:
        outside, reported = _cut_reported(spelling)
        # Lines written for someone else's words ("texted me goodbye and isn't answering")
        # still read the whole text; the rest reads the text without the quotes.
        hits = [hit for hit in base if hit.subject == "other"] + _hits(outside)
        for clause in reported:
            for hit in _hits(_as_first_person(clause)):
                hit.subject = "other"
                hits.append(hit)
    if _SELF_FRAME.search(spelling) or _RAW_SELF.search(raw):
        swapped = _as_first_person(spelling)
        if swapped != spelling:
            for hit in _hits(swapped):
                hit.subject = "self"
                hits.append(hit)
        for hit in hits:
            if hit.family == "lethal_question":
                hit.level = "crisis"  # "asking for a friend" hides a dose question
    return hits


# "(me)", "(yes, me)", "(it's me lol)" in the raw text: the person spoken of is the writer.
_RAW_SELF = re.compile(
    r"\(\s*(?:it'?s\s+|yes,?\s+|that'?s\s+|is\s+|mostly\s+|aka\s+|its\s+)?me\b[^)]{0,12}\)|"
    + safety_es.RAW_SELF,
    re.IGNORECASE,
)
# A quotation mark in the raw text: direct speech ("he said 'I can't go on'").
_QUOTE = re.compile("(?:^|[\\s:(])[\"'\u201c\u201d\u00ab\u00bb\u201e\u2018]")
_REPORT = re.compile(
    r"(?<!\w)(?:he|she|they|hes|shes|theyre|(?:my|our|a|the|his|her|one of my) (?:\w+ ){0,2}?\w+)"
    r"(?: \w+){0,4}? (?:said|says|say|saying|keeps? saying|told me|tells me|texted|texts|text|"
    r"wrote|writes|write|posted|posts|post|messaged|message|messages|asked|asks|keeps? asking|"
    r"rang me|called me|sent)(?: me| us| to me)?(?: that)?(?= )"
)
_FIRST_PERSON = {
    "he": "i", "she": "i", "they": "i", "hes": "im", "shes": "im", "theyre": "im",
    "him": "me", "them": "me", "his": "my", "their": "my", "her": "my", "himself": "myself",
    "herself": "myself", "themselves": "myself", "themself": "myself", "someone": "i",
    "somebody": "i", "has": "have", "hasnt": "havent", "is": "am", "was": "was",
}  # fmt: skip


def _as_first_person(text: str) -> str:
    """`text` with third-person pronouns read as first-person ones ("she cut herself" ->
    "i cut myself"), for the two readings of `_read`."""
    return " ".join(_FIRST_PERSON.get(word, word) for word in text.split())


def _cut_reported(text: str) -> tuple[str, list[str]]:
    """(the text without its quoted clauses, the quoted clauses): each clause runs from a
    reporting verb after someone else ("my son wrote", "she texted me") to the next
    sentence break."""
    reported: list[str] = []
    pieces: list[str] = []
    last = 0
    for match in _REPORT.finditer(text):
        if match.start() < last:
            continue
        who = match.group().split()
        if not any(w in _THIRD or w in ("he", "she", "they") for w in who[:4]):
            continue
        stop = text.find(" . ", match.end())
        stop = len(text) if stop < 0 else stop
        pieces.append(text[last : match.end()])
        reported.append(text[match.end() : stop].strip())
        last = stop
    pieces.append(text[last:])
    return " . ".join(pieces), [clause for clause in reported if clause]


def _told_as_past(read: str) -> bool:
    """Recovery told as past: a past marker ("used to", "years ago", "500 days without")
    and a better-now word ("so glad", "doing ok", "clean"), and nothing said about now
    ("again", "lately", "tonight", "relapsed")."""
    return bool(_PAST.search(read) and _BETTER.search(read) and not _CURRENT.search(read))


def _hits(spelling: str) -> list[_Hit]:
    hits: list[_Hit] = []
    override = _OVERRIDES.search(spelling)
    if override:
        hits.append(_Hit("override", "crisis", _whose(spelling, override, "override")))
    # Cheap first: most messages match nothing and are done after this one search (cutting
    # out negations and idioms takes words away; it does not make new phrases).
    if len(spelling) <= _LONG:
        if not _ANY.search(spelling):
            if _FIELD_ANY.search(spelling):
                hits += _field_hits(_REMOVALS.sub(".", spelling))
            return hits
    else:
        # A long message: the families are read only around what matched (a few hundred
        # characters each side), so a crisis sentence in a diary costs no more than a short one.
        spelling = _around(spelling, _ANY_OR_FIELD.starts(spelling))
        if not spelling:
            return hits
    cleaned = _REMOVALS.sub(".", spelling)
    hits += _field_hits(cleaned)
    starts = _ANY.starts(cleaned)
    # Each family is tried only where some pattern starts (the dispatch found those), not
    # searched through the whole text: the same hits, a fraction of the work.
    ends: dict[tuple[str, str, str], int] = {}
    for pos in starts:
        for key, language, regex in _FAMILIES:
            if pos < ends.get((*key, language), 0):
                continue  # inside this family's previous hit: the same phrase, not a new one
            match = regex.match(cleaned, pos)
            if match is None:
                continue
            ends[(*key, language)] = match.end()
            family, level = key
            subject = _whose(cleaned, match, family, language)
            hit = _Hit(family, level, subject)  # type: ignore[arg-type]
            begin = cleaned.rfind(" . ", 0, match.start()) + 1
            stop = cleaned.find(" . ", match.end())
            hit.near = cleaned[begin : stop if stop >= 0 else len(cleaned)]
            hit.said = match.group()
            hit.around = cleaned[max(0, match.start() - _CLOSE) : match.end() + _CLOSE]
            if family == "means_now" and _BENIGN_MEANS.search(
                cleaned, match.start(), match.end() + _NEAR // 2
            ):
                hit.benign = 3  # the means in an ordinary use, just after them
            elif key in _SOFT or hit.subject == "other":
                # Read the words around it: an ordinary plan explains a vague one away;
                # a story, film or song explains away someone else's death.
                near = cleaned[max(0, match.start() - _NEAR) : match.end() + _NEAR]
                hit.benign = 2 if _BENIGN.search(near) else 1 if _BENIGN_WEAK.search(near) else 0
                hit.fiction = hit.subject == "other" and bool(_FICTION.search(near))
            hits.append(hit)
    return hits


# Clauses read together: a comma makes a clause, so a list ("the will, the letters, the
# dog. tonight") needs a few.
_WINDOW = 3


def _field_hits(cleaned: str) -> list[_Hit]:
    """The structural reader: which fields each clause holds, and what they mean together
    (the rules are listed under "THE STRUCTURAL READER" in crisis_patterns.yaml). A field
    counts for its clause and the next one. Returns at most one hit, the strongest."""
    if not _FIELD_ANY.search(cleaned):
        return []
    clauses = cleaned.split(" . ")
    present: list[set[str]] = [set() for _ in clauses]
    # Clauses with an anchor (a sign of ending, a means, a decision, a goodbye), and their
    # neighbours, which may add a time or a finality to it.
    anchors = [index for index, clause in enumerate(clauses) if _FIELD_ANY.search(clause)]
    if not anchors:
        return []
    near = range(1 - _WINDOW, _WINDOW)
    for index in sorted({i + d for i in anchors for d in near if 0 <= i + d < len(clauses)}):
        for name in _CLAUSE_FIELDS:
            if _FIELDS[name].search(clauses[index]):
                present[index].add(name)
    best: _Hit | None = None
    for index in range(len(clauses)):
        fields = set().union(*present[index : index + _WINDOW])
        if not fields:
            continue
        window = " . ".join(clauses[index : index + _WINDOW])
        # The means in an ordinary use ("on the balcony watering my plants") are not means.
        present_means = "means" in fields and not _BENIGN_MEANS.search(window)
        if present_means and "here" in fields:
            fields.add("means_now")  # the means in hand, or the person at the place
        if present_means and any(
            {"means", "now"} <= present[j] for j in range(index, min(index + _WINDOW, len(clauses)))
        ):
            fields.add("means_now")  # the means and the "now" in one clause
        # A weak sign of leaving counts only when it is not part of a strong one's words.
        if {"leaving", "leaving_weak"} <= fields and not _FIELDS["leaving_weak"].search(
            _FIELDS["leaving"].sub(" ", window)
        ):
            fields.discard("leaving_weak")
        if len(_FIELDS["leaving"].findall(window)) >= 2:
            fields.add("leaving2")  # two signs of leaving: "my last message. thanks for all"
        level = _field_level(fields)
        subject = _clause_subject(window)
        if level is None and subject == "other" and not _GRIEF.search(window):
            if _OTHER_INTENT.search(window):
                level = "crisis"  # someone else says they will kill themselves, jump
            elif _OTHER_ACT.search(window):
                level = "concern"  # someone else talks of dying, of not waking up
        if level is None:
            continue
        setting = cleaned if len(cleaned) < 300 else window
        if _BENIGN.search(setting):
            if level == "concern" or fields.isdisjoint({"leaving2", "finality"}):
                continue  # an ordinary setting (a trip, a new job, a move) explains it
            level = "concern"  # "paid my debts, gave the keys back... ready to go": ask
        elif level == "concern" and _BENIGN_WEAK.search(window):
            continue
        if (subject == "other" or level == "concern") and _FICTION.search(window):
            continue
        if best is None or _RANK[level] > _RANK[best.level]:
            best = _Hit("structure", level, subject, near=window)
            if level == "crisis":
                break
    return [best] if best is not None else []


# Someone else's wish or plan to die, read without a time ("my wife keeps asking me to help
# her die", "mi hija me dijo que se quiere matar").
_OTHER_ACT = re.compile(
    r"(?<!\w)(?:kill (?:him|her|them)sel\w*|suicid\w*|end (?:it|things|his life|her life|"
    r"their life|everything)|ending (?:it|things)|overdos\w*|jump\w*|not (?:wake|waking) up|"
    r"help (?:her|him|them) die|wants? to die|wanted to die|(?:wants?|ready) to go|"
    r"se quiere matar|se va a tirar|se jogar|vai se|sauter|si butta|vor den zug|покінчить|"
    r"покончить|хоче до|хочет к|raggiungere|se mutile|ahorcarse|cuts)\b"
)


# Someone else's stated intent ("she said she's going to kill herself", "vai se jogar").
_OTHER_INTENT = re.compile(
    r"(?<!\w)(?:(?:going to|gonna|will|about to|wants? to) (?:kill|hang|shoot) "
    r"(?:him|her|them)sel\w*|se quiere matar|se va a (?:tirar|matar)|vai se (?:jogar|matar)|"
    r"(?:va|vais) (?:sauter|se tuer)|si butta|vor den zug zu werfen|покінчить|покончит)\b"
)


# A death told as past ("my grandad died when I was ten"): grief, not a risk.
_GRIEF = re.compile(
    r"(?<!\w)(?:died|death|passed|funeral|grave|morto|morta|morte|muerto|muerta|mort|morte|"
    r"gestorben|verstorben|умер\w*|помер\w*|похорон\w*)\b"
)


def _field_level(fields: set[str]) -> Level | None:
    """What the fields of one clause window mean together (None: nothing)."""
    act, weak = "act" in fields, "act_weak" in fields
    acts = act or weak
    means, now, time = "means" in fields, "now" in fields, "time" in fields
    resolve, resolves = "resolve" in fields, "resolve" in fields or "resolve_weak" in fields
    leaving, leave_weak = "leaving" in fields, "leaving_weak" in fields
    final = "finality" in fields
    if "ask" in fields and (act or ("means" in fields and "finality" in fields)):
        return "crisis"  # a question about how to die: a method or a dose
    if "secret_time" in fields and (acts or means or resolves or time):
        return "crisis"  # waiting for the others to be asleep or away
    if "means_now" in fields:
        return "crisis"  # means in hand, or at the place, right now
    if means and time and (acts or resolves or final or leaving or leave_weak):
        return "crisis"  # a method and a time
    if act and (time or resolve):
        return "crisis"  # dying, with a time or a decision
    if resolve and (time or acts or means):
        return "crisis"  # "sunday. that's when. already decided"
    if "resolve_weak" in fields and time and (weak or final):
        return "crisis"  # "planning to do it tonight"
    if "leaving2" in fields or (leaving and (leave_weak or final or time or acts or resolves)):
        return "crisis"  # two signs of leaving, or one said as final
    if leave_weak and acts and final:
        return "crisis"
    if resolve:
        return "crisis"  # "I have a plan", "I know exactly how and when"
    if "euphemism" in fields and (time or final or resolves or means or now or "intent" in fields):
        return "crisis"  # "log out of life permanently", "do the thing tonight"
    if "hopeless" in fields and (leaving or leave_weak):
        return "crisis"  # "no more fight left in me. tell them I was tired"
    if "euphemism" in fields or "hopeless" in fields:
        return "concern"
    if leaving or "act_alone" in fields or "secret_time" in fields:
        return "concern"
    if means and (resolves or acts or final):
        return "concern"
    if weak and (time or final):
        return "concern"
    if leave_weak and (final or acts):
        return "concern"
    return None


_FIRST_ANCHOR = _words("i im ive id ill me my myself iam mine")
_REPORTING = _words(
    "said says say told tells texted texts messaged message wrote writes posted posts "
    "rang called asked asks asking keeps saying mentioned show showed sent"
)


def _clause_subject(window: str) -> Subject:
    """Whose risk a window of clauses speaks of: the nearest person named before its first
    field word ("my bf ... said sorry": other; "picked the date, so my mom...": self); a
    reported-speech verb after someone else ("my colleague texted me 'I am going to...'")
    makes it theirs; nobody named: the writer."""
    first = min(
        (
            m.start()
            for name in _CLAUSE_FIELDS
            if name != "act_alone" and (m := _FIELDS[name].search(window))
        ),
        default=0,
    )
    before = window[:first].split()
    for index in range(len(before) - 1, -1, -1):
        word = before[index]
        if word == "me" and index > 0 and before[index - 1] in _CAUSATIVE:
            return "self"  # "my boss makes me want to die": the wish is the writer's
        if (
            word in _FIRST_SUBJECT
            or word in _FIRST_REFLEXIVE
            or safety_es.speaks_of_self(before[index : index + 2])
        ):
            if any(w in _REPORTING for w in before[:index]) and any(
                w in _THIRD for w in before[:index]
            ):
                return "other"
            return "self"
        if _is_third(word) and not _possessed(before, index, window[first:]):
            return "other"
    return "self"


def _around(text: str, starts: list[int]) -> str:
    """The stretches of `text` around `starts` (±_SPAN characters, cut at spaces), joined by
    sentence breaks; "" when `starts` is empty."""
    spans: list[list[int]] = []
    for pos in starts:
        begin, end = max(0, pos - _SPAN), pos + _SPAN
        if spans and begin <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([begin, end])
    pieces = []
    for begin, end in spans:
        if begin > 0:
            begin = text.find(" ", begin) + 1
        if end < len(text):
            cut = text.rfind(" ", begin, end)
            end = cut if cut > begin else end
        pieces.append(text[begin:end])
    return " . ".join(pieces)


def _whose(text: str, match: re.Match[str], family: str, language: str = "en") -> Subject:
    """Whose risk a hit speaks of. In order: a reflexive in it ("kill himself", "hurt
    myself"); the writer named in it ("I", "me": "nobody would miss me"); a person it starts
    with ("my brother took pills"); else the nearest person before it in the text ("my
    partner talks about not waking up"), where "me" is an object and does not count ("my ex
    texted me goodbye"). "my" is a possessive, not a person. Nobody named: the writer.
    Hits of the someone_else family skip the "me" inside them for the same reason.
    Spanish drops the subject, so a Spanish line's hit also reads the person from verbs and
    clitics ("quiero", "matarme", "he decidido": the writer; "se quiere matar": someone
    else), and before it a "me" (the writer in the clause) stops the search unless it
    follows a reporting verb ("mi mamá me dijo que...": hers)."""
    words = match.group().split()
    for word in words:
        if word in _THIRD_REFLEXIVE:
            return "other"
        if word in _FIRST_REFLEXIVE:
            return "self"
    mine = _FIRST_SUBJECT if family == "someone_else" else _FIRST
    if any(word in mine for word in words):
        return "self"
    if family != "someone_else" and safety_es.speaks_of_self(words):
        return "self"  # "quiero matarme", "tengo las pastillas": the verb says who
    if family == "someone_else" and safety_es.third_person(words):
        return "other"  # "se quiere matar", "quiere suicidarse", "el cuarto de mi hija"
    for word in words[:3]:
        if word in _THIRD or (word.endswith("s") and word[:-1] in _THIRD):
            return "other"
        if word not in _DETERMINERS:
            break
    before = text[max(0, match.start() - 160) : match.start()].split()[-20:]
    if len(before) >= 2 and before[-1] == "me" and before[-2] in _CAUSATIVE:
        return "self"  # "my boss makes me want to die": the wish is the writer's
    spanish = language == "es" and family != "someone_else"
    reported = False
    for index in range(len(before) - 1, -1, -1):
        word = before[index]
        if word == ".":
            continue
        if word in _FIRST_SUBJECT or safety_es.speaks_of_self(before[index : index + 2]):
            return "self"
        if spanish:
            reported = reported or safety_es.reports(before, index)
            if word == "me" and not reported:
                return "self"
        if _is_third(word) and not _possessed(before, index, match.group()):
            return "other"
    return "self"


_CAUSATIVE = _words("makes make made making drives drive drove driving")


def _is_third(word: str) -> bool:
    return word in _THIRD or (word.endswith("s") and word[:-1] in _THIRD)


_OWNED = _words(
    "gun guns shotgun rifle pistol pills tablets meds medication medicine insulin oxy "
    "oxycodone morphine rope belt knife knives razor razors blades car"
)


def _possessed(words: list[str], index: int, hit: str) -> bool:
    """The person just before a means is its owner, not the subject: "my dads gun in my
    lap" (but "my cousin overdosed": the cousin did)."""
    first = hit.split()[0] if hit.split() else ""
    return (
        index == len(words) - 1
        and index > 0
        and words[index - 1] in ("my", "our")
        and first in _OWNED
    )


_RISK_EMOJI_SET = frozenset(RISK_EMOJI) | {"\U0001f309"}
_EMOJI_WORDS = frozenset(RISK_EMOJI.values()) | {"jump", "off", "the", "bridge"}
# Emoji in an ordinary setting: a kitchen knife, vitamins, a game.
_EMOJI_CONTEXT = re.compile(
    r"(?<!\w)(?:cook\w*|dinner|lunch|chop\w*|recipe|kitchen|vitamins?|supplements?|allerg\w*|"
    r"headache|prescription|pharmacy|flu|cold|doctor|halloween|game|gaming|movie|film|steak|"
    r"knife set|chef|bread|cake|cheese|sushi|murder mystery|podcast|true crime|history)\b"
)


def _emoji_alone(text: str) -> bool:
    """A risk emoji with few words beside it, or beside words about oneself and time: a
    concern ("🪦", "💊💊💊", "me 🪢 soon"). In an ordinary setting it is not."""
    words = [w for w in normalise(text).split() if w != "." and w not in _EMOJI_WORDS]
    if _EMOJI_CONTEXT.search(" ".join(words)):
        return False
    personal = {"me", "i", "im", "myself", "tonight", "soon", "bye", "goodbye", "ready", "done"}
    return len(words) <= 6 or any(w in personal for w in words)


def explain(text: str) -> list[str]:
    """The families and YAML lines that fire on `text` (for the bench and reviewing a miss):
    "family/level: line as written", plus "override: ..." and "abuse: ..." lines."""
    lines: list[str] = []
    for spelling in _spellings(text):
        scope = spelling
        cleaned = _REMOVALS.sub(".", scope)
        for pattern in _BOOK.overrides:
            if compile_one(pattern).search(scope):
                lines.append(f"override: {_BOOK.sources[pattern]}")
        for (family, level), patterns in _BOOK.families.items():
            for pattern in patterns:
                if compile_one(pattern).search(cleaned):
                    lines.append(f"{family}/{level}: {_BOOK.sources[pattern]}")
        for pattern in _BOOK.abuse:
            if compile_one(pattern).search(scope):
                lines.append(f"abuse: {_BOOK.sources[pattern]}")
    risk = assess(text)
    if "emoji" in risk.families:
        lines.append("emoji/concern: risk emoji with few words")
    return list(dict.fromkeys(lines))
