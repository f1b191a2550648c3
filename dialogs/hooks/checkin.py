"""Hooks for the morning check-in: mood history, the three branches, ideas and support.

Each answer is a "mood" record {at: ISO UTC, mood: 1-5, connected: 1-5 | None}, kept
for the weekly review. What the check-in must remember between runs (which ideas were
shown when, when the support message was last sent) is one "checkin_log" record.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dialogs import coaching, records
from dialogs.hooks import HookCall, action, enter
from dialogs.hooks.plan import sections
from dialogs.hooks.wins import past_win
from dialogs.model import Record, UserState

MOOD = "mood"
LOG = "checkin_log"
NEEDS_MAP = "needs_map"
LOW, HIGH = 2, 4  # 1-2 is low, 3 is the middle, 4-5 is high
LOW_STREAK = 3  # this many low check-ins in a row bring the support message
SUPPORT_EVERY = timedelta(hours=24)
NO_REPEAT = timedelta(days=7)
IDEA = "idea"  # slot: the idea picked for today

# Micro-connection ideas for each needs-map focus, then a few that suit anyone; a
# focus's list plus the shared ones is longer than a week, so a week never repeats.
IDEAS: dict[str, tuple[str, ...]] = {
    "confidant": ("share_small", "ask_how", "old_photo", "plan_call"),
    "casual": ("greet_name", "two_smiles", "compliment", "ask_tip"),
    "activities": ("invite_walk", "find_event", "join_in", "cook_share"),
    "group": ("group_comment", "show_up", "help_out", "say_hello_group"),
    "bond": ("voice_note", "remember_detail", "thank_you", "suggest_coffee"),
}
SHARED: tuple[str, ...] = ("reply_old", "kind_text", "wave_neighbour", "call_family")


def _stamp(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _log(state: UserState, now: datetime) -> Record:
    return records.latest(state, LOG) or records.add(state, LOG, {}, now)


def focus(state: UserState) -> str | None:
    """The focus of their latest needs map (one of IDEAS' keys), or None without a map or with
    a focus this module has no ideas for."""
    latest = records.latest(state, NEEDS_MAP)
    chosen = latest.data.get("focus") if latest else None
    return chosen if chosen in IDEAS else None


def pick_idea(state: UserState, now: datetime) -> str:
    """Today's idea: the first for their focus not shown this week, else the least recent.

    The choice is written to the log, so the next pick knows it was shown.
    """
    log = _log(state, now)
    shown: dict[str, str] = dict(log.data.get("shown") or {})
    pool = IDEAS.get(focus(state) or "", ()) + SHARED

    def last_shown(idea: str) -> datetime | None:
        return _stamp(shown.get(idea))

    def rested(idea: str) -> bool:  # never shown, or not within NO_REPEAT
        at = last_shown(idea)
        return at is None or now - at >= NO_REPEAT

    fresh = [i for i in pool if rested(i)]
    idea = fresh[0] if fresh else min(pool, key=lambda i: last_shown(i) or now)
    log.data = {**log.data, "shown": {**shown, idea: now.isoformat()}}
    return idea


def needs_support(state: UserState, now: datetime) -> bool:
    """Three lows in a row, and no support message in the last 24 hours. Reads the last
    LOW_STREAK moods only, never the whole history."""
    recent = records.newest(state, MOOD, LOW_STREAK)
    if len(recent) < LOW_STREAK or any(int(r.data["mood"]) > LOW for r in recent):
        return False
    last = _stamp(_log(state, now).data.get("support_at"))
    return last is None or now - last >= SUPPORT_EVERY


@action("checkin_save_mood")
def save_mood(call: HookCall) -> None:
    """The mood is history as soon as it is given; the connected answer joins it next."""
    data = {"at": call.now.isoformat(), "mood": int(call.value), "connected": None}
    records.add(call.state, MOOD, data, call.now)


@action("checkin_branch")
def branch(call: HookCall) -> str:
    """The check-in's fork after "how connected" (the value: 1-5, or None when skipped).

    Writes `connected` into the latest MOOD record, then returns, by that record's mood (1-5):
    "support" for a low mood (<= LOW) when `needs_support` (three lows in a row and no support
    message in the last 24 hours; the time is written to the "checkin_log" record); "low" for any
    other low mood; "high" for >= HIGH; else "middle", with today's idea picked into the slot
    `idea` (`pick_idea`, which logs it). The branch stays here: the support test and the idea
    are computed from records and time. AssertionError if no MOOD record exists (the mood step
    saves one first)."""
    record = records.latest(call.state, MOOD)
    assert record is not None, "the mood step saved one"
    record.data = {**record.data, "connected": call.value}
    mood = int(record.data["mood"])
    if mood <= LOW and needs_support(call.state, call.now):
        log = _log(call.state, call.now)
        log.data = {**log.data, "support_at": call.now.isoformat()}
        return "support"
    if mood <= LOW:
        return "low"
    if mood >= HIGH:
        return "high"
    call.frame.slots[IDEA] = pick_idea(call.state, call.now)
    return "middle"


@enter("checkin_plan")
def checkin_plan(call: HookCall) -> dict[str, Any]:
    """`plan`: the safety plan's written parts ({section: [lines]}, dialogs/hooks/plan.py) and
    `has_plan`: whether any part has a line, for the support message."""
    parts = sections(call.state)
    return {"plan": parts, "has_plan": any(parts.values())}


@enter("checkin_past_win")
def checkin_past_win(call: HookCall) -> dict[str, Any]:
    """On a low check-in: one past win from the victory log, to remember (or None)."""
    return {"past_win": past_win(call.state, call.now)}


@action("checkin_save_win")
def save_win(call: HookCall) -> None:
    """A high check-in's small win goes to the victory log (/wins)."""
    if call.value:
        coaching.add_win(call.state, str(call.value), "checkin", call.now)
