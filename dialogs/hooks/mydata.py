"""Hooks for a person's own data: the export file, and the word that confirms erasing.

The word is a label, `delete.confirm.word` ("DELETE", "BORRAR"): the confirm step shows it
(`delete_word`) and `check_delete_word` compares what they typed with it; the dialog file
then goes on with `slots.erase`.
"""

from __future__ import annotations

import contextlib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogs import coaching, export
from dialogs.hooks import HookCall, action, enter
from prompts import DEFAULT_LOCALE, default_catalog

DELETE_WORD = "delete.confirm.word"


@enter("export_file")
def export_file(call: HookCall) -> dict[str, Any]:
    """Everything kept about them as a file: `document` ((filename named by their local date,
    JSON bytes): dialogs/export.py) and `saved_count`, the number of things they saved
    (settings such as the review day are left out of the count)."""
    data = export.build(call.state, call.now)
    day = call.now.date()
    if call.state.profile.timezone:  # name the file by their own calendar day
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            day = call.now.astimezone(ZoneInfo(call.state.profile.timezone)).date()
    # The review day, windows and the scheduler's markers are settings, not things saved.
    counts = {
        name: len(items)
        for name, items in data["records"].items()
        if name != export.READABLE[coaching.RHYTHM]
    }
    return {
        "document": (export.filename(day), export.to_bytes(data)),
        "saved_count": sum(counts.values()),
    }


@enter("delete_word")
def delete_word(call: HookCall) -> dict[str, Any]:
    """`word`: what to type to erase everything, in their language ("DELETE", "BORRAR")."""
    return {"word": default_catalog().label(call.state.profile.locale, DELETE_WORD)}


@action("check_delete_word")
def check_delete_word(call: HookCall) -> None:
    """`slots.erase`: True only when the answer is the word of their language or the English
    one, in any case, with spaces around it; False for anything else (a button too)."""
    catalog = default_catalog()
    words = {
        catalog.label(locale, DELETE_WORD).casefold()
        for locale in (call.state.profile.locale, DEFAULT_LOCALE)
    }
    typed = call.value.strip().casefold() if isinstance(call.value, str) else None
    call.frame.slots["erase"] = typed in words
