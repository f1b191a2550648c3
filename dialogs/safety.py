"""Crisis screening: runs on every text, caption and edit before any dialog sees it.

`assess` grades one message: "crisis" (a clear statement of intent, plan, means, a recent act,
a lethal-dose question or a goodbye), "concern" (anything that might be: the person is asked
directly) or "none"; whose risk it is ("self" or "other"); and whether the person discloses
abuse against them. The phrasings live in dialogs/data/crisis_patterns.yaml, by family,
commented and reviewable; this module normalises the text (so spelling tricks, emoji, HTML,
look-alike letters, a stray full stop or line break do not hide the words), applies the
patterns (compiled once at import) and reads the subject from the words around each hit.
Pure Python and regular expressions; no model, no I/O after import.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from re import _constants as _C  # type: ignore[attr-defined]
from re import _parser as _sre_parse  # type: ignore[attr-defined]
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
    text = text.translate(_CHARS)
    if "\u2b07" in text:
        for emoji, words in _EMOJI_PHRASES:
            text = text.replace(emoji, words)
    if "\n" in text or ". " in text or "." in text:
        text = _SOFT_BREAK.sub(" ", text)
    text = text.casefold()
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
    jokes: list[str]
    self_frame: list[str]
    abuse: list[str]
    abuse_not: list[str]
    sources: dict[str, str]


def load_patterns(path: Path = PATTERNS_FILE) -> PatternBook:
    """Read and expand the pattern file. Raises ValueError on an unknown {macro}."""
    data = yaml.safe_load(path.read_text("utf-8"))
    macros: dict[str, str] = {}
    for name, body in (data.get("macros") or {}).items():
        macros[name] = _expand(str(body), macros)
    sources: dict[str, str] = {}

    def expand_all(raws: list[str] | None) -> list[str]:
        out = []
        for raw in raws or []:
            expanded = _expand(raw, macros)
            sources[expanded] = raw
            out.append(expanded)
        return out

    families: dict[tuple[str, str], list[str]] = {}
    for family, levels in (data.get("families") or {}).items():
        for level, raws in (levels or {}).items():
            if level not in ("crisis", "concern"):
                raise ValueError(f"crisis_patterns.yaml: {family}: unknown level {level!r}")
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
        jokes=expand_all(data.get("jokes")),
        self_frame=expand_all(data.get("self_frame")),
        abuse=expand_all(data.get("abuse")),
        abuse_not=expand_all(data.get("abuse_not")),
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
    """All `patterns` in one regex, dispatched on the first letter: Python's re tries every
    alternative of an alternation at every word start, so 400 patterns over 4,096 characters
    cost about 10 ms; grouped behind a one-letter lookahead ("(?=k)(?:kms|kill...)") each word
    start tries only the patterns that can begin with its letter (about 10x faster)."""
    if not patterns:
        return re.compile(r"(?!x)x")  # matches nothing
    if len(patterns) < 8:
        return compile_one("|".join(f"(?:{p})" for p in patterns))
    by_char: dict[str, list[str]] = {}
    anywhere: list[str] = []
    for pattern in patterns:
        chars = _first_chars(pattern)
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
    return compile_one("|".join(groups))


def _first_chars(pattern: str) -> set[str] | None:
    """The characters a match of `pattern` can start with, or None when it could be any."""
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception:
        return None
    chars, nullable = _firsts(list(parsed))
    return None if nullable else chars


def _firsts(items: list) -> tuple[set[str] | None, bool]:
    """(chars or None, nullable) for a sequence of parsed items."""
    out = set()
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


def _first_item(op: object, av: object) -> tuple[set[str] | None, bool]:
    if op is _C.LITERAL:
        return {chr(av)}, False
    if op is _C.IN:
        chars = set()
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
        out, nullable = set(), False
        for branch in av[1]:
            chars, n = _firsts(list(branch))
            if chars is None:
                return None, False
            out |= chars
            nullable = nullable or n
        return out, nullable
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
        lo, hi, item = av  # type: ignore[misc]
        chars, n = _firsts(list(item))
        if chars is None:
            return None, False
        return chars, n or lo == 0
    return None, False


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


def _pre_seq(items: list, size: int) -> set[tuple[str, bool]]:
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


def _pre_item(op: object, av: object, size: int) -> set[tuple[str, bool]] | None:
    if op is _C.LITERAL:
        return {(chr(av), True)}  # type: ignore[arg-type]
    if op is _C.IN:
        chars: set[str] = set()
        for item_op, item_av in av:  # type: ignore[attr-defined]
            if item_op is _C.LITERAL:
                chars.add(chr(item_av))
            elif item_op is _C.RANGE and item_av[1] - item_av[0] <= 400:
                chars |= {chr(c) for c in range(item_av[0], item_av[1] + 1)}
            else:
                return None
        return {(c, True) for c in chars}
    if op is _C.SUBPATTERN:
        return _pre_seq(list(av[-1]), size)  # type: ignore[index]
    if op is _C.BRANCH:
        out: set[tuple[str, bool]] = set()
        for branch in av[1]:  # type: ignore[index]
            out |= _pre_seq(list(branch), size)
        return out
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
        low, high, item = av  # type: ignore[misc]
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
        two: dict[str, list[str]] = {}
        one: dict[str, list[str]] = {}
        anywhere: list[str] = []
        for pattern in patterns:
            keys = _prefixes(pattern)
            if keys is None:
                anywhere.append(pattern)
                continue
            for key in keys:
                (two if len(key) == 2 else one).setdefault(key, []).append(pattern)
        self._any = _compile_all(anywhere) if anywhere else None
        group = lambda ps: re.compile(  # noqa: E731
            r"(?=\w)(?:" + "|".join(f"(?:{p})" for p in dict.fromkeys(ps)) + r")\b"
        )
        self._one = {c: group(ps + anywhere) for c, ps in one.items()}
        self._two = {k: group(ps + one.get(k[0], []) + anywhere) for k, ps in two.items()}

    def search(self, text: str) -> bool:
        """True when any pattern matches in `text`."""
        return bool(self.starts(text, first=True))

    def starts(self, text: str, first: bool = False) -> list[int]:
        """Where matches start (only the first one when `first`)."""
        two, one = self._two, self._one
        found = []
        for start in self._WORD_START.finditer(text):
            pos = start.start()
            regex = two.get(text[pos : pos + 2]) or one.get(text[pos])
            if regex is not None and regex.match(text, pos):
                found.append(pos)
                if first:
                    return found
        if self._any is not None:
            found = sorted({*found, *(m.start() for m in self._any.finditer(text))})
        return found


_BOOK = load_patterns()
_OVERRIDES = _compile_all(_BOOK.overrides)
_REMOVALS = _compile_all(_BOOK.removals)
# One search over every family first: most messages match nothing and stop there.
_ANY = _Dispatch([p for patterns in _BOOK.families.values() for p in patterns])
_FAMILIES = [(key, _compile_all(patterns)) for key, patterns in _BOOK.families.items()]
_BENIGN = _compile_all(_BOOK.benign)
_BENIGN_WEAK = _compile_all(_BOOK.benign_weak)
_LONG = 1000  # characters: longer messages are read around their matches only
_SPAN = 300  # characters each side of a match read in a long message
_NEAR = 120  # characters each side of a hit read for its setting (about a sentence)
_FICTION = re.compile(
    r"(?<!\w)(?:character|characters|book|novel|film|movie|show|series|episode|season|song|"
    r"poem|play|story|game|scene|documentary|podcast|news|article|anime|manga|comic|hamlet|"
    r"lyrics?|chapter|villain|hero|protagonist|actor|actress)\b"
)
_JOKES = _compile_all(_BOOK.jokes)
_SELF_FRAME = _compile_all(_BOOK.self_frame)
_ABUSE = _compile_all(_BOOK.abuse)
_ABUSE_NOT = _compile_all(_BOOK.abuse_not)

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
_THIRD_REFLEXIVE = _words("himself herself themselves themself suicidarse matarse sich")
_THIRD = _words(
    "he she they hes shes theyre theyve hed shed theyd theyll "
    "mum mom mother mam dad father parent parents sister sis brother bro wife husband "
    "stepdad stepfather stepmum stepmom stepmother grandad granddad grandfather grandmother "
    "granny nana grandson granddaughter man woman boy lad character "
    "partner boyfriend girlfriend bf gf ex kid kids son daughter child friend bestie mate "
    "roommate flatmate housemate neighbour neighbor colleague coworker cousin aunt uncle "
    "niece nephew grandma grandpa gran nan student client patient teammate classmate fiance "
    "fiancee someone somebody guy girl "
    # The same people in the other languages read (accents folded).
    "hermana hermano madre padre amiga amigo hijo hija esposo esposa novio novia irma irmao "
    "mae pai filho filha marido soeur frere mere pere ami amie fils fille copain copine "
    "schwester bruder mutter vater freund freundin sohn tochter mann frau sorella fratello "
    "amico amica figlio figlia сестра брат мама папа друг подруга сын дочь муж жена мати "
    "батько син донька чоловік дружина"
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
    benign: int = 0  # 2: travel, a job, a move nearby; 1: a party, chores, an exam nearby
    fiction: bool = False  # someone else's risk in a book, film, song, game


def _assess(text: str) -> Risk:
    if not text or text.isspace():
        return NO_RISK
    hits: list[_Hit] = []
    abuse = False
    spellings = _spellings(text)
    read = spellings[0]
    for spelling in spellings:
        found = _hits(spelling)
        if not abuse and _ABUSE.search(spelling):
            abuse = bool(_ABUSE.search(_ABUSE_NOT.sub(".", spelling)))
        if found:
            hits, read = found, spelling
            break
    emoji = _RISK_EMOJI_SET.intersection(text)
    if emoji and not any(h.level == "crisis" for h in hits) and _emoji_alone(text):
        hits.append(_Hit("emoji", "concern", "self"))
    hits = [
        h
        for h in hits
        if not h.fiction
        and not (h.benign == 2 and (h.family, h.level) in _SOFT)
        and not (h.benign == 1 and h.level == "concern" and (h.family, h.level) in _SOFT)
    ]
    # Two signs of leaving (a pet given away and goodbyes said, a date and "everything's
    # ready") together are a clear statement, not a maybe.
    leaving = {h.family for h in hits if h.family in ("goodbye", "plan_timing")}
    if leaving and sum(h.family in leaving for h in hits) >= 2:
        for hit in hits:
            if hit.family in leaving:
                hit.level = "crisis"
    if hits and _JOKES.search(read):
        for hit in hits:
            if hit.level == "crisis" and hit.family in _JOKE_LOWERS:
                hit.level = "concern"
    if not hits:
        return Risk(abuse=True) if abuse else NO_RISK
    level = max((h.level for h in hits), key=_RANK.__getitem__)
    subject: Subject = "self"
    if all(h.subject == "other" for h in hits) and not _SELF_FRAME.search(read):
        subject = "other"
    families = tuple(sorted({h.family for h in hits}))
    return Risk(level, subject, families, abuse)


def _hits(spelling: str) -> list[_Hit]:
    hits: list[_Hit] = []
    override = _OVERRIDES.search(spelling)
    if override:
        hits.append(_Hit("override", "crisis", _whose(spelling, override, "override")))
    # Cheap first: most messages match nothing and are done after this one search (cutting
    # out negations and idioms takes words away; it does not make new phrases).
    if len(spelling) <= _LONG:
        if not _ANY.search(spelling):
            return hits
    else:
        # A long message: the families are read only around what matched (a few hundred
        # characters each side), so a crisis sentence in a diary costs no more than a short one.
        spelling = _around(spelling, _ANY.starts(spelling))
        if not spelling:
            return hits
    cleaned = _REMOVALS.sub(".", spelling)
    starts = _ANY.starts(cleaned)
    # Each family is tried only where some pattern starts (the dispatch found those), not
    # searched through the whole text: the same hits, a fraction of the work.
    ends: dict[tuple[str, str], int] = {}
    for pos in starts:
        for key, regex in _FAMILIES:
            if pos < ends.get(key, 0):
                continue  # inside this family's previous hit: the same phrase, not a new one
            match = regex.match(cleaned, pos)
            if match is None:
                continue
            ends[key] = match.end()
            family, level = key
            hit = _Hit(family, level, _whose(cleaned, match, family))  # type: ignore[arg-type]
            if key in _SOFT or hit.subject == "other":
                # Read the words around it: an ordinary plan explains a vague one away;
                # a story, film or song explains away someone else's death.
                near = cleaned[max(0, match.start() - _NEAR) : match.end() + _NEAR]
                hit.benign = 2 if _BENIGN.search(near) else 1 if _BENIGN_WEAK.search(near) else 0
                hit.fiction = hit.subject == "other" and bool(_FICTION.search(near))
            hits.append(hit)
    return hits


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


def _whose(text: str, match: re.Match[str], family: str) -> Subject:
    """Whose risk a hit speaks of. In order: a reflexive in it ("kill himself", "hurt
    myself"); the writer named in it ("I", "me": "nobody would miss me"); a person it starts
    with ("my brother took pills"); else the nearest person before it in the text ("my
    partner talks about not waking up"), where "me" is an object and does not count ("my ex
    texted me goodbye"). "my" is a possessive, not a person. Nobody named: the writer.
    Hits of the someone_else family skip the "me" inside them for the same reason."""
    words = match.group().split()
    for word in words:
        if word in _THIRD_REFLEXIVE:
            return "other"
        if word in _FIRST_REFLEXIVE:
            return "self"
    mine = _FIRST_SUBJECT if family == "someone_else" else _FIRST
    if any(word in mine for word in words):
        return "self"
    for word in words[:3]:
        if word in _THIRD or (word.endswith("s") and word[:-1] in _THIRD):
            return "other"
        if word not in _DETERMINERS:
            break
    for word in reversed(text[max(0, match.start() - 160) : match.start()].split()[-20:]):
        if word == ".":
            continue
        if word in _FIRST_SUBJECT:
            return "self"
        if word in _THIRD or (word.endswith("s") and word[:-1] in _THIRD):
            return "other"
    return "self"


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
