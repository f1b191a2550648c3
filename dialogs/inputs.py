"""Turning what a person typed into a value a step can keep, or a clear 'no'.

Pure and offline. The word readers (`yes_or_no`, `parse_number_words`, `mood_from_words`,
the word forms of `parse_time`, `read_day`) only read short answers: six words at most
(eight for a time, all of them part of the time). A longer message is someone talking, and
the caller should answer it as words, not squeeze a number out of it.

Every word reader takes the person's `locale` ("en", "es"...; default "en"). The words of
a language are data: dialogs/data/<locale>/words.yaml (yes and no, numbers, times, days;
see `locale_words`) and the mood words (dialogs/data/mood_words.yaml for English,
dialogs/data/<locale>/mood_words.yaml for others). A locale without its own file reads
English. Accents, ¿ and ¡ never matter: "mañana", "manana" and "¿mañana?" read alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from dialogs.yaml_data import load_yaml

_TIME = re.compile(
    r"^(?:at\s+)?(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?$", re.IGNORECASE
)
_NUMBER = re.compile(r"^[+-]?\d{1,6}$")

MAX_ANSWER_WORDS = 6  # more than this is a sentence: never read a value out of it
# Times get two more ("at half past seven in the evening"): every word must still be
# part of the time, so "I usually wake up at 8" is None whatever its length.
_MAX_TIME_WORDS = 8
_MAX_ANSWER_CHARS = 80
DEFAULT_LOCALE = "en"


# --------------------------------------------------------------------------- a language's words


def fold(text: str) -> str:
    """Lower-case, drop accents, emoji and punctuation so typed labels still match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = [c for c in decomposed if c.isalnum() or c.isspace()]
    return " ".join("".join(kept).split())


def is_blank(text: str) -> bool:
    """Whitespace and invisible format characters only (zero-width spaces and the like)."""
    return all(c.isspace() or unicodedata.category(c) in ("Cf", "Cc") for c in text)


def _phrase(text: object) -> tuple[str, ...]:
    return tuple(fold(str(text)).split())


@dataclass(frozen=True)
class LocaleWords:
    """The words one language uses in short answers (dialogs/data/<locale>/words.yaml).

    Every phrase is stored folded (see `fold`); a phrase of several words is a tuple.
    """

    locale: str
    yes: frozenset[str]  # whole answers, folded: "si", "claro que si"
    no: frozenset[str]
    numbers: dict[str, int]  # one word -> its value: "seven" 7, "veintitres" 23
    tens: frozenset[str]  # words that take a unit after them: "twenty", "treinta"
    joiners: frozenset[str]  # between tens and unit: "y" ("treinta y dos")
    hundred: frozenset[tuple[str, ...]]  # whole phrases that are 100
    number_fillers: frozenset[str]
    number_filler_phrases: tuple[tuple[str, ...], ...]
    articles: frozenset[str]  # "un 6": dropped before another word, a number alone
    scales: tuple[tuple[str, ...], ...]  # "/", "out of", "de": what puts 3 on a scale of 5
    percent: tuple[tuple[str, ...], ...]
    periods: tuple[tuple[tuple[str, ...], str], ...]  # (phrase, part of the day), longest first
    time_fillers: frozenset[str]
    time_filler_phrases: tuple[tuple[str, ...], ...]
    time_leading: frozenset[str]  # dropped only at the start: "para las 8"
    noon: frozenset[str]
    midnight: frozenset[str]
    minutes_then_hour: dict[str, int]  # "past" +1, "to" -1: "ten past 8"
    hour_then_minutes: dict[str, int]  # "y" +1, "menos" -1: "8 y diez"
    spoken_minutes: dict[str, int]  # "quarter" 15, "media" 30
    half_before_hour: frozenset[str]  # British "half seven"
    zero: frozenset[str]  # "seven o five"
    minute_words: frozenset[str]  # "minutes", "minutos"
    relative_days: tuple[tuple[tuple[str, ...], int], ...]  # ("manana",) 1, longest first
    weekdays: dict[str, int]  # every name and short form -> 0 (Monday) .. 6
    day_fillers: frozenset[str]


_PERIOD_NAMES = frozenset(
    {"morning", "afternoon", "evening", "night", "am", "pm", "late_day", "small_hours"}
)
_WORDS_KEYS = {"yes", "no", "numbers", "times", "days"}


def _strings(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise ValueError(f"{where}: should be a list of words in quotes where YAML needs them")
    return raw


def _phrases(raw: Any, where: str) -> tuple[tuple[str, ...], ...]:
    out = tuple(_phrase(v) for v in _strings(raw, where))
    if not all(out):
        raise ValueError(f"{where}: an empty phrase")
    return tuple(sorted(out, key=len, reverse=True))  # longest first


def _counts(raw: Any, where: str) -> dict[str, int]:
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in raw.items()
    ):
        raise ValueError(f"{where}: should map words to whole numbers")
    return {fold(k): v for k, v in raw.items()}


def _pairs(raw: Any, where: str) -> list[tuple[tuple[str, ...], Any]]:
    if not isinstance(raw, list) or not all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in raw
    ):
        raise ValueError(f"{where}: should be a list of [phrase, value] pairs")
    return [(_phrase(p[0]), p[1]) for p in raw]


def _parse_words(data: Any, locale: str) -> LocaleWords:
    """A words file's YAML as LocaleWords; raises ValueError naming what is wrong."""
    where = f"{locale}/words.yaml"
    if not isinstance(data, dict) or set(data) != _WORDS_KEYS:
        raise ValueError(f"{where}: needs exactly the keys {sorted(_WORDS_KEYS)}")
    numbers, times, days = data["numbers"], data["times"], data["days"]
    if not all(isinstance(part, dict) for part in (numbers, times, days)):
        raise ValueError(f"{where}: numbers, times and days should be mappings")
    periods = _pairs(times["periods"], f"{where}: times.periods")
    for _, name in periods:
        if name not in _PERIOD_NAMES:
            raise ValueError(f"{where}: times.periods: {name!r} is not one of {_PERIOD_NAMES}")
    relative = _pairs(days["relative"], f"{where}: days.relative")
    weekdays: dict[str, int] = {}
    names = _strings(days["weekdays"], f"{where}: days.weekdays")
    if len(names) != 7:
        raise ValueError(f"{where}: days.weekdays should list 7 days, Monday first")
    for day, line in enumerate(names):
        for name in fold(line).split():
            weekdays[name] = day
    return LocaleWords(
        locale=locale,
        yes=frozenset(fold(w) for w in _strings(data["yes"], f"{where}: yes")),
        no=frozenset(fold(w) for w in _strings(data["no"], f"{where}: no")),
        numbers=_counts(numbers["words"], f"{where}: numbers.words"),
        tens=frozenset(fold(w) for w in _strings(numbers["tens"], f"{where}: numbers.tens")),
        joiners=frozenset(_strings(numbers["joiners"], f"{where}: numbers.joiners")),
        hundred=frozenset(_phrases(numbers["hundred"], f"{where}: numbers.hundred")),
        number_fillers=frozenset(_strings(numbers["fillers"], f"{where}: numbers.fillers")),
        number_filler_phrases=_phrases(numbers["filler_phrases"], f"{where}: numbers"),
        articles=frozenset(_strings(numbers["articles"], f"{where}: numbers.articles")),
        scales=tuple(
            tuple(s.split()) for s in _strings(numbers["scales"], f"{where}: numbers.scales")
        ),
        percent=_phrases(numbers["percent"], f"{where}: numbers.percent"),
        periods=tuple(sorted(((p, str(n)) for p, n in periods), key=lambda x: -len(x[0]))),
        time_fillers=frozenset(_strings(times["fillers"], f"{where}: times.fillers")),
        time_filler_phrases=_phrases(times["filler_phrases"], f"{where}: times"),
        time_leading=frozenset(_strings(times["leading"], f"{where}: times.leading")),
        noon=frozenset(_strings(times["noon"], f"{where}: times.noon")),
        midnight=frozenset(_strings(times["midnight"], f"{where}: times.midnight")),
        minutes_then_hour=_counts(times["minutes_then_hour"], f"{where}: times"),
        hour_then_minutes=_counts(times["hour_then_minutes"], f"{where}: times"),
        spoken_minutes=_counts(times["spoken_minutes"], f"{where}: times.spoken_minutes"),
        half_before_hour=frozenset(_strings(times["half_before_hour"], f"{where}: times")),
        zero=frozenset(_strings(times["zero"], f"{where}: times.zero")),
        minute_words=frozenset(_strings(times["minute_words"], f"{where}: times")),
        relative_days=tuple(sorted(((p, int(n)) for p, n in relative), key=lambda x: -len(x[0]))),
        weekdays=weekdays,
        day_fillers=frozenset(_strings(days["fillers"], f"{where}: days.fillers")),
    )


def _data_file(locale: str, name: str) -> Any:
    """dialogs/data/<locale>/<name> as parsed YAML, or None when that locale has none."""
    if not re.fullmatch(r"[a-z]{2,3}", locale):
        return None
    path = resources.files("dialogs") / "data" / locale / name
    if not path.is_file():
        return None
    return load_yaml(path.read_text(encoding="utf-8"))


@cache
def locale_words(locale: str = DEFAULT_LOCALE) -> LocaleWords:
    """The words of `locale` ("en", "es"; a region such as "es-MX" reads as "es"), from
    dialogs/data/<locale>/words.yaml. A locale without that file gets English. Raises
    ValueError when a shipped file is malformed (its message says where)."""
    base = base_locale(locale)
    data = _data_file(base, "words.yaml")
    if data is None:
        base, data = DEFAULT_LOCALE, _data_file(DEFAULT_LOCALE, "words.yaml")
    return _parse_words(data, base)


def word_locales() -> tuple[str, ...]:
    """The locales that have their own words file, English first ("en", "es")."""
    root = resources.files("dialogs") / "data"
    found = sorted(p.name for p in root.iterdir() if (p / "words.yaml").is_file())
    return tuple(sorted(found, key=lambda name: name != DEFAULT_LOCALE))


def base_locale(locale: object) -> str:
    """The language of a locale, the key of its data files: "es-MX" / "es_419" / "ES" ->
    "es"; anything unusable (not a string, empty, "x-1") -> "en". Never raises."""
    if not isinstance(locale, str):
        return DEFAULT_LOCALE
    base = re.split(r"[-_]", locale.strip().lower(), maxsplit=1)[0]
    return base if re.fullmatch(r"[a-z]{2,3}", base) else DEFAULT_LOCALE


# --------------------------------------------------------------------------- shared helpers


# Short answers that mean yes or no in English, folded (dialogs/data/en/words.yaml). A
# choice marked `means: yes` (or no) in a dialog file is tapped by them in the person's
# language (dialogs/manager.py `_match_choice`).
YES_WORDS = locale_words(DEFAULT_LOCALE).yes
NO_WORDS = locale_words(DEFAULT_LOCALE).no


def yes_or_no(text: str, locale: str = DEFAULT_LOCALE) -> str | None:
    """ "yes" or "no" for a short answer that plainly means it in `locale`, else None.

    English: "sure", "nah", "not now". Spanish: "sí", "claro", "vale", "dale", "de una",
    "no", "nop", "para nada", "mejor no". The whole answer must be one of the listed
    phrases (accents, emoji and punctuation aside): "no sé" and "yes and no" are None.
    Never raises.
    """
    if not isinstance(text, str):
        return None  # type: ignore[unreachable]  # not a str from an untyped caller
    words = locale_words(locale)
    folded = fold(text)
    if folded in words.yes:
        return "yes"
    if folded in words.no:
        return "no"
    return None


_APOSTROPHES = re.compile(r"['’‘ʼ`´]")
_DASHES = str.maketrans({"−": "-", "–": "-", "—": "-", "‐": "-", "‑": "-"})
_KEYCAP = re.compile("([0-9])\ufe0f?\u20e3")  # "3️⃣" -> "3"
_INVERTED = str.maketrans({"¿": " ", "¡": " "})  # Spanish opening marks: never meaningful


def _unaccented(text: str) -> str:
    """Letters without their accents ("mañana" -> "manana"); everything else kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFKC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _short(text: object, max_words: int = MAX_ANSWER_WORDS) -> str | None:
    """NFKC, casefolded, accents and apostrophes dropped; None for a non-string or a long
    message."""
    if not isinstance(text, str):
        return None
    text = unicodedata.normalize("NFKC", text).casefold().translate(_DASHES)
    text = _unaccented(text.translate(_INVERTED))
    text = _APOSTROPHES.sub("", _KEYCAP.sub(r"\1", text)).strip()
    if not text or len(text) > _MAX_ANSWER_CHARS or len(text.split()) > max_words:
        return None
    return text


def _words(text: str) -> list[str]:
    """Plain lower-case ASCII words: "So-so…" -> ["so", "so"]."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c if c.isalnum() and c.isascii() else " " for c in decomposed)
    return letters.split()


def _cut(tokens: list[str], phrase: tuple[str, ...], keep: int = 0) -> list[str]:
    """`tokens` with each occurrence of `phrase` taken out, but for its first `keep` words."""
    size, at = len(phrase), 0
    while at <= len(tokens) - size:
        if tuple(tokens[at : at + size]) == phrase:
            del tokens[at + keep : at + size]
            at += max(keep, 1)
        else:
            at += 1
    return tokens


def _drop_phrases(text: str, phrases: Sequence[tuple[str, ...]]) -> str:
    """`text` with each phrase (as whole words) replaced by a space."""
    for phrase in phrases:
        text = re.sub(r"(?<![a-z0-9])" + r"\s+".join(map(re.escape, phrase)) + r"(?![a-z0-9])",
                      " ", text)  # fmt: skip
    return text


def _unit(word: str, lw: LocaleWords) -> int | None:
    """A unit word 1..9 ("seven", "siete", "un"), never digits."""
    value = lw.numbers.get(word)
    return value if value is not None and 1 <= value <= 9 and not word.isdigit() else None


def _words_to_int(words: Sequence[str], lw: LocaleWords) -> int | None:
    """["twenty", "one"] -> 21, ["treinta", "y", "dos"] -> 32, ["a", "hundred"] -> 100,
    ["7"] -> 7; None if not one number."""
    words = list(words)
    if tuple(words) in lw.hundred:
        return 100
    if len(words) == 1:
        word = words[0]
        if word.isdigit() and len(word) <= 6:
            return int(word)
        return lw.numbers.get(word)
    if not lw.joiners and len(words) == 2 and words[0] in lw.tens:
        unit = _unit(words[1], lw)
        return lw.numbers[words[0]] + unit if unit is not None else None
    if len(words) == 3 and words[0] in lw.tens and words[1] in lw.joiners:
        unit = _unit(words[2], lw)
        return lw.numbers[words[0]] + unit if unit is not None else None
    return None


def _split_digits(text: str) -> str:
    """Space digits off letters: "8.30pm" -> "8.30 pm", "3of5" -> "3 of 5"."""
    return re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)


# --------------------------------------------------------------------------- numbers


def parse_number(text: str, low: int, high: int) -> int | None:
    """A whole number in digits within low..high, e.g. "4", "-1", "10%"; else None.
    The same in every language (digits only)."""
    cleaned = text.strip().rstrip("%").strip()
    if not _NUMBER.match(cleaned):
        return None
    value = int(cleaned)
    return value if low <= value <= high else None


_PUNCTUATION_OK = frozenset(' \t\n.,!?~…:;()"*-')


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So" or char in "\ufe0f\u200d"


_NUMBER_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+|[/%]")


def parse_number_words(text: str, low: int, high: int, locale: str = DEFAULT_LOCALE) -> int | None:
    """A whole number typed in digits or words within low..high; None if unsure.

    English: "4", "three", "a 4", "about 3", "maybe two", "4 i guess", "zero",
    "twenty-one", "10%", "10 percent", and a score on our scale: "3/5", "3 out of 5",
    "3 of five" (only when the scale's top is `high`: "7/10" on a 1-5 step is None).
    Spanish ("es"): "siete", "un 6", "como un 4", "veintitrés", "treinta y dos", "cien",
    "siete de diez", "7 sobre 10", "más o menos 5", "50 por ciento".
    None for two numbers ("3 or 4", "3 o 4", "3-4"), a fraction ("2.5", "2,5"), words that
    change the number ("not 3", "menos de 3"), out of range, or more than six words.
    Never raises.
    """
    if not isinstance(text, str):
        return None  # type: ignore[unreachable]  # not a str from an untyped caller
    if _NUMBER.match(text.strip().rstrip("%").strip()):
        return parse_number(text, low, high)  # digits alone: the plain reading, or none
    short = _short(text)
    if short is None or re.search(r"(?<!\w)[-+−]\s*\d", short):
        return None  # a sign among words ("maybe -1") is not worth a guess
    lw = locale_words(locale)
    short = _drop_phrases(short, lw.number_filler_phrases)
    for phrase in lw.percent:
        short = re.sub(r"\b" + r"\s*".join(map(re.escape, phrase)) + r"\b", "%", short)
    tokens = _NUMBER_TOKEN.findall(_split_digits(short))
    leftover = _NUMBER_TOKEN.sub(" ", _split_digits(short))
    if any(c not in _PUNCTUATION_OK and not _is_emoji(c) for c in leftover):
        return None  # a symbol we don't read: "3+", "3=4", "<3"
    if re.search(r"\d\s*-\s*\d", short):
        return None  # "3-4" is a range
    tokens = [t for t in tokens if t not in lw.number_fillers]
    tokens = [t for n, t in enumerate(tokens) if t not in lw.articles or n == len(tokens) - 1]
    if tokens and tokens[-1] == "%":
        tokens.pop()
    value: int | None
    for cut in lw.scales:
        scale = len(cut)
        for at in range(1, len(tokens)):
            if tuple(tokens[at : at + scale]) == cut:
                top = _words_to_int(tokens[at + scale :], lw)
                value = _words_to_int(tokens[:at], lw)
                if top != high or value is None:
                    return None
                return value if low <= value <= high else None
    if not tokens or any("." in t or "," in t for t in tokens):
        return None
    value = _words_to_int(tokens, lw)
    return value if value is not None and low <= value <= high else None


# --------------------------------------------------------------------------- moods


@cache
def _mood_data(locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """The mood words of `locale` compiled: dialogs/data/mood_words.yaml for English,
    dialogs/data/<locale>/mood_words.yaml for others (English when it has none). A
    locale's file may leave out `emoji`: faces mean the same in every language."""
    english = load_yaml(
        (resources.files("dialogs") / "data" / "mood_words.yaml").read_text(encoding="utf-8")
    )
    own = _data_file(locale, "mood_words.yaml") if locale != DEFAULT_LOCALE else None
    data = {**english, **own} if isinstance(own, dict) else english
    where = f"{locale}/mood_words.yaml" if own else "mood_words.yaml"
    phrases: dict[tuple[str, ...], int] = {}
    for score, entries in data["scores"].items():
        if score not in range(1, 6):
            raise ValueError(f"{where}: score {score!r} is not 1 to 5")
        for entry in entries:
            key = tuple(_words(str(entry)))
            if not key or key in phrases:
                raise ValueError(f"{where}: empty or repeated phrase {entry!r}")
            phrases[key] = score
    emoji: dict[str, int] = {}
    for score, symbols in data["emoji"].items():
        if score not in range(1, 6):
            raise ValueError(f"{where}: score {score!r} is not 1 to 5")
        for symbol in str(symbols).split():
            emoji[_bare_emoji(symbol)] = score
    return {
        "phrases": phrases,
        "longest": max(len(key) for key in phrases),
        "emoji": emoji,
        "ignore": [tuple(_words(str(p))) for p in data["ignore"]],
        "hedges": [tuple(_words(str(p))) for p in data["hedges"]],
        "negators": frozenset(data["negators"]),
        "negation_gap": frozenset(data["negation_gap"]),
        "intensifiers": frozenset(data["intensifiers"]),
        "intensifiable": frozenset(data["intensifiable"]),
        "contrasts": frozenset(data["contrasts"]),
        "openers": frozenset(data["openers"]),
        "addressed": frozenset(data["addressed"]),
    }


def mood_phrases(locale: str = DEFAULT_LOCALE) -> dict[tuple[str, ...], int]:
    """Every listed mood phrase of `locale` (as plain words) and its score 1..5."""
    return dict(_mood_data(base_locale(locale))["phrases"])


# Skin tones, gender signs, joiners and variation selectors don't change a face's mood.
_EMOJI_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\u200d\ufe0e\ufe0f\u2640\u2642]")


def _bare_emoji(symbol: str) -> str:
    return _EMOJI_MODIFIERS.sub("", symbol)


def _remove(words: list[str], phrase: tuple[str, ...]) -> list[str]:
    size, out, at = len(phrase), [], 0
    while at < len(words):
        if size and tuple(words[at : at + size]) == phrase:
            out.append("|")  # keep a gap, so the words either side don't make a phrase
            at += size
        else:
            out.append(words[at])
            at += 1
    return out


def _scores_in(words: list[str], data: dict[str, Any]) -> list[int]:
    """Scores of the mood phrases in `words`, longest phrase first, with negation."""
    phrases: dict[tuple[str, ...], int] = data["phrases"]
    found: list[int] = []
    at = 0
    while at < len(words):
        for size in range(min(data["longest"], len(words) - at), 0, -1):
            score = phrases.get(tuple(words[at : at + size]))
            if score is None:
                continue
            # "not (so / that / feeling) good": look back past a few filler words.
            back = at - 1
            while back >= 0 and words[back] in data["negation_gap"]:
                back -= 1
            intensified = at > 0 and words[at - 1] in data["intensifiers"]
            if back >= 0 and words[back] in data["negators"]:
                score = 2 if score >= 3 else 3  # "not good" 2, "not bad" 3
            elif intensified and words[at] in data["intensifiable"] and score in (2, 4):
                score = 1 if score == 2 else 5  # "really bad" 1, "so good" 5
            found.append(score)
            at += size
            break
        else:
            at += 1
    return found


def mood_from_words(text: str, locale: str = DEFAULT_LOCALE) -> int | None:
    """A short answer to "how are you, 1 (low) to 5 (good)?" in words or emoji -> 1..5.

    English: "awful" 1, "pretty bad" / "not great" 2, "meh" / "ok" / "fine I guess" 3,
    "good" 4, "great" 5, "😞" 2, "🙂" 4. Spanish ("es"): "fatal" / "muy mal" 1, "mal" /
    "hecho polvo" / "de bajón" 2, "regular" / "más o menos" / "tirando" 3, "bien" 4,
    "de maravilla" / "muy bien" 5. "not bad" / "no tan mal" is 3: it says the day isn't
    bad, not that it's good, and the caller confirms with one tap anyway. A hedge softens
    the ends ("good I guess" 3, "awful-ish" 2). With "but" / "pero", the last part counts
    ("tired but ok" 3). Words outrank emoji. Returns None for digits (use
    parse_number_words), a question to the bot ("and you?" is fine, "are you ok?" /
    "¿estás bien?" is not), words that disagree ("great, awful"), no mood word at all, or
    more than six words: a long message is someone talking and deserves a reply, not a
    number. Never raises (a malformed shipped file raises ValueError on first use).
    """
    short = _short(text)
    if short is None or any(c.isdigit() for c in short):
        return None
    data = _mood_data(base_locale(locale))
    words = _words(short)
    for phrase in data["ignore"]:
        words = _remove(words, phrase)
    if any(word in data["addressed"] for word in words):
        return None  # "are you ok?": about the bot, not an answer
    while len(words) > 1 and words[0] in data["openers"] and words[1] != "|":
        words = words[1:]  # "well, pretty bad"
    hedged = False
    for phrase in data["hedges"]:
        shorter = _remove(words, phrase)
        hedged = hedged or shorter != words
        words = shorter
    segments: list[list[str]] = [[]]
    for word in words:
        if word in data["contrasts"]:
            segments.append([])
        else:
            segments[-1].append(word)
    scores: list[int] = []
    for segment in reversed(segments):  # "tired but ok": the last part with a mood counts
        if scores := _scores_in(segment, data):
            break
    if not scores:
        emoji: dict[str, int] = data["emoji"]
        bare = _bare_emoji(short)
        scores = [emoji[c] for c in bare if c in emoji]
    if not scores or max(scores) - min(scores) > 1:
        return None
    score = min(scores)  # "tired and meh": the lower of two neighbours
    if hedged and score != 2:
        score += 1 if score < 3 else -1 if score > 3 else 0
    return score


# --------------------------------------------------------------------------- times


def _clock(text: str) -> str | None:
    """'8', '8:30', '08.30', '8am', '8:15 pm', '20h15' -> 'HH:MM' (24 h); else None."""
    match = _TIME.match(text.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").replace(".", "").lower()
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _with_period(hour: int, period: str | None) -> int | None:
    """Hour as said ("8", "twenty") plus a part of the day -> 0..23, or None if they clash.

    late_day is the Spanish "tarde" (1 to 10 pm: "8 de la tarde" is 20:00), small_hours
    the Spanish "madrugada" (midnight to 6 am)."""
    if period is None:
        return hour if 0 <= hour <= 23 else None
    if hour > 12:  # "20 in the evening" is fine, "20 in the morning" is not
        fits = {"afternoon": 12 <= hour <= 19, "evening": hour >= 16, "night": hour >= 17,
                "late_day": hour <= 22, "pm": False, "am": False, "morning": False,
                "small_hours": False}  # fmt: skip
        return hour if fits[period] else None
    if hour == 0:
        return 0 if period in ("night", "am", "small_hours") else None
    tables: dict[str, dict[int, int | None]] = {
        "am": {12: 0},
        "pm": {12: 12},
        "morning": {12: None},
        "afternoon": {12: 12, **{h: None for h in range(8, 12)}},
        "evening": {12: None, 1: None, 2: None, 3: None},
        "night": {12: 0, 1: 1, 2: 2, 3: 3, 4: 4},
        "late_day": {12: 12, 11: None},
        "small_hours": {12: 0, **{h: None for h in range(7, 12)}},
    }
    table = tables[period]
    if hour in table:
        return table[hour]
    return hour if period in ("am", "morning", "small_hours") else hour + 12


def _hour_word(tokens: Sequence[str], lw: LocaleWords) -> tuple[int, str | None] | None:
    """An hour: "8", "eight", "twenty", "noon" (with its fixed part of the day)."""
    tokens = list(tokens)
    twelve = len(tokens) == 2 and _words_to_int(tokens[:1], lw) == 12
    if (len(tokens) == 1 or twelve) and tokens[-1] in lw.noon:
        return 12, "pm"
    if (len(tokens) == 1 or twelve) and tokens[-1] in lw.midnight:
        return 0, "night"
    if len(tokens) == 1 and tokens[0].isdigit() and len(tokens[0]) > 2:
        return None
    value = _words_to_int(tokens, lw)
    return (value, None) if value is not None and 0 <= value <= 23 else None


def _minute_words(tokens: Sequence[str], lw: LocaleWords) -> int | None:
    """Minutes after an hour: "thirty", "forty five", "o five", "30", "05"."""
    if len(tokens) == 1 and tokens[0].isdigit():
        return int(tokens[0]) if len(tokens[0]) == 2 and int(tokens[0]) < 60 else None
    if len(tokens) == 2 and tokens[0] in lw.zero and _unit(tokens[1], lw) is not None:
        return _unit(tokens[1], lw)
    if any(t.isdigit() for t in tokens):
        return None
    value = _words_to_int(tokens, lw)
    return value if value is not None and 10 <= value < 60 else None


def _time_from_words(text: str, lw: LocaleWords) -> str | None:
    short = _short(text, _MAX_TIME_WORDS)
    if short is None:
        return None
    short = re.sub(r"\b([ap])\.?\s?m\b\.?", r"\1m", short)  # "p.m.", "p. m." -> "pm"
    short = re.sub(r"\bo\s*clock\b|\boclock\b", " oclock ", short)
    short = re.sub(r"-?ish\b", " ", short)  # "8ish", "eightish", "8-ish"
    short = _drop_phrases(short, lw.time_filler_phrases)
    short = re.sub(r"(\d)h(\d\d)\b", r"\1:\2", short)  # "20h15" inside a phrase
    tokens = re.findall(r"\d{1,2}[:.h]\d{2}|\d+|[a-z]+|\S", _split_digits(short))
    if any(not t[0].isalnum() and t not in ("~", ",", ".", "!", "?", "-") for t in tokens):
        return None
    tokens = [t for t in tokens if t[0].isalnum()]
    period: str | None = None
    for phrase, name in lw.periods:  # before the fillers: "de la mañana" holds "la"
        for at in range(len(tokens) - len(phrase) + 1):
            if tuple(tokens[at : at + len(phrase)]) == phrase:
                if period is not None and period != name:
                    return None  # "8 am in the evening"
                period = name
                del tokens[at : at + len(phrase)]
                break
    tokens = [t for t in tokens if t not in lw.time_fillers]
    if tokens and tokens[0] in lw.time_leading:
        tokens = tokens[1:]  # "para las 8"
    if len(tokens) == 1 and period is None:
        four = re.fullmatch(r"([01]\d|2[0-3])([0-5]\d)", tokens[0])
        if four is not None:
            return f"{four.group(1)}:{four.group(2)}"  # "0830", "2030"
    if not tokens:
        return None
    return _clock_from_tokens(tokens, period, lw)


def _around(hour: tuple[int, str | None] | None, period: str | None, spoken: int) -> str | None:
    """An hour and signed minutes around it ("quarter to 9": 9, -15) -> "HH:MM"."""
    if hour is None:
        return None
    named = _with_period(hour[0], hour[1] or period)
    if named is None or (hour[1] and period and hour[1] != period):
        return None
    total = (named * 60 + spoken) % (24 * 60)
    return f"{total // 60:02d}:{total % 60:02d}"


def _spoken(tokens: list[str], lw: LocaleWords) -> int | None:
    """Minutes said next to an hour: "quarter", "media", "twenty", "20"; None if not."""
    tokens = [t for t in tokens if t not in lw.minute_words]
    tokens = [t for n, t in enumerate(tokens) if t not in lw.articles or n == len(tokens) - 1]
    spoken = lw.spoken_minutes.get(tokens[0]) if len(tokens) == 1 else None
    if spoken is None and tokens:
        spoken = _words_to_int(tokens, lw)
    return spoken if spoken is not None and 0 < spoken < 60 else None


def _clock_from_tokens(tokens: list[str], period: str | None, lw: LocaleWords) -> str | None:
    minute = 0
    # Minutes first: "half past seven", "quarter to 9", "20 minutes to 9", "cuarto para las 8"
    for word, sign in lw.minutes_then_hour.items():
        if word in tokens:
            at = tokens.index(word)
            before = tokens[:at]
            digits = any(t.isdigit() for t in before)
            if sign < 0 and digits and not set(tokens) & lw.minute_words:
                return None  # "5 to 9" is more often a range than 08:55
            spoken = _spoken(before, lw)
            if spoken is None:
                return None
            return _around(_hour_word(tokens[at + 1 :], lw), period, sign * spoken)
    # The hour first: "siete y media", "ocho menos cuarto", "las 7 y 20"
    for word, sign in lw.hour_then_minutes.items():
        if word in tokens:
            at = tokens.index(word)
            after = tokens[at + 1 :]
            if len(after) == 1 and after[0].isdigit() and len(after[0]) != 2:
                return None  # "7 y 8": two numbers more often than 07:08
            spoken = _spoken(after, lw)
            if spoken is None:
                return None
            return _around(_hour_word(tokens[:at], lw), period, sign * spoken)
    if tokens[0] in lw.half_before_hour and len(tokens) > 1:  # British "half seven" = 07:30
        tokens, minute = tokens[1:], 30
    hour = _hour_word(tokens, lw)
    clock = re.fullmatch(r"(\d{1,2})[:.h](\d{2})", tokens[0]) if len(tokens) == 1 else None
    if hour is None and clock is not None:  # "8.30" with a part of the day: "8.30 tonight"
        hour, minute = (int(clock.group(1)), None), int(clock.group(2))
    if hour is None and len(tokens) >= 2 and minute == 0:
        first = _hour_word(tokens[:1], lw)
        rest = _minute_words(tokens[1:], lw)
        if first is not None and first[1] is None and rest is not None:
            if tokens[0].isdigit() and tokens[1].isdigit() and period is None:
                return None  # "7 30" with no am/pm: too easily two numbers
            hour, minute = first, rest
    if hour is None or minute > 59:
        return None
    if hour[1] is not None and period is not None and hour[1] != period:
        return None  # "noon in the evening"
    named = _with_period(hour[0], hour[1] or period)
    if named is None:
        return None
    return f"{named:02d}:{minute:02d}"


def parse_time(text: str, locale: str = DEFAULT_LOCALE) -> str | None:
    """A time of day typed in digits or words -> "HH:MM" (24 h); None if unsure.

    Digits in every language: "8", "8:30", "08.30", "20.30", "8am", "8.30pm", "8:15 pm",
    "20h15", and "0830". English words: "eight", "seven thirty", "half past seven",
    "half seven", "quarter to 9", "quarter past 8", "ten past 8", "noon", "midday",
    "midnight", "8 o'clock", "around 9am", "8 in the evening", "8 in the morning",
    "8 tonight", "half past seven in the evening" (19:30). Spanish ("es"): "a las 7",
    "7 y media", "las ocho menos cuarto" (07:45), "cuarto para las 8", "19:30",
    "7 de la tarde" (19:00), "9 de la mañana", "3 de la madrugada", "mediodía",
    "medianoche", "8 pm", "mañana a las 8" ("mañana" alone is tomorrow, so 08:00).
    An hour alone is read as said: "8" and "eight" are 08:00. None for two times
    ("8 or 9", "7 y 8"), clashing parts of the day ("20 in the morning"), a part of the day
    alone ("tonight", "por la mañana"), any word that isn't part of a time ("I usually wake
    up at 8"), or more than eight words. Never raises.
    """
    if not isinstance(text, str):
        return None  # type: ignore[unreachable]  # not a str from an untyped caller
    if (plain := _clock(text)) is not None:
        return plain
    return _time_from_words(text, locale_words(locale))


# --------------------------------------------------------------------------- days


DayWord = tuple[str, int]  # ("in", days from today) | ("weekday", 0 Monday .. 6 Sunday)


def read_day(text: str, locale: str = DEFAULT_LOCALE) -> DayWord | None:
    """A day named in a short answer: ("in", 0) today, ("in", 1) tomorrow, ("in", 2) the
    day after, or ("weekday", n) with Monday 0.

    English: "today", "tomorrow", "on saturday", "sat", "this friday". Spanish ("es"):
    "hoy", "mañana", "pasado mañana", "el sábado", "sabado", "el lunes que viene", "mié".
    A part of the day may come along ("mañana por la tarde" is tomorrow) but is not a day
    itself: "por la mañana" is None (morning, not tomorrow), and so are a time ("mañana a
    las 8": use parse_time), two days, and any other word. Never raises.
    """
    short = _short(text)
    if short is None:
        return None
    lw = locale_words(locale)
    tokens = _words(short)
    relative = [phrase for phrase, _ in lw.relative_days]
    bare = tuple(t for t in tokens if t not in lw.day_fillers)
    for phrase, offset in lw.relative_days:  # "esta noche": a day, though "noche" is hours
        if bare == phrase:
            return ("in", offset)
    for phrase, _ in lw.periods:  # "mañana por la tarde": the day, said with its hours
        if phrase in relative:
            continue  # "tonight" is a day here
        # "tomorrow morning": the day stays, its hours go
        keep = next((len(r) for r in relative if phrase[: len(r)] == r), 0)
        tokens = _cut(tokens, phrase, keep)
    tokens = [t for t in tokens if t not in lw.day_fillers]
    if not tokens:
        return None
    for phrase, offset in lw.relative_days:
        if tuple(tokens) == phrase:
            return ("in", offset)
    if len(tokens) == 1 and tokens[0] in lw.weekdays:
        return ("weekday", lw.weekdays[tokens[0]])
    return None
