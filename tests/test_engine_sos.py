"""The pure engine and `restart_on_open`: "Need a quick chat?" always answers with its first message.

No Telegram, no database, a fixed clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.engine import Engine
from dialogs.model import Command, Event, Frame, Press, Profile, Text, Turn, UserState
from dialogs.spec import load_dialogs
from prompts import default_catalog

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DIALOGS = load_dialogs()
ENGINE = Engine(DIALOGS, default_catalog())


def member(*frames: Frame) -> UserState:
    state = UserState(profile=Profile(consented=True, onboarded=True, timezone="UTC"))
    state.stack = list(frames)
    return state


def run(state: UserState, *events: Event) -> Turn:
    turn = Turn(state)
    for event in events:
        turn = ENGINE.step(turn.state, event, NOW)
    return turn


def press(dialog: str, step: str, choice: str) -> Press:
    return Press(DIALOGS[dialog].callback(step, choice))


def test_the_sos_dialog_restarts_when_opened_again() -> None:
    assert DIALOGS["sos"].restart_on_open
    assert not any(spec.restart_on_open for sid, spec in DIALOGS.dialogs.items() if sid != "sos")


def test_opening_it_mid_exercise_shows_its_first_message_without_a_second_frame() -> None:
    below = Frame("reframe", "evidence_for", {"thought": "t", "evidence_for": ["a"]})
    state = run(member(below), Command("sos"), press("sos", "main", "ground")).state
    assert state.top == Frame("sos", "ground")
    turn = run(state, Text("Need a quick chat?"))
    assert [r.template for r in turn.replies] == ["sos/main"]
    assert turn.state.stack == [below, Frame("sos", "main")]


def test_from_below_a_crisis_it_comes_to_the_top_fresh() -> None:
    state = member(Frame("menu", "main"), Frame("sos", "ground"), Frame("crisis", "safe"))
    turn = run(state, Command("sos"))
    assert [(f.dialog, f.step) for f in turn.state.stack] == [
        ("menu", "main"), ("crisis", "safe"), ("sos", "main"),
    ]  # fmt: skip
    assert [r.template for r in turn.replies] == ["sos/main"]


def test_other_dialogs_still_resume_where_they_were() -> None:
    state = member(Frame("menu", "settings"))
    turn = run(state, Command("menu"))
    assert turn.state.stack == state.stack
    assert [r.template for r in turn.replies] == ["menu/settings"]
