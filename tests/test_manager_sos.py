"""The pure manager and `restart_on_open`: "Need a quick chat?" always answers with its first message.

No Telegram, no database, a fixed clock.
"""

from __future__ import annotations

from dialogs.drafts import own_slots
from dialogs.manager import DialogManager
from dialogs.model import Command, Event, Frame, Press, Text, Turn, UserState
from dialogs.spec import load_dialogs
from prompts import default_catalog
from tests.manager_driver import member, run_events

DIALOGS = load_dialogs()
MANAGER = DialogManager(DIALOGS, default_catalog())


def run(state: UserState, *events: Event) -> Turn:
    return run_events(MANAGER, state, *events)


def press(dialog: str, step: str, choice: str) -> Press:
    return Press(DIALOGS[dialog].callback(step, choice))


def test_the_sos_dialog_restarts_when_opened_again() -> None:
    assert DIALOGS["sos"].restart_on_open
    # A scheduled check-in or nudge asks afresh too, never yesterday's half-answered one.
    fresh = {
        "sos",
        "checkin",
        "nudge",
        "pause",
        "change_checkin",
        "change_country",
        "change_language",
        "change_nudges",
        "change_quiet",
        "change_timezone",
        # issue 12: short practices, scheduled reminders and screens of the week
        "change_review",
        "change_windows",
        "compassion",
        "measure",
        "review",
        "step_reminder",
        "truth",
        "window",
        "wins",
    }
    assert not any(
        spec.restart_on_open for sid, spec in DIALOGS.dialogs.items() if sid not in fresh
    )


def test_opening_it_mid_exercise_shows_its_first_message_without_a_second_frame() -> None:
    below = Frame("reframe", "evidence_for", {"thought": "t", "evidence_for": ["a"]})
    state = run(member(below), Command("sos"), press("sos", "main", "ground")).state
    assert state.top == Frame("sos", "ground")
    turn = run(state, Text("Need a quick chat?"))
    assert [r.template for r in turn.replies] == ["sos/main"]
    assert turn.state.stack[1:] == [Frame("sos", "main")]
    # What they were doing is unchanged (the dialog manager only notes when it was covered).
    kept = turn.state.stack[0]
    assert (kept.dialog, kept.step, own_slots(kept.slots)) == (
        below.dialog,
        below.step,
        below.slots,
    )


def test_from_below_a_crisis_it_comes_to_the_top_fresh() -> None:
    state = member(Frame("menu", "main"), Frame("sos", "ground"), Frame("crisis", "safe"))
    turn = run(state, Command("sos"))
    assert [(f.dialog, f.step) for f in turn.state.stack] == [
        ("menu", "main"), ("crisis", "safe"), ("sos", "main"),
    ]  # fmt: skip
    assert [r.template for r in turn.replies] == ["sos/main"]


def test_other_dialogs_still_resume_where_they_were() -> None:
    state = member(Frame("menu", "about"))
    turn = run(state, Command("menu"))
    assert turn.state.stack == state.stack
    assert [r.template for r in turn.replies] == ["menu/about"]
