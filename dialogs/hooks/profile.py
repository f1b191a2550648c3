"""Hooks for onboarding and the settings it shares: consent, time zone, check-in time."""

from __future__ import annotations

from typing import Any

from dialogs import places
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.model import ForgetMe
from dialogs.spec import ChoiceSpec


@action("give_consent")
def give_consent(call: HookCall) -> None:
    call.state.profile.consented = True


@action("forget_me")
def forget_me(call: HookCall) -> None:
    # The engine resets the state after the turn; storage erases the rows.
    call.effects.append(ForgetMe())


@action("save_timezone")
def save_timezone(call: HookCall) -> None:
    call.state.profile.timezone = str(call.value)


@action("save_checkin_time")
def save_checkin_time(call: HookCall) -> None:
    call.state.profile.checkin_time = None if call.value == "off" else str(call.value)


@action("finish_onboarding")
def finish_onboarding(call: HookCall) -> None:
    call.state.profile.onboarded = True


@enter("zone_info")
def zone_info(call: HookCall) -> dict[str, Any]:
    zone = call.state.profile.timezone
    known = zone is not None and places.is_valid_zone(zone)
    return {"zone": places.describe_zone(zone, call.now) if known else zone}


@choices("common_zones")
def common_zones(call: HookCall) -> list[ChoiceSpec]:
    return [
        ChoiceSpec(id=z.id, label="common.place", value=z.zone, ctx=(("name", z.label),))
        for z in places.common_zones()
    ]
