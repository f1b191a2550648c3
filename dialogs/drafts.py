"""Unfinished runs of a dialog, and when an interrupted dialog comes back.

A run the person walked away from is kept as a "draft" record (where its dialog has a
`draft_step`), so opening that dialog again offers it back once: continue or start afresh.

The stack rules (issue 11): a dialog covered by another one carries a mark in its frame's
slots under `PAUSED`, saying how it was covered and when. It is brought back when the
dialog on top closes only if a shortcut covered it (a command, help, "Need a quick chat?",
the crisis reply, a listening reply) less than `RETURN_WINDOW` ago. A dialog the scheduler
opened (a check-in, a nudge), or one chosen from the menu, covers it for good: it is set
aside. Slot keys starting with "_" are such bookkeeping: never kept in a draft.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from dialogs import records
from dialogs.model import Frame, Record, UserState

KIND = "draft"

PAUSED = "_paused"  # slot of a covered frame: {"by": Via, "at": ISO time (UTC)}
Via = Literal["shortcut", "due", "flow"]
SHORTCUT: Via = "shortcut"  # a command, a keyboard button, help, crisis, a listening reply
DUE: Via = "due"  # opened by the scheduler: a check-in, a nudge, a crisis follow-up
FLOW: Via = "flow"  # chosen inside another dialog (`dialog:<id>`), e.g. from the menu
# Long enough for a look at help, a quick chat, a breath or a glance at a list; after
# twenty minutes the question is no longer on their mind, and asking it again unasked
# reads as nagging. The unfinished run waits as a draft instead.
RETURN_WINDOW = timedelta(minutes=20)


def find(state: UserState, dialog: str) -> Record | None:
    """The person's draft of `dialog` (at most one), or None. Its data: {"dialog", "step",
    "slots" (answers, no "_" keys), "saved_at" (ISO 8601, as `now` was given to save)}."""
    return next((r for r in state.records.get(KIND, []) if r.data.get("dialog") == dialog), None)


def own_slots(slots: dict[str, Any]) -> dict[str, Any]:
    """The answers in a frame's slots, without the dialog manager's "_" bookkeeping."""
    return {k: v for k, v in slots.items() if not k.startswith("_")}


def save(state: UserState, frame: Frame, now: datetime) -> None:
    """Keep where they were and what they had said; one draft per dialog."""
    old = find(state, frame.dialog)
    if old is not None:
        records.remove(state, KIND, old)
    data = {
        "dialog": frame.dialog,
        "step": frame.step,
        "slots": copy.deepcopy(own_slots(frame.slots)),
        "saved_at": now.isoformat(),
    }
    records.add(state, KIND, data, now)


def take(state: UserState, dialog: str) -> Record | None:
    """Remove and return the draft (to continue it or throw it away)."""
    draft = find(state, dialog)
    if draft is not None:
        records.remove(state, KIND, draft)
    return draft


def mark_paused(frame: Frame, via: Via, now: datetime) -> None:
    """Note on `frame` that another dialog now covers it, how (`via`) and when (UTC).

    A frame already covered keeps the time it was first covered (the mark goes when it comes
    back), and once covered for good (`DUE`, `FLOW`) it stays so: a shortcut opened on top
    of that does not make it come back.
    """
    old = frame.slots.get(PAUSED)
    if isinstance(old, dict) and isinstance(old.get("at"), str):
        by = via if via != SHORTCUT else old.get("by", via)
        frame.slots[PAUSED] = {"by": by, "at": old["at"]}
        return
    frame.slots[PAUSED] = {"by": via, "at": now.isoformat()}


def comes_back(mark: Any, left: str, safety: tuple[str, ...], now: datetime) -> bool:
    """Whether a covered frame with `mark` (its PAUSED slot, or None) is brought back now
    that dialog `left` on top of it closed.

    No mark is an older stored row, or a help button from an old message that brought its
    dialog up just now: help (a dialog in `safety`) returns, anything else does not.
    A mark that cannot be read counts as no way back.
    """
    if mark is None:
        return left in safety
    try:
        by, at = mark["by"], datetime.fromisoformat(str(mark["at"]))
    except (KeyError, TypeError, ValueError):
        return False
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return by == SHORTCUT and now - at <= RETURN_WINDOW  # a clock a little behind: just now
