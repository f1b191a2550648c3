"""Small helpers for pure manager tests: a member's state, a run of events, what was said."""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.manager import DialogManager
from dialogs.model import Event, Frame, Profile, Turn, UserState

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def member(*frames: Frame) -> UserState:
    """Someone who finished onboarding, with these dialogs open (oldest first)."""
    state = UserState(profile=Profile(consented=True, onboarded=True, timezone="UTC"))
    state.stack = list(frames)
    return state


def run_events(
    manager: DialogManager, state: UserState, *events: Event, now: datetime = NOW
) -> Turn:
    """Feed the events one by one; the last turn is returned."""
    turn = Turn(state)
    for event in events:
        turn = manager.step(turn.state, event, now)
    return turn


def templates(turn: Turn) -> list[str]:
    return [r.template for r in turn.replies]
