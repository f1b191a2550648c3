"""DialogManager: on a number step with number buttons, a typed number is a value, never a folded label."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialogs.manager import DialogManager
from dialogs.model import Frame, Profile, Text, UserState
from dialogs.spec import load_dialogs
from prompts import default_catalog

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# Buttons labelled "1" and "4" (borrowed from the needs map's scale), and one with words.
SCALE = """
id: scale_demo
start: ask
steps:
  ask:
    input: number
    min: 0
    max: 4
    slot: rating
    prompt: common/empty
    choices:
      - {id: one, label: needs.scale.1, value: 1}
      - {id: four, label: needs.scale.4, value: 4}
      - {id: words, label: needs.goal.widen, value: 2}
    next: then
  then:
    input: text
    slot: note
    prompt: common/empty
    next: end
"""


@pytest.fixture(scope="module")
def manager() -> DialogManager:
    catalog = default_catalog()
    return DialogManager(load_dialogs(catalog=catalog, extra={"scale_demo.yaml": SCALE}), catalog)


def answer(manager: DialogManager, typed: str) -> tuple[str, object]:
    """(where they are after typing it at the 0-4 step, the rating kept)."""
    state = UserState([Frame("scale_demo", "ask")], Profile(consented=True, onboarded=True))
    turn = manager.step(state, Text(typed), NOW)
    frame = turn.state.stack[-1]
    return frame.step, frame.slots.get("rating")


@pytest.mark.parametrize("typed", ["-1", "-4", "1!", "4.", "2.5"])
def test_a_number_with_punctuation_is_not_read_as_a_button(
    manager: DialogManager, typed: str
) -> None:
    assert answer(manager, typed) == ("ask", None)


@pytest.mark.parametrize(("typed", "value"), [("1", 1), ("3", 3), (" 4 ", 4), ("+4", 4),
                                              ("Widen my circle", 2), ("widen my circle!", 2)])  # fmt: skip
def test_numbers_and_worded_labels_still_work(
    manager: DialogManager, typed: str, value: int
) -> None:
    assert answer(manager, typed) == ("then", value)
