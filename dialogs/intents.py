"""What a person means when they type words where a step expected something else.

The intents live in dialogs/data/intents.yaml (its header explains the pattern syntax): per
intent an id, a kind, the two or three offers that help right now, word patterns, emoji,
`examples` that must be recognised and `not_examples` that must not. `match` reads one
message and returns the most relevant Intent, or None when nothing is recognised. The crisis
screen (dialogs/safety.py) runs before this in the dialog manager; nothing here looks for risk.

Other languages: dialogs/data/<locale>/intents.yaml (e.g. es) gives, for every intent of the
English file, that language's patterns, `unless`, examples and not_examples (emoji too, or
the English ones are kept), plus its own `spelling`, `negation`, `not_typos` and
`no_intent`. Ids, kinds, offers, replies, `last` and the order of preference always come
from the English file, so a language cannot drift from it. `match(text, locale)` reads with
the person's language, then, when that finds nothing, with English: people who write
Spanish often mix in English words ("estoy tan stressed"), and the English patterns find
next to nothing in Spanish text (on the Spanish table: "hola" only). A locale without a
file reads English.

How a message is read (`IntentSet.read`):
 1. Clause breaks (. , ! ? ; : … and line breaks) are noted; other punctuation and emoji
    become spaces; the rest is folded with dialogs.inputs.fold (lower case, no accents, no
    apostrophes: "I'm" -> "im").
 2. Each word is respelled: the file's `spelling` map ("im" -> "i am", "u" -> "you",
    "lonley" -> "lonely"), stretched letters ("lonelyyy", "sooo", "hiii") brought back to a
    known word, and one dropped or swapped letter in a long known word ("anxous") forgiven.
    The patterns are respelled the same way, so writers may write "I'm" or "don't".
 3. Each intent's patterns are searched; a hit right after a negation ("not", "no longer",
    "never", "used to"... with filler words like "feeling", "so", "am" in between, inside the
    same clause) does not count, unless an `except` phrase covers it ("never felt so").
    An intent whose `unless` pattern is found is not recognised at all ("thanks but no").
 4. Ranking: an intent with a word hit beats one with only an emoji hit; among equals the
    earlier intent in the file wins; an intent marked `last: true` (the greeting) only wins
    when nothing else was recognised ("hi, I'm so lonely" is lonely).

Pure Python and `re`; the file is read and compiled once per process (`load` is cached).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from dialogs.inputs import DEFAULT_LOCALE, base_locale, fold
from dialogs.yaml_data import load_yaml

DATA_DIR = Path(__file__).parent / "data"
INTENTS_FILE = DATA_DIR / "intents.yaml"

OFFERS = ("person", "reframe", "step", "breathe", "sos", "pause", "about", "help", "menu")
KINDS = ("feeling", "social", "request", "meta")


@dataclass(frozen=True)
class Intent:
    """One thing a person may mean: `reply` is a template name under prompts/<locale>/."""

    id: str  # e.g. "lonely"
    kind: str  # "feeling" | "social" | "request" | "meta"
    offers: tuple[str, ...]  # 2-3 offer ids in order, each one of OFFERS
    reply: str  # template name, e.g. "listen/intent_lonely"


class IntentError(ValueError):
    """The intents file cannot be used (its text lists every problem, one a line)."""


# --- reading a message ------------------------------------------------------------------------

# Emoji variation selectors, skin tones and joiners: "❤️" and "❤" are one emoji here.
_EMOJI_NOISE = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")
_BREAKS = re.compile(r"[.,!?;:…\n\r]+|\s[-–—]+\s")
# Anything but letters, digits, spaces and apostrophes (after NFC, accents sit on letters).
_SEPARATORS = re.compile(r"[^\w\s'’‘`´ʼ]|_")
# Letters typed three or more times ("sooo"), or twice ("lonelyy"); digits are left alone.
_RUN3 = re.compile(r"([^\W\d_])\1{2,}")
_RUN2 = re.compile(r"([^\W\d_])\1+")
_WORD_CACHE_LIMIT = 50_000
_MIN_TYPO_LENGTH = 6  # only words this long forgive a dropped or swapped letter


def _separated(text: str) -> str:
    """Punctuation, symbols and emoji as spaces (apostrophes kept for fold to drop)."""
    return _SEPARATORS.sub(" ", text)


def plain_emoji(text: str) -> str:
    """`text` without variation selectors, skin tones and joiners ("👋🏽" -> "👋")."""
    return _EMOJI_NOISE.sub("", text)


@dataclass
class _Lexicon:
    spelling: dict[str, tuple[str, ...]]
    vocab: set[str] = field(default_factory=set)
    squeezed: dict[str, str] = field(default_factory=dict)
    typos: dict[str, str] = field(default_factory=dict)
    not_typos: set[str] = field(default_factory=set)
    stems: tuple[str, ...] = ()  # of `word*` patterns: words starting so are never slips
    cache: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def finish(self) -> None:
        """Build the stretch and typo tables once every pattern has added its words."""
        self.vocab.update(w for words in self.spelling.values() for w in words)
        known = self.vocab | set(self.spelling)
        squeezed: dict[str, str | None] = {}
        reads: dict[str, tuple[str, ...]] = {}  # squeezed key -> what its words read as
        for word in sorted(known):
            key = _RUN2.sub(r"\1", word)
            read = self.spelling.get(word, (word,))
            if key not in squeezed:
                squeezed[key], reads[key] = word, read
            elif reads[key] != read:
                squeezed[key] = None  # two different words squeeze alike: leave it
        self.squeezed = {k: w for k, w in squeezed.items() if w is not None}
        typos: dict[str, str | None] = {}
        for word in self.vocab:
            if len(word) < _MIN_TYPO_LENGTH or not word.isalpha():
                continue
            for variant in _one_slip(word):
                if variant in known or variant in self.not_typos:
                    continue
                typos[variant] = word if typos.get(variant, word) == word else None
        self.typos = {k: w for k, w in typos.items() if w is not None}

    def respell(self, token: str) -> tuple[str, ...]:
        """One folded token as the words the patterns read ("im" -> ("i", "am"))."""
        hit = self.cache.get(token)
        if hit is not None:
            return hit
        out = self._respell(token)
        if len(self.cache) >= _WORD_CACHE_LIMIT:
            self.cache.clear()
        self.cache[token] = out
        return out

    def _respell(self, token: str) -> tuple[str, ...]:
        if token in self.spelling:
            return self.spelling[token]
        if token in self.vocab:
            return (token,)
        if _RUN3.search(token):
            shorter = _RUN3.sub(r"\1\1", token)
            if shorter in self.spelling or shorter in self.vocab:
                return self._respell(shorter)
        if _RUN2.search(token):
            word = self.squeezed.get(_RUN2.sub(r"\1", token))
            if word is not None:
                return self._respell(word)
        if token.startswith(self.stems):
            return (token,)
        typo = self.typos.get(token)
        return (typo,) if typo is not None else (token,)


def _one_slip(word: str) -> set[str]:
    """`word` with one letter dropped or two neighbours swapped, never the first letter."""
    out = {word[:i] + word[i + 1 :] for i in range(1, len(word))}
    out |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, len(word) - 1)}
    out.discard(word)
    return out


@dataclass(frozen=True)
class Reading:
    """A message as the patterns read it.

    line: " w0 w1 ... wn " (respelled words, one space around each); starts: the offset of
    each word in `line`; breaks: indices of words that begin a new clause; symbols: the raw
    text without emoji modifiers (emoji and emoticons are looked for in it).
    """

    line: str
    starts: tuple[int, ...]
    breaks: frozenset[int]
    symbols: str

    @property
    def words(self) -> list[str]:
        """The respelled words in order ("I'm lonley" -> ["i", "am", "lonely"])."""
        return self.line.split()


def _read(text: str, lexicon: _Lexicon) -> Reading:
    text = unicodedata.normalize("NFC", text)
    words: list[str] = []
    breaks: set[int] = set()
    for clause in _BREAKS.split(text):
        tokens = fold(_separated(clause)).split()
        if not tokens:
            continue
        if words:
            breaks.add(len(words))
        for token in tokens:
            words.extend(lexicon.respell(token))
    starts = []
    offset = 1
    for word in words:
        starts.append(offset)
        offset += len(word) + 1
    line = " " + " ".join(words) + " " if words else " "
    return Reading(line, tuple(starts), frozenset(breaks), plain_emoji(text))


# --- patterns ---------------------------------------------------------------------------------

_PATTERN_TOKENS = re.compile(r"\(|\)\??|\||\.\.|\^|\$|[^\s()|^$]+")
_PATTERN_WORD = re.compile(r"^[\w'’]+\*?$")
_GAP = r"(?:\S+ ){0,3}"


class _PatternError(ValueError):
    pass


@dataclass
class _First:
    """Which words a pattern can start with: exact words, stems (`word*`), or any word."""

    words: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)
    any: bool = False

    def add(self, other: _First) -> None:
        self.words |= other.words
        self.stems |= other.stems
        self.any = self.any or other.any


def _pattern_regex(source: str, lexicon: _Lexicon) -> tuple[str, _First]:
    """One pattern as a regular expression over Reading.line, and the words it can start
    with; raises _PatternError.

    Words are matched whole ("sad" is not in "sadly"); `word*` takes any ending; `(a|b c)`
    is one of; `(...)?` may be left out; `..` stands for up to three words; `^` and `$`
    tie the pattern to the start and end of the message.
    """
    tokens = _PATTERN_TOKENS.findall(source)
    pos = 0
    anchored = bool(tokens) and tokens[0] == "^"
    if anchored:
        pos = 1

    def sequence(depth: int) -> tuple[str, _First, bool]:
        """(regex, first words, can match nothing) of the items up to `|` or `)`."""
        nonlocal pos
        parts: list[str] = []
        first = _First()
        nullable = True
        while pos < len(tokens):
            token = tokens[pos]
            if token in ("|", ")", ")?"):
                if depth == 0:
                    raise _PatternError(f"'{token}' without its '('")
                return "".join(parts), first, nullable
            pos += 1
            item_first = _First()
            item_nullable = False
            if token == "(":
                options = [sequence(depth + 1)]
                while pos < len(tokens) and tokens[pos] == "|":
                    pos += 1
                    options.append(sequence(depth + 1))
                if pos >= len(tokens):
                    raise _PatternError("a '(' is never closed")
                closer = tokens[pos]
                pos += 1
                regex = "(?:" + "|".join(o[0] for o in options) + ")"
                parts.append(regex + ("?" if closer == ")?" else ""))
                for option in options:
                    item_first.add(option[1])
                item_nullable = closer == ")?" or any(o[2] for o in options)
            elif token == "..":
                parts.append(_GAP)
                item_first.any = True
                item_nullable = True
            elif token == "^":
                raise _PatternError("'^' only at the start")
            elif token == "$":
                if pos != len(tokens) or depth:
                    raise _PatternError("'$' only at the end")
                parts.append("$")
                item_nullable = True
            else:
                regex, head, is_stem = _word_regex(token, lexicon)
                parts.append(regex)
                (item_first.stems if is_stem else item_first.words).add(head)
            if nullable:
                first.add(item_first)
                nullable = item_nullable
        if depth:
            raise _PatternError("a '(' is never closed")
        return "".join(parts), first, nullable

    body, first, nullable = sequence(0)
    if nullable:
        raise _PatternError("it can match no word at all")
    return ("(?<=^ )" if anchored else "(?<= )") + body, first


def _word_regex(token: str, lexicon: _Lexicon) -> tuple[str, str, bool]:
    """(regex, first word or stem, is a stem) of one pattern word."""
    if not _PATTERN_WORD.match(token):
        raise _PatternError(f"'{token}' is not a word (letters, digits, ' and a final *)")
    if token.endswith("*"):
        stem = fold(token[:-1])
        if not stem:
            raise _PatternError(f"'{token}' has no letters before '*'")
        if stem not in lexicon.stems:
            lexicon.stems += (stem,)
        return re.escape(stem) + r"\S* ", stem, True
    words = [w for part in fold(token).split() for w in lexicon.spelling.get(part, (part,))]
    if not words:
        raise _PatternError(f"'{token}' has no letters")
    lexicon.vocab.update(words)
    return "".join(re.escape(w) + " " for w in words), words[0], False


def _patterns(
    sources: list[str], lexicon: _Lexicon, where: str, problems: list[str]
) -> list[tuple[str, _First]]:
    """Each good pattern as (regex, first words); a bad one is a problem and left out."""
    out = []
    for source in sources:
        try:
            out.append(_pattern_regex(str(source), lexicon))
        except _PatternError as err:
            problems.append(f"{where}: pattern '{source}': {err}")
    return out


def _alternation(patterns: list[tuple[str, _First]]) -> str:
    return "|".join(f"(?:{regex})" for regex, _ in patterns)


# --- the compiled set -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    intent: Intent
    patterns: tuple[tuple[str, _First], ...]  # (regex, the words it can start with)
    unless: re.Pattern[str] | None
    last: bool
    examples: tuple[str, ...]
    not_examples: tuple[str, ...]


@dataclass
class IntentSet:
    """The intents of one file, compiled. `problems` lists what was wrong in the file's
    shape (a bad pattern, an unknown offer...); the parts that were fine still work."""

    source: str
    rules: tuple[_Rule, ...]
    lexicon: _Lexicon
    skip: frozenset[str]
    negators: re.Pattern[str] | None
    exceptions: re.Pattern[str] | None
    emoji_owners: dict[str, tuple[int, ...]]  # an emoji or text face -> rules it belongs to
    no_intent: tuple[str, ...]
    problems: list[str]
    # Which rules' patterns may start a hit at a word: by the word itself, by a stem it
    # starts with (`word*`), or at any word (a pattern opening with ".."); each entry holds
    # one compiled expression of just those patterns of that rule.
    by_word: dict[str, tuple[tuple[int, re.Pattern[str]], ...]] = field(default_factory=dict)
    by_stem: tuple[tuple[str, int, re.Pattern[str]], ...] = ()
    anywhere: tuple[tuple[int, re.Pattern[str]], ...] = ()
    _at_word: dict[str, tuple[tuple[int, re.Pattern[str]], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_word: dict[str, dict[int, list[str]]] = {}
        by_stem: dict[str, dict[int, list[str]]] = {}
        anywhere: dict[int, list[str]] = {}
        for n, rule in enumerate(self.rules):
            for regex, first in rule.patterns:
                if first.any:
                    anywhere.setdefault(n, []).append(regex)
                    continue
                for word in first.words:
                    by_word.setdefault(word, {}).setdefault(n, []).append(regex)
                for stem in first.stems:
                    by_stem.setdefault(stem, {}).setdefault(n, []).append(regex)

        def compiled(by_rule: dict[int, list[str]]) -> tuple[tuple[int, re.Pattern[str]], ...]:
            return tuple(
                (n, re.compile("|".join(f"(?:{r})" for r in regexes)))
                for n, regexes in sorted(by_rule.items())
            )

        self.by_word = {word: compiled(by_rule) for word, by_rule in by_word.items()}
        self.by_stem = tuple(
            (stem, n, regex)
            for stem, by_rule in sorted(by_stem.items())
            for n, regex in compiled(by_rule)
        )
        self.anywhere = compiled(anywhere)
        self._emoji_chars = {e: n for e, n in self.emoji_owners.items() if len(e) == 1}
        self._emoji_runs = tuple((e, n) for e, n in self.emoji_owners.items() if len(e) > 1)

    def _emoji_hits(self, symbols: str) -> set[int]:
        chars = set(symbols)
        hits = {n for char in chars & self._emoji_chars.keys() for n in self._emoji_chars[char]}
        for run, owners in self._emoji_runs:
            if run[0] in chars and run in symbols:
                hits.update(owners)
        return hits

    def _candidates(self, word: str) -> tuple[tuple[int, re.Pattern[str]], ...]:
        """(rule, expression) pairs to try at a position holding `word` (cached per word)."""
        found = self._at_word.get(word)
        if found is None:
            found = self.by_word.get(word, ()) + self.anywhere
            found += tuple((n, regex) for stem, n, regex in self.by_stem if word.startswith(stem))
            if len(self._at_word) >= _WORD_CACHE_LIMIT:
                self._at_word.clear()
            self._at_word[word] = found
        return found

    @property
    def intents(self) -> dict[str, Intent]:
        """Every intent by id, in the file's order (the order of preference)."""
        return {rule.intent.id: rule.intent for rule in self.rules}

    def read(self, text: str) -> Reading:
        """`text` as the patterns read it (see Reading)."""
        return _read(text, self.lexicon)

    def ranked(self, text: str) -> list[Intent]:
        """Every intent recognised in `text`, most relevant first ([] = none)."""
        reading = self.read(text)
        if not reading.starts and not reading.symbols.strip():
            return []
        emoji_hits = self._emoji_hits(reading.symbols)
        word_hits = self._word_hits(reading)
        scored: list[tuple[int, int, Intent]] = []
        for order, rule in enumerate(self.rules):
            if order in word_hits:
                tier = 0
            elif order in emoji_hits:
                tier = 1
            else:
                continue
            if rule.unless is not None and rule.unless.search(reading.line):
                continue
            scored.append((tier + (2 if rule.last else 0), order, rule.intent))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [intent for _, _, intent in scored]

    def match(self, text: str) -> Intent | None:
        """The most relevant intent in `text`, or None."""
        ranked = self.ranked(text)
        return ranked[0] if ranked else None

    def _word_hits(self, reading: Reading) -> set[int]:
        """Rules with a hit that no negation cancels. At each word only the patterns that
        can start with it are tried (one dict look-up per word)."""
        hits: set[int] = set()
        line = reading.line
        for i, word in enumerate(line.split()):
            for n, regex in self._candidates(word):
                if n in hits:
                    continue
                found = regex.match(line, reading.starts[i])
                if found is not None and not self._negated(found, reading):
                    hits.add(n)
        return hits

    def _negated(self, hit: re.Match[str], reading: Reading) -> bool:
        """True when a negation ends right before the hit, in its clause, with only filler
        words between ("I'm not feeling lonely anymore")."""
        if self.negators is None:
            return False
        first = bisect_left(reading.starts, hit.start())
        words = reading.line.split()
        j = first - 1
        while j >= 0 and (j + 1) not in reading.breaks:
            end = reading.starts[j] + len(words[j]) + 1
            found = self.negators.search(reading.line, max(0, end - 40), end)
            if found is not None:
                return not self._excepted(found.start(), hit, reading)
            if words[j] not in self.skip:
                return False
            j -= 1
        return False

    def _excepted(self, negation_start: int, hit: re.Match[str], reading: Reading) -> bool:
        if self.exceptions is None:
            return False
        window = max(0, negation_start - 30)
        for m in self.exceptions.finditer(reading.line, window, hit.end()):
            if m.start() <= negation_start < m.end():
                return True
        return False


_INTENT_KEYS = {
    "id",
    "kind",
    "offers",
    "reply",
    "patterns",
    "emoji",
    "unless",
    "last",
    "examples",
    "not_examples",
}
_TOP_KEYS = {"spelling", "negation", "not_typos", "no_intent", "intents"}
_NEGATION_KEYS = {"negators", "skip", "except"}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _strings(value: Any, where: str, problems: list[str], required: bool = False) -> list[str]:
    if value is None:
        if required:
            problems.append(f"{where}: missing (a list of phrases)")
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        problems.append(f"{where}: should be a list of phrases")
        return []
    for v in value:
        if isinstance(v, bool):  # YAML reads a bare yes/no/on/off as true/false
            problems.append(f"{where}: '{v}' was read as true/false: put the phrase in quotes")
    if required and not value:
        problems.append(f"{where}: the list is empty")
    return [str(v) for v in value]


def _compiled(alternation: str) -> re.Pattern[str] | None:
    return re.compile(alternation) if alternation else None


def _yaml(text: str, source: str, problems: list[str]) -> dict[str, Any]:
    """The mapping in `text`, or {} with the reason added to `problems`."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as err:
        problems.append(f"{source}: not valid YAML: {err}")
        return {}
    if data is not None and not isinstance(data, dict):
        problems.append(f"{source}: the file should be a mapping with `intents:`")
        return {}
    return data or {}


_OWN_KEYS = {"id", "patterns", "emoji", "unless", "examples", "not_examples"}


def _in_language(
    english: dict[str, Any], own: dict[str, Any], source: str, problems: list[str]
) -> dict[str, Any]:
    """A language's file laid over the English one: each English intent in its order, with
    its id, kind, offers, reply and `last`, and this language's patterns, unless, examples
    and not_examples (emoji: its own, else the English ones). Top-level keys are the
    language's own. Problems: an intent missing here, an unknown id, a key only the English
    file may set."""
    raw_own = own.get("intents")
    if not isinstance(raw_own, list):
        problems.append(f"{source}: `intents:` should be a list")
        raw_own = []
    by_id: dict[str, dict[str, Any]] = {}
    for n, raw in enumerate(raw_own, 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            problems.append(f"{source}: intent #{n} should be a mapping with an id")
            continue
        where = f"{source}: intent '{raw['id']}'"
        for key in sorted(set(raw) - _OWN_KEYS):
            problems.append(f"{where}: '{key}' is set in the English file only")
        if raw["id"] in by_id:
            problems.append(f"{where}: the id is used twice")
        by_id[raw["id"]] = raw
    merged: list[dict[str, Any]] = []
    for base in english.get("intents") or []:
        if not isinstance(base, dict):
            continue
        ident = base.get("id")
        mine = by_id.pop(str(ident), None)
        if mine is None:
            problems.append(f"{source}: intent '{ident}' has no patterns in this language")
            continue
        shared = {k: v for k, v in base.items() if k in ("id", "kind", "offers", "reply", "last")}
        merged.append(shared | {k: v for k, v in mine.items() if k in _OWN_KEYS}
                      | ({} if "emoji" in mine else {"emoji": base.get("emoji")}))  # fmt: skip
    for ident in by_id:
        problems.append(f"{source}: intent '{ident}' is not in the English file")
    return {k: v for k, v in own.items() if k != "intents"} | {"intents": merged}


def build(text: str, source: str = "intents.yaml", english: str | None = None) -> IntentSet:
    """Compile the YAML `text` of an intents file. `english`: the English file's text when
    `text` is another language's file (dialogs/data/<locale>/intents.yaml, laid over it:
    see the module docstring). Never raises for bad content: what is wrong is listed in the
    result's `problems` (YAML that does not parse included)."""
    problems: list[str] = []
    data = _yaml(text, source, problems)
    if english is not None:
        data = _in_language(_yaml(english, "intents.yaml", problems), data, source, problems)
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append(f"{source}: unknown key '{key}'")

    spelling: dict[str, tuple[str, ...]] = {}
    raw_spelling = data.get("spelling") or {}
    if not isinstance(raw_spelling, dict):
        problems.append(f"{source}: spelling: should map a word to its spelling")
        raw_spelling = {}
    for key, value in raw_spelling.items():
        folded = fold(str(key))
        if not folded or " " in folded:
            problems.append(f"{source}: spelling: '{key}' should be one word")
            continue
        spelling[folded] = tuple(fold(str(value)).split())
    lexicon = _Lexicon(spelling)
    lexicon.not_typos = {fold(w) for w in _strings(data.get("not_typos"), "not_typos", problems)}

    negation = data.get("negation") or {}
    if not isinstance(negation, dict):
        problems.append(f"{source}: negation: should be a mapping")
        negation = {}
    for key in sorted(set(negation) - _NEGATION_KEYS):
        problems.append(f"{source}: negation: unknown key '{key}'")
    skip_words = _strings(negation.get("skip"), "negation.skip", problems)
    skip = frozenset(
        w for s in skip_words for part in fold(s).split() for w in spelling.get(part, (part,))
    )
    lexicon.vocab.update(skip)
    negators = _alternation(
        _patterns(
            _strings(negation.get("negators"), "negation.negators", problems),
            lexicon,
            f"{source}: negation.negators",
            problems,
        )
    )
    exceptions = _alternation(
        _patterns(
            _strings(negation.get("except"), "negation.except", problems),
            lexicon,
            f"{source}: negation.except",
            problems,
        )
    )

    rules: list[_Rule] = []
    emoji_owners: dict[str, list[int]] = {}
    seen: set[str] = set()
    raw_intents = data.get("intents")
    if not isinstance(raw_intents, list) or not raw_intents:
        problems.append(f"{source}: `intents:` should be a non-empty list")
        raw_intents = []
    for n, raw in enumerate(raw_intents, 1):
        if not isinstance(raw, dict):
            problems.append(f"{source}: intent #{n} should be a mapping")
            continue
        ident = str(raw.get("id", ""))
        where = f"{source}: intent '{ident}'" if ident else f"{source}: intent #{n}"
        rule = _rule(raw, where, lexicon, problems)
        if rule is None:
            continue
        if ident in seen:
            problems.append(f"{where}: the id is used twice")
            continue
        seen.add(ident)
        for symbol in _strings(raw.get("emoji"), f"{where}: emoji", problems):
            key = plain_emoji(symbol).strip()
            if not key:
                problems.append(f"{where}: emoji: an empty entry")
                continue
            emoji_owners.setdefault(key, []).append(len(rules))
        rules.append(rule)

    lexicon.finish()
    return IntentSet(
        source=source,
        rules=tuple(rules),
        lexicon=lexicon,
        skip=skip,
        negators=_compiled(f"(?:{negators})\\Z" if negators else ""),
        exceptions=_compiled(exceptions),
        emoji_owners={k: tuple(v) for k, v in emoji_owners.items()},
        no_intent=tuple(_strings(data.get("no_intent"), f"{source}: no_intent", problems)),
        problems=problems,
    )


def _rule(raw: dict[str, Any], where: str, lexicon: _Lexicon, problems: list[str]) -> _Rule | None:
    before = len(problems)
    for key in sorted(set(raw) - _INTENT_KEYS):
        problems.append(f"{where}: unknown key '{key}'")
    ident = str(raw.get("id", ""))
    if not _ID.match(ident):
        problems.append(f"{where}: id should be lower-case letters, digits and _")
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(f"{where}: kind '{kind}' is not one of {', '.join(KINDS)}")
    offers = raw.get("offers")
    if not isinstance(offers, list) or not 2 <= len(offers) <= 3:
        problems.append(f"{where}: offers should be a list of 2 or 3 offer ids")
        offers = []
    for offer in offers:
        if offer not in OFFERS:
            problems.append(f"{where}: unknown offer '{offer}' (known: {', '.join(OFFERS)})")
    if len(set(map(str, offers))) != len(offers):
        problems.append(f"{where}: an offer is listed twice")
    last = raw.get("last", False)
    if not isinstance(last, bool):
        problems.append(f"{where}: last should be true or false")
    reply = raw.get("reply", f"listen/intent_{ident}")
    if not isinstance(reply, str) or not reply:
        problems.append(f"{where}: reply should be a template name")
    patterns = _strings(raw.get("patterns"), f"{where}: patterns", problems, required=True)
    compiled = _patterns(patterns, lexicon, where, problems)
    unless = _alternation(
        _patterns(
            _strings(raw.get("unless"), f"{where}: unless", problems), lexicon, where, problems
        )
    )
    examples = _strings(raw.get("examples"), f"{where}: examples", problems, required=True)
    not_examples = _strings(raw.get("not_examples"), f"{where}: not_examples", problems)
    if len(problems) > before and not (_ID.match(ident) and isinstance(reply, str)):
        return None
    intent = Intent(
        id=ident,
        kind=str(kind),
        offers=tuple(str(o) for o in offers),
        reply=str(reply),
    )
    return _Rule(
        intent=intent,
        patterns=tuple(compiled),
        unless=_compiled(unless),
        last=bool(last),
        examples=tuple(examples),
        not_examples=tuple(not_examples),
    )


# Held while a file is read and compiled: the first free texts may reach `match` on
# several threads at once (the event loop, PostgreSQL's database threads), and each would
# otherwise compile its own copy (~0.1-0.2 s and ~1 MB each; only one is kept).
_LOADING = threading.RLock()


def load(path: Path = INTENTS_FILE) -> IntentSet:
    """The compiled intents of `path` (read once per process, at first use); raises
    IntentError when the file's shape is wrong (its examples are checked by `check`, not
    here), OSError when it can't be read."""
    with _LOADING:
        return _load(path)


@cache
def _load(path: Path) -> IntentSet:
    loaded = build(path.read_text("utf-8"), path.name)
    if loaded.problems:
        raise IntentError("\n".join(loaded.problems))
    return loaded


def locale_file(locale: str) -> Path:
    """Where a language's intents live: dialogs/data/<language>/intents.yaml (English:
    dialogs/data/intents.yaml). The file may not exist."""
    base = base_locale(locale)
    return INTENTS_FILE if base == DEFAULT_LOCALE else DATA_DIR / base / "intents.yaml"


def intent_locales() -> tuple[str, ...]:
    """The languages with their own intents file, English first ("en", "es")."""
    own = sorted(p.parent.name for p in DATA_DIR.glob("*/intents.yaml"))
    return (DEFAULT_LOCALE, *(name for name in own if name != DEFAULT_LOCALE))


def for_locale(locale: str = DEFAULT_LOCALE) -> IntentSet:
    """The compiled intents for a person's `locale` ("es", "es-MX"...), read once per
    language and process: that language's file laid over the English one, or the English
    intents when the language has no file. Raises IntentError when a file's shape is
    wrong, OSError when one can't be read."""
    with _LOADING:
        return _for_language(base_locale(locale))


@cache
def _for_language(language: str) -> IntentSet:
    path = locale_file(language)
    if path == INTENTS_FILE or not path.is_file():
        return load()
    loaded = build(path.read_text("utf-8"), _name(path), INTENTS_FILE.read_text("utf-8"))
    if loaded.problems:
        raise IntentError("\n".join(loaded.problems))
    return loaded


def _name(path: Path) -> str:
    """How problems name a file: "intents.yaml", "es/intents.yaml"."""
    return path.name if path.parent == DATA_DIR else f"{path.parent.name}/{path.name}"


def match(text: str, locale: str = DEFAULT_LOCALE) -> Intent | None:
    """The most relevant intent in one message (any length, any characters) read in the
    person's language (`locale`: "en", "es", "es-MX"...; one without its own file reads
    English), else read in English ("me siento lonely"), or None when nothing is
    recognised. Uses the shipped files, compiled on first use; raises IntentError only if
    a shipped file is malformed."""
    own = for_locale(locale)
    found = own.match(text)
    english = load()
    return found if found is not None or own is english else english.match(text)


def all_intents() -> dict[str, Intent]:
    """Every shipped intent by id, in the file's order (the order of preference); the same
    in every language."""
    return load().intents


def check(
    catalog: Any | None = None, path: Path | None = None, locale: str | None = None
) -> list[str]:
    """Problems in an intents file ([] = fine), one readable line each: the file's shape,
    every intent's `examples` recognised as that intent, its `not_examples` not, the
    `no_intent` phrases recognised as nothing, and each reply template present in every
    locale of `catalog` (prompts.default_catalog() when None).

    `locale` None and `path` None: the English file and every language's file. `locale`
    given: that language's file (`path` instead of the shipped one, if given), laid over
    the shipped English file. `path` alone: that file, read as an English file. Files are
    read afresh (no cache)."""
    if catalog is None:
        from prompts import default_catalog

        catalog = default_catalog()
    if path is None and locale is None:
        problems = _check_file(catalog, INTENTS_FILE, None)
        for name in intent_locales()[1:]:
            problems += _check_file(catalog, locale_file(name), name)
        return problems
    if locale is not None and base_locale(locale) != DEFAULT_LOCALE:
        return _check_file(catalog, path or locale_file(locale), base_locale(locale))
    return _check_file(catalog, path or INTENTS_FILE, None)


def _check_file(catalog: Any, path: Path, locale: str | None) -> list[str]:
    """`check` of one file: English when `locale` is None, else laid over English."""
    name = _name(path) if locale else path.name
    try:
        text = path.read_text("utf-8")
        english = INTENTS_FILE.read_text("utf-8") if locale else None
    except OSError as err:
        return [f"{name}: cannot be read: {err}"]
    loaded = build(text, name, english)
    problems = list(loaded.problems)
    also = build(english, "intents.yaml") if english is not None else None

    def read(words: str) -> Intent | None:  # as `match` reads: the language, then English
        found = loaded.match(words)
        return found if found is not None or also is None else also.match(words)

    for rule in loaded.rules:
        where = f"{name}: intent '{rule.intent.id}'"
        for example in rule.examples:
            got = read(example)
            if got is None or got.id != rule.intent.id:
                read_as = f"'{got.id}'" if got else "nothing"
                problems.append(f"{where}: example '{example}' is read as {read_as}")
        for example in rule.not_examples:
            got = read(example)
            if got is not None and got.id == rule.intent.id:
                problems.append(f"{where}: not_example '{example}' is read as '{got.id}'")
        if locale:
            continue  # the replies are the English file's: checked with it
        for each in catalog.locales:
            if not catalog.has_template(each, rule.intent.reply):
                problems.append(
                    f"{where}: reply template '{rule.intent.reply}' is missing in locale '{each}'"
                )
    for phrase in loaded.no_intent:
        got = read(phrase)
        if got is not None:
            problems.append(f"{name}: no_intent '{phrase}' is read as '{got.id}'")
    return problems
