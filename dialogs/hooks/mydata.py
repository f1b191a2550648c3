"""Hooks for a person's own data: the export file.

The erase confirmation needs none: dialogs/flows/delete.yaml checks the typed word itself.
"""

from __future__ import annotations

import contextlib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialogs import coaching, export
from dialogs.hooks import HookCall, enter


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
