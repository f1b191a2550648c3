"""Hooks for the loneliness measure: the three-item UCLA Loneliness Scale.

Source: Hughes, M. E., Waite, L. J., Hawkley, L. C., & Cacioppo, J. T. (2004). A short
scale for measuring loneliness in large surveys: results from two population-based
studies. Research on Aging, 26(6), 655-672. Three items (how often one feels a lack of
companionship, left out, isolated from others), each answered Hardly ever = 1, Some of
the time = 2, Often = 3; the total runs 3-9, higher meaning lonelier. The questions in
prompts/en/measure/ are our own short wording of those three meanings.

Each finished measure is a `coaching.UCLA` record {"items": [a, b, c], "total": n}; its
time is the record's `created_at`. Skipping saves nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dialogs import coaching, records
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.hooks.profile import local_time
from dialogs.model import UserState
from dialogs.spec import ChoiceSpec

ITEMS = ("companionship", "left_out", "isolated")  # the slots of the three answers, in order
LOW, HIGH = 1, 3  # each answer: 1 hardly ever, 2 some of the time, 3 often
TREND_SHOWN = 6  # the result shows at most this many measures, the latest last
CONTACT = "contact"  # a person on their reach-out list (dialogs/hooks/contacts.py)
SCHEDULED = "scheduled"  # slot: opened by the scheduler every 14 days


def ucla_trend(state: UserState) -> list[tuple[datetime, int]]:
    """Every saved measure as (record.created_at in UTC, total 3-9), oldest first.

    Records with no time or a total outside 3-9 are left out, so a damaged record never
    breaks the weekly review's trend line.
    """
    found = [
        (r.created_at, int(r.data["total"]))
        for r in state.records.get(coaching.UCLA, [])
        if r.created_at is not None
        and isinstance(r.data.get("total"), int)
        and 3 * LOW <= r.data["total"] <= 3 * HIGH
    ]
    return sorted(found, key=lambda pair: pair[0])


def direction(trend: list[tuple[datetime, int]]) -> str:
    """How the latest total compares with the one before: "first", "lower", "same", "higher"."""
    if len(trend) < 2:
        return "first"
    before, latest = trend[-2][1], trend[-1][1]
    return "lower" if latest < before else "higher" if latest > before else "same"


@action("measure_save")
def measure_save(call: HookCall) -> None:
    """After the third answer: keep {"items": [a, b, c], "total": a + b + c}."""
    answers = [call.frame.slots.get(name) for name in ITEMS]
    if not all(isinstance(a, int) and LOW <= a <= HIGH for a in answers):
        return  # a frame from an older script, missing an answer: nothing half-saved
    items = [int(a) for a in answers if isinstance(a, int)]
    records.add(call.state, coaching.UCLA, {"items": items, "total": sum(items)}, call.now)


@enter("measure_intro")
def measure_intro(call: HookCall) -> dict[str, Any]:
    """{"scheduled": bool, "last_date": local ISO date of the last measure | None}."""
    trend = ucla_trend(call.state)
    zone = call.state.profile.timezone
    last = local_time(zone, trend[-1][0]).date().isoformat() if trend else None
    return {"scheduled": bool(call.frame.slots.get(SCHEDULED)), "last_date": last}


def _when(dates: list[str], today: str) -> list[str]:
    """How each date of a trend reads beside its score, so two measures on one day never
    show as the same date twice: "today", "earlier_today" (today, with a later one today),
    "same_day" (the same date as the one before it) or "date" (show the date)."""
    found = []
    for i, on in enumerate(dates):
        later_today = i + 1 < len(dates) and dates[i + 1] == today
        if on == today:
            found.append("earlier_today" if later_today else "today")
        elif i > 0 and dates[i - 1] == on:
            found.append("same_day")
        else:
            found.append("date")
    return found


@enter("measure_result")
def measure_result(call: HookCall) -> dict[str, Any]:
    """The latest measure and the trend for the result screen.

    {"total": int | None (None if nothing was saved), "trend": [{"date": local ISO date,
    "total": int, "when": see `_when`}] (oldest first, at most TREND_SHOWN), "direction":
    see `direction`}.
    """
    trend = ucla_trend(call.state)[-TREND_SHOWN:]
    zone = call.state.profile.timezone
    dates = [local_time(zone, at).date().isoformat() for at, _ in trend]
    today = local_time(zone, call.now).date().isoformat()
    return {
        "total": trend[-1][1] if trend else None,
        "trend": [
            {"date": on, "total": total, "when": when}
            for on, (_, total), when in zip(dates, trend, _when(dates, today), strict=True)
        ],
        "direction": direction(trend),
    }


@choices("measure_reach")
def measure_reach(call: HookCall) -> list[ChoiceSpec]:
    """[Add someone to my reach-out list] only while that list is empty."""
    if call.state.records.get(CONTACT):
        return []
    return [ChoiceSpec(id="contacts", label="measure.result.contacts", next="dialog:contacts")]
