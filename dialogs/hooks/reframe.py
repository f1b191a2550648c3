"""Hooks for the evidence table (/reframe): gentle questions, saving an entry, three thanks.

An entry is saved as a "thought" record when the belief is re-rated; from then on the
frame's slots are emptied, so leaving during the optional thanks keeps no draft of an
entry that is already safe. Each thanks line is saved as it arrives, in a "gratitude"
record tied to the entry it closes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialogs import drafts, places, records
from dialogs.hooks import HookCall, action, enter
from dialogs.model import Record, UserState

THOUGHT = "thought"
GRATITUDE = "gratitude"
QUESTIONS = 3  # gentle questions on the "against" step, in prompts/en/reframe/_questions.j2
MAX_THANKS = 3
ENTRY_FIELDS = ("thought", "belief_before", "feeling", "evidence_for", "evidence_against",
                "balanced", "belief_after")  # fmt: skip


def local_date(state: UserState, moment: datetime) -> str:
    """The person's calendar date for this moment (ISO), in their own time zone."""
    zone = state.profile.timezone
    if zone and places.is_valid_zone(zone):
        moment = moment.astimezone(ZoneInfo(zone))
    return moment.date().isoformat()


def entry_view(state: UserState, record: Record | None) -> dict[str, Any] | None:
    """What the table template shows for one saved entry, with the thanks that closed it."""
    if record is None:
        return None
    thanks = thanks_for(state, record)
    return {
        **{name: record.data.get(name) for name in ENTRY_FIELDS},
        "evidence_for": list(record.data.get("evidence_for") or []),
        "evidence_against": list(record.data.get("evidence_against") or []),
        "date": record.data.get("date", ""),
        "thanks": list(thanks.data.get("lines") or []) if thanks else [],
    }


def thanks_for(state: UserState, entry: Record) -> Record | None:
    """The GRATITUDE record that closed this entry (the newest one naming its id), or None; an
    entry not saved yet has no id and so no thanks."""
    # Only a saved entry has an id to tie thanks to; an unsaved one has none yet.
    if entry.id is None:
        return None
    found = state.records.get(GRATITUDE, [])
    return next((g for g in reversed(found) if g.data.get("entry") == entry.id), None)


# --- while writing ------------------------------------------------------------------------


@enter("reframe_draft")
def reframe_draft(call: HookCall) -> dict[str, Any]:
    """For the "carry on?" question: `draft_thought` (the thought of the set-aside entry, or
    None) and `draft_date` (the local ISO date it was set aside)."""
    draft = drafts.find(call.state, call.frame.dialog)
    slots = (draft.data.get("slots") or {}) if draft else {}
    saved = draft.created_at if draft and draft.created_at else call.now
    return {"draft_thought": slots.get("thought"), "draft_date": local_date(call.state, saved)}


@enter("against_question")
def against_question(call: HookCall) -> dict[str, Any]:
    """One gentle question at a time, a new one with each line they add (or ask for)."""
    slots = call.frame.slots
    lines = len(slots.get("evidence_against") or [])
    asked = int(slots.get("question") or 0)
    return {
        "question": (lines + asked) % QUESTIONS,
        "lines": lines,
        "first": lines == 0 and asked == 0,
        "just_asked": asked > 0 and slots.get("asked_at") == lines,
        "no_evidence_for": not slots.get("evidence_for"),
    }


@action("next_question")
def next_question(call: HookCall) -> None:
    """ "Another angle": the next gentle question (slot `question`, counting up; the template
    takes it modulo QUESTIONS, 3), noted at the current number of lines (slot `asked_at`)."""
    slots = call.frame.slots
    slots["question"] = int(slots.get("question") or 0) + 1
    slots["asked_at"] = len(slots.get("evidence_against") or [])  # "another angle", not "noted"


@action("save_entry")
def save_entry(call: HookCall) -> None:
    """Save the entry as a THOUGHT record: the ENTRY_FIELDS from the slots (beliefs 0-100 before
    and after, evidence as lists of lines) and `date` (their local ISO date); then the slots
    are emptied, so no draft keeps an entry that is already safe."""
    slots = call.frame.slots
    data: dict[str, Any] = {name: slots.get(name) for name in ENTRY_FIELDS}
    data["evidence_for"] = list(slots.get("evidence_for") or [])
    data["evidence_against"] = list(slots.get("evidence_against") or [])
    data["date"] = local_date(call.state, call.now)
    records.add(call.state, THOUGHT, data, call.now)
    call.frame.slots = {}  # saved: nothing left that a draft would need to keep


@enter("saved_entry")
def saved_entry(call: HookCall) -> dict[str, Any]:
    """`entry`: the newest saved entry as `entry_view` (its table), or None."""
    return {"entry": entry_view(call.state, records.latest(call.state, THOUGHT))}


# --- three small thanks -------------------------------------------------------------------


def _current_thanks(state: UserState) -> Record | None:
    entry = records.latest(state, THOUGHT)
    return thanks_for(state, entry) if entry else None


@enter("thanks_so_far")
def thanks_so_far(call: HookCall) -> dict[str, Any]:
    """`thanks`: the lines of thanks already kept for the latest entry, and `left`: how many more
    fit (MAX_THANKS, 3, minus those)."""
    thanks = _current_thanks(call.state)
    lines = list(thanks.data.get("lines") or []) if thanks else []
    return {"thanks": lines, "left": MAX_THANKS - len(lines)}


@action("add_thanks")
def add_thanks(call: HookCall) -> None:
    """One line of thanks (the value, up to the step's 150 characters) added at once to the
    GRATITUDE record {"lines", "date", "entry": the THOUGHT id} of the latest entry, made on
    the first line. The "I'm done" button (value None) adds nothing. The slot is emptied:
    the line lives in the record. After the third line the file moves on by itself."""
    call.frame.slots.pop("thanks_line", None)
    if call.value is None:  # the "I'm done" button, not a line
        return
    thanks = _current_thanks(call.state)
    if thanks is None:
        entry = records.latest(call.state, THOUGHT)
        data: dict[str, Any] = {"lines": [], "date": local_date(call.state, call.now),
                "entry": entry.id if entry else None}  # fmt: skip
        thanks = records.add(call.state, GRATITUDE, data, call.now)
    thanks.data["lines"] = [*thanks.data.get("lines", []), str(call.value)]
