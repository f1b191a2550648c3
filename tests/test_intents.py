"""The intent layer: the phrase table, the data checks, the shape other code relies on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogs import intents
from dialogs.intents import INTENTS_FILE, OFFERS, Intent, all_intents, build, check, match
from prompts import default_catalog

TABLE = Path(__file__).parent / "data" / "intent_phrases.yaml"
ROWS: list[dict[str, Any]] = yaml.safe_load(TABLE.read_text("utf-8"))
REQUIRED = {
    "lonely",
    "sad",
    "anxious",
    "tired",
    "angry",
    "grateful",
    "good_news",
    "talk",
    "help",
    "who",
    "stop",
    "greeting",
}


def _id(text: str) -> str | None:
    found = match(text)
    return found.id if found else None


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{r['intent']}" for i, r in enumerate(ROWS)])
def test_phrase_table(row: dict[str, Any]) -> None:
    assert _id(row["text"]) == row["intent"], row["text"]


def test_table_is_big_and_varied() -> None:
    assert len(ROWS) >= 220
    assert sum(r["intent"] is None for r in ROWS) >= 40
    assert {r["intent"] for r in ROWS} - {None} == REQUIRED
    assert all(set(r) == {"text", "intent"} for r in ROWS)


def test_shipped_data_is_clean() -> None:
    assert check() == []


def test_contract() -> None:
    found = all_intents()
    assert set(found) >= REQUIRED
    for ident, intent in found.items():
        assert isinstance(intent, Intent) and intent.id == ident
        assert intent.kind in ("feeling", "social", "request", "meta")
        assert 2 <= len(intent.offers) <= 3
        assert set(intent.offers) <= set(OFFERS)
        assert intent.reply == f"listen/intent_{ident}"
    with pytest.raises(AttributeError):
        found["sad"].id = "x"  # type: ignore[misc]


def test_reply_templates_are_short_plain_and_clean() -> None:
    catalog = default_catalog()
    for intent in all_intents().values():
        text = catalog.render("en", intent.reply, {})
        assert text and text == text.strip()
        assert len(re.findall(r"[.!?](?:\s|$)", text)) <= 2, text
        assert not re.search(r"[.!?,;:]\s*[.!?,;:]", text), text
        assert "<" not in text and "button" not in text.lower(), text


# --- the data check catches mistakes (on a temporary copy) ------------------------------------


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    text = INTENTS_FILE.read_text("utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "intents.yaml"
    path.write_text(text.replace(old, new), "utf-8")
    return path


def test_check_catches_an_example_that_does_not_match(tmp_path: Path) -> None:
    path = _copy_with(
        tmp_path, "      - so lonelyyy\n", "      - so lonelyyy\n      - Paris in spring\n"
    )
    problems = check(path=path)
    assert len(problems) == 1
    assert "'lonely'" in problems[0] and "Paris in spring" in problems[0]
    assert "nothing" in problems[0]


def test_check_catches_an_example_read_as_another_intent(tmp_path: Path) -> None:
    path = _copy_with(
        tmp_path, "      - so lonelyyy\n", "      - so lonelyyy\n      - I'm so tired\n"
    )
    assert any("I'm so tired" in p and "'tired'" in p for p in check(path=path))


def test_check_catches_a_not_example_that_matches(tmp_path: Path) -> None:
    path = _copy_with(
        tmp_path, "      - I like being alone sometimes\n", "      - I feel so alone\n"
    )
    assert any("not_example 'I feel so alone'" in p for p in check(path=path))


def test_check_catches_an_unknown_offer(tmp_path: Path) -> None:
    path = _copy_with(
        tmp_path, "    offers: [person, step, sos]\n", "    offers: [person, hug, sos]\n"
    )
    problems = check(path=path)
    assert any("unknown offer 'hug'" in p for p in problems)


def test_check_catches_bad_shapes(tmp_path: Path) -> None:
    path = _copy_with(
        tmp_path,
        "  - id: tired\n    kind: feeling\n",
        "  - id: tired\n    kind: mood\n    colour: red\n",
    )
    problems = check(path=path)
    assert any("kind 'mood'" in p for p in problems)
    assert any("unknown key 'colour'" in p for p in problems)


def test_check_catches_a_broken_pattern(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "      - lonesome\n", "      - (lonesome|solo\n")
    assert any("never closed" in p for p in check(path=path))


def test_check_catches_a_bare_yes(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, '  - "yes"\n', "  - yes\n")
    assert any("true/false" in p for p in check(path=path))


def test_check_catches_a_missing_template(tmp_path: Path) -> None:
    class Catalog:
        locales = ("en", "xx")

        def has_template(self, locale: str, name: str) -> bool:
            return locale == "en" or name != "listen/intent_sad"

    problems = check(Catalog())
    assert problems == [
        "intents.yaml: intent 'sad': reply template 'listen/intent_sad' is missing in locale 'xx'"
    ]


def test_broken_yaml_is_a_problem_not_a_crash() -> None:
    loaded = build("intents: [oops", "x.yaml")
    assert loaded.problems and loaded.problems[0].startswith("x.yaml: not valid YAML")
    assert loaded.match("I'm so lonely") is None


# --- how messages are read --------------------------------------------------------------------


def test_negation_stops_a_feeling_but_not_an_intensifier() -> None:
    assert _id("I'm not feeling lonely anymore") is None
    assert _id("no longer sad") is None
    assert _id("i dont feel anxious") is None
    assert _id("I've never felt so lonely") == "lonely"
    assert _id("no, I'm lonely") == "lonely"  # the "no" belongs to another clause


def test_texting_style_and_slips() -> None:
    reading = intents.load().read("im sooo lonelyyy, u there?")
    assert reading.words == ["i", "am", "so", "lonely", "you", "there"]
    assert intents.load().read("anxous").words == ["anxious"]
    assert _id("LONELY!!!") == "lonely"


def test_feelings_come_before_greetings_and_words_before_emoji() -> None:
    assert _id("hello") == "greeting"
    assert _id("hello 😢") == "sad"
    assert _id("good morning, I'm so anxious") == "anxious"
    assert _id("I got the job 😭") == "good_news"
    assert [i.id for i in intents.load().ranked("hi, im lonely 😢")] == [
        "lonely",
        "sad",
        "greeting",
    ]


def test_odd_input_is_handled() -> None:
    for text in ("", " ", "\u200b", "🫥", "!!!", "<b>hi</b>", "a" * 5000):
        found = match(text)
        assert found is None or isinstance(found, Intent)
    long = ("I walked to the shops and back again today. " * 92) + "I feel so lonely."
    assert len(long) > 4000
    assert _id(long) == "lonely"


def test_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    first = intents.load()
    assert intents.load() is first

    def no_reading(*_: Any, **__: Any) -> Any:
        raise AssertionError("the intents file was read again")

    monkeypatch.setattr(yaml, "safe_load", no_reading)
    monkeypatch.setattr(Path, "read_text", no_reading)
    for _ in range(200):
        assert _id("I feel so alone today, and a bit tired, can we talk? " * 5) == "lonely"
    # Expressions are compiled ahead, indexed by the word they start with; a message's words
    # are respelled from a cache.
    assert all(isinstance(r, re.Pattern) for pairs in first.by_word.values() for _, r in pairs)
    assert "lonely" in first.lexicon.cache
