"""Crisis screening (dialogs/safety.py) against the labelled table tests/data/crisis_phrases.yaml.

The table is the contract: every crisis phrase must fire (recall 100%) and no non-crisis phrase
may fire. The false-positive threshold is zero ON THE TABLE because the table is labelled under
the issue's "when in doubt it fires" policy: phrasings that might be meant are labelled crisis
(category `doubt`), so the only non-crisis phrases left are ones the screen can and must tell
apart (named idioms, explicit negations, everyday messages). A false positive there is a
regression to fix in the patterns, never a trade-off to accept. That says nothing about the
false-positive rate on real messages, which is higher: see bench/safety.py and the known limits
in dialogs/data/crisis_patterns.yaml.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest
import yaml

from dialogs import safety
from dialogs.safety import compile_one, is_crisis, load_patterns, normalise

TABLE = yaml.safe_load((Path(__file__).parent / "data" / "crisis_phrases.yaml").read_text("utf-8"))
PHRASES: list[dict] = TABLE["phrases"]
CRISIS = [row for row in PHRASES if row["crisis"]]
CALM = [row for row in PHRASES if not row["crisis"]]
MAX_FALSE_POSITIVE_RATE = 0.0  # on the table; see the module docstring for why


def _id(row: dict) -> str:
    return f"{row['category']}: {row['text'][:60]}"


# --- the table ---------------------------------------------------------------------------------


def test_the_table_is_big_balanced_and_well_formed() -> None:
    assert len(PHRASES) >= 150
    assert 0.35 <= len(CRISIS) / len(PHRASES) <= 0.65
    texts = [row["text"] for row in PHRASES]
    assert len(texts) == len(set(texts)), "a phrase is listed twice"
    for row in PHRASES:
        assert set(row) == {"text", "crisis", "category"}, row
        assert isinstance(row["crisis"], bool) and row["text"].strip() and row["category"]


@pytest.mark.parametrize("row", CRISIS, ids=_id)
def test_every_crisis_phrase_fires(row: dict) -> None:
    assert is_crisis(row["text"]), f"missed: {row['text']!r}"


@pytest.mark.parametrize("row", CALM, ids=_id)
def test_no_calm_phrase_fires(row: dict) -> None:
    assert not is_crisis(row["text"]), (
        f"false alarm: {row['text']!r} ({safety.explain(row['text'])})"
    )


def test_recall_and_false_positive_rate_on_the_table() -> None:
    caught = sum(is_crisis(row["text"]) for row in CRISIS)
    false_alarms = sum(is_crisis(row["text"]) for row in CALM)
    recall, fp_rate = caught / len(CRISIS), false_alarms / len(CALM)
    print(f"\n{len(PHRASES)} phrases: recall {recall:.1%}, false positives {fp_rate:.1%}")
    assert recall == 1.0
    assert fp_rate <= MAX_FALSE_POSITIVE_RATE


def test_the_examples_named_in_the_issue_are_in_the_table_with_their_label() -> None:
    labels = {row["text"]: row["crisis"] for row in PHRASES}
    must_fire = [
        "Tell my mum I love her, this is goodbye",
        "Everyone would be better off without me",
        "I won't be a burden much longer",
        "kms",
        "kys",
        "i want to unalive",
        "wanna die lol",
        "i wanna d1e",
        "su1cide",
        "sewerslide is on my mind again",
        "planning to ctb this week",
        "I don't want to be here anymore",
        "what's the point of anything",
        "I'm not suicidal but sometimes I wish I could disappear forever",
        "I've been saving up my meds",
        "I'm going to jump off the bridge",
    ]
    must_not_fire = [
        "This traffic is killing me",
        "I'm dying to try that new cafe",
        "My phone died halfway through the call",
        "I could kill for a coffee right now",
        "That joke killed me 😂",
        "I'm dead tired after work",
        "The plant on my windowsill died",
        "Just killing time before my bus",
        "I'm not suicidal, just lonely",
        "I would never hurt myself",
        "No thoughts of suicide, just feeling low",
    ]
    for text in must_fire:
        assert labels.get(text) is True, text
    for text in must_not_fire:
        assert labels.get(text) is False, text


# --- negations stay narrow ---------------------------------------------------------------------

NEGATIONS = [row["text"] for row in PHRASES if row["category"] == "negation"]
SAID_OUTRIGHT = [row["text"] for row in PHRASES if row["category"] in ("direct", "indirect")]
IDIOMS = [row["text"] for row in PHRASES if row["category"] == "idiom"]


@pytest.mark.parametrize("negation", NEGATIONS)
def test_a_negation_never_masks_a_crisis_phrase_that_follows_it(negation: str) -> None:
    masked = [
        crisis
        for crisis in SAID_OUTRIGHT
        for joined in (f"{negation}. {crisis}", f"{negation} but {crisis}", f"{negation}\n{crisis}")
        if not is_crisis(joined)
    ]
    assert not masked, masked


@pytest.mark.parametrize("idiom", IDIOMS)
def test_an_idiom_never_masks_a_crisis_phrase_next_to_it(idiom: str) -> None:
    masked = [
        crisis
        for crisis in SAID_OUTRIGHT
        for joined in (f"{idiom}. {crisis}", f"{crisis}. {idiom}")
        if not is_crisis(joined)
    ]
    assert not masked, masked


def test_a_negation_for_now_is_not_a_negation() -> None:
    assert not is_crisis("I'm not going to hurt myself")
    assert is_crisis("I'm not going to hurt myself tonight")
    assert is_crisis("I won't kill myself yet")
    assert not is_crisis("I'm not suicidal")
    assert is_crisis("I'm not suicidal yet")


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("I’m NOT okay!!!", "im not okay"),
        ("don't   can't\twon't", "dont cant wont"),
        ("killlllll myselfffff", "kill myselff"),
        ("su1c1de k*ll d!e my$elf", "suicide kill die myself"),
        ("<b>hello</b> &amp; bye", "hello bye"),  # tags dropped; "&amp;" is "&", a symbol
        (
            "ѕuicide кмѕ хочу",
            "suicide kms хочу",
        ),  # look-alikes mapped only where they pose as Latin
        ("sui\u200bcide", "suicide"),
        ("ｆｕｌｌ ｗｉｄｔｈ 𝐛𝐨𝐥𝐝", "full width bold"),
        ("wait... what? ok.", "wait what . ok"),
        ("i.want.to.die", "i want to die"),
        ("love it 😭🔥 #blessed", "love it blessed"),
    ],
)
def test_normalise(raw: str, normalised: str) -> None:
    assert normalise(raw) == normalised


def test_empty_and_blank_messages_do_not_fire() -> None:
    assert not is_crisis("")
    assert not is_crisis("   ")
    assert not is_crisis("😊")


# --- the pattern file --------------------------------------------------------------------------


def test_every_pattern_compiles_on_its_own_and_is_exercised_by_the_table() -> None:
    """No dead pattern: each line of the YAML matches at least one phrase of the table (so a
    typo that breaks a pattern shows up here, and every pattern has an example)."""
    book = load_patterns()
    spellings = [safety._spellings(row["text"]) for row in PHRASES]
    cleaned = [
        [compile_one("|".join(book.removals)).sub(".", s) for s in group] for group in spellings
    ]
    unexercised = []
    for pattern in book.crisis:
        regex = compile_one(pattern)
        if not any(regex.search(s) for group in cleaned for s in group):
            unexercised.append(book.sources[pattern])
    for pattern in book.overrides + book.removals:
        regex = compile_one(pattern)
        if not any(regex.search(s) for group in spellings for s in group):
            unexercised.append(book.sources[pattern])
    assert not unexercised, "\n".join(unexercised)


def test_an_unknown_macro_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "patterns.yaml"
    bad.write_text(
        "macros: {}\noverrides: []\nnegations: []\nidioms: []\ncrisis: ['{nope} myself']\n", "utf-8"
    )
    with pytest.raises(ValueError, match="unknown macro"):
        load_patterns(bad)


# --- speed -------------------------------------------------------------------------------------


def test_checking_compiles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patterns are compiled once at import; a check only runs them."""

    def no_compile(*args: object, **kwargs: object) -> None:
        raise AssertionError("re.compile called while checking a message")

    monkeypatch.setattr(re, "compile", no_compile)
    for row in PHRASES[:50]:
        is_crisis(row["text"])


def test_a_check_is_fast_even_on_a_long_message() -> None:
    """Loose bounds (CI machines vary): they catch runaway backtracking, not small slowdowns.
    bench/safety.py measures the real figures."""
    texts = [row["text"] for row in PHRASES]
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for text in texts:
            is_crisis(text)
        runs.append((time.perf_counter() - start) / len(texts))
    assert statistics.median(runs) < 0.002  # measured about 0.05 ms
    longest = " ".join(row["text"] for row in CALM)[:4096]  # Telegram's longest message
    start = time.perf_counter()
    is_crisis(longest)
    assert time.perf_counter() - start < 0.25  # measured about 7 ms
