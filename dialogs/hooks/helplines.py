"""Hooks for helplines by country, and for choosing that country in Settings."""

from __future__ import annotations

from typing import Any

from dialogs import helplines
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.inputs import fold
from dialogs.spec import ChoiceSpec
from prompts import Catalog, default_catalog

TYPED = "country_typed"  # the change_country step's slot: what they typed, until it is read


def country_name(code: str, name: str, locale: str, catalog: Catalog | None = None) -> str:
    """A country's name in `locale`: its label `country.<code>` (prompts/<locale>/common/),
    else `name`, the data's English name."""
    catalog = catalog or default_catalog()
    key = f"country.{code}"
    return catalog.label(locale, key) if catalog.has_label(locale, key) else name


def _named_country(text: str, catalog: Catalog) -> str | None:
    """The code of the country whose name, in any language we speak, is `text`
    ("Estados Unidos", "Países Bajos"); None for none."""
    key = fold(text)
    for code in helplines.load().countries:
        for locale in catalog.locales:
            if key and fold(country_name(code, "", locale, catalog)) == key:
                return code
    return None


def _lines_view(lines: tuple[helplines.Line, ...]) -> list[dict[str, Any]]:
    """One bullet per service, for common/_helplines.j2 and common/_abuse_lines.j2.

    Lines of one service in a row (same name, status, hours and audience) are one bullet
    with their numbers together: "call 14416 or 1-800-891-4416". Each bullet:
    {name (None: unnamed), audience, hours (None: not confirmed), call [numbers],
    option, text [{number, keyword}], chat (a site), languages [ISO 639-1 codes it answers
    in, [] when not known], caveat (None, or "secondary": not confirmed by the
    organisation), status, sources [addresses]}.
    """
    grouped: list[dict[str, Any]] = []
    for line in lines:
        texts = [{"number": t.number, "keyword": t.keyword} for t in line.text]
        last = grouped[-1] if grouped else None
        key = (line.name, line.status, line.hours, line.audience)
        if last is not None and line.name is not None and last["key"] == key:
            last["call"] += [n for n in line.call if n not in last["call"]]
            last["text"] += [t for t in texts if t not in last["text"]]
            last["option"] = last["option"] or line.option
            last["chat"] = last["chat"] or line.chat
            last["sources"] += [line.source] if line.source not in last["sources"] else []
            continue
        grouped.append({
            "key": key, "name": line.name, "audience": line.audience, "hours": line.hours,
            "call": list(line.call), "option": line.option, "text": texts, "chat": line.chat,
            "languages": list(line.languages),
            "status": line.status, "caveat": "secondary" if line.status == "SECONDARY" else None,
            "sources": [line.source],
        })  # fmt: skip
    for bullet in grouped:
        del bullet["key"]
    return grouped


@enter("helplines")
def helplines_for_person(call: HookCall) -> dict[str, Any]:
    """`helplines` for common/_helplines.j2 and common/_abuse_lines.j2, and `emergency`.

    helplines: {code, country (its name in their language), guessed (from their time
    zone), emergency (the number, "112"; None when we don't know their country's number for
    sure: the templates then say "your local emergency number"), emergency_number (the
    same), emergency_mobile (another number from mobiles, South Africa's 112, or None),
    lines, abuse_lines (bullets, see _lines_view), directory {name, url}}. `emergency` is
    `helplines.emergency` again. Templates say the number through
    common/_emergency_number.j2, which adds the mobile number in words.
    """
    code, guessed = helplines.country_of(call.state.profile)
    found = helplines.country(code)
    directory = helplines.load().directory
    name = country_name(found.code, found.name, call.state.profile.locale) if found else None
    view = {
        "code": found.code if found else None,
        "country": name,
        "guessed": guessed and found is not None,
        "emergency": found.emergency if found else None,
        "emergency_number": found.emergency if found else None,
        "emergency_mobile": found.emergency_mobile if found else None,
        "lines": _lines_view(found.lines) if found else [],
        "abuse_lines": _lines_view(found.abuse_lines) if found else [],
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
    locale = call.state.profile.locale
    name = country_name(found.code, found.name, locale) if found else None
    return {"country": {"code": code, "name": name, "guessed": guessed}, "typed": typed}


@choices("country_choices")
def country_choices(call: HookCall) -> list[ChoiceSpec]:
    """One button per country offered (dialogs/data helplines' `offered` list), labelled with its
    flag and name; the value is its ISO 3166-1 alpha-2 code."""
    data = helplines.load()
    locale = call.state.profile.locale
    return [
        ChoiceSpec(
            id=code.lower(),
            label="change_country.country",
            value=code,
            ctx=(
                ("flag", helplines.flag(code)),
                ("name", country_name(code, data.countries[code].name, locale)),
            ),
        )
        for code in data.offered
    ]


@action("save_country")
def save_country(call: HookCall) -> str | None:
    """Their country from a tapped button (the code) or typed words (helplines.parse_country:
    a name or a code). Writes `profile.country`. Returns "ask" when typed words name no
    country we know (asked again; `country_info` shows what they typed), else None. A button
    of the step's own (value None) changes nothing."""
    if call.value is None:  # a button of its own, not an answer
        call.frame.slots.pop(TYPED, None)
        return None
    code = helplines.parse_country(str(call.value)) or _named_country(
        str(call.value), default_catalog()
    )
    if code is None:
        return "ask"  # asked again; country_info says what we could not find
    call.frame.slots.pop(TYPED, None)
    call.state.profile.country = code
    return None


@action("follow_time_zone")
def follow_time_zone(call: HookCall) -> None:
    """ "Use my time zone": `profile.country` back to None, so the country comes from their zone."""
    call.state.profile.country = None
