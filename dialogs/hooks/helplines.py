"""Hooks for helplines by country, and for choosing that country in Settings."""

from __future__ import annotations

from typing import Any

from dialogs import helplines
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.spec import ChoiceSpec

TYPED = "country_typed"  # the change_country step's slot: what they typed, until it is read


def _lines_view(lines: tuple[helplines.Line, ...]) -> list[dict[str, Any]]:
    """One bullet per service: its numbers (call 14416 or 1-800-891-4416) grouped."""
    grouped: list[dict[str, Any]] = []
    for line in lines:
        way = {"how": list(line.how), "number": line.number, "keyword": line.keyword}
        last = grouped[-1] if grouped else None
        if last is not None and last["name"] == line.name:
            last["ways"].append(way)
            last["hours"] = last["hours"] if last["hours"] == line.hours else None
            continue
        grouped.append({"name": line.name, "audience": line.audience, "hours": line.hours,
                        "ways": [way]})  # fmt: skip
    return grouped


@enter("helplines")
def helplines_for_person(call: HookCall) -> dict[str, Any]:
    """`helplines` for common/_helplines.j2, and `emergency` to put first when someone is unsafe.

    `emergency` is None when we don't know their country's number for sure: the templates
    then say "your local emergency number".
    """
    code, guessed = helplines.country_of(call.state.profile)
    found = helplines.country(code)
    directory = helplines.load().directory
    view = {
        "code": found.code if found else None,
        "country": found.name if found else None,
        "guessed": guessed and found is not None,
        "emergency": found.emergency if found else None,
        "lines": _lines_view(found.lines) if found else [],
        "directory": {"name": directory.name, "url": directory.url},
    }
    return {"helplines": view, "emergency": view["emergency"]}


@enter("country_info")
def country_info(call: HookCall) -> dict[str, Any]:
    """Their country for Settings; on the change_country step, what was wrong with an answer.

    A rejected answer is taken back out of the slots here, so it leaves nothing behind.
    """
    code, guessed = helplines.country_of(call.state.profile)
    found = helplines.country(code)
    typed = call.frame.slots.pop(TYPED, None)
    return {
        "country": {"code": code, "name": found.name if found else None, "guessed": guessed},
        "typed": typed,
    }


@choices("country_choices")
def country_choices(call: HookCall) -> list[ChoiceSpec]:
    data = helplines.load()
    return [
        ChoiceSpec(
            id=code.lower(),
            label="change_country.country",
            value=code,
            ctx=(("flag", helplines.flag(code)), ("name", data.countries[code].name)),
        )
        for code in data.offered
    ]


@action("save_country")
def save_country(call: HookCall) -> str | None:
    if call.value is None:  # a button of its own, not an answer
        call.frame.slots.pop(TYPED, None)
        return None
    code = helplines.parse_country(str(call.value))
    if code is None:
        return "ask"  # asked again; country_info says what we could not find
    call.frame.slots.pop(TYPED, None)
    call.state.profile.country = code
    return None


@action("follow_time_zone")
def follow_time_zone(call: HookCall) -> None:
    call.state.profile.country = None
