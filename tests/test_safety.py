"""The crisis screen (dialogs/safety.py, assess) against its labelled table, by family.

tests/data/crisis_phrases.yaml holds, per family, at least 25 phrasings written for it; each
row names the level it must reach (crisis, concern; a none row must stay none), its subject
and whether it discloses abuse. Every row must hold, except those marked known_miss (xfail
strict: fixing one makes the test say so): at most three among the rows written beside the
patterns, and the fresh probes' remaining misses (origin fresh_*), each with its reason. The
table was written beside the patterns and the probes were learnt from, so it measures
memory: bench/safety.py prints the honest holdout figures apart.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from dialogs import safety
from dialogs.safety import (
    PatternBook,
    Risk,
    assess,
    compile_one,
    is_crisis,
    load_patterns,
    normalise,
)

TABLE = yaml.safe_load((Path(__file__).parent / "data" / "crisis_phrases.yaml").read_text("utf-8"))
PHRASES: list[dict] = TABLE["phrases"]
RANK = {"none": 0, "concern": 1, "crisis": 2}
FRESH_FAMILIES = [
    "active_ideation", "passive_ideation", "plan_timing", "means_now", "lethal_question",
    "self_harm_act", "self_harm_urge", "goodbye", "hopeless_finality", "burden", "slang",
    "emoji", "third_person_self", "formatting", "embedded", "someone_else", "abuse",
    "other_language:es", "other_language:pt", "other_language:fr", "other_language:de",
    "other_language:it", "other_language:ru", "other_language:uk",
    "idiom", "hyperbole", "negation", "recovery", "media_news", "harsh_self_talk",
    "loneliness", "everyday_trigger_words", "gaming_cooking_medical_tech",
    "non_english_idiom", "correction",
]  # fmt: skip


def _id(row: dict) -> str:
    return f"{row['family']}/{row['level']}: {row['text'][:50]}"


def _param(row: dict) -> object:
    marks = (
        [pytest.mark.xfail(strict=True, reason=row["known_miss"])] if "known_miss" in row else []
    )
    return pytest.param(row, id=_id(row), marks=marks)


# --- the table ---------------------------------------------------------------------------------


def test_the_table_is_well_formed_with_25_fresh_rows_a_family() -> None:
    texts = [row["text"] for row in PHRASES]
    assert len(texts) == len(set(texts)), "a phrase is listed twice"
    for row in PHRASES:
        assert set(row) <= {
            "family", "level", "subject", "abuse", "origin", "known_miss", "note", "text"
        }  # fmt: skip
        assert row["level"] in RANK and row["text"].strip() and row["family"], row
        assert row.get("subject", "self") in ("self", "other"), row
    fresh = Counter(row["family"] for row in PHRASES if row.get("origin") != "v1")
    thin = {family: fresh[family] for family in FRESH_FAMILIES if fresh[family] < 25}
    assert not thin, thin
    # Allowances stay rare in the rows written beside the patterns. The fresh probes
    # (origin fresh_*: written blind, measured before tuning, then learnt from by family)
    # keep their remaining misses as known_miss rows, each with the reason, so that the
    # table says honestly what the screen still cannot read.
    own = [row for row in PHRASES if not str(row.get("origin", "")).startswith("fresh_")]
    assert sum("known_miss" in row for row in own) <= 3
    for row in PHRASES:
        if "known_miss" in row:
            assert str(row["known_miss"]).strip(), row


@pytest.mark.parametrize("row", [_param(row) for row in PHRASES])
def test_every_row_meets_its_level_subject_and_abuse(row: dict) -> None:
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


def test_the_examples_named_in_the_issue_read_as_the_issue_says() -> None:
    crisis = [
        "I have the pills saved up", "I have a rope", "I cut again last night",
        "I burned my arm with a lighter", "I wrote goodbye letters",
        "I've said my goodbyes to everyone", "i just want to\ndie",
        "I'm checking out. permanently", "what amount of paracetamol is fatal",
    ]  # fmt: skip
    concern = [
        "there's no reason to keep living", "everything's ready", "not coming back",
        "won't be around after the weekend", "I've picked a date. Friday.",
        "fine without me", "if I died tonight would anyone care", "being dead sounds peaceful",
        "nobody would miss me", "I hope I get hit by a car", "🪦", "💊", "🔪", "🪢", "⚰️",
        "I can't do this anymore, I'm finished, for good", "I'm a burden to everyone",
    ]  # fmt: skip
    none = [
        "never considered suicide", "not depressed enough to want to die",
        "1000 days self harm free 🎉", "clean for 6 years", "done with everything on my to-do list!",
        "checking out early from the party", "don't mix these pills with alcohol",
        "je suis mort de rire", "morri de rir", "me muero de hambre", "ich lach mich tot",
        "I won't be here by Friday, I'm off to Lisbon!", "checking out of the hotel at 11",
        "my last day at work is Friday, then I'm gone, new job", "I'm worthless at parties",
        "I feel like a burden when I talk about my problems", "hit me up later",
        "it hit me that I never called her back", "the ball hit me in the face at football",
    ]  # fmt: skip
    for text in crisis:
        assert assess(text).level == "crisis", (text, assess(text), safety.explain(text))
    for text in concern:
        assert assess(text).level != "none", (text, assess(text))
    for text in none:
        risk = assess(text)
        assert risk.level == "none" and not risk.abuse, (text, risk, safety.explain(text))


def test_subject_and_abuse_as_the_issue_says() -> None:
    for text in [
        "my friend said she wants to kill herself", "my brother took pills",
        "my sister relapsed and is self harming again",
        "my neighbour said he bought a gun to end things",
        "my partner talks about not waking up",
    ]:  # fmt: skip
        risk = assess(text)
        assert risk.level != "none" and risk.subject == "other", (text, risk)
    for text in [
        "asking for a friend, what's a lethal dose of tramadol",
        "she (me) has been thinking about dying every single day",
        "the guy writing this doesn't want to live anymore",
        "this person is about to hurt herself",
        "my friend wants to kill herself and honestly so do I",
    ]:
        risk = assess(text)
        assert risk.level != "none" and risk.subject == "self", (text, risk)
    for text in [
        "my partner hit me again last night", "he chokes me when he's angry",
        "I'm scared to go home, she'll hurt me", "my dad beats me", "he forced me",
    ]:  # fmt: skip
        assert assess(text) == Risk("none", "self", (), True), text
    assert assess("he hit me again and I want to die").abuse


# --- levels and memory ---------------------------------------------------------------------------


def test_a_concern_after_a_recent_concern_or_crisis_is_a_crisis() -> None:
    concern = assess("nobody would miss me")
    assert concern.level == "concern"
    assert assess("nobody would miss me", recent=concern).level == "crisis"
    assert assess("nobody would miss me", recent=Risk("crisis")).level == "crisis"
    assert assess("nobody would miss me", recent=None).level == "concern"
    assert assess("nobody would miss me", recent=Risk()).level == "concern"
    assert assess("what a lovely day", recent=Risk("crisis")).level == "none"


def test_is_crisis_is_assess_at_crisis() -> None:
    for row in PHRASES[::7]:
        assert is_crisis(row["text"]) == (assess(row["text"]).level == "crisis")


def test_a_joke_marker_lowers_a_crisis_to_a_concern_never_to_none() -> None:
    assert assess("kms").level == "concern"
    assert assess("gonna kms tonight").level == "crisis"
    assert assess("gonna kms tonight lol").level == "concern"
    assert assess("i want to die lol").level == "concern"
    assert assess("took 30 pills an hour ago lol").level == "crisis"


# --- negations and idioms stay narrow ------------------------------------------------------------

NEGATIONS = [r["text"] for r in PHRASES if r["family"] == "negation"][:25]
SAID_OUTRIGHT = [
    r["text"] for r in PHRASES
    if r["family"] in ("active_ideation", "means_now") and r["level"] == "crisis"
    and "\n" not in r["text"] and r.get("origin") != "v1"
][:30]  # fmt: skip
IDIOMS = [r["text"] for r in PHRASES if r["family"] in ("idiom", "non_english_idiom")]


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
    # A joke marker in the idiom ("lol", "jajaja") lowers a stated wish to a concern, never
    # to none.
    joking = bool(
        safety._JOKES.search(normalise(idiom)) or safety._LAUGHTER.search(normalise(idiom))
    )
    masked = [
        crisis
        for crisis in SAID_OUTRIGHT
        for joined in (f"{idiom}. {crisis}", f"{crisis}. {idiom}")
        if assess(joined).level == "none" or (not joking and not is_crisis(joined))
    ]
    assert not masked, masked


def test_a_negation_for_now_is_not_a_negation() -> None:
    assert assess("I'm not going to hurt myself").level == "none"
    assert assess("I'm not going to hurt myself tonight").level != "none"
    assert assess("I won't kill myself yet").level != "none"
    assert assess("I'm not suicidal").level == "none"
    assert assess("I'm not suicidal yet").level != "none"
    assert assess("I can't promise I won't hurt myself").level == "crisis"


# --- long messages ---------------------------------------------------------------------------------

DIARY = (
    "Today I woke up early and made coffee, then walked to the market for apples and bread. "
    "The weather was grey but mild, so I read a novel and called my sister about her birthday. "
)


@pytest.mark.parametrize("where", [0.0, 0.3, 0.6, 0.95])
def test_a_crisis_sentence_is_found_anywhere_in_a_4096_character_message(where: float) -> None:
    filler = (DIARY * 30)[:4000]
    cut = filler.rfind(" ", 0, int(len(filler) * where) + 1) + 1
    for sentence in ["I have decided to end my life tonight.", "I've got 40 pills saved up."]:
        text = (filler[:cut] + sentence + " " + filler[cut:])[:4096]
        assert sentence in text
        assert is_crisis(text), (where, sentence)
    assert assess(filler[:4096]).level == "none"


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("I’m NOT okay!!!", "im not okay"),
        ("don't   can't\twon't", "dont cant wont"),
        ("killlllll myselfffff", "kill myselff"),
        ("su1c1de k*ll d!e my$elf", "suicide kill die myself"),
        ("<b>hello</b> &amp; bye", "hello bye"),  # tags dropped; "&amp;" is "&", a symbol
        ("ѕuicide кмѕ хочу", "suicide kms хочу"),  # look-alikes mapped only posing as Latin
        ("sui\u200bcide", "suicide"),
        ("ｆｕｌｌ ｗｉｄｔｈ 𝐛𝐨𝐥𝐝", "full width bold"),
        ("wait... what? ok.", "wait what . ok"),
        ("i.want.to.die", "i want to die"),
        ("love it 😭🔥 #blessed", "love it blessed"),
        ("i just want to\ndie", "i just want to die"),  # a line break before lower case
        ("I'm checking out. permanently", "im checking out permanently"),
        ("I'm fine. Thanks", "im fine . thanks"),  # a full stop before a capital is a break
        ("all of these 💊 tonight", "all of these pills tonight"),
        ("🔪 my wrists", "knife my wrists"),
        # Texting spellings read as the word (the `spelling` map); "b" only before a few words.
        ("im gona kil myslf tonite", "im gonna kill myself tonight"),
        (
            "wanna b dead, evry1 wud b better w/o me",
            "wanna be dead . everyone would be better without me",
        ),
        ("plan b is the bus", "plan b is the bus"),
        ("she overdoes it", "she overdoes it"),
    ],
)
def test_normalise(raw: str, normalised: str) -> None:
    assert normalise(raw) == normalised


def test_empty_and_blank_messages_are_none() -> None:
    for text in ["", "   ", "\n", "😊", "...", "🎉🎉"]:
        assert assess(text) == Risk(), text


# --- the pattern file --------------------------------------------------------------------------


def unexercised_patterns(book: PatternBook, texts: list[str], removals: list[str]) -> list[str]:
    """Each pattern line of `book` that matches none of `texts` (family, field or other
    list), named by its source line; `removals` are the patterns blanked out before the
    family and field patterns are tried, as assess() does."""
    spellings = [safety._spellings(text) for text in texts]
    removed = compile_one("|".join(removals))
    cleaned = [[removed.sub(".", s) for s in group] for group in spellings]
    unexercised = []
    for (family, level), patterns in book.families.items():
        for pattern in patterns:
            regex = compile_one(pattern)
            if not any(regex.search(s) for group in cleaned for s in group):
                unexercised.append(f"{family}/{level}: {book.sources[pattern]}")
    for name, patterns in book.fields.items():
        for pattern in patterns:
            regex = compile_one(pattern)
            if not any(regex.search(s) for group in cleaned for s in group):
                unexercised.append(f"fields/{name}: {book.sources[pattern][:80]}")
    others = book.overrides + book.removals + book.abuse + book.abuse_not + book.benign
    others += book.benign_weak + book.benign_means + book.jokes + book.self_frame
    others += book.laughter + book.serious + book.exclamations + book.causes
    for pattern in others:
        regex = compile_one(pattern)
        if not any(regex.search(s) for group in spellings for s in group):
            unexercised.append(book.sources[pattern])
    return unexercised


def test_every_pattern_compiles_and_is_exercised_by_the_table() -> None:
    """No dead pattern: each line of the YAML matches at least one phrase of the table (so a
    typo that breaks a pattern shows up here, and every pattern has an example)."""
    book = load_patterns()
    unexercised = unexercised_patterns(book, [row["text"] for row in PHRASES], book.removals)
    assert not unexercised, "\n".join(unexercised)


def test_the_fast_search_agrees_with_one_plain_alternation() -> None:
    """safety._ANY dispatches on the first two letters; it must find what the plain
    alternation of the same patterns (every pattern file's) finds."""
    book = safety.load_book()
    plain = compile_one("|".join(p for ps in book.families.values() for p in ps))
    for row in PHRASES:
        for spelling in safety._spellings(row["text"]):
            assert safety._ANY.search(spelling) == bool(plain.search(spelling)), row["text"]


def test_an_unknown_macro_or_level_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "patterns.yaml"
    bad.write_text("macros: {}\nfamilies: {x: {crisis: ['{nope} myself']}}\n", "utf-8")
    with pytest.raises(ValueError, match="unknown macro"):
        load_patterns(bad)
    bad.write_text("macros: {}\nfamilies: {x: {maybe: ['myself']}}\n", "utf-8")
    with pytest.raises(ValueError, match="unknown level"):
        load_patterns(bad)


# --- speed -------------------------------------------------------------------------------------


def test_checking_compiles_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once warmed up (as `bridges run` does, bot/cli.py), a check only runs the patterns.

    They are compiled at first use (dialogs/safety.py `_Lazy`), so the warm-up is called
    here rather than left to whichever tests happened to run first in this process.
    """
    safety.warm_up()

    def no_compile(*args: object, **kwargs: object) -> None:
        raise AssertionError("re.compile called while checking a message")

    monkeypatch.setattr(re, "compile", no_compile)
    for row in PHRASES[::10]:
        assess(row["text"])


def test_a_check_is_fast_even_on_a_long_message() -> None:
    """Loose bounds (CI machines vary): they catch runaway backtracking, not small slowdowns.
    bench/safety.py measures the real figures (p99 under 10 ms for 4,096 characters)."""
    texts = [row["text"] for row in PHRASES]
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        for text in texts:
            assess(text)
        runs.append((time.perf_counter() - start) / len(texts))
    assert statistics.median(runs) < 0.002  # measured about 0.1 ms
    longest = " ".join(row["text"] for row in PHRASES if row["level"] == "none")[:4096]
    start = time.perf_counter()
    assess(longest)
    assert time.perf_counter() - start < 0.25  # measured about 5 ms


# --- the structural reader and whose words they are --------------------------------------------


def test_the_structural_reader_reads_new_wordings_by_their_shape() -> None:
    """Plans, means, goodbyes and questions in wordings no pattern lists (safety._field_hits)."""
    crisis = [
        "sunday. that's when. already decided",  # a decision and a time
        "the hosepipe is in the boot and the engine's on",  # means, here and now
        "sitting with the tablets lined up in front of me",
        "passwords are in the blue folder. thank you for everything",  # two signs of leaving
        "how many of my sleeping tablets until you don't wake up",  # a question about dying
        "waiting till everyone's asleep and then that's it",  # secrecy about a time
        "ich hab die Tabletten vor mir, heute Nacht",  # another language: means and a time
    ]
    concern = [
        "the big sleep is looking good",  # a euphemism alone
        "im done. like done done",  # hopeless finality
    ]
    for text in crisis:
        assert assess(text).level == "crisis", (text, assess(text), safety.explain(text))
    for text in concern:
        assert assess(text).level != "none", (text, assess(text))


def test_ordinary_days_with_the_same_words_stay_none() -> None:
    for text in [
        "I'm at the station now, train in 10 minutes",
        "I'll do it tomorrow, too tired tonight",
        "thank you for everything today, it helped",
        "I'm on the balcony now watering my plants",
        "I gave my old sofa to my neighbour today, she needed one",
        "my plan for tomorrow is to call my sister and go for a walk",
        "bought some rope for the new washing line",
        "I wrote a letter to my sister",
        "I'm going to the bridge club tonight, wish me luck",
        "last time I went to the sea I was a child",
    ]:
        risk = assess(text)
        assert risk.level == "none", (text, risk, safety.explain(text))


def test_whose_words_quoted_reported_named_or_framed() -> None:
    other = [
        "my son wrote in his notebook 'i want to die'",  # a quote: his words
        "my dad keeps saying he's ready to go and join mum",  # reported about him
        "honestly Tom took a bunch of pills and is not answering",  # a name as the subject
    ]
    for text in other:
        risk = assess(text)
        assert risk.level != "none" and risk.subject == "other", (text, risk)
    for text in [
        "this girl in my class (me) keeps scratching her arms till they bleed",
        "so there's this guy. he's me. he wrote goodbye letters last night",
        "I told Sarah I want to die",
    ]:
        risk = assess(text)
        assert risk.level == "crisis" and risk.subject == "self", (text, risk)


def test_recovery_told_as_past_and_jokes_about_ordinary_things() -> None:
    for text in [
        "back in 2021 i tried to kms and honestly so glad it didnt work",
        "500 days without self harm today!!",
        "if this wifi doesnt work in 5 sec im throwing myself out the window jk",
    ]:
        assert assess(text).level == "none", (text, assess(text), safety.explain(text))
    # ...but not when something is said about now, or the joke is said to be no joke.
    assert assess("used to cut years ago, so glad im past it. relapsed again tonight").level != (
        "none"
    )
    assert assess("kms 💀💀 fr this time not joking").level == "crisis"


def test_words_run_together_are_cut_back_into_words() -> None:
    assert assess("nobodywouldcareifiwasgone").level != "none"
    assert assess("k i l l  m y s e l f  t o n i g h t").level == "crisis"
    assert assess("understandably").level == "none"
