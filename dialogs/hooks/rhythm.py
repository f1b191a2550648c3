"""Hooks for the coaching rhythm: the weekly review's day and time, the two daily
connection windows (settings), and the short message that opens a window.

Everything is written through `coaching.set_rhythm` into the person's one RHYTHM record:
review_day 0-6 (Monday-Sunday, datetime.weekday numbering) or None when the review is
off, review_time "HH:MM" local, windows [] or two local "HH:MM" start times, earliest first.
"""

from __future__ import annotations

from typing import Any

from dialogs import coaching
from dialogs.hooks import HookCall, action, enter

FIRST, SECOND = "window_first", "window_second"  # slots of change_windows' own times
SAME = "window_same"  # slots: their second time repeated the first (asked again)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":", 1)
    return int(hours) * 60 + int(minutes)


def _is_time(value: object) -> bool:
    """Whether a step's value is a local "HH:MM" (a time step's answer), not a button's
    None or "" (« Back, Turn them off)."""
    if not isinstance(value, str) or ":" not in value:
        return False
    try:
        return 0 <= _minutes(value) < 24 * 60
    except ValueError:
        return False


def in_quiet_hours(hhmm: str, quiet_start: str, quiet_end: str) -> bool:
    """Whether local "HH:MM" falls in quiet hours [start, end), which may run past midnight
    (21:00-08:00). Malformed times count as outside."""
    try:
        at, start, end = _minutes(hhmm), _minutes(quiet_start), _minutes(quiet_end)
    except ValueError:
        return False
    if start <= end:
        return start <= at < end
    return at >= start or at < end


@enter("rhythm_info")
def rhythm_info(call: HookCall) -> dict[str, Any]:
    """The person's rhythm for settings screens.

    `rhythm`: coaching.rhythm(state) (review_day 0-6 or None, review_time, windows...);
    `quiet_windows`: the window times that fall in their quiet hours (held until after).
    """
    current = coaching.rhythm(call.state)
    profile = call.state.profile
    quiet = [
        w for w in current["windows"] if in_quiet_hours(w, profile.quiet_start, profile.quiet_end)
    ]
    return {"rhythm": current, "quiet_windows": quiet}


@action("review_off")
def review_off(call: HookCall) -> None:
    """The weekly review off (review_day None); its time is kept for turning it on again."""
    coaching.set_rhythm(call.state, call.now, review_day=None)


@action("save_review")
def save_review(call: HookCall) -> None:
    """The review's new time (the step's value, "HH:MM") on the day chosen before it;
    « Back (no time) changes nothing."""
    if not _is_time(call.value):
        return
    day = call.frame.slots.get("review_day")
    changes: dict[str, Any] = {"review_time": str(call.value)}
    if isinstance(day, int) and 0 <= day <= 6:
        changes["review_day"] = day
    coaching.set_rhythm(call.state, call.now, **changes)


@action("save_window_preset")
def save_window_preset(call: HookCall) -> None:
    """A preset pair from the button's value, "HH:MM HH:MM", or "" to switch windows off."""
    times = sorted(str(call.value or "").split(), key=_minutes)
    coaching.set_rhythm(call.state, call.now, windows=times)


@action("save_own_windows")
def save_own_windows(call: HookCall) -> str | None:
    """Their own two times (slots FIRST and SECOND), earliest first; the same time twice
    asks for the second again. A button's value (no time) saves nothing here."""
    if not _is_time(call.value) or not _is_time(call.frame.slots.get(FIRST)):
        return None
    first, second = call.frame.slots.get(FIRST), str(call.value)
    if first == second:
        call.frame.slots[SAME] = True
        return "second"
    call.frame.slots.pop(SAME, None)
    coaching.set_rhythm(call.state, call.now, windows=sorted([str(first), second], key=_minutes))
    return None


@action("windows_again")
def windows_again(call: HookCall) -> None:
    """« Back from their own times: the "same time twice" note is from the last try."""
    call.frame.slots.pop(SAME, None)


@enter("window_info")
def window_info(call: HookCall) -> dict[str, Any]:
    """The connection window's length in minutes (coaching.WINDOW_MINUTES) and its start
    ("HH:MM", from the scheduler's slots; None when opened otherwise)."""
    at = call.frame.slots.get("at")
    return {"minutes": coaching.WINDOW_MINUTES, "at": at if isinstance(at, str) else None}
