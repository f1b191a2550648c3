"""Hooks for the ladder (/steps): building and editing it, rating, planning a step with a
backup option, the social portfolio, and the planned step's reminder (`step_reminder`).

Records (shapes in dialogs/coaching.py): the latest LADDER is the person's ladder; a PLAN
per planned try, {"ladder", "step", "at", "ask_at" (at + 3 h), "reminded", "asked",
"closed", "backup" (optional: a portfolio item)}; one PORTFOLIO record, seeded from the
library (dialogs/ladder.py) the first time it is changed or used.

Slots of the `steps` dialog: `draft` (the steps being built or edited, LADDER step
dicts), `editing` (True when the draft is the existing ladder), `need`, `goal`, `pick`
(a step id picked from a numbered list), `new_text`, `rating`, `plan_step` (the step being
planned), `day` (its local date, ISO), `time` ("HH:MM"), `past` (a time found already
past), `energy` and `add_energy` (low | some | plenty), `handoff`
("smaller" | "replan", when another dialog sent them here to plan; see `hand_to_planning`).

Step words: a step's own `text`, else its idea's label "steps.idea.<id>" in the person's
locale (read from the prompt catalog: deterministic, so hooks stay pure).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialogs import coaching, drafts, ladder, places, records, reminders
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.inputs import fold
from dialogs.model import Frame, Record, UserState
from dialogs.spec import ChoiceSpec

DIALOG = "steps"
NEEDS_MAP = "needs_map"
ASK_AFTER = timedelta(hours=3)  # "how did it go?" comes this long after the planned time
OTHER_DAYS = 7  # "another day": this many weekday buttons, from the day after tomorrow
MAX_OWN_TEXT = 120  # their own words for a step or a backup option (the flows' max_length)

# Steps a set-aside run may come back to (through `resume`); any other goes to the overview.
RESUMABLE = frozenset({
    "pick_need", "draft", "reword_pick", "reword", "remove_pick", "add", "rate",
    "plan_pick", "plan_rate", "plan_day", "plan_weekday", "plan_time",
    "backup_energy", "backup_pick", "backup_add_energy", "backup_add", "backup_remove",
})  # fmt: skip


# --- words and views -------------------------------------------------------------------


def label_text(state: UserState, key: str, **ctx: Any) -> str:
    """A label of the prompt catalog in the person's locale (KeyError if there is none)."""
    # The words live with the other prompts; reading them is deterministic, so still pure.
    from prompts import default_catalog

    return default_catalog().label(state.profile.locale, key, ctx)


def step_text(state: UserState, step: dict[str, Any] | None) -> str:
    """What a step says: their own words, else its idea's label, else a neutral name."""
    if not step:
        return label_text(state, "steps.unknown_step")
    if step.get("text"):
        return str(step["text"])
    try:
        return label_text(state, f"steps.idea.{step.get('idea')}")
    except KeyError:  # an idea the library no longer has
        return label_text(state, "steps.unknown_step")


def item_text(state: UserState, item: dict[str, Any] | None) -> str | None:
    """A portfolio item's words ({"text"} or {"idea": id}), or None for no item."""
    if not isinstance(item, dict):
        return None
    if item.get("text"):
        return str(item["text"])
    try:
        return label_text(state, f"steps.portfolio.{item.get('idea')}")
    except KeyError:
        return None


def zone_name(state: UserState) -> str | None:
    """The person's IANA zone, or None when unset or unknown (times are then UTC)."""
    zone = state.profile.timezone
    return zone if zone and places.is_valid_zone(zone) else None


def _tz(state: UserState) -> ZoneInfo:
    return ZoneInfo(zone_name(state) or "UTC")


def local_today(state: UserState, now: datetime) -> date:
    """Today's date on the person's clock (their zone; UTC when unset or unknown)."""
    return now.astimezone(_tz(state)).date()


def when_view(state: UserState, at: datetime, now: datetime) -> dict[str, Any]:
    """A time for the `when` macro (prompts/en/steps/_when.j2), on the person's clock.

    {"rel": "today" | "tomorrow" | None, "weekday": 0-6 (Monday 0), "day": 1-31,
     "month": 1-12, "time": "HH:MM", "past": bool}
    """
    local = at.astimezone(_tz(state))
    gap = (local.date() - local_today(state, now)).days
    return {
        "rel": {0: "today", 1: "tomorrow"}.get(gap),
        "weekday": local.weekday(),
        "day": local.day,
        "month": local.month,
        "time": f"{local.hour:02d}:{local.minute:02d}",
        "past": at <= now,
    }


def _stamp(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ladder_view(state: UserState, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ladder (LADDER data, or a draft {"steps"}) for the `ladder` macro, numbered 1..n
    from the easiest: {"steps": [{"number", "id", "text", "expected", "tries", "done",
    "current"}], "need", "goal"}; None for no ladder."""
    if not data:
        return None
    current = data.get("current")
    return {
        "steps": [
            {
                "number": n,
                "id": s.get("id"),
                "text": step_text(state, s),
                "expected": s.get("expected"),
                "tries": int(s.get("tries") or 0),
                "done": int(s.get("done") or 0),
                "current": s.get("id") == current,
            }
            for n, s in enumerate(data.get("steps") or [], start=1)
        ],
        "need": data.get("need"),
        "goal": data.get("goal"),
    }


# --- records ----------------------------------------------------------------------------


def the_ladder(state: UserState) -> Record | None:
    """The person's ladder: the latest LADDER record with at least one step."""
    found = coaching.ladder(state)
    return found if found is not None and found.data.get("steps") else None


def open_plans(state: UserState) -> list[Record]:
    """Their PLAN records not closed yet, in the order they were made."""
    return [r for r in state.records.get(coaching.PLAN, []) if not r.data.get("closed")]


def open_plan_for(state: UserState, ladder_id: Any, step_id: Any) -> Record | None:
    """The newest open plan for this ladder's step, or None."""
    return next(
        (
            r
            for r in reversed(open_plans(state))
            if r.data.get("ladder") == ladder_id and r.data.get("step") == step_id
        ),
        None,
    )


def due_plan(state: UserState, now: datetime) -> Record | None:
    """The open plan whose time has come most recently, or None."""
    passed = [
        (at, n, r)
        for n, r in enumerate(open_plans(state))
        if (at := _stamp(r.data.get("at"))) is not None and at <= now
    ]
    return max(passed, key=lambda t: (t[0], t[1]))[2] if passed else None


def upcoming_plans(state: UserState, now: datetime) -> list[dict[str, Any]]:
    """Open plans still ahead, soonest first: [{"text", "when"}] for the overview."""
    ahead = sorted(
        (
            (at, r)
            for r in open_plans(state)
            if (at := _stamp(r.data.get("at"))) is not None and at > now
        ),
        key=lambda t: t[0],
    )
    out = []
    for at, plan in ahead:
        owner = records.find(state, coaching.LADDER, plan.data.get("ladder"))
        step = ladder.find_step(owner.data, plan.data.get("step")) if owner else None
        out.append({"text": step_text(state, step), "when": when_view(state, at, now)})
    return out


def portfolio_data(state: UserState) -> dict[str, list[dict[str, Any]]]:
    """The person's PORTFOLIO data, or the library's seed when they have none yet."""
    found = records.latest(state, coaching.PORTFOLIO)
    data = found.data if found else ladder.seed_portfolio()
    return {e: list(data.get(e) or []) for e in ladder.ENERGIES}


def portfolio_record(state: UserState, now: datetime) -> Record:
    """The PORTFOLIO record, seeded from the library the first time it is needed."""
    found = records.latest(state, coaching.PORTFOLIO)
    return found or records.add(state, coaching.PORTFOLIO, ladder.seed_portfolio(), now)


def taken_ids(state: UserState, owner: Record | None) -> set[int]:
    """Step ids of a ladder that plans or reflections name (a removed step's id is never
    given to a new step, so old records keep meaning what they meant)."""
    if owner is None or owner.id is None:
        return set()
    kinds = (coaching.PLAN, coaching.REFLECTION)
    named = (r.data for kind in kinds for r in state.records.get(kind, []))
    return {
        int(d["step"])
        for d in named
        if d.get("ladder") == owner.id and isinstance(d.get("step"), int)
    } | {int(s["id"]) for s in owner.data.get("steps") or []}


def close_plans(state: UserState, ladder_id: Any, step_ids: set[Any]) -> None:
    """Close (cancel) the open plans of these steps of a ladder."""
    for plan in open_plans(state):
        if plan.data.get("ladder") == ladder_id and plan.data.get("step") in step_ids:
            plan.data = {**plan.data, "closed": True}


def hand_to_planning(state: UserState, step_id: Any, why: str, now: datetime) -> None:
    """Let the next opening of /steps go straight to planning step `step_id` of the ladder.

    Another dialog (reflect, step_reminder) calls this, then leaves with `dialog:steps`:
    the ladder dialog starts at its draft step (`resume`), which takes this draft and
    carries on at the planning step, saying why (`why`: "smaller" | "replan").
    """
    owner = the_ladder(state)
    step = ladder.find_step(owner.data, step_id) if owner else None
    first = "plan_rate" if step is not None and step.get("expected") is None else "plan_day"
    slots = {"plan_step": step_id, "handoff": why}
    drafts.save(state, Frame(DIALOG, first, slots), now)


# --- the overview -----------------------------------------------------------------------


@enter("steps_overview")
def overview(call: HookCall) -> dict[str, Any]:
    """The ladder screen: `ladder` (`ladder_view` of their ladder, or None), `plans` (upcoming,
    `upcoming_plans`), `due` (a plan's time has come: "how did it go?"), `has_map` (a needs
    map exists) and `editing`."""
    state = call.state
    owner = the_ladder(state)
    return {
        "ladder": ladder_view(state, owner.data if owner else None),
        "plans": upcoming_plans(state, call.now),
        "due": due_plan(state, call.now) is not None,
        "has_map": records.latest(state, NEEDS_MAP) is not None,
        "editing": bool(call.frame.slots.get("editing")),
    }


def _build_choices(state: UserState, dialog_step: str) -> list[ChoiceSpec]:
    """How to build a ladder: from the needs map (only if there is one), or from scratch."""
    options = []
    if records.latest(state, NEEDS_MAP) is not None:
        options.append(
            ChoiceSpec(
                id="from_map",
                label=f"steps.{dialog_step}.from_map",
                hook="steps_from_map",
                next="draft",
            )
        )
    options.append(ChoiceSpec(id="scratch", label=f"steps.{dialog_step}.scratch", next="pick_need"))
    return options


@choices("steps_overview_choices")
def overview_choices(call: HookCall) -> list[ChoiceSpec]:
    """Without a ladder: build it from the needs map (when there is one) or from scratch, or
    later. With one: plan a step, reflect (when a plan is due), edit, backup options, a new
    ladder, close."""
    state = call.state
    if the_ladder(state) is None:
        later = ChoiceSpec(id="later", label="steps.open.later", next="closed")
        return [*_build_choices(state, "open"), later]
    options = [ChoiceSpec(id="plan", label="steps.open.plan", next="plan_pick")]
    if due_plan(state, call.now) is not None:
        options.append(ChoiceSpec(id="reflect", label="steps.open.reflect", next="dialog:reflect"))
    return [
        *options,
        ChoiceSpec(id="edit", label="steps.open.edit", hook="steps_begin_edit", next="draft"),
        ChoiceSpec(id="backups", label="steps.open.backups", next="backups"),
        ChoiceSpec(id="new", label="steps.open.new", next="confirm_new"),
        ChoiceSpec(id="close", label="steps.open.close", next="closed"),
    ]


@choices("steps_build_choices")
def build_choices(call: HookCall) -> list[ChoiceSpec]:
    """ "Build a new ladder": from the needs map (only with one) or from scratch."""
    return _build_choices(call.state, "begin")


@action("steps_leave_overview")
def leave_overview(call: HookCall) -> None:
    """Leaving the ladder screen: the slots are emptied, so what follows starts afresh."""
    # Whatever comes next starts from empty answers.
    call.frame.slots.clear()


@action("steps_resume")
def resume(call: HookCall) -> str:
    """A hand-over from another dialog goes straight on to planning; a run they left
    half-way is offered back (`resume_offer`: carry on, or start afresh)."""
    draft = drafts.find(call.state, DIALOG)
    if draft is None:
        return "open"
    if not (draft.data.get("slots") or {}).get("handoff"):
        return "resume_offer"
    return restore(call)


@action("steps_restore")
def restore(call: HookCall) -> str:
    """Carry on at the step of the kept run, with its answers."""
    draft = drafts.take(call.state, DIALOG)
    if draft is None:
        return "open"
    call.frame.slots = dict(draft.data.get("slots") or {})
    step = str(draft.data.get("step") or "")
    return step if step in RESUMABLE else "open"


# --- building: from the needs map or from scratch ----------------------------------------


@action("steps_from_map")
def from_map(call: HookCall) -> None:
    """A ladder proposed from the latest needs map: its focus as `need` and its goal as `goal`
    (each kept only when the ladder knows it), and `draft` = ladder.propose(need, goal)."""
    found = records.latest(call.state, NEEDS_MAP)
    data = found.data if found else {}
    need = data.get("focus") if data.get("focus") in ladder.NEEDS else None
    goal = data.get("goal") if data.get("goal") in ladder.GOALS else None
    slots = call.frame.slots
    slots.update({"need": need, "goal": goal, "draft": ladder.propose(need, goal)})
    slots.pop("editing", None)


@action("steps_propose")
def propose(call: HookCall) -> None:
    """From scratch: the need they picked, no goal."""
    if call.value not in ladder.NEEDS:
        return  # "back"
    slots = call.frame.slots
    slots.update({"need": call.value, "goal": None, "draft": ladder.propose(call.value, None)})
    slots.pop("editing", None)


@action("steps_begin_edit")
def begin_edit(call: HookCall) -> None:
    """ "Edit my ladder": its steps copied into the slot `draft` (with `need`, `goal` and
    `editing` True), so changes apply only when saved."""
    owner = the_ladder(call.state)
    if owner is not None:
        call.frame.slots.update(
            {
                "draft": [dict(s) for s in owner.data.get("steps") or []],
                "editing": True,
                "need": owner.data.get("need"),
                "goal": owner.data.get("goal"),
            }
        )


def _draft(frame: Frame) -> list[dict[str, Any]]:
    draft = frame.slots.get("draft")
    return [dict(s) for s in draft] if isinstance(draft, list) else []


@enter("steps_draft_view")
def draft_view(call: HookCall) -> dict[str, Any]:
    """The draft for its screens: `draft` (`ladder_view`), `count`, `most` (ladder.MAX_STEPS, 8),
    `need`, `goal`, `editing` and `picked` (the words of the step in the slot `pick`, or None)."""
    slots = call.frame.slots
    steps = _draft(call.frame)
    picked = ladder.find_step({"steps": steps}, slots.get("pick"))
    return {
        "draft": ladder_view(call.state, {"steps": steps}),
        "count": len(steps),
        "most": ladder.MAX_STEPS,
        "need": slots.get("need"),
        "goal": slots.get("goal"),
        "editing": bool(slots.get("editing")),
        "picked": step_text(call.state, picked) if picked else None,
    }


@choices("steps_draft_choices")
def draft_choices(call: HookCall) -> list[ChoiceSpec]:
    """The draft's buttons: done, reword (with steps), remove (with more than one: a ladder keeps
    at least one step), add (under MAX_STEPS), and cancel."""
    count = len(_draft(call.frame))
    options = [ChoiceSpec(id="done", label="steps.draft.done", hook="steps_finish_draft")]
    if count:
        options.append(ChoiceSpec(id="reword", label="steps.draft.reword", next="reword_pick"))
    if count > 1:  # the last step stays: a ladder needs at least one
        options.append(ChoiceSpec(id="remove", label="steps.draft.remove", next="remove_pick"))
    if count < ladder.MAX_STEPS:
        options.append(ChoiceSpec(id="add", label="steps.draft.add", next="add"))
    return [*options, ChoiceSpec(id="cancel", label="steps.draft.cancel", next="open")]


@choices("steps_number_choices")
def number_choices(call: HookCall) -> list[ChoiceSpec]:
    """One button per draft step, its number as the label; the value is the step's id."""
    return [
        ChoiceSpec(id=f"s{s['id']}", label="steps.number", value=s["id"], ctx=(("number", n),))
        for n, s in enumerate(_draft(call.frame), start=1)
    ]


@action("steps_reword")
def reword(call: HookCall) -> None:
    """Their new words for the picked step (the value, cut to MAX_OWN_TEXT, 120 characters); a
    button (no text) changes nothing."""
    if not isinstance(call.value, str):
        return  # "back"
    steps = _draft(call.frame)
    step = ladder.find_step({"steps": steps}, call.frame.slots.get("pick"))
    if step is not None:
        step["text"] = call.value.strip()[:MAX_OWN_TEXT]
    call.frame.slots["draft"] = steps


@action("steps_remove")
def remove(call: HookCall) -> None:
    """Remove the picked step (the value: its id) from the draft; never the last one."""
    steps = _draft(call.frame)
    if call.value is None or len(steps) <= 1:
        return  # "back", or the last step
    call.frame.slots["draft"] = [s for s in steps if s["id"] != call.value]


@action("steps_add")
def add(call: HookCall) -> None:
    """Their own step (the value, cut to 120 characters) joins the draft's end, unrated, under
    MAX_STEPS, with a fresh id (when editing, one no plan or reflection of the ladder used)."""
    steps = _draft(call.frame)
    if isinstance(call.value, str) and len(steps) < ladder.MAX_STEPS:
        editing = the_ladder(call.state) if call.frame.slots.get("editing") else None
        new = ladder.own_step(steps, call.value.strip(), taken_ids(call.state, editing))
        call.frame.slots["draft"] = [*steps, new]


def _unrated(frame: Frame) -> dict[str, Any] | None:
    return next((s for s in _draft(frame) if s.get("expected") is None), None)


@action("steps_finish_draft")
def finish_draft(call: HookCall) -> str:
    """Done editing: rate the unrated steps, or save straight away when all are rated."""
    if not _draft(call.frame):
        return "open"
    if _unrated(call.frame) is not None:
        return "rate"
    _save_ladder(call)
    return "ready"


@enter("steps_rating_info")
def rating_info(call: HookCall) -> dict[str, Any]:
    """The next unrated step of the draft: `text`, `number` (1-based) and `total`."""
    steps = _draft(call.frame)
    step = _unrated(call.frame)
    number = steps.index(step) + 1 if step in steps else len(steps)
    return {"text": step_text(call.state, step), "number": number, "total": len(steps)}


@action("steps_save_rating")
def save_rating(call: HookCall) -> str | None:
    """The predicted difficulty (the value, on the person's own 0-10 scale: "how hard will this
    be?") for the next unrated step. Returns "rate" while steps are unrated; after the last,
    the ladder is saved (`_save_ladder`) and None goes on to `ready`."""
    slots = call.frame.slots
    slots.pop("rating", None)  # the step's slot only carries the number here
    steps = _draft(call.frame)
    step = next((s for s in steps if s.get("expected") is None), None)
    if step is not None:
        step["expected"] = int(call.value)
    slots["draft"] = steps
    if _unrated(call.frame) is not None:
        return "rate"
    _save_ladder(call)
    return None


def _save_ladder(call: HookCall) -> None:
    """The rated draft, easy to hard by rating, as the ladder: a new LADDER record, or the
    existing one updated when editing (its current step kept if still there; open plans of
    removed steps are cancelled)."""
    slots = call.frame.slots
    steps = ladder.order_by_rating(_draft(call.frame))
    owner = the_ladder(call.state)
    if slots.get("editing") and owner is not None:
        kept = {s["id"] for s in steps}
        gone = {s.get("id") for s in owner.data.get("steps") or []} - kept
        close_plans(call.state, owner.id, gone)
        current = owner.data.get("current")
        owner.data = {
            **owner.data,
            "steps": steps,
            "current": current if current in kept else steps[0]["id"],
        }
    else:
        data = ladder.new_ladder(slots.get("need"), slots.get("goal"), steps)
        records.add(call.state, coaching.LADDER, data, call.now)
    slots.pop("draft", None)


# --- planning a step ----------------------------------------------------------------------


def _planned_step(state: UserState, frame: Frame) -> dict[str, Any] | None:
    owner = the_ladder(state)
    if owner is None:
        return None
    wanted = frame.slots.get("plan_step")
    return ladder.find_step(owner.data, wanted) or ladder.find_step(
        owner.data, owner.data.get("current")
    )


@choices("steps_plan_choices")
def plan_choices(call: HookCall) -> list[ChoiceSpec]:
    """Every step of the ladder (the current one marked), valued by its id."""
    owner = the_ladder(call.state)
    view = ladder_view(call.state, owner.data if owner else None) or {"steps": []}
    return [
        ChoiceSpec(
            id=f"s{s['id']}",
            label="steps.plan_pick.step",
            value=s["id"],
            ctx=(("number", s["number"]), ("text", s["text"]), ("current", s["current"])),
        )
        for s in view["steps"]
    ]


@action("steps_pick_plan_step")
def pick_plan_step(call: HookCall) -> str | None:
    """A step picked to plan: its rating first if it has none (rated before trying)."""
    if call.value is None:
        return None  # "back"
    step = _planned_step(call.state, call.frame)
    if step is None:
        return "open"
    call.frame.slots["plan_step"] = step["id"]
    return "plan_rate" if step.get("expected") is None else None


@action("steps_rate_planned")
def rate_planned(call: HookCall) -> str | None:
    """The rating (0-10) of the step being planned, which had none: written to the ladder, which
    is then reordered easy to hard. Returns "open" when the ladder or step is gone."""
    owner = the_ladder(call.state)
    step = _planned_step(call.state, call.frame)
    call.frame.slots.pop("rating", None)
    if owner is None or step is None:
        return "open"
    data = {**owner.data, "steps": [dict(s) for s in owner.data.get("steps") or []]}
    target = ladder.find_step(data, step["id"])
    if target is not None:
        target["expected"] = int(call.value)
    # A new rating can change the step's place: the ladder stays easy to hard by rating.
    owner.data = ladder.reorder(data)
    return None


@enter("steps_plan_info")
def plan_info(call: HookCall) -> dict[str, Any]:
    """The step being planned and the chosen day: {"text", "expected", "day" (a `when`
    view of the day, or None), "no_zone", "past", "handoff"}."""
    state, slots = call.state, call.frame.slots
    step = _planned_step(state, call.frame)
    day = _day(slots)
    when = None
    if day is not None:
        noon = ladder.local_instant(day, "12:00", zone_name(state))
        when = when_view(state, noon, call.now)
    return {
        "text": step_text(state, step),
        "expected": step.get("expected") if step else None,
        "day": when,
        "no_zone": zone_name(state) is None,
        "past": slots.get("past"),
        "handoff": slots.get("handoff"),
        "none_left": day is not None and not times_ahead(state, day, call.now),
    }


def _day(slots: dict[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(slots.get("day")))
    except ValueError:
        return None


@action("steps_set_day")
def set_day(call: HookCall) -> None:
    """Today (0) or tomorrow (1) as an offset, or another day as an ISO date."""
    slots = call.frame.slots
    slots.pop("past", None)
    if isinstance(call.value, int):
        day = local_today(call.state, call.now) + timedelta(days=call.value)
        slots["day"] = day.isoformat()
    elif isinstance(call.value, str):
        slots["day"] = call.value


def other_days(state: UserState, now: datetime) -> list[date]:
    """The days "another day" offers: the day after tomorrow and the six after it, on the
    person's clock. Seven days in a row, so each weekday is there exactly once."""
    today = local_today(state, now)
    return [today + timedelta(days=n) for n in range(2, 2 + OTHER_DAYS)]


@choices("steps_weekdays")
def weekdays(call: HookCall) -> list[ChoiceSpec]:
    """The days after tomorrow, a week of them, as weekday buttons (value: ISO date).
    Each is also tapped by its weekday's names typed ("Saturday", "sat"): the locale's
    label "steps.day_words.<n>", words separated by spaces."""
    return [
        ChoiceSpec(
            id=f"d{d.isoformat()}",
            label=f"steps.weekday.{d.weekday()}",
            value=d.isoformat(),
            ctx=(("day", d.day),),
            next="plan_time",
            words=tuple(fold(label_text(call.state, f"steps.day_words.{d.weekday()}")).split()),
        )
        for d in other_days(call.state, call.now)
    ]


@action("steps_pick_weekday")
def pick_weekday(call: HookCall) -> str | None:
    """`plan_weekday`: the day tapped (its ISO date; a typed weekday name taps it through the
    button's `words`). A day no longer offered (a stale button) asks again."""
    slots = call.frame.slots
    if call.value is None:
        return None  # "back"
    offered = {d.isoformat(): d for d in other_days(call.state, call.now)}
    picked = offered.get(str(call.value))
    if picked is None:
        return "plan_weekday"
    slots.pop("past", None)
    slots["day"] = picked.isoformat()
    return "plan_time"


# The quick times offered on `plan_time` ("HH:MM", local), with their button ids.
QUICK_TIMES: tuple[tuple[str, str], ...] = (
    ("t0900", "09:00"), ("t1230", "12:30"), ("t1800", "18:00"), ("t1930", "19:30"),
)  # fmt: skip


def times_ahead(state: UserState, day: date, now: datetime) -> list[tuple[str, str]]:
    """The quick times (id, "HH:MM") still ahead on `day` in the person's zone (UTC without
    one): all of them on a later day, only the ones after `now` today."""
    zone = zone_name(state)
    return [(tid, hhmm) for tid, hhmm in QUICK_TIMES if ladder.local_instant(day, hhmm, zone) > now]


@choices("steps_time_choices")
def time_choices(call: HookCall) -> list[ChoiceSpec]:
    """The quick time buttons still ahead on the chosen day. Late in the day, with none
    left: "Tomorrow instead" (the day moves on, the same question comes back)."""
    state, day = call.state, _day(call.frame.slots)
    if day is None:
        day = local_today(state, call.now)
    ahead = times_ahead(state, day, call.now)
    if not ahead:
        return [
            ChoiceSpec(id="tomorrow", label="steps.plan_time.tomorrow", value=1,
                       hook="steps_set_day", next="plan_time")
        ]  # fmt: skip
    return [ChoiceSpec(id=tid, label=f"steps.plan_time.{tid}", value=hhmm) for tid, hhmm in ahead]


@action("steps_save_plan")
def save_plan(call: HookCall) -> str | None:
    """The time they chose, on the chosen day in their zone (UTC without one): a PLAN.

    A time already past brings the same question back, kindly (`past`). Re-planning a step
    replaces its open plan (the old one is closed).
    """
    state, slots = call.state, call.frame.slots
    if not isinstance(call.value, str):
        return None  # "another day"
    owner = the_ladder(state)
    step = _planned_step(state, call.frame)
    day = _day(slots)
    if owner is None or step is None:
        return "open"
    if day is None:
        return "plan_day"
    at = ladder.local_instant(day, call.value, zone_name(state))
    if at <= call.now:
        slots["past"] = call.value
        return "plan_time"
    slots.pop("past", None)
    close_plans(state, owner.id, {step["id"]})
    data = {
        "ladder": owner.id,
        "step": step["id"],
        "at": at.astimezone(UTC).isoformat(),
        "ask_at": (at + ASK_AFTER).astimezone(UTC).isoformat(),
        "reminded": None,
        "asked": None,
        "closed": False,
    }
    records.add(state, coaching.PLAN, data, call.now)
    slots["plan_step"] = step["id"]
    return None


def _this_plan(state: UserState, frame: Frame) -> Record | None:
    owner = the_ladder(state)
    if owner is None:
        return None
    return open_plan_for(state, owner.id, frame.slots.get("plan_step"))


@enter("steps_backup_info")
def backup_info(call: HookCall) -> dict[str, Any]:
    """`energy` (low | some | plenty, the slot) and `count`: the portfolio's options for it."""
    energy = call.frame.slots.get("energy")
    items = portfolio_data(call.state).get(energy, []) if energy else []
    return {"energy": energy, "count": len(items)}


@choices("steps_backup_choices")
def backup_choices(call: HookCall) -> list[ChoiceSpec]:
    """The portfolio's options for the chosen energy, each valued by its position."""
    energy = call.frame.slots.get("energy")
    items = portfolio_data(call.state).get(energy, []) if energy in ladder.ENERGIES else []
    return [
        ChoiceSpec(id=f"b{n}", label="steps.backup_pick.item", value=n,
                   ctx=(("text", item_text(call.state, item) or ""),))
        for n, item in enumerate(items)
        if item_text(call.state, item)
    ]  # fmt: skip


@action("steps_set_backup")
def set_backup(call: HookCall) -> None:
    """This plan's backup: a portfolio option (its position), or their own words (kept in
    the portfolio under the chosen energy too). None: skipped."""
    state, slots = call.state, call.frame.slots
    energy = slots.get("energy")
    plan = _this_plan(state, call.frame)
    if call.value is None or energy not in ladder.ENERGIES or plan is None:
        return
    folio = portfolio_record(state, call.now)  # seeded from the library the first time
    items = list(folio.data.get(energy) or [])
    if isinstance(call.value, int):
        if not 0 <= call.value < len(items):
            return
        item = dict(items[call.value])
    else:
        item = {"text": str(call.value).strip()[:MAX_OWN_TEXT]}
        folio.data = {**folio.data, energy: [*items, item]}
    plan.data = {**plan.data, "backup": item}


@enter("steps_planned_info")
def planned_info(call: HookCall) -> dict[str, Any]:
    """The "planned" screen: `text` (the step), `when` and `remind_when` (`when_view`; the second
    only when quiet hours or a pause move the reminder later), `backup` (its words, or None)
    and `no_zone` (times are in UTC: their zone is unknown)."""
    state = call.state
    plan = _this_plan(state, call.frame)
    at = _stamp(plan.data.get("at")) if plan else None
    # Quiet hours or a pause move the reminder: the promise says when it really comes.
    later = reminders.reminder_time(state, at) if at else None
    return {
        "text": step_text(state, _planned_step(state, call.frame)),
        "when": when_view(state, at, call.now) if at else None,
        "remind_when": when_view(state, later, call.now) if later and at and later > at else None,
        "backup": item_text(state, plan.data.get("backup")) if plan else None,
        "no_zone": zone_name(state) is None,
    }


# --- my backup options (the social portfolio) -----------------------------------------------


@enter("steps_portfolio")
def portfolio(call: HookCall) -> dict[str, Any]:
    """The social portfolio by energy: `portfolio` ({energy: [{number, text}]}, numbered through
    all three) and `count`."""
    data = portfolio_data(call.state)
    listed: dict[str, list[dict[str, Any]]] = {}
    n = 0
    for energy in ladder.ENERGIES:
        listed[energy] = []
        for item in data[energy]:
            text = item_text(call.state, item)
            if text:
                n += 1
                listed[energy].append({"number": n, "text": text})
    return {"portfolio": listed, "count": n}


@choices("steps_backups_choices")
def backups_choices(call: HookCall) -> list[ChoiceSpec]:
    """The portfolio screen's buttons: add, remove (when there is anything) and back."""
    options = [ChoiceSpec(id="add", label="steps.backups.add", next="backup_add_energy")]
    if any(portfolio_data(call.state).values()):
        options.append(ChoiceSpec(id="remove", label="steps.backups.remove", next="backup_remove"))
    return [*options, ChoiceSpec(id="back", label="steps.backups.back", next="open")]


@action("steps_add_backup")
def add_backup(call: HookCall) -> None:
    """Their own backup option (the value, cut to 120 characters) joins the portfolio under the
    energy in the slot `add_energy`; the record is seeded from the library the first time."""
    energy = call.frame.slots.get("add_energy")
    if not isinstance(call.value, str) or energy not in ladder.ENERGIES:
        return
    folio = portfolio_record(call.state, call.now)
    item = {"text": call.value.strip()[:MAX_OWN_TEXT]}
    folio.data = {**folio.data, energy: [*(folio.data.get(energy) or []), item]}


@choices("steps_backup_numbers")
def backup_numbers(call: HookCall) -> list[ChoiceSpec]:
    """One numbered button per portfolio option (numbered as listed), value "energy:index"."""
    out, n = [], 0
    for energy, items in portfolio_data(call.state).items():
        for index, item in enumerate(items):
            if item_text(call.state, item):
                n += 1
                out.append(
                    ChoiceSpec(id=f"r{n}", label="steps.number", value=f"{energy}:{index}",
                               ctx=(("number", n),))
                )  # fmt: skip
    return out


@action("steps_remove_backup")
def remove_backup(call: HookCall) -> None:
    """Remove the option the value names ("energy:index", as `backup_numbers` gives it); a value
    that names none changes nothing."""
    energy, _, index = str(call.value or "").partition(":")
    if energy not in ladder.ENERGIES or not index.isdecimal():
        return
    folio = portfolio_record(call.state, call.now)
    items = list(folio.data.get(energy) or [])
    if int(index) < len(items):
        del items[int(index)]
        folio.data = {**folio.data, energy: items}


# --- the planned step's reminder (dialog step_reminder, slots {"plan": id}) ---------------


def plan_target(state: UserState, plan_id: Any) -> tuple[Record, Record, dict[str, Any]] | None:
    """(plan, its ladder, its step) for an open plan id whose ladder and step still exist."""
    plan = records.find(state, coaching.PLAN, plan_id) if plan_id is not None else None
    if plan is None or plan.data.get("closed"):
        return None
    owner = records.find(state, coaching.LADDER, plan.data.get("ladder"))
    step = ladder.find_step(owner.data, plan.data.get("step")) if owner else None
    return (plan, owner, step) if owner is not None and step is not None else None


@enter("reminder_info")
def reminder_info(call: HookCall) -> dict[str, Any]:
    """The step reminder's words: `found` (the plan is still open and its step exists), `text`,
    `expected` (0-10) and `backup` (words, or None)."""
    found = plan_target(call.state, call.frame.slots.get("plan"))
    if found is None:
        return {"found": False}
    plan, _, step = found
    return {
        "found": True,
        "text": step_text(call.state, step),
        "expected": step.get("expected"),
        "backup": item_text(call.state, plan.data.get("backup")),
    }


@choices("reminder_choices")
def reminder_choices(call: HookCall) -> list[ChoiceSpec]:
    """ "I'm going", the backup option (when the plan has one) and "Not today"; with the plan
    gone, one "Okay" to `gone`."""
    found = plan_target(call.state, call.frame.slots.get("plan"))
    if found is None:
        return [ChoiceSpec(id="ok", label="step_reminder.nudge.ok", next="gone")]
    options = [ChoiceSpec(id="going", label="step_reminder.nudge.going", next="going")]
    if item_text(call.state, found[0].data.get("backup")):
        options.append(ChoiceSpec(id="backup", label="step_reminder.nudge.backup", next="backup"))
    return [*options, ChoiceSpec(id="not_today", label="step_reminder.nudge.not_today",
                                 next="not_today")]  # fmt: skip


@action("reminder_replan")
def reminder_replan(call: HookCall) -> None:
    """ "Find another time": /steps opens at planning this step; the new plan replaces it."""
    found = plan_target(call.state, call.frame.slots.get("plan"))
    if found is not None and found[1] is the_ladder(call.state):  # an older ladder: overview
        hand_to_planning(call.state, found[2]["id"], "replan", call.now)
