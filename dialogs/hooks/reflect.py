"""Hooks for the reflection after a planned step (`reflect`), and its "didn't happen" path,
which the step's reminder (`step_reminder`, "Not today") shares.

Which try is reflected on: the plan in the frame's slot `plan` (the scheduler opens the
dialog with {"plan": id}); without that slot, the open plan whose time came most recently,
else the latest open plan, else the ladder's current step with no plan. It is fixed in
the slots (`ladder`, `step`, `plan`) at the first answer. A plan id that is closed or
gone means it was already reflected on or cancelled: nothing is asked.

Saving writes a REFLECTION {"ladder", "step", "happened", "expected", "actual", "easy",
"hard", "adjust", "choice"}, closes the PLAN, notes a WIN for a step that happened (fully
or partly) and updates the ladder: `tries` + 1 for every reflected try, `done` + 1 when it
fully happened, `current` moved by "climb" or to the smaller step. Other slots: `happened`
("yes" | "partly" | "no"), `actual` (0-10), `suggestion` (ladder.suggest), `choice`,
`smaller` (the id of the smaller step offered, or None), `smaller_new` (it was just added).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialogs import coaching, ladder, records
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.hooks.steps import (
    due_plan,
    hand_to_planning,
    item_text,
    label_text,
    open_plans,
    plan_target,
    step_text,
    taken_ids,
    the_ladder,
)
from dialogs.inputs import fold
from dialogs.model import Record, UserState
from dialogs.spec import ChoiceSpec

# The closing step of both dialogs that use these hooks (reflect, step_reminder) when the
# try is gone or they close: a short line, never silence.
GONE = "gone"
HARD = 7  # "how hard was it really" at or above this brings the self-compassion offer
INFO_KEYS = (
    "text", "expected", "actual", "happened", "suggestion", "next_text", "smaller_text",
    "smaller_new", "choice", "compare", "backup",
)  # fmt: skip


@dataclass
class Target:
    """The try being reflected on: its PLAN record (None for the ladder's current step without
    a plan), the LADDER record that owns the step, and the step's dict in that ladder."""

    plan: Record | None
    owner: Record
    step: dict[str, Any]


def _latest_open(state: UserState) -> Record | None:
    plans = open_plans(state)
    return plans[-1] if plans else None


def target(call: HookCall) -> Target | None:
    """The try being reflected on (see the module's docstring), or None: a closed or
    missing plan, or no ladder at all."""
    state, slots = call.state, call.frame.slots
    if "ladder" in slots:  # fixed at the first answer
        owner = records.find(state, coaching.LADDER, slots.get("ladder"))
        step = ladder.find_step(owner.data, slots.get("step")) if owner else None
        plan = records.find(state, coaching.PLAN, slots.get("plan")) if slots.get("plan") else None
        return Target(plan, owner, step) if owner is not None and step is not None else None
    if slots.get("plan") is not None:
        found = plan_target(state, slots["plan"])
        return Target(*found) if found else None
    plan = due_plan(state, call.now) or _latest_open(state)
    found = plan_target(state, plan.id) if plan is not None else None
    if found is not None:
        return Target(*found)
    owner = the_ladder(state)
    step = ladder.find_step(owner.data, owner.data.get("current")) if owner else None
    return Target(None, owner, step) if owner is not None and step is not None else None


def _status(call: HookCall) -> str:
    if target(call) is not None:
        return "ok"
    slots = call.frame.slots
    return "gone" if slots.get("plan") is not None or "ladder" in slots else "none"


def compare(expected: Any, actual: Any) -> str | None:
    """How the real rating compares with the prediction, both 0-10: "easier" | "same" |
    "harder", or None when either is missing. Every line said after the real rating
    follows this one word, so no two of them can disagree."""
    if not isinstance(expected, int) or not isinstance(actual, int):
        return None
    return "easier" if actual < expected else "same" if actual == expected else "harder"


@enter("reflect_info")
def info(call: HookCall) -> dict[str, Any]:
    """{"status": "ok" | "gone" | "none", "text", "expected", "actual", "happened",
    "suggestion", "next_text" (the step above, or None at the top), "smaller_text",
    "smaller_new" (True: the smaller step is a new one, just added), "choice", "compare"
    (see `compare`), "backup" (the plan's backup option in words, or None)}."""
    found = target(call)
    slots = call.frame.slots
    if found is None:  # every key still there: a step shown after its try went away renders
        return dict.fromkeys(INFO_KEYS) | {"status": _status(call)}
    above = ladder.next_step(found.owner.data, found.step["id"])
    smaller = ladder.find_step(found.owner.data, slots.get("smaller"))
    expected = found.step.get("expected")
    backup = found.plan.data.get("backup") if found.plan is not None else None
    return {
        "status": "ok",
        "text": step_text(call.state, found.step),
        "expected": expected,
        "actual": slots.get("actual"),
        "happened": slots.get("happened"),
        "suggestion": slots.get("suggestion"),
        "next_text": step_text(call.state, above) if above else None,
        "smaller_text": step_text(call.state, smaller) if smaller else None,
        "smaller_new": bool(slots.get("smaller_new")),
        "choice": slots.get("choice"),
        "compare": compare(expected, slots.get("actual")),
        "backup": item_text(call.state, backup),
    }


@choices("reflect_happened_choices")
def happened_choices(call: HookCall) -> list[ChoiceSpec]:
    """ "Did it happen?": yes, partly, no (each also tapped by its own words typed, the labels
    `reflect.happened.words_*`) and later. With the try gone, one "Okay" to `gone`; with no
    ladder at all, build one (/steps) or close."""
    status = _status(call)
    if status == "gone":
        return [ChoiceSpec(id="ok", label="reflect.happened.ok", next=GONE)]
    if status == "none":
        return [
            ChoiceSpec(id="build", label="reflect.happened.build", next="dialog:steps"),
            ChoiceSpec(id="close", label="reflect.happened.close", next=GONE),
        ]

    # Typed answers in their own words ("yes I did it!", "no, I stayed in bed"): each
    # button's words (labels "reflect.happened.words_*"), naming one button only.
    def words(key: str) -> tuple[str, ...]:
        return tuple(fold(label_text(call.state, f"reflect.happened.words_{key}")).split())

    return [
        ChoiceSpec(id="yes", label="reflect.happened.yes", value="yes", means="yes",
                   hook="reflect_begin", next="actual", words=words("yes")),
        ChoiceSpec(id="partly", label="reflect.happened.partly", value="partly",
                   hook="reflect_begin", next="actual", words=words("partly")),
        ChoiceSpec(id="no", label="reflect.happened.no", value="no", means="no",
                   hook="reflect_not_happened", next="smaller", words=words("no")),
        ChoiceSpec(id="later", label="reflect.happened.later", next="later"),
    ]  # fmt: skip


def _fix(call: HookCall) -> Target | None:
    """Fix the try in the slots, so later turns reflect on the same one."""
    found = target(call)
    if found is not None:
        call.frame.slots.update(
            {
                "ladder": found.owner.id,
                "step": found.step["id"],
                "plan": found.plan.id if found.plan else None,
            }
        )
    return found


@action("reflect_begin")
def begin(call: HookCall) -> str | None:
    """ "Yes" or "partly" (the value): kept in the slot `happened`, and the try fixed in the slots
    (`ladder`, `step`, `plan`). Returns "gone" when the try went away meanwhile, else None."""
    call.frame.slots["happened"] = call.value
    return None if _fix(call) is not None else GONE


@action("reflect_suggest")
def suggest(call: HookCall) -> None:
    """After the last question: the ladder's suggestion (ladder.suggest: "climb" | "repeat" |
    "stay", from the predicted and the real rating, both on the person's own 0-10 scale, and
    whether it only partly happened) goes to the slot `suggestion`."""
    slots = call.frame.slots
    found = target(call)
    expected = found.step.get("expected") if found else None
    actual = slots.get("actual")
    slots["suggestion"] = ladder.suggest(
        expected,
        actual if isinstance(actual, int) else None,
        True,
        slots.get("happened") == "partly",
    )


@choices("reflect_suggest_choices")
def suggest_choices(call: HookCall) -> list[ChoiceSpec]:
    """Climb (when there is a step above), repeat, stay; the suggested one is marked."""
    found = target(call)
    if found is None:
        return [ChoiceSpec(id="ok", label="reflect.happened.ok", next=GONE)]
    tip = call.frame.slots.get("suggestion")
    above = ladder.next_step(found.owner.data, found.step["id"])
    options: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    if above is not None:
        options.append(("climb", (("text", step_text(call.state, above)),)))
    options += [("repeat", ()), ("stay", ())]
    return [
        ChoiceSpec(
            id=name,
            label=f"reflect.suggest.{name}",
            value=name,
            ctx=(*ctx, ("tip", tip == name)),
            hook="reflect_save",  # then the step's `next`: hard_offer or saved
        )
        for name, ctx in options
    ]


def _note(
    call: HookCall,
    found: Target,
    happened: bool,
    actual: int | None,
    choice: Any,
    words: dict[str, Any],
) -> None:
    """A REFLECTION record (dialogs/coaching.py) for the step `found` names; `words` holds
    their "easy", "hard" and "adjust" answers (None or missing: skipped)."""
    records.add(
        call.state,
        coaching.REFLECTION,
        {
            "ladder": found.owner.id,
            "step": found.step["id"],
            "happened": happened,
            "expected": found.step.get("expected"),
            "actual": actual,
            "easy": words.get("easy"),
            "hard": words.get("hard"),
            "adjust": words.get("adjust"),
            "choice": choice,
        },
        call.now,
    )


def _close(plan: Record | None) -> None:
    if plan is not None:
        plan.data = {**plan.data, "closed": True}


@action("reflect_save")
def save(call: HookCall) -> str | None:
    """Save the reflection, close the plan, note the win, move on the ladder.

    Reads the slots `happened`, `actual` (0-10), `easy`, `hard`, `adjust` and the tapped
    `climb` | `repeat` | `stay` (the value); writes a REFLECTION, closes the PLAN, adds a
    WIN and updates the LADDER. Returns "gone" when the try went away (nothing saved),
    else None: the dialog file then offers a hard one the self-compassion break."""
    state, slots = call.state, call.frame.slots
    found = target(call)
    if found is None:
        return GONE
    happened = slots.get("happened")
    actual = slots.get("actual") if isinstance(slots.get("actual"), int) else None
    step_id = found.step["id"]
    _note(call, found, happened=True, actual=actual, choice=call.value, words=slots)
    _close(found.plan)
    win = "reflect.win.partly" if happened == "partly" else "reflect.win.done"
    coaching.add_win(state, label_text(state, win, step=step_text(state, found.step)), "reflection",
                     call.now)  # fmt: skip
    data = ladder.record_try(found.owner.data, step_id, happened == "yes")
    if call.value == "climb":
        data = _climbed(data, step_id)
    found.owner.data = data
    return None


def _climbed(data: dict[str, Any], step_id: Any) -> dict[str, Any]:
    """The ladder after "climb" from `step_id`: current moves to the step above it, never
    down (a lower step practised again leaves a higher current where it is)."""
    steps = [s.get("id") for s in data.get("steps") or []]
    moved = ladder.climb(data, step_id)
    now_at, was_at = moved.get("current"), data.get("current")
    if was_at in steps and now_at in steps and steps.index(now_at) < steps.index(was_at):
        return data
    return moved


@enter("reflect_saved_info")
def saved_info(call: HookCall) -> dict[str, Any]:
    """For the saved screen: `current_text` (the ladder's current step now, or None) and `heavy`
    (the real rating, 0-10, was HARD (7) or more: "it asked a lot of you")."""
    found = target(call)
    if found is None:
        return {"current_text": None, "heavy": False}
    current = ladder.find_step(found.owner.data, found.owner.data.get("current"))
    actual = call.frame.slots.get("actual")
    return {
        "current_text": step_text(call.state, current) if current else None,
        "heavy": isinstance(actual, int) and actual >= HARD,  # "it asked a lot of you"
    }


# --- it didn't happen (reflect and step_reminder) -------------------------------------------


@action("reflect_not_happened")
def not_happened(call: HookCall) -> str | None:
    """No blame: the try is noted as not happened, the plan closed, and a smaller step made
    current: a new idea added just below it, else the step already below it (`smaller`
    slot: its id, None if none exists; `smaller_new`: it was just added)."""
    state, slots = call.state, call.frame.slots
    found = _fix(call)
    if found is None:
        return GONE
    slots["happened"] = "no"
    step_id = found.step["id"]
    _note(call, found, happened=False, actual=None, choice="smaller", words={})
    _close(found.plan)
    data = ladder.record_try(found.owner.data, step_id, False)
    easier = ladder.smaller(data, step_id, taken=taken_ids(state, found.owner))
    # A new idea from the library is added now; an existing lower step is only pointed at.
    new = easier is not None and ladder.find_step(data, easier["id"]) is None
    if easier is not None:
        data = ladder.insert_below(data, step_id, easier)
    found.owner.data = data
    slots["smaller"] = easier["id"] if easier else None
    slots["smaller_new"] = new
    return None


@action("reflect_plan_smaller")
def plan_smaller(call: HookCall) -> None:
    """[Plan the smaller step] (or this one again, when there is none): /steps opens at
    planning it. Only for the person's present ladder; an older one goes to the overview."""
    found = target(call)
    if found is None or found.owner is not the_ladder(call.state):
        return
    step_id = call.frame.slots.get("smaller") or found.step["id"]
    hand_to_planning(call.state, step_id, "smaller", call.now)


@choices("reflect_smaller_choices")
def smaller_choices(call: HookCall) -> list[ChoiceSpec]:
    """[Plan the smaller step] (or [Plan it again] when none was found) and [Not now]."""
    if target(call) is None:
        return [ChoiceSpec(id="ok", label="reflect.happened.ok", next=GONE)]
    plan = "plan" if call.frame.slots.get("smaller") is not None else "again"
    return [
        ChoiceSpec(id=plan, label=f"reflect.smaller.{plan}", hook="reflect_plan_smaller",
                   next="dialog:steps"),
        ChoiceSpec(id="later", label="reflect.smaller.later", next="rest"),
    ]  # fmt: skip
