"""Everything stored about a person, as one plain JSON document they can keep.

Pure: built from the loaded UserState alone; the caller passes the time in.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from dialogs.model import Profile, Record, UserState

# 2: the safety memory (issue 9) moved out of "profile" into its own "safety" section.
FORMAT_VERSION = 2

# Profile fields shown in the "safety" section instead, under names a person can read.
SAFETY_FIELDS = ("risk_level", "risk_at", "unsafe_at", "followup_at")

# Record kinds under names a person can read; any kind not listed keeps its own name.
READABLE: dict[str, str] = {
    "contact": "contacts",
    "needs_map": "needs_maps",
    "thought": "thought_entries",
    "gratitude": "gratitude",
    "safety_plan": "safety_plan",
    "kit_item": "kit_items",
    "mood": "check_ins",
    "checkin_log": "check_in_log",
    "step_follow_up": "step_follow_ups",
    "draft": "drafts",
    "ladder": "step_ladders",
    "step_plan": "planned_steps",
    "reflection": "step_reflections",
    "win": "wins",
    "portfolio": "backup_options",
    "ucla": "loneliness_measures",
    "rhythm": "review_and_windows",
    "review": "weekly_reviews",
}


def _plain(value: Any) -> Any:
    """JSON-friendly copy: times become ISO strings, tuples become lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _record(record: Record) -> dict[str, Any]:
    return {"saved_at": _plain(record.created_at), **_plain(record.data)}


def _safety(profile: Profile) -> dict[str, Any]:
    """What Bridges remembers about a hard moment: levels and times only, never words."""
    return {
        "last_worrying_message": {
            "level": profile.risk_level,  # None, "concern" or "crisis"
            "at": _plain(profile.risk_at),
        },
        "said_not_safe_at": _plain(profile.unsafe_at),
        "follow_up_message_planned_at": _plain(profile.followup_at),
    }


def build(state: UserState, now: datetime) -> dict[str, Any]:
    """The export document: format version, time, profile, safety memory and records.

    Times are ISO 8601 strings (UTC). Pure: `now` is passed in.
    """
    profile = {k: v for k, v in asdict(state.profile).items() if k not in SAFETY_FIELDS}
    records = {
        READABLE.get(kind, kind): [_record(r) for r in items]
        for kind, items in sorted(state.records.items())
        if items
    }
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": now.isoformat(),
        "profile": _plain(profile),
        "safety": _safety(state.profile),
        "records": records,
    }


def to_bytes(export: dict[str, Any]) -> bytes:
    """The document as UTF-8 JSON indented by 2, their words in their own script (not
    \\u-escaped): the file /export sends. Raises TypeError for a value JSON can't hold."""
    return json.dumps(export, ensure_ascii=False, indent=2).encode("utf-8")


def filename(day: date) -> str:
    """The file's name for `day` (the caller passes their local date):
    "bridges-export-2026-11-30.json"."""
    return f"bridges-export-{day.isoformat()}.json"
