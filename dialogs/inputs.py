"""Turning what a person typed into a value a step can keep, or a clear 'no'.

Pure and offline. The word readers (`parse_number_words`, `mood_from_words`, the word forms
of `parse_time`) only read short answers: six words at most (eight for a time, all of them
part of the time). A longer message is someone talking, and the caller should answer it
as words, not squeeze a number out of it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

import yaml

_TIME = re.compile(
    r"^(?:at\s+)?(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?$", re.IGNORECASE
)
_NUMBER = re.compile(r"^[+-]?\d{1,6}$")

MAX_ANSWER_WORDS = 6  # more than this is a sentence: never read a value out of it
# Times get two more ("at half past seven in the evening"): every word must still be
# part of the time, so "I usually wake up at 8" is None whatever its length.
_MAX_TIME_WORDS = 8
_MAX_ANSWER_CHARS = 80


# --------------------------------------------------------------------------- shared helpers


# Short answers that mean yes or no, folded. A choice marked `means: yes` (or no) in a
# dialog file is tapped by them (dialogs/manager.py `_match_choice`).
YES_WORDS = frozenset(
    [
        "yes",
        "yeah",
        "yea",
        "yep",
        "yup",
        "ya",
        "y",
        "sure",
        "ok",
        "okay",
        "k",
        "kk",
        "alright",
        "all right",
        "fine",
        "please",
        "yes please",
        "of course",
        "go ahead",
        "sounds good",
        "why not",
        "ok sure",
        "sure thing",
        "absolutely",
        "definitely",
    ]
)
NO_WORDS = frozenset(
    [
        "no",
        "nope",
        "nah",
        "n",
        "no thanks",
        "no thank you",
        "not now",
        "not really",
        "maybe later",
        "later",
        "rather not",
        "id rather not",
        "no way",
        "not today",
    ]
)


def yes_or_no(text: str) -> str | None:
    """ "yes" or "no" for a short answer that plainly means it ("sure", "nah"), else None."""
    folded = fold(text)
    if folded in YES_WORDS:
        return "yes"
    if folded in NO_WORDS:
        return "no"
    return None


def fold(text: str) -> str:
    """Lower-case, drop accents, emoji and punctuation so typed labels still match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = [c for c in decomposed if c.isalnum() or c.isspace()]
    return " ".join("".join(kept).split())


def is_blank(text: str) -> bool:
    """Whitespace and invisible format characters only (zero-width spaces and the like)."""
    return all(c.isspace() or unicodedata.category(c) in ("Cf", "Cc") for c in text)


_APOSTROPHES = re.compile(r"['’‘ʼ`´]")
_DASHES = str.maketrans({"−": "-", "–": "-", "—": "-", "‐": "-", "‑": "-"})
_KEYCAP = re.compile("([0-9])\ufe0f?\u20e3")  # "3️⃣" -> "3"


def _short(text: object, max_words: int = MAX_ANSWER_WORDS) -> str | None:
    """NFKC, casefolded, apostrophes dropped; None for a non-string or a long message."""
    if not isinstance(text, str):
        return None
    text = unicodedata.normalize("NFKC", text).casefold().translate(_DASHES)
    text = _APOSTROPHES.sub("", _KEYCAP.sub(r"\1", text)).strip()
    if not text or len(text) > _MAX_ANSWER_CHARS or len(text.split()) > max_words:
        return None
    return text


def _words(text: str) -> list[str]:
    """Plain lower-case ASCII words: "So-so…" -> ["so", "so"]."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(c if c.isalnum() and c.isascii() else " " for c in decomposed)
    return letters.split()


_UNITS_TEXT = """zero one two three four five six seven eight nine ten eleven twelve thirteen
    fourteen fifteen sixteen seventeen eighteen nineteen"""
_UNITS = _UNITS_TEXT.split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
         "seventy": 70, "eighty": 80, "ninety": 90}  # fmt: skip
_NUMBER_WORDS: dict[str, int] = {
    **{word: value for value, word in enumerate(_UNITS)},
    **_TENS,
    "none": 0,
    "nil": 0,
    "nought": 0,
    "naught": 0,
}


def _words_to_int(words: Sequence[str]) -> int | None:
    """["twenty", "one"] -> 21, ["a", "hundred"] -> 100, ["7"] -> 7; None if not one number."""
    words = list(words)
    if words[:1] in (["a"], ["one"]) and words[1:] == ["hundred"]:
        return 100
    if words == ["hundred"]:
        return 100
    if len(words) == 1:
        word = words[0]
        if word.isdigit() and len(word) <= 6:
            return int(word)
        return _NUMBER_WORDS.get(word)
    if len(words) == 2 and words[0] in _TENS and words[1] in _UNITS[1:10]:
        return _TENS[words[0]] + _UNITS.index(words[1])
    return None


def _split_digits(text: str) -> str:
    """Space digits off letters: "8.30pm" -> "8.30 pm", "3of5" -> "3 of 5"."""
    return re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)


# --------------------------------------------------------------------------- numbers


def parse_number(text: str, low: int, high: int) -> int | None:
    """A whole number in digits within low..high, e.g. "4", "-1", "10%"; else None."""
    cleaned = text.strip().rstrip("%").strip()
    if not _NUMBER.match(cleaned):
        return None
    value = int(cleaned)
    return value if low <= value <= high else None


# Words that hedge or frame a number without changing it: "about 3", "a 4", "4 i guess".
_NUMBER_FILLER_TEXT = """
    a an about around approx approximately roughly maybe probably prob probs perhaps
    possibly like say guess think id i im am its it is at level solid just only lol ok okay
    well so hmm hm um umm uh er erm honestly tbh kinda sorta ish today tonight now right
    really rn guessing would be go with prolly pretty much mostly the number my answer please
    thanks ty
"""
_NUMBER_FILLERS = frozenset(_NUMBER_FILLER_TEXT.split())
_PUNCTUATION_OK = frozenset(' \t\n.,!?~…:;()"*-')


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So" or char in "\ufe0f\u200d"


_NUMBER_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+|[/%]")


def parse_number_words(text: str, low: int, high: int) -> int | None:
    """A whole number typed in digits or words within low..high; None if unsure.

    Understands "4", "three", "a 4", "about 3", "maybe two", "4 i guess", "zero",
    "twenty-one", "10%", "10 percent", and a score on our scale: "3/5", "3 out of 5",
    "3 of five" (only when the scale's top is `high`: "7/10" on a 1-5 step is None).
    None for two numbers ("3 or 4", "3-4"), a fraction ("2.5"), words that change the
    number ("not 3", "less than 3"), out of range, or more than six words.
    """
    if not isinstance(text, str):
        return None
    if _NUMBER.match(text.strip().rstrip("%").strip()):
        return parse_number(text, low, high)  # digits alone: the plain reading, or none
    short = _short(text)
    if short is None or re.search(r"(?<!\w)[-+−]\s*\d", short):
        return None  # a sign among words ("maybe -1") is not worth a guess
    short = re.sub(r"\bper\s*cent\b|\bpercent\b|\bpct\b", "%", short)
    tokens = _NUMBER_TOKEN.findall(_split_digits(short))
    leftover = _NUMBER_TOKEN.sub(" ", _split_digits(short))
    if any(c not in _PUNCTUATION_OK and not _is_emoji(c) for c in leftover):
        return None  # a symbol we don't read: "3+", "3=4", "<3"
    if re.search(r"\d\s*-\s*\d", short):
        return None  # "3-4" is a range
    tokens = [t for t in tokens if t not in _NUMBER_FILLERS]
    if tokens and tokens[-1] == "%":
        tokens.pop()
    value: int | None
    for cut, scale in ((["/"], 1), (["out", "of"], 2), (["of"], 1)):
        for at in range(1, len(tokens)):
            if tokens[at : at + scale] == cut:
                top = _words_to_int(tokens[at + scale :])
                value = _words_to_int(tokens[:at])
                if top != high or value is None:
                    return None
                return value if low <= value <= high else None
    if not tokens or any("." in t or "," in t for t in tokens):
        return None
    value = _words_to_int(tokens)
    return value if value is not None and low <= value <= high else None


# --------------------------------------------------------------------------- moods


@cache
def _mood_data() -> dict[str, Any]:
    text = (resources.files("dialogs") / "data" / "mood_words.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    phrases: dict[tuple[str, ...], int] = {}
    for score, entries in data["scores"].items():
        if score not in range(1, 6):
            raise ValueError(f"mood_words.yaml: score {score!r} is not 1 to 5")
        for entry in entries:
            key = tuple(_words(str(entry)))
            if not key or key in phrases:
                raise ValueError(f"mood_words.yaml: empty or repeated phrase {entry!r}")
            phrases[key] = score
    emoji: dict[str, int] = {}
    for score, symbols in data["emoji"].items():
        if score not in range(1, 6):
            raise ValueError(f"mood_words.yaml: score {score!r} is not 1 to 5")
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


def mood_from_words(text: str) -> int | None:
    """A short answer to "how are you, 1 (low) to 5 (good)?" in words or emoji -> 1..5.

    "awful" 1, "pretty bad" / "not great" 2, "meh" / "ok" / "fine I guess" 3,
    "good" 4, "great" 5, "😞" 2, "🙂" 4. "not bad" is 3: it says the day isn't bad,
    not that it's good, and the caller confirms with one tap anyway. A hedge softens the
    ends ("good I guess" 3, "awful-ish" 2). With "but", the last part counts ("tired but
    ok" 3). Words outrank emoji. Returns None for digits (use parse_number_words), a
    question to the bot ("and you?" is fine, "are you ok?" is not), words that disagree
    ("great, awful"), no mood word at all, or more than six words: a long message is
    someone talking and deserves a reply, not a number. Never raises.
    """
    short = _short(text)
    if short is None or any(c.isdigit() for c in short):
        return None
    data = _mood_data()
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


# Parts of the day, longest first; the value says how an hour 1-12 is read.
_PERIODS: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    (tuple(phrase.split()), period)
    for phrase, period in (
        ("in the morning", "morning"), ("this morning", "morning"), ("tomorrow morning", "morning"),
        ("morning", "morning"), ("am", "am"),
        ("in the afternoon", "afternoon"), ("this afternoon", "afternoon"),
        ("afternoon", "afternoon"), ("pm", "pm"),
        ("in the evening", "evening"), ("this evening", "evening"), ("evening", "evening"),
        ("at night", "night"), ("in the night", "night"), ("tonight", "night"),
        ("night", "night"),
    )
)  # fmt: skip
_TIME_FILLER_TEXT = """
    at around about approx approximately roughly maybe say like sharp exactly by
    oclock h hrs ish please thanks ty lets lol ok okay um uh hmm every each day daily
    everyday tomorrow
"""
_TIME_FILLERS = frozenset(_TIME_FILLER_TEXT.split())
_MINUTES_AROUND = {"quarter": 15, "half": 30}


def _with_period(hour: int, period: str | None) -> int | None:
    """Hour as said ("8", "twenty") plus a part of the day -> 0..23, or None if they clash."""
    if period is None:
        return hour if 0 <= hour <= 23 else None
    if hour > 12:  # "20 in the evening" is fine, "20 in the morning" is not
        fits = {"afternoon": 12 <= hour <= 19, "evening": hour >= 16, "night": hour >= 17,
                "pm": False, "am": False, "morning": False}  # fmt: skip
        return hour if fits[period] else None
    if hour == 0:
        return 0 if period in ("night", "am") else None
    tables: dict[str, dict[int, int | None]] = {
        "am": {12: 0},
        "pm": {12: 12},
        "morning": {12: None},
        "afternoon": {12: 12, **{h: None for h in range(8, 12)}},
        "evening": {12: None, 1: None, 2: None, 3: None},
        "night": {12: 0, 1: 1, 2: 2, 3: 3, 4: 4},
    }
    table = tables[period]
    if hour in table:
        return table[hour]
    return hour if period in ("am", "morning") else hour + 12


def _hour_word(tokens: Sequence[str]) -> tuple[int, str | None] | None:
    """An hour: "8", "eight", "twenty", "noon" (with its fixed part of the day)."""
    if list(tokens) in (["noon"], ["midday"], ["12", "noon"], ["twelve", "noon"]):
        return 12, "pm"
    if list(tokens) in (["midnight"], ["12", "midnight"], ["twelve", "midnight"]):
        return 0, "night"
    if len(tokens) == 1 and tokens[0].isdigit() and len(tokens[0]) > 2:
        return None
    value = _words_to_int(tokens)
    return (value, None) if value is not None and 0 <= value <= 23 else None


def _minute_words(tokens: Sequence[str]) -> int | None:
    """Minutes after an hour: "thirty", "forty five", "o five", "30", "05"."""
    if len(tokens) == 1 and tokens[0].isdigit():
        return int(tokens[0]) if len(tokens[0]) == 2 and int(tokens[0]) < 60 else None
    if len(tokens) == 2 and tokens[0] in ("o", "oh") and tokens[1] in _UNITS[1:10]:
        return _UNITS.index(tokens[1])
    if any(t.isdigit() for t in tokens):
        return None
    value = _words_to_int(tokens)
    return value if value is not None and 10 <= value < 60 else None


def _time_from_words(text: str) -> str | None:
    short = _short(text, _MAX_TIME_WORDS)
    if short is None:
        return None
    short = re.sub(r"\b([ap])\.?m\b\.?", r"\1m", short)  # "p.m." -> "pm"
    short = re.sub(r"\bo\s*clock\b|\boclock\b", " oclock ", short)
    short = re.sub(r"\bor so\b|-?ish\b", " ", short)
    short = re.sub(r"(\d)h(\d\d)\b", r"\1:\2", short)  # "20h15" inside a phrase
    if (four := re.fullmatch(r"(?:at\s+)?([01]\d|2[0-3])([0-5]\d)", short)) is not None:
        return f"{four.group(1)}:{four.group(2)}"  # "0830", "2030"
    tokens = re.findall(r"\d{1,2}[:.h]\d{2}|\d+|[a-z]+|\S", _split_digits(short))
    if any(not t[0].isalnum() and t not in ("~", ",", ".", "!", "?", "-") for t in tokens):
        return None
    tokens = [t for t in tokens if t[0].isalnum() and t not in _TIME_FILLERS]
    period: str | None = None
    for phrase, name in _PERIODS:
        for at in range(len(tokens) - len(phrase) + 1):
            if tuple(tokens[at : at + len(phrase)]) == phrase:
                if period is not None and period != name:
                    return None  # "8 am in the evening"
                period = name
                del tokens[at : at + len(phrase)]
                break
    if not tokens:
        return None
    return _clock_from_tokens(tokens, period)


def _clock_from_tokens(tokens: list[str], period: str | None) -> str | None:
    minute = 0
    # "half past seven", "quarter to 9", "ten past 8", "20 minutes to 9"
    for word, sign in (("past", 1), ("after", 1), ("to", -1), ("before", -1)):
        if word in tokens:
            at = tokens.index(word)
            before = [t for t in tokens[:at] if t not in ("minutes", "mins", "a")]
            spoken = _MINUTES_AROUND.get(before[0]) if len(before) == 1 else None
            if spoken is None and before:
                if sign < 0 and any(t.isdigit() for t in before) and "minutes" not in tokens:
                    return None  # "5 to 9" is more often a range than 08:55
                spoken = _words_to_int(before)
            if spoken is None or not 0 < spoken < 60:
                return None
            hour = _hour_word(tokens[at + 1 :])
            if hour is None:
                return None
            named = _with_period(hour[0], hour[1] or period)
            if named is None or (hour[1] and period and hour[1] != period):
                return None
            total = (named * 60 + sign * spoken) % (24 * 60)
            return f"{total // 60:02d}:{total % 60:02d}"
    if tokens[0] == "half" and len(tokens) > 1:  # British "half seven" = 07:30
        tokens, minute = tokens[1:], 30
    hour = _hour_word(tokens)
    clock = re.fullmatch(r"(\d{1,2})[:.h](\d{2})", tokens[0]) if len(tokens) == 1 else None
    if hour is None and clock is not None:  # "8.30" with a part of the day: "8.30 tonight"
        hour, minute = (int(clock.group(1)), None), int(clock.group(2))
    if hour is None and len(tokens) >= 2 and minute == 0:
        first = _hour_word(tokens[:1])
        rest = _minute_words(tokens[1:])
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


def parse_time(text: str) -> str | None:
    """A time of day typed in digits or words -> "HH:MM" (24 h); None if unsure.

    Digits as before: "8", "8:30", "08.30", "20.30", "8am", "8.30pm", "8:15 pm", "20h15",
    and "0830". Words: "eight", "seven thirty", "half past seven", "half seven",
    "quarter to 9", "quarter past 8", "ten past 8", "noon", "midday", "midnight",
    "8 o'clock", "around 9am", "8 in the evening", "8 in the morning", "8 tonight",
    "half past seven in the evening" (19:30). An hour alone is read as said: "8" and
    "eight" are 08:00. None for two times ("8 or 9"), clashing parts of the day
    ("20 in the morning"), a part of the day alone ("tonight"), any word that isn't part
    of a time ("I usually wake up at 8"), or more than eight words.
    """
    if not isinstance(text, str):
        return None
    if (plain := _clock(text)) is not None:
        return plain
    return _time_from_words(text)
