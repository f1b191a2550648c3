"""The handed cases (tests/data/safety_handed.tsv): how they are read, shared by the
regression tests (tests/test_safety_handed.py) and the bench (bench/safety.py).

The file is a copy of the quarter of the outside set that issue 9 hands over: label
(crisis / non / other), category, text.
"""

from __future__ import annotations

import csv
from pathlib import Path

HANDED = Path(__file__).parent / "data" / "safety_handed.tsv"

# Categories whose rows are a clear statement (intent, plan, means, a recent act, a lethal
# question, a goodbye, also inside a paragraph, in capitals or in another language): the
# issue puts them at crisis. The other crisis-labelled rows (passive ideation, hopeless
# finality, slang thoughts, emoji, third-person framing) must reach at least concern.
CRISIS_CATEGORIES = frozenset(
    {
        "active_ideation",
        "plan_means_timing",
        "self_harm",
        "goodbye_giving_away",
        "questions_lethal",
        "embedded_in_paragraph",
        "non_english",
        "all_caps",
        "past_plus_current",
    }
)
# Rows of those categories that the issue's own definitions put at concern: a date with no
# method word, and emoji standing in for words.
CONCERN_IS_ENOUGH = frozenset({"I've picked a date. Friday.", "💊💊💊 all of them. tonight."})


def load_handed(path: Path = HANDED) -> list[dict[str, str]]:
    """The rows as dicts with keys label, category, text."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def must_be_crisis(row: dict[str, str]) -> bool:
    """A crisis-labelled row the issue defines as a clear statement: it must reach crisis."""
    return row["category"] in CRISIS_CATEGORIES and row["text"] not in CONCERN_IS_ENOUGH
