"""dialogs.inputs: numbers, moods and times typed in words, and the long messages we leave alone."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.inputs import mood_from_words, parse_number, parse_number_words, parse_time

# --------------------------------------------------------------------------- parse_number_words

# (typed, low, high, expected)
NUMBERS = [
    ("3", 1, 5, 3),
    ("three", 1, 5, 3),
    ("Three.", 1, 5, 3),
    ("a 4", 1, 5, 4),
    ("about 3", 1, 5, 3),
    ("around 3ish", 1, 5, 3),
    ("maybe two", 1, 5, 2),
    ("4 i guess", 1, 5, 4),
    ("I'd say 4", 1, 5, 4),
    ("it's a 2", 1, 5, 2),
    ("a solid 4!", 1, 5, 4),
    ("3/5", 1, 5, 3),
    ("3 / 5", 1, 5, 3),
    ("3 out of 5", 1, 5, 3),
    ("three out of five", 1, 5, 3),
    ("3 of 5", 1, 5, 3),
    ("5/5", 1, 5, 5),
    ("8/10", 0, 10, 8),
    ("10%", 0, 100, 10),
    ("10 percent", 0, 100, 10),
    ("about 40%", 0, 100, 40),
    ("zero", 0, 10, 0),
    ("none", 0, 10, 0),
    ("twenty-one", 0, 100, 21),
    ("twenty one", 0, 100, 21),
    ("a hundred", 0, 100, 100),
    ("ten", 0, 10, 10),
    ("3️⃣", 1, 5, 3),
    ("4 🙂", 1, 5, 4),
    ("-1", -5, 5, -1),  # digits keep parse_number's reading, sign and all
    # negatives: ambiguous, out of range, not a number, or a sentence
    ("3 or 4", 1, 5, None),
    ("three or four", 1, 5, None),
    ("3-4", 1, 5, None),
    ("3 to 4", 1, 5, None),
    ("between 3 and 4", 1, 5, None),
    ("3 and 4", 1, 5, None),
    ("2.5", 1, 5, None),
    ("two and a half", 1, 5, None),
    ("not 3", 1, 5, None),
    ("less than 3", 1, 5, None),
    ("3+", 1, 5, None),
    ("<3", 1, 5, None),
    ("7/10", 1, 5, None),  # another scale: don't convert, ask
    ("3 out of 10", 1, 5, None),
    ("six", 1, 5, None),
    ("zero", 1, 5, None),
    ("10%", 1, 5, None),
    ("-1", 1, 5, None),
    ("maybe -1", -5, 5, None),
    ("a", 1, 5, None),
    ("no", 1, 5, None),
    ("pretty bad", 1, 5, None),
    ("", 1, 5, None),
    ("I think it was about three times this week honestly", 0, 10, None),
    ("three three three three three three three", 1, 5, None),
]


@pytest.mark.parametrize(("text", "low", "high", "expected"), NUMBERS)
def test_parse_number_words(text: str, low: int, high: int, expected: int | None) -> None:
    assert parse_number_words(text, low, high) == expected


@pytest.mark.parametrize(
    ("text", "low", "high", "expected"),
    [("4", 1, 5, 4), ("10%", 0, 100, 10), (" 7 ", 0, 10, 7), ("-1", -5, 5, -1),
     ("three", 1, 5, None), ("6", 1, 5, None), ("2.5", 1, 5, None)],
)  # fmt: skip
def test_parse_number_is_unchanged(text: str, low: int, high: int, expected: int | None) -> None:
    assert parse_number(text, low, high) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.integers(-10, 10), st.integers(0, 100))
def test_parse_number_words_never_raises_and_stays_in_range(text: str, low: int, high: int) -> None:
    value = parse_number_words(text, low, high)
    assert value is None or low <= value <= high


# --------------------------------------------------------------------------- mood_from_words

MOODS = [
    ("awful", 1),
    ("Terrible.", 1),
    ("the worst", 1),
    ("really bad", 1),
    ("like shit", 1),
    ("pretty bad", 2),
    ("bad", 2),
    ("not great", 2),
    ("not good", 2),
    ("not so good", 2),
    ("I don't feel good", 2),
    ("not feeling so good", 2),
    ("not ok", 2),
    ("not the best", 2),
    ("could be better", 2),
    ("lonely", 2),
    ("kinda awful", 2),  # a hedge softens the ends
    ("meh", 3),
    ("ok", 3),
    ("OK!", 3),
    ("so-so", 3),
    ("so so", 3),
    ("fine I guess", 3),
    ("I'm fine", 3),
    ("not bad", 3),  # our choice: "not bad" says it isn't bad, not that it's good
    ("not too bad", 3),
    ("tired but ok", 3),  # after "but", the last part counts
    ("good I guess", 3),
    ("well, meh", 3),
    ("good", 4),
    ("pretty good", 4),
    ("Good, thanks!", 4),
    ("good and you?", 4),
    ("not bad at all", 4),
    ("well", 4),
    ("ok but lonely", 2),
    ("great", 5),
    ("amazing!!", 5),
    ("so good", 5),
    ("never better", 5),
    ("Good morning! Great", 5),
    # emoji
    ("😞", 2),
    ("😢", 2),
    ("😭", 1),
    ("😐", 3),
    ("🤷‍♀️", 3),
    ("🙂", 4),
    ("👍🏽", 4),
    ("😀", 5),
    ("ok 🙂", 3),  # words win over emoji
    # negatives: long messages, questions to the bot, no mood, disagreement, digits
    ("I had an awful day and I feel so alone", None),
    ("honestly pretty bad today if I am being honest", None),
    ("how are you?", None),
    ("are you ok?", None),
    ("good morning", None),
    ("thanks", None),
    ("idk", None),
    ("not sure", None),
    ("leave me alone", None),
    ("great, awful", None),
    ("good 😞 bad", None),
    ("3", None),
    ("pretty bad, a 2", None),
    ("", None),
    ("   ", None),
    ("🚀", None),
    ("Berlin", None),
]


@pytest.mark.parametrize(("text", "expected"), MOODS)
def test_mood_from_words(text: str, expected: int | None) -> None:
    assert mood_from_words(text) == expected


def _mood_data() -> dict:
    text = (resources.files("dialogs") / "data" / "mood_words.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@pytest.mark.parametrize(
    ("phrase", "score"),
    [(str(p), s) for s, phrases in _mood_data()["scores"].items() for p in phrases],
)
def test_every_listed_phrase_alone_gets_its_score(phrase: str, score: int) -> None:
    """No rule in code quietly overrides a phrase the data file promises."""
    assert mood_from_words(phrase) == score


@pytest.mark.parametrize(
    ("symbol", "score"),
    [(e, s) for s, symbols in _mood_data()["emoji"].items() for e in str(symbols).split()],
)
def test_every_listed_emoji_alone_gets_its_score(symbol: str, score: int) -> None:
    assert mood_from_words(symbol) == score


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_mood_from_words_never_raises(text: str) -> None:
    assert mood_from_words(text) in {None, 1, 2, 3, 4, 5}


# --------------------------------------------------------------------------- parse_time

TIMES = [
    # digits, as before
    ("8", "08:00"),
    ("8:30", "08:30"),
    ("08.30", "08:30"),
    ("20.30", "20:30"),
    ("8am", "08:00"),
    ("8.30pm", "20:30"),
    ("8:15 pm", "20:15"),
    ("20h15", "20:15"),
    ("at 8", "08:00"),
    ("12am", "00:00"),
    ("12pm", "12:00"),
    # digits with words
    ("8pm.", "20:00"),
    ("9 a.m.", "09:00"),
    ("around 9am", "09:00"),
    ("8 o'clock", "08:00"),
    ("8 oclock in the evening", "20:00"),
    ("8 in the evening", "20:00"),
    ("8 in the morning", "08:00"),
    ("8 tonight", "20:00"),
    ("tonight at 8", "20:00"),
    ("3 in the afternoon", "15:00"),
    ("11 at night", "23:00"),
    ("2 at night", "02:00"),
    ("12 at night", "00:00"),
    ("20 in the evening", "20:00"),
    ("8 ish", "08:00"),
    ("at 7:30 please", "07:30"),
    ("around 20h15", "20:15"),
    ("7 30 pm", "19:30"),
    ("0830", "08:30"),
    ("2030", "20:30"),
    # words
    ("eight", "08:00"),
    ("Eight.", "08:00"),
    ("seven thirty", "07:30"),
    ("seven o five", "07:05"),
    ("eight forty-five", "08:45"),
    ("twenty thirty", "20:30"),
    ("half past seven", "07:30"),
    ("half past seven in the evening", "19:30"),
    ("half seven", "07:30"),
    ("quarter to 9", "08:45"),
    ("quarter to nine in the evening", "20:45"),
    ("quarter past 8", "08:15"),
    ("ten past 8", "08:10"),
    ("ten to nine", "08:50"),
    ("20 minutes to 9", "08:40"),
    ("noon", "12:00"),
    ("midday", "12:00"),
    ("12 noon", "12:00"),
    ("midnight", "00:00"),
    ("quarter to midnight", "23:45"),
    ("half past noon", "12:30"),
    ("at half past seven in the evening", "19:30"),  # 7 words, all of them the time
    ("8.30 tonight", "20:30"),
    ("12:30 at night", "00:30"),
    ("8am every day", "08:00"),
    ("a quarter to 9", "08:45"),
    # negatives: never guess
    ("tonight", None),
    ("in the morning", None),
    ("8 or 9", None),
    ("between 8 and 9", None),
    ("5 to 9", None),  # a range more often than 08:55
    ("7 30", None),  # two numbers without am/pm
    ("20 in the morning", None),
    ("12 in the morning", None),
    ("8 am in the evening", None),
    ("noon in the evening", None),
    ("25:00", None),
    ("8:75", None),
    ("8:3", None),
    ("13pm", None),
    ("half", None),
    ("quarter to", None),
    ("830", None),
    ("pretty bad", None),
    ("I usually wake up at 8", None),
    ("at around half past seven in the evening please", None),  # nine words
    ("I'd like to be reminded at about eight in the evening please", None),
    ("", None),
    ("🙂", None),
]


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_parse_time(text: str, expected: str | None) -> None:
    assert parse_time(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_time_never_raises_and_gives_a_real_time(text: str) -> None:
    value = parse_time(text)
    if value is not None:
        hours, minutes = value.split(":")
        assert len(value) == 5 and 0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59


WORDS = ["half", "past", "quarter", "to", "seven", "8", "in", "the", "evening", "pm", "noon",
         "midnight", "thirty", "o", "at", "tonight", "morning", "20", ":", "30", "or"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join))
def test_parse_time_never_raises_on_time_like_text(text: str) -> None:
    value = parse_time(text)
    assert value is None or (len(value) == 5 and value[2] == ":")
