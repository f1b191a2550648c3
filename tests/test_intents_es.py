"""The intent layer in Spanish (issue 14): the Spanish phrase table, the file laid over the
English one, the data checks, and the dialog manager reading a Spanish speaker's words."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogs import intents
from dialogs.intents import all_intents, build, check, for_locale, intent_locales, match
from dialogs.manager import DialogManager
from dialogs.model import Command, Profile, Text, Turn, UserState
from dialogs.spec import load_dialogs
from prompts import default_catalog

TABLE = Path(__file__).parent / "data" / "intent_phrases_es.yaml"
ROWS: list[dict[str, Any]] = yaml.safe_load(TABLE.read_text("utf-8"))
SPANISH = intents.locale_file("es")


def _id(text: str, locale: str = "es") -> str | None:
    found = match(text, locale)
    return found.id if found else None


@pytest.mark.parametrize("row", ROWS, ids=[f"{i}-{r['intent']}" for i, r in enumerate(ROWS)])
def test_spanish_phrase_table(row: dict[str, Any]) -> None:
    assert _id(row["text"]) == row["intent"], row["text"]


def test_table_is_big_and_varied() -> None:
    assert len(ROWS) >= 80
    assert sum(r["intent"] is None for r in ROWS) >= 40
    assert {r["intent"] for r in ROWS} - {None} == set(all_intents())
    assert all(set(r) == {"text", "intent"} for r in ROWS)


def test_shipped_data_is_clean_in_every_language() -> None:
    assert "es" in intent_locales()
    assert check() == []
    assert check(locale="es") == []


def test_spanish_shares_the_english_intents() -> None:
    spanish = for_locale("es")
    assert spanish.intents == all_intents()  # ids, kinds, offers, replies, order
    assert for_locale("es-MX") is spanish and for_locale("es_419") is spanish
    assert for_locale("fr") is intents.load()  # no file: English


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("me siento muy sola", "en", None),  # English reading: no Spanish patterns
        ("I feel so alone today", "fr", "lonely"),
        ("me siento muy sola", "es-AR", "lonely"),
        # a Spanish speaker's English words are still read ("estoy tan stressed")
        ("I feel so alone today", "es", "lonely"),
        ("estoy tan stressed", "es", "anxious"),
        # "solo" is also "only"
        ("solo quería decir gracias", "es", "grateful"),
        ("estoy solo cansado", "es", "tired"),
        ("estoy solo en casa otra vez", "es", "lonely"),
        # "no sé" alone is no intent; with what to do it asks for help; "ya no" is sadness
        ("no sé", "es", None),
        ("no sé qué hacer", "es", "help"),
        ("ya no sé qué hacer", "es", "sad"),
        ("no sé qué hacer con mi vida", "es", "sad"),
        # "buen día" greets, it is no news; "feliz" alone is
        ("buen día", "es", "greeting"),
        ("feliz", "es", "good_news"),
        ("feliz noche", "es", "greeting"),
        # negations
        ("no me siento sola", "es", None),
        ("para nada triste", "es", None),
        ("nunca me he sentido tan sola", "es", "lonely"),
        ("sin miedo", "es", None),
    ],
)
def test_choices_worth_knowing(text: str, locale: str, expected: str | None) -> None:
    assert _id(text, locale) == expected


# --- the check catches mistakes in a language's file (on a temporary copy) --------------------


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    text = SPANISH.read_text("utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "intents.yaml"
    path.write_text(text.replace(old, new), "utf-8")
    return path


def test_check_catches_a_spanish_example_that_does_not_match(tmp_path: Path) -> None:
    path = _copy_with(
        tmp_path,
        "      - nadie me escribe\n",
        "      - nadie me escribe\n      - París en primavera\n",
    )
    problems = check(path=path, locale="es")
    assert len(problems) == 1 and "París en primavera" in problems[0], problems


def test_check_catches_a_missing_intent(tmp_path: Path) -> None:
    text = SPANISH.read_text("utf-8")
    start = text.index("  - id: who\n")
    end = text.index("  - id: talk\n")
    path = tmp_path / "intents.yaml"
    path.write_text(text[:start] + text[end:], "utf-8")
    assert any("intent 'who' has no patterns" in p for p in check(path=path, locale="es"))


def test_check_catches_a_key_only_english_may_set(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, "  - id: lonely\n", "  - id: lonely\n    offers: [sos, step]\n")
    assert any("'offers' is set in the English file only" in p
               for p in check(path=path, locale="es"))  # fmt: skip


def test_check_catches_an_unknown_id() -> None:
    english = intents.INTENTS_FILE.read_text("utf-8")
    loaded = build("intents:\n  - {id: bored, patterns: [aburrid*], examples: [aburrido]}\n",
                   "xx/intents.yaml", english)  # fmt: skip
    assert any("'bored' is not in the English file" in p for p in loaded.problems)


# --- the dialog manager reads a Spanish speaker's words ------------------------------------------------

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
MANAGER = DialogManager(load_dialogs(), default_catalog())


def _listening(locale: str, typed: str) -> dict[str, Any]:
    state = UserState(
        profile=Profile(consented=True, onboarded=True, timezone="Europe/Madrid", locale=locale)
    )
    turn = Turn(state)
    for event in (Command("menu"), Text(typed)):
        turn = MANAGER.step(turn.state, event, NOW)  # type: ignore[arg-type]
    top = turn.state.top
    assert top is not None and top.dialog == "listen"
    return top.slots


def test_words_at_the_menu_are_heard_in_the_persons_language() -> None:
    assert _listening("es", "me siento muy sola")["intent"] == "lonely"
    assert _listening("es", "deja de escribirme")["intent"] == "stop"
    assert _listening("en", "me siento muy sola")["intent"] is None  # the general reply
