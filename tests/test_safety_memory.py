"""The crisis screen's memory (issue 15): small pattern sets written once, not once per first
letter, with the same matches; one copy of the dispatch tables however many threads screen
the first messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dialogs import safety
from dialogs.safety import normalise

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("crisis_phrases.yaml", "crisis_phrases_es.yaml")


def _texts() -> list[str]:
    """Every phrase of both tables, as the screen reads it, and a few long messages."""
    texts = [
        normalise(row["text"])
        for name in TABLES
        for row in yaml.safe_load((ROOT / "tests" / "data" / name).read_text("utf-8"))["phrases"]
    ]
    return texts + [" ".join(texts[start::50])[:4096] for start in range(10)]


def _sets() -> dict[str, list[str]]:
    """Every pattern list the screen compiles with _compile_all, by name."""
    book = safety._BOOK
    names = [
        "overrides", "removals", "benign", "benign_weak", "benign_means", "jokes", "laughter",
        "serious", "exclamations", "causes", "self_frame", "abuse", "abuse_not",
    ]  # fmt: skip
    sets = {name: list(getattr(book, name)) for name in names}
    for key, patterns in book.families.items():
        for language in sorted({book.origin.get(p, "en") for p in patterns}):
            sets[f"{key}/{language}"] = [
                p for p in patterns if book.origin.get(p, "en") == language
            ]
    for name, patterns in book.fields.items():
        sets[f"field {name}"] = safety._branches(patterns)
    return sets


def test_small_sets_match_exactly_as_their_dispatch_would() -> None:
    texts = _texts()
    checked = []
    for name, patterns in _sets().items():
        if not 8 <= len(patterns) < safety._DISPATCH_FROM:
            continue
        firsts = [safety._first_chars(p) for p in patterns]
        compiled = safety._compile_all_now(patterns)
        dispatched = safety.compile_one(safety._dispatched(patterns, firsts))
        if not safety._anywhere_last(firsts):
            assert compiled.pattern == dispatched.pattern, name
            continue
        assert len(compiled.pattern) < len(dispatched.pattern), name
        for text in texts:
            spans = [m.span() for m in compiled.finditer(text)]
            assert spans == [m.span() for m in dispatched.finditer(text)], (name, text)
            assert compiled.sub(".", text) == dispatched.sub(".", text), (name, text)
        checked.append(name)
    assert {"overrides", "abuse"} <= set(checked), checked


@pytest.mark.parametrize(
    ("firsts", "last"),
    [
        ([{"a"}, {"b", "c"}], True),
        ([{"a"}, None, None], True),
        ([None, {"a"}], False),
        ([{"a"}, None, {"b"}], False),
    ],
)
def test_anywhere_last(firsts: list[set[str] | None], last: bool) -> None:
    assert safety._anywhere_last(firsts) is last


def test_the_sets_every_message_needs_are_written_once_per_pattern() -> None:
    # Dispatched on first letters they were 4.6x (abuse) and 5x (overrides) their patterns.
    for lazy, patterns in (
        (safety._ABUSE, safety._BOOK.abuse),
        (safety._OVERRIDES, safety._BOOK.overrides),
    ):
        written = sum(len(p) + len("(?:)|") for p in patterns)
        assert len(lazy.compiled().pattern) < written + 100


SCREEN_IN_THREADS = """
import sys, threading
from dialogs import safety
compiles = []
make = safety._Group._make
def counted(group):
    compiles.append(group._parts)
    return make(group)
safety._Group._make = counted
before = len(safety._ALL_LAZY)
threads = int(sys.argv[1])
start = threading.Barrier(threads)
def screen():
    start.wait()
    safety.assess("ok, maybe a walk later")
workers = [threading.Thread(target=screen) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(len(safety._ALL_LAZY) - before, len(compiles), len(set(compiles)))
"""


def _screen_in_threads(threads: int) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", SCREEN_IN_THREADS, str(threads)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    return [int(n) for n in done.stdout.split()]


def test_the_screen_builds_and_compiles_once_when_threads_meet_it_first() -> None:
    # The event loop and the database threads screen the first messages after a start before
    # the warm-up does; each used to build its own dispatch tables, all of them kept.
    alone = _screen_in_threads(1)
    together = _screen_in_threads(6)
    assert alone[0] > 0 and alone[1] > 0, "the screen built and compiled something"
    assert together == alone, "six threads built and compiled what one thread does"
    assert together[1] == together[2], "no group compiled twice"
