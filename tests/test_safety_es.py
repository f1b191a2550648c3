"""The crisis screen read in Spanish (issue 14), row by row, the way test_safety.py reads the
English table.

tests/data/crisis_phrases_es.yaml was written blind to the patterns, by family, with the
idiom, joke and negation decisions D1-D10 in its header; dialogs/data/crisis_patterns_es.yaml
was then written to read it, so these rows measure memory (bench/safety.py prints them
beside the English, and a blind Spanish holdout when one exists). Every row must hold, except
rows marked known_miss (xfail strict, each with its reason; a handful at most).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from dialogs import safety
from dialogs.safety import (
    PATTERNS_FILE_ES,
    assess,
    is_crisis,
    load_patterns,
    normalise,
)
from tests.test_safety import RANK, _param, unexercised_patterns

TABLE = yaml.safe_load(
    (Path(__file__).parent / "data" / "crisis_phrases_es.yaml").read_text("utf-8")
)
PHRASES: list[dict] = TABLE["phrases"]
KEYS = {"family", "level", "subject", "abuse", "known_miss", "note", "origin", "text"}
FAMILIES = [
    "active_ideation", "passive_ideation", "plan_timing", "means_now", "lethal_question",
    "self_harm_act", "self_harm_urge", "goodbye", "hopeless_finality", "burden", "slang_es",
    "slang_latam", "third_person_self", "formatting", "embedded", "someone_else", "abuse",
    "idiom", "hyperbole", "negation", "recovery", "media_news", "harsh_self_talk",
    "loneliness", "everyday_trigger_words",
]  # fmt: skip


# --- the table ---------------------------------------------------------------------------


def test_the_spanish_table_is_well_formed_with_150_phrasings_by_family() -> None:
    texts = [row["text"] for row in PHRASES]
    assert len(texts) == len(set(texts)), "a phrase is listed twice"
    assert len(texts) >= 150
    for row in PHRASES:
        assert set(row) <= KEYS, row
        assert row.get("origin", "es_r2") in ("es_r2", "es_r3", "es_r4"), row
        assert row["level"] in RANK and row["text"].strip(), row
        assert row.get("subject", "self") in ("self", "other"), row
        assert row["family"] in FAMILIES, row
    count = Counter(row["family"] for row in PHRASES)
    assert all(count[family] >= 10 for family in FAMILIES), count
    misses = [row for row in PHRASES if "known_miss" in row]
    assert len(misses) <= 5
    assert all(str(row["known_miss"]).strip() for row in misses)


@pytest.mark.parametrize("row", [_param(row) for row in PHRASES])
def test_every_spanish_row_meets_its_level_subject_and_abuse(row: dict) -> None:
    risk = assess(row["text"])
    text = row["text"]
    if row["level"] == "none":
        assert risk.level == "none", f"false alarm {risk}: {text!r} ({safety.explain(text)})"
    else:
        assert RANK[risk.level] >= RANK[row["level"]], f"missed {risk}: {text!r}"
        assert risk.subject == row.get("subject", "self"), (
            f"{risk}: {text!r} ({safety.explain(text)})"
        )
    if row.get("abuse"):
        assert risk.abuse, f"abuse not flagged: {text!r}"
    elif row["family"] != "abuse" and row["level"] == "none":
        assert not risk.abuse, f"abuse flagged: {text!r} ({safety.explain(text)})"


# --- the decisions in the table's header, on phrasings of their own ------------------------


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # D1: "morir de + noun" and "me mata X" are intensifiers.
        ("me muero de sed, ¿me traes agua?", "none"),
        ("me quiero morir de la risa con este vídeo", "none"),
        ("el tráfico de Madrid me está matando", "none"),
        ("esta noche me mato", "crisis"),
        # D2: the stock exclamation with its setting.
        ("me quiero morir", "crisis"),
        ("me quiero morir jajaja", "concern"),
        ("me quiero morir, el lunes tengo parcial", "concern"),
        ("me quiero matar jajaja se me cayó el móvil al váter en la reunión", "none"),
        ("me quiero matar, no es broma", "crisis"),
        # D3: memes and others "killing" me; a sincere accident wish is a concern.
        ("que alguien me mate, tengo tres exámenes seguidos", "none"),
        ("mi padre me va a matar cuando vea el coche", "none"),
        ("ojalá me atropelle un camión y se acabe todo", "concern"),
        # D5: negations, and "ya no" both ways.
        ("no quiero morir, solo quiero que me escuchen", "none"),
        ("nunca pensaría en suicidarme", "none"),
        ("ya no quiero vivir", "crisis"),
        ("ya no pienso en hacerme daño", "none"),
        # D6, D7: prayers to be taken; Spain and Latin American slang.
        ("le pido a Dios cada noche que me lleve", "concern"),
        ("me voy a quitar de en medio esta noche", "crisis"),
        ("ya me quiero petatear, neta", "crisis"),
        # D8: everyday words.
        ("me corto el pelo mañana y me tiro a la piscina del hotel", "none"),
        ("se me acabaron las pastillas para la tensión", "none"),
        # A poison or a caustic swallowed is an act; poured or bought, it is cleaning.
        ("me bebí la lejía", "crisis"),
        ("me tomé cloro", "crisis"),
        ("bebí lejía hace un rato", "crisis"),
        ("le eché cloro a la piscina", "none"),
        ("compré veneno para las cucarachas", "none"),
        ("me despido, que me voy a dormir", "none"),
    ],
)
def test_the_header_decisions_hold_on_new_phrasings(text: str, level: str) -> None:
    risk = assess(text)
    assert risk.level == level, (text, risk, safety.explain(text))


def test_abuse_is_flagged_and_a_threat_is_not_the_writers_risk() -> None:
    # D10: a threat to kill the writer is abuse, not a wish to die.
    threat = assess("mi novio me amenazó con matarme si hablo")
    assert threat.abuse and threat.level == "none", threat
    both = assess("mi pareja me pega todos los días y ya no quiero vivir")
    assert both.abuse and both.level == "crisis" and both.subject == "self", both
    assert not assess("me toca hacer la cena hoy").abuse


def test_whose_risk_it_is_in_spanish() -> None:
    """The person from verbs and clitics: the writer in "tengo", "matarme", "he decidido";
    someone else in "se quiere matar" and after "me dijo que"; a frame ("pregunto por una
    amiga", "(yo)") makes it the writer's."""
    other = [
        "mi hermana me dijo que se quiere matar",
        "mi mamá me contó que ya no quiere vivir",
        "un amigo subió un mensaje de despedida y no contesta",
    ]
    for text in other:
        risk = assess(text)
        assert risk.level != "none" and risk.subject == "other", (text, risk)
    mine = [
        "mi novio me dejó y he decidido quitarme la vida",
        "pregunto por una amiga: cuántas pastillas de paracetamol son mortales",
        "una chica (yo) se quiere morir",
    ]
    for text in mine:
        risk = assess(text)
        assert risk.level != "none" and risk.subject == "self", (text, risk)


# --- whatever the language setting, whatever the spelling --------------------------------


def test_spanish_and_english_are_both_read_in_any_message() -> None:
    """assess() has no language parameter: every pattern file is read on every message, so
    a Spanish speaker with English settings (or the reverse, or both in one message) is
    screened the same."""
    assert is_crisis("ya no quiero vivir")
    assert is_crisis("I want to die")
    assert is_crisis("ugh today was awful, ya tengo la soga lista")


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("¿CUÁNTAS pastillas?", "cuantas pastillas"),
        ("¡Me QUIERO morir!", "me quiero morir"),
        ("q ya no kiero vivir xq nadie me kiere", "q ya no quiero vivir porque nadie me quiere"),
        ("tng las pastis aki", "tengo las pastillas aqui"),
        ("mañana, daño, pingüino", "manana . dano . pinguino"),
        # English words are never respelled into Spanish.
        ("the boy said oi to me", "the boy said oi to me"),
    ],
)
def test_normalise_folds_accents_marks_and_texting_spellings(raw: str, normalised: str) -> None:
    assert normalise(raw) == normalised


def test_a_spanish_crisis_sentence_is_found_in_a_4096_character_message() -> None:
    diary = (
        "Hoy me levanté temprano, hice café y fui al mercado a por fruta y pan. La vecina me "
        "pidió la escalera y hablamos de su jardín. Por la noche cociné pasta y llamé a mi "
        "hermana para organizar su cumpleaños. "
    )
    filler = (diary * 30)[:4000]
    assert assess(filler).level == "none"
    for where in (0.0, 0.5, 0.95):
        cut = filler.rfind(" ", 0, int(len(filler) * where) + 1) + 1
        text = (filler[:cut] + "Ya tengo decidido que el domingo me mato. " + filler[cut:])[:4096]
        assert is_crisis(text), where


# --- the pattern file ------------------------------------------------------------------------


def test_every_spanish_pattern_compiles_and_is_exercised_by_the_spanish_table() -> None:
    """No dead Spanish line: each matches at least one phrase of the Spanish table."""
    book = load_patterns(PATTERNS_FILE_ES)
    assert book.origin and set(book.origin.values()) == {"es"}
    texts = [row["text"] for row in PHRASES]
    unexercised = unexercised_patterns(book, texts, safety._BOOK.removals)
    assert not unexercised, "\n".join(unexercised)
