"""Hooks for a nudge: a follow-up on the small step from their latest needs map, or,
with no step to ask about, one micro-connection idea (rotated like the check-in's).

Answers to a follow-up are kept as "step_follow_up" records {at, step, answer}.
"""

from __future__ import annotations

from typing import Any

from dialogs import records
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.hooks.checkin import IDEA, NEEDS_MAP, pick_idea
from dialogs.spec import ChoiceSpec

FOLLOW_UP = "step_follow_up"
ANSWERS = ("easy", "okay", "hard", "not_yet")


def _step(call: HookCall) -> dict[str, str] | None:
    latest = records.latest(call.state, NEEDS_MAP)
    step = latest.data.get("first_step") if latest else None
    if isinstance(step, dict) and (step.get("idea") or step.get("own")):
        return {k: str(v) for k, v in step.items() if k in ("idea", "own") and v}
    return None


@enter("nudge_info")
def nudge_info(call: HookCall) -> dict[str, Any]:
    """The step to ask about, or today's idea.

    The idea is picked once per nudge and kept in the slots: this runs again whenever
    the message is shown again, and must not pick (or log) a second one.
    """
    step = _step(call)
    if step is None and IDEA not in call.frame.slots:
        call.frame.slots[IDEA] = pick_idea(call.state, call.now)
    return {"step": step, "idea": call.frame.slots.get(IDEA)}


@choices("nudge_choices")
def nudge_choices(call: HookCall) -> list[ChoiceSpec]:
    """With a small step to ask about: one button per answer (easy, okay, hard, not yet), each
    saving it (`nudge_save_answer`) and going to the step of that name. Without one: "I'll
    try" and "Not today" for the idea."""
    if _step(call) is None:
        return [
            ChoiceSpec(id="try", label="nudge.open.try", next="will_try"),
            ChoiceSpec(id="later", label="nudge.open.later", next="not_today"),
        ]
    return [
        ChoiceSpec(id=a, label=f"nudge.open.{a}", value=a, hook="nudge_save_answer", next=a)
        for a in ANSWERS
    ]


@action("nudge_save_answer")
def save_answer(call: HookCall) -> None:
    """Keep the answer (the value: one of ANSWERS) as a STEP_FOLLOW_UP record {at: ISO UTC, step:
    the map's first step or None, answer}; the weekly review counts easy, okay and hard."""
    data = {"at": call.now.isoformat(), "step": _step(call), "answer": str(call.value)}
    records.add(call.state, FOLLOW_UP, data, call.now)
