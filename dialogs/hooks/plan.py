"""Hooks for the safety plan (/plan), in the Stanley–Brown order.

The plan is one "safety_plan" record: {section id: [their lines]} for every section
but "people", which is the reach-out list itself. A first visit walks through the
sections in order ("guided"); later visits show an overview with a button per part,
and a part opened from there ("edit") returns to it. Each section step collects
lines in the frame under its own id and writes them to the record when the person
taps the save button, so a half-written part can be dropped without harm.
"""

from __future__ import annotations

from typing import Any

from dialogs import drafts, records
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.hooks.contacts import contact_list
from dialogs.model import Record, UserState
from dialogs.spec import ChoiceSpec

KIND = "safety_plan"
SECTIONS = ("warning_signs", "coping", "distractions", "people", "professionals",
            "safe_space", "reasons")  # fmt: skip
PEOPLE = "people"  # kept by the reach-out list, not in the plan record
WRITTEN = tuple(s for s in SECTIONS if s != PEOPLE)
MODE = "mode"  # slot: "guided" (first walk-through) or "edit" (one part from the overview)
SECTION = "section"  # slot: the part whose lines are being removed
SAVE = "save"  # value of the button that keeps a part's lines
SAVED = "saved"  # slot: the part just saved, for the "saved" line


def plan_record(state: UserState) -> Record | None:
    """Their SAFETY_PLAN record (the latest), or None before the first visit saved anything."""
    return records.latest(state, KIND)


def sections(state: UserState) -> dict[str, list[str]]:
    """Their written parts, in plan order; parts never written are empty lists."""
    record = plan_record(state)
    data = record.data if record else {}
    return {s: [str(line) for line in data.get(s) or []] for s in WRITTEN}


def _editing(call: HookCall) -> bool:
    return call.frame.slots.get(MODE) == "edit"


# --- the overview ---------------------------------------------------------------------


@action("plan_fresh")
def plan_fresh(call: HookCall) -> None:
    """Opening the plan starts from empty slots (no mode, no lines half-written). Whether a
    first visit gets the intro is the dialog file's (`count('safety_plan') == 0`)."""
    call.frame.slots = {}


@enter("plan_overview")
def plan_overview(call: HookCall) -> dict[str, Any]:
    """The plan for the overview and the finished screen: the reach-out list (`contact_list`),
    `plan` ({section: [lines]}), `order` (SECTIONS, the Stanley–Brown order), `has_plan` and
    `filled` (how many written parts have a line)."""
    parts = sections(call.state)
    return contact_list(call) | {
        "plan": parts,
        "order": SECTIONS,
        "has_plan": plan_record(call.state) is not None,
        "filled": sum(1 for lines in parts.values() if lines),
    }


@choices("plan_section_choices")
def plan_section_choices(call: HookCall) -> list[ChoiceSpec]:
    """One button per part; a ✓ marks the parts that have something in them."""
    parts = sections(call.state)
    has_people = bool(contact_list(call)["people"])
    return [
        ChoiceSpec(
            id=section,
            label=f"plan.part.{section}",
            value=section,
            next=section,
            hook="plan_edit_section",
            ctx=(("filled", has_people if section == PEOPLE else bool(parts[section])),),
        )
        for section in SECTIONS
    ]


@action("plan_begin")
def plan_begin(call: HookCall) -> None:
    """ "Let's begin": the walk-through starts, slots {"mode": "guided"}."""
    call.frame.slots = {MODE: "guided"}


@action("plan_edit_section")
def plan_edit_section(call: HookCall) -> None:
    """One part opened from the overview (the value: its section id): slots {"mode": "edit"}, with
    that part's saved lines copied into the slot of its name to be changed."""
    section = str(call.value)
    call.frame.slots = {MODE: "edit"}
    if section in WRITTEN:
        call.frame.slots[section] = list(sections(call.state)[section])


# --- one part -------------------------------------------------------------------------


def _last(call: HookCall) -> bool:
    """The final part of the walk-through: its button saves rather than moves on."""
    return call.frame.step == SECTIONS[-1]


@enter("plan_section")
def plan_section(call: HookCall) -> dict[str, Any]:
    """One part's screen: `lines` (so far), `editing`, `guided`, `number` (1-7) and `total` (7),
    and `last` (the final part of the walk-through)."""
    lines = list(call.frame.slots.get(call.frame.step) or [])
    return {"lines": lines, "editing": _editing(call), "guided": not _editing(call),
            "number": SECTIONS.index(call.frame.step) + 1, "total": len(SECTIONS),
            "last": _last(call)}  # fmt: skip


@choices("plan_section_buttons")
def plan_section_buttons(call: HookCall) -> list[ChoiceSpec]:
    """The part's buttons: save (when editing, or the last part with lines), next or skip (on the
    walk-through, with or without lines), and "take a line out" while it has lines."""
    step = call.frame.step
    lines = call.frame.slots.get(step) or []
    if _editing(call) or (lines and _last(call)):
        save = "plan.section.save"
    else:
        save = "plan.section.next" if lines else "plan.section.skip"
    buttons = [ChoiceSpec(id="save", label=save, value=SAVE)]
    if lines:
        buttons.append(ChoiceSpec(id="remove", label="plan.section.remove", value=None,
                                  hook="plan_pick_removal", next="remove_line"))  # fmt: skip
    return buttons


@action("plan_keep_section")
def plan_keep_section(call: HookCall) -> str | None:
    """Write the part's lines (the slot of the step's name, up to five of 100 characters) to the
    plan record, made on the first save; the slot is emptied.

    Runs on the save button (value SAVE) and on the last line that fits; another button
    (value None) does nothing. Returns "overview" when the part was opened from there (its name
    goes to the slot `saved`, so the overview's question says it was saved), else None: the
    walk-through goes on. The branch stays here, beside the write it depends on."""
    if call.value is None:  # another button: its own hook and next do the work
        return None
    section = call.frame.step
    lines = [str(line) for line in call.frame.slots.pop(section, None) or []]
    record = plan_record(call.state)
    if record is None:
        records.add(call.state, KIND, {section: lines}, call.now)
    else:
        record.data = {**record.data, section: lines}
    if not _editing(call):
        return None
    call.frame.slots[SAVED] = section
    return "overview"


@enter("plan_saved_part")
def plan_saved_part(call: HookCall) -> dict[str, Any]:
    """The part just saved (the slot `saved`, taken out, so only the overview shown straight after
    the save says it): `section` (or None) and its `lines`."""
    section = str(call.frame.slots.pop(SAVED, "") or "")
    return {"section": section if section in WRITTEN else None,
            "lines": sections(call.state).get(section, [])}  # fmt: skip


@choices("plan_people_buttons")
def plan_people_buttons(call: HookCall) -> list[ChoiceSpec]:
    """The reach-out list is kept by /contacts: go on, or go and change it there."""
    has_people = bool(contact_list(call)["people"])
    onward = "plan.people.back" if _editing(call) else "plan.people.next"
    change = "plan.people.change" if has_people else "plan.people.add"
    return [
        ChoiceSpec(id="save", label=onward, value=SAVE, hook="plan_keep_record"),
        ChoiceSpec(
            id="contacts", label=change, value=None, next="dialog:contacts", hook="plan_keep_record"
        ),
    ]


@action("plan_keep_record")
def plan_keep_record(call: HookCall) -> None:
    """Make sure a plan record exists, so /plan finds the plan so far: on leaving the people
    part, onwards or for the reach-out list mid-way. Writes an empty SAFETY_PLAN record
    ({}) when there is none; returns nothing (the file's conditions say where to go)."""
    _ensure_record(call)


def _ensure_record(call: HookCall) -> None:
    if plan_record(call.state) is None:
        records.add(call.state, KIND, {}, call.now)


# --- removing a line ------------------------------------------------------------------


@action("plan_pick_removal")
def plan_pick_removal(call: HookCall) -> None:
    """ "Take a line out": the part it was tapped on goes to the slot `section`."""
    call.frame.slots[SECTION] = call.frame.step


@enter("plan_removal")
def plan_removal(call: HookCall) -> dict[str, Any]:
    """`section` and its `lines` (as written so far, not yet saved), for choosing one to remove."""
    section = str(call.frame.slots.get(SECTION) or "")
    return {"section": section, "lines": list(call.frame.slots.get(section) or [])}


@choices("plan_line_choices")
def plan_line_choices(call: HookCall) -> list[ChoiceSpec]:
    """One button per line of that part (shortened to 40 characters), valued by its index."""
    section = str(call.frame.slots.get(SECTION) or "")
    lines = call.frame.slots.get(section) or []
    return [
        ChoiceSpec(
            id=f"l{i}",
            label="plan.remove_line.line",
            value=i,
            ctx=(("line", _short(str(line), 40)),),
        )
        for i, line in enumerate(lines)
    ]


@action("plan_drop_line")
def plan_drop_line(call: HookCall) -> str | None:
    """Take the line at the value's index out of that part's lines in the slots (kept only once
    the part is saved). Returns the part's step id, to show it again ("overview" for a frame
    from an older script without a part): a target computed from the slots."""
    section = str(call.frame.slots.pop(SECTION, "") or "")
    if section not in WRITTEN:  # a frame from an older script
        return "overview"
    lines = call.frame.slots.get(section) or []
    if isinstance(call.value, int) and 0 <= call.value < len(lines):
        lines.pop(call.value)
    return section


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- a draft left half-way ------------------------------------------------------------


@enter("plan_draft")
def plan_draft(call: HookCall) -> dict[str, Any]:
    """`draft_section`: the part a set-aside run was left at (a SECTIONS id), or None."""
    draft = drafts.find(call.state, call.frame.dialog)
    step = str(draft.data.get("step") or "") if draft else ""
    return {"draft_section": step if step in SECTIONS else None}
