"""Hooks for onboarding and the settings it shares: consent, time zone, check-in time,
and the person's own time of day (for greetings and check-in words that fit it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialogs import coaching, places
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.model import ForgetMe
from dialogs.spec import ChoiceSpec
from prompts import default_catalog


@action("give_consent")
def give_consent(call: HookCall) -> None:
    """ "I agree": `profile.consented` becomes True."""
    call.state.profile.consented = True


@action("forget_me")
def forget_me(call: HookCall) -> None:
    """Declined consent or /delete confirmed: a ForgetMe effect; the dialog manager empties
    the state after the turn and storage erases every row about them."""
    # The dialog manager resets the state after the turn; storage erases the rows.
    call.effects.append(ForgetMe())


@action("save_timezone")
def save_timezone(call: HookCall) -> None:
    """The zone chosen (the value: an IANA name from a button, a typed place or a location)
    becomes `profile.timezone`."""
    call.state.profile.timezone = str(call.value)


@action("save_checkin_time")
def save_checkin_time(call: HookCall) -> None:
    """Keep the new time ("HH:MM", or "off"); the part of the day of the old one stays in
    the frame (`was_part`), so switching off can say which check-ins stop."""
    call.frame.slots["was_part"] = _clock_part(call.state.profile.checkin_time)
    call.state.profile.checkin_time = None if call.value == "off" else str(call.value)


@action("finish_onboarding")
def finish_onboarding(call: HookCall) -> None:
    """The end of onboarding: `profile.onboarded` becomes True (dialogs needing a profile open)."""
    call.state.profile.onboarded = True


@action("note_measure_offered")
def note_measure_offered(call: HookCall) -> None:
    """The loneliness measure was offered: the next offer comes 14 days from now."""
    coaching.set_rhythm(call.state, call.now, measure_asked=call.now.isoformat())


@enter("zone_info")
def zone_info(call: HookCall) -> dict[str, Any]:
    """`zone`: their zone for common/_zone.j2, {name, offset, clock} (places.describe_zone:
    its name, UTC offset and local time now; offset and clock None for a zone this machine
    doesn't know), or None when it is unset."""
    zone = call.state.profile.timezone
    if zone is None:
        return {"zone": None}
    if places.is_valid_zone(zone):
        return {"zone": places.describe_zone(zone, call.now)._asdict()}
    return {"zone": {"name": zone, "offset": None, "clock": None}}


@choices("common_zones")
def common_zones(call: HookCall) -> list[ChoiceSpec]:
    """One button per common zone (places.common_zones), labelled with its places in the
    person's language (label `common.zone.<id>`; the data's own label for a zone without
    one); the value is the IANA zone name."""
    catalog = default_catalog()
    locale = call.state.profile.locale
    buttons = []
    for z in places.common_zones():
        key = f"common.zone.{z.id}"
        if catalog.has_label(locale, key):
            buttons.append(ChoiceSpec(id=z.id, label=key, value=z.zone))
        else:
            buttons.append(
                ChoiceSpec(id=z.id, label="common.place", value=z.zone, ctx=(("name", z.label),))
            )
    return buttons


# --- the person's own time of day ---------------------------------------------------

# Where each part of the day begins, in local hours (0-23); the night runs past midnight.
PARTS_OF_DAY: tuple[tuple[int, str], ...] = (
    (5, "morning"),
    (12, "afternoon"),
    (17, "evening"),
    (22, "night"),
)


def part_of_day(hour: int) -> str:
    """The part of the day of a local `hour`: morning (05-11), afternoon (12-16), evening
    (17-21) or night (22-04), as "morning", "afternoon", "evening" or "night".

    `hour` is a local hour, 0-23; anything else raises ValueError (a caller bug).
    """
    if not 0 <= hour <= 23:
        raise ValueError(f"an hour is 0-23, not {hour}")
    part = PARTS_OF_DAY[-1][1]  # before the first boundary: still last night
    for start, name in PARTS_OF_DAY:
        if hour >= start:
            part = name
    return part


def local_time(zone: str | None, at: datetime) -> datetime:
    """`at` (an aware datetime) on the person's clock, in IANA `zone`; in UTC when their
    zone is unset or unknown. A naive `at` is read as the machine's local time (Python's
    rule): callers pass aware times, as the dialog manager's `now` is."""
    tz = ZoneInfo(zone) if zone and places.is_valid_zone(zone) else UTC
    return at.astimezone(tz)


def _clock_part(value: str | None) -> str | None:
    """The part of the day of a local "HH:MM" (a check-in time); None for none or junk."""
    try:
        hour = int(str(value).split(":", 1)[0]) if value else -1
    except ValueError:
        return None
    return part_of_day(hour) if 0 <= hour <= 23 else None


@enter("local_moment")
def local_moment(call: HookCall) -> dict[str, Any]:
    """The turn's time on the person's clock, for words that fit it.

    `part_of_day`: "morning" | "afternoon" | "evening" | "night", from profile.timezone and
    the turn's time; `checkin_part`: the same for their check-in time, or None when check-ins
    are off.
    """
    profile = call.state.profile
    return {
        "part_of_day": part_of_day(local_time(profile.timezone, call.now).hour),
        "checkin_part": _clock_part(profile.checkin_time),
    }
