"""Hooks for /pause and /resume, and the nudge settings (frequency, quiet hours).

While `profile.paused_until` is in the future the sweep sends no check-ins or nudges;
"until I resume" is a date far ahead, so the sweep needs only that one comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dialogs import places
from dialogs.hooks import HookCall, action, enter

UNTIL_RESUME = datetime(9999, 1, 1, tzinfo=UTC)  # "until I say /resume"
PAUSES = {"day": timedelta(days=1), "week": timedelta(days=7)}
NUDGES = ("off", "gentle", "daily")


def _local(call: HookCall, at: datetime) -> datetime:
    zone = call.state.profile.timezone
    return at.astimezone(ZoneInfo(zone) if zone and places.is_valid_zone(zone) else UTC)


def is_paused(paused_until: datetime | None, now: datetime) -> bool:
    return paused_until is not None and paused_until > now


@action("pause_set")
def pause_set(call: HookCall) -> None:
    length = PAUSES.get(str(call.value))
    call.state.profile.paused_until = call.now + length if length else UNTIL_RESUME


@enter("pause_info")
def pause_info(call: HookCall) -> dict[str, Any]:
    until = call.state.profile.paused_until
    paused = is_paused(until, call.now)
    return {
        "paused": paused,
        "forever": paused and until == UNTIL_RESUME,
        "until": _local(call, until) if paused and until else None,
    }


@action("resume_now")
def resume_now(call: HookCall) -> None:
    call.frame.slots["was_paused"] = is_paused(call.state.profile.paused_until, call.now)
    call.state.profile.paused_until = None


@action("save_nudges")
def save_nudges(call: HookCall) -> None:
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
