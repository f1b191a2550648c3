"""The record kinds of the small-steps method (issue 12), and their shapes.

Small, regular, gradually harder social steps, each reflected on and celebrated: the
ladder, its plans and reflections, the victory log, the social portfolio, the
loneliness measure and the person's coaching rhythm (weekly review, connection
windows). Each is a plain-JSON `Record` (dialogs.model), so a new kind needs no
migration, and `/export` and `/delete` cover it like every other record.

Shapes (`data` of each record; times are ISO 8601 strings in UTC, "HH:MM" is local):

- LADDER  {"need": str | None, "goal": "widen" | "deepen" | "calm" | None,
           "steps": [{"id": int, "idea": str | None, "text": str | None,
                      "expected": int | None (0-10, rated before trying),
                      "tries": int, "done": int}],
           "current": int (a step id)}
  The latest ladder record is the person's ladder; steps run easy to hard.
- PLAN    {"ladder": int (record id), "step": int (step id), "at": UTC time of the step,
           "ask_at": UTC time to ask how it went, "reminded": time | None,
           "asked": time | None, "closed": bool (reflected on or cancelled),
           "backup": item (optional, see PORTFOLIO)}
- REFLECTION {"ladder": int, "step": int, "happened": bool, "expected": int | None,
           "actual": int | None (0-10), "easy": str | None, "hard": str | None,
           "adjust": str | None, "choice": "stay" | "repeat" | "climb" | "smaller" | None}
- WIN     {"text": str, "source": "reflection" | "checkin" | "typed"}
- PORTFOLIO {"low": [item], "some": [item], "plenty": [item]}, item {"idea": id} or
           {"text": str}: fallback actions by energy level, for a plan that falls through.
- UCLA    {"items": [int, int, int] (1-3 each), "total": int (3-9)}; the three-item UCLA
           Loneliness Scale (Hughes, Waite, Hawkley & Cacioppo, 2004, Research on Aging
           26(6):655-672), asked at the end of onboarding and every 14 days after.
- RHYTHM  {"review_day": int (0 = Monday ... 6 = Sunday), "review_time": "HH:MM",
           "windows": ["HH:MM", ...] (none, or two connection windows a day),
           "review_sent": time | None, "window_sent": time | None,
           "measure_asked": time | None}
  One record per person, created on first need; the scheduler's markers live here.
- REVIEW  {"week_start": "YYYY-MM-DD" (local), "answer": str | None}: one per weekly
           review looked at, with their answer to its question for the week ahead.
"""

from __future__ import annotations

from typing import Any

from dialogs import records
from dialogs.model import Record, UserState

LADDER = "ladder"
PLAN = "step_plan"
REFLECTION = "reflection"
WIN = "win"
PORTFOLIO = "portfolio"
UCLA = "ucla"
RHYTHM = "rhythm"
REVIEW = "review"

REVIEW_DAY = 6  # Sunday (datetime.weekday numbering)
REVIEW_TIME = "18:00"
MEASURE_EVERY_DAYS = 14
WINDOW_MINUTES = 30  # a connection window's length, for the reminder's words

RHYTHM_DEFAULTS: dict[str, Any] = {
    "review_day": REVIEW_DAY,
    "review_time": REVIEW_TIME,
    "windows": [],
    "review_sent": None,
    "window_sent": None,
    "measure_asked": None,
}


def rhythm(state: UserState) -> dict[str, Any]:
    """The person's rhythm settings and markers, defaults filled in (read only)."""
    latest = records.latest(state, RHYTHM)
    return {**RHYTHM_DEFAULTS, **(latest.data if latest else {})}


def set_rhythm(state: UserState, now: Any, **changes: Any) -> Record:
    """Change some of the rhythm's fields (RHYTHM shape above), creating the record on first
    use at `now` (an aware datetime); returns the record, changed in place."""
    record = records.latest(state, RHYTHM) or records.add(state, RHYTHM, {}, now)
    record.data = {**record.data, **changes}
    return record


def ladder(state: UserState) -> Record | None:
    """The person's ladder (the latest one), or None."""
    return records.latest(state, LADDER)


def add_win(state: UserState, text: str, source: str, now: Any) -> Record:
    """Note a win in the victory log: a WIN record {"text", "source": "reflection" |
    "checkin" | "typed"} created at `now` (aware)."""
    return records.add(state, WIN, {"text": text, "source": source}, now)
