"""Hooks for /pause and /resume, and the nudge settings (frequency, quiet hours).

While `profile.paused_until` is in the future the sweep sends no check-ins or nudges;
"until I resume" is a date far ahead, so the sweep needs only that one comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dialogs.hooks import HookCall, action, enter
from dialogs.hooks.profile import local_time

UNTIL_RESUME = datetime(9999, 1, 1, tzinfo=UTC)  # "until I say /resume"
PAUSES = {"day": timedelta(days=1), "week": timedelta(days=7)}
FOREVER = "until_resume"  # the button value for "until I say /resume"
NUDGES = ("off", "gentle", "daily")


def is_paused(paused_until: datetime | None, now: datetime) -> bool:
    """Whether a pause (`paused_until`, aware UTC) is still running at `now`."""
    return paused_until is not None and paused_until > now


@action("pause_set")
def pause_set(call: HookCall) -> None:
    """Pause for a "day" or a "week" from now, or "until_resume"; any other value (a button
    that is not a length, such as "Never mind") changes nothing."""
    value = str(call.value)
    if value in PAUSES:
        call.state.profile.paused_until = call.now + PAUSES[value]
    elif value == FOREVER:
        call.state.profile.paused_until = UNTIL_RESUME


@enter("pause_info")
def pause_info(call: HookCall) -> dict[str, Any]:
    """`paused` (bool), `forever` (until /resume) and `until`: the end on their own clock
    (an aware datetime in their zone, UTC when it is unknown), or None."""
    until = call.state.profile.paused_until
    paused = is_paused(until, call.now)
    return {
        "paused": paused,
        "forever": paused and until == UNTIL_RESUME,
        "until": local_time(call.state.profile.timezone, until) if paused and until else None,
    }


@action("resume_now")
def resume_now(call: HookCall) -> None:
    """/resume: the pause ends now (`paused_until` None); the slot `was_paused` says whether one
    was running, for the words."""
    call.frame.slots["was_paused"] = is_paused(call.state.profile.paused_until, call.now)
    call.state.profile.paused_until = None


@action("save_nudges")
def save_nudges(call: HookCall) -> None:
    """The nudge frequency: "off", "gentle" (at most two a week) or "daily"; any other value
    keeps "gentle"."""
    call.state.profile.nudges = str(call.value) if call.value in NUDGES else "gentle"


@action("save_quiet")
def save_quiet(call: HookCall) -> None:
    """A preset "HH:MM-HH:MM", or the end time typed after a start in the slots."""
    value = str(call.value)
    if "-" in value:
        start, end = value.split("-", 1)
    else:
        start, end = str(call.frame.slots.get("quiet_start")), value
    call.state.profile.quiet_start, call.state.profile.quiet_end = start, end
