"""Hooks for choosing a language: the locales are the folders under prompts/."""

from __future__ import annotations

from typing import Any

from dialogs.hooks import HookCall, action, choices, enter
from dialogs.spec import ChoiceSpec
from prompts import Catalog, default_catalog

SELF_NAME = "change_language.self_name"  # each locale names itself, in its own words


def language_name(catalog: Catalog, locale: str) -> str:
    """How `locale` names itself (its label `change_language.self_name`), or the locale code when
    its folder has no such label yet."""
    # A new locale folder without its own name still shows up, by its code.
    return catalog.label(locale, SELF_NAME) if catalog.has_label(locale, SELF_NAME) else locale


@choices("locale_choices")
def locale_choices(call: HookCall) -> list[ChoiceSpec]:
    """One button per locale folder under prompts/, each named in its own language; the value is
    the locale code."""
    catalog = default_catalog()
    return [
        ChoiceSpec(
            id=locale,
            label="change_language.locale",
            value=locale,
            ctx=(("name", language_name(catalog, locale)),),
        )
        for locale in catalog.locales
    ]


@action("save_locale")
def save_locale(call: HookCall) -> None:
    """The tapped locale becomes `profile.locale`; a value that is not a locale changes nothing."""
    if call.value in default_catalog().locales:
        call.state.profile.locale = str(call.value)


@enter("language_info")
def language_info(call: HookCall) -> dict[str, Any]:
    """`language`: their language's own name, and `others`: how many other locales there are."""
    catalog = default_catalog()
    return {
        "language": language_name(catalog, call.state.profile.locale),
        "others": len(catalog.locales) - 1,
    }
