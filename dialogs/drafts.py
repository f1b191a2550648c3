"""Unfinished runs of a dialog, kept as a "draft" record so they can be continued."""

from __future__ import annotations

import copy
from datetime import datetime

from dialogs import records
from dialogs.model import Frame, Record, UserState

KIND = "draft"


def find(state: UserState, dialog: str) -> Record | None:
    return next((r for r in state.records.get(KIND, []) if r.data.get("dialog") == dialog), None)


def save(state: UserState, frame: Frame, now: datetime) -> None:
    """Keep where they were and what they had said; one draft per dialog."""
    old = find(state, frame.dialog)
    if old is not None:
        records.remove(state, KIND, old)
    data = {"dialog": frame.dialog, "step": frame.step, "slots": copy.deepcopy(frame.slots),
            "saved_at": now.isoformat()}  # fmt: skip
    records.add(state, KIND, data, now)


def take(state: UserState, dialog: str) -> Record | None:
    """Remove and return the draft (to continue it or throw it away)."""
    draft = find(state, dialog)
    if draft is not None:
        records.remove(state, KIND, draft)
    return draft
