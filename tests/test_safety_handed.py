"""The handed cases (tests/data/safety_handed.tsv, a copy of the quarter of the outside set
the issue hands over) as regression tests for dialogs.safety.assess.

- crisis rows reach at least concern; the ones the issue defines as crisis (intent, plan,
  means, a recent act, a lethal-dose question, a goodbye, and those inside a paragraph or in
  another language) reach crisis. Passive ideation, hopeless finality, a bare date, slang
  thoughts, emoji and third-person framing may stop at concern: the issue puts those there.
- non rows are none (no concern, no crisis, no abuse flag).
- other rows are about someone else: subject "other", level at least concern.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.safety import assess
from tests.handed_cases import HANDED, load_handed, must_be_crisis

ROWS = load_handed()


def _id(row: dict) -> str:
    return f"{row['label']}/{row['category']}: {row['text'][:50]}"


def test_the_handed_file_is_the_shared_copy() -> None:
    shared = Path("/work/shared/safety/handed_cases.tsv")
    if shared.exists():
        assert shared.read_bytes() == HANDED.read_bytes()
    assert len(ROWS) >= 100
    assert {row["label"] for row in ROWS} == {"crisis", "non", "other"}


@pytest.mark.parametrize("row", [r for r in ROWS if r["label"] == "crisis"], ids=_id)
def test_a_crisis_row_reaches_concern_and_where_defined_crisis(row: dict) -> None:
    risk = assess(row["text"])
    assert risk.level != "none", risk
    assert risk.subject == "self", risk
    if must_be_crisis(row):
        assert risk.level == "crisis", risk


@pytest.mark.parametrize("row", [r for r in ROWS if r["label"] == "non"], ids=_id)
def test_a_non_row_is_none(row: dict) -> None:
    risk = assess(row["text"])
    assert risk.level == "none" and not risk.abuse, risk


@pytest.mark.parametrize("row", [r for r in ROWS if r["label"] == "other"], ids=_id)
def test_an_other_row_is_about_someone_else(row: dict) -> None:
    risk = assess(row["text"])
    assert risk.subject == "other" and risk.level != "none", risk
