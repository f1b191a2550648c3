"""Hooks for the weekly review: a look back at the person's last seven local days.

`week_summary` is a pure function of the state and the time (the lead's scheduler and
chart code may reuse it); the enter hook adds it to the review's template and, when there
is any mood to draw, gives the dialog manager the 28-day chart. The one question for the week
ahead rotates by ISO week number; the answer is kept in that week's REVIEW record.

What counts as a reach-out: a social step that really happened, i.e. a step reflection
with `happened` true, plus an answer to a follow-up on their first step (a
"step_follow_up" record) saying it went easy, okay or hard. "Not yet" is not counted, nor
a plan or a check-in: the count is only what they told us they did.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from statistics import mean
from typing import Any

from dialogs import coaching, records
from dialogs.hooks import HookCall, action, enter
from dialogs.hooks.checkin import MOOD
from dialogs.hooks.nudge import FOLLOW_UP
from dialogs.hooks.profile import local_time
from dialogs.model import Record, UserState

CHART_DAYS = 28
WEEK_DAYS = 7
WINS_SHOWN = 3
REACHED = ("easy", "okay", "hard")  # follow-up answers that mean the step happened
# Ids of the questions for the week ahead; their words are in prompts/<locale>/review/
# _questions.j2. One a week, in this order, by ISO week number.
QUESTIONS: tuple[str, ...] = (
    "who_to_hear",
    "small_moment",
    "one_message",
    "go_easier",
    "new_place",
    "thank_someone",
)
QUESTION = "question"  # slots: the question shown, so the answer step asks the same one
WEEK_START = "week_start"  # slots: the local date the shown week starts on


def _stamp(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _local_day(zone: str | None, at: datetime | None) -> date | None:
    """The person's local date of an aware time; None for a missing or naive one."""
    if at is None or at.tzinfo is None:
        return None
    return local_time(zone, at).date()


def _when(record: Record, field: str | None = None) -> datetime | None:
    """When a record happened: its data's ISO time `field` if given and valid, else the
    time it was saved."""
    found = _stamp(record.data.get(field)) if field else None
    return found or record.created_at


def question_for(day: date) -> str:
    """The question id for the week that ends on local `day` (rotates by ISO week)."""
    return QUESTIONS[day.isocalendar().week % len(QUESTIONS)]


def week_summary(state: UserState, now: datetime) -> dict[str, Any]:
    """The person's last seven local days, for the weekly review.

    Local dates use profile.timezone (UTC when unset or unknown); the week is the seven
    local days ending on today's, "the week before" the seven before those. `now` must
    be aware. Returns:

    - "today", "week_start": local dates "YYYY-MM-DD" (week_start = today - 6 days)
    - "chart": {"days": [["YYYY-MM-DD", mean mood or None], ...]}: the 28 local dates
      ending today, oldest first; the mean (1-5, two decimals) of that date's "mood"
      records, grouped by the local date of their "at"
    - "checkins": int, mood records this week; "checkins_before": the week before
    - "mood", "mood_before": mean mood (1-5, one decimal) this week / the week before,
      or None without check-ins
    - "steps_tried": REFLECTION records this week with happened true; "steps_climbed":
      those with choice "climb" (a reflection's time is when it was saved)
    - "reach_outs": steps that happened this week plus "step_follow_up" answers easy /
      okay / hard this week (see the module docstring)
    - "wins": texts of this week's WIN records, newest first, at most 3;
      "wins_total": how many this week
    - "ucla": totals (3-9, lower is less lonely) of every UCLA record, oldest first
    - "question": id of this week's question (QUESTIONS; words in the templates)
    - "last_answer": their latest answer to an earlier week's question, or None
    - "quiet": True when nothing at all was noted this week (no check-in, reflection,
      follow-up answer, win or measure): the review then speaks gently, without counts
    """
    zone = state.profile.timezone
    today = local_time(zone, now).date()
    start = today - timedelta(days=WEEK_DAYS - 1)
    before = start - timedelta(days=WEEK_DAYS)

    def this_week(day: date | None) -> bool:
        return day is not None and start <= day <= today

    # Only the period shown is read (bounded by it, not by the whole history): the chart's
    # 28 days and this week, with a day to spare for the time zone; the filters below
    # still go by local dates. Measures (26 a year, every one in the trend) and reviews
    # (52 a year; the last answer may be weeks back) are read whole.
    chart_from = now - timedelta(days=CHART_DAYS + 1)
    week_from = now - timedelta(days=WEEK_DAYS + 1)
    by_day: dict[date, list[int]] = {}
    for record in records.since(state, MOOD, chart_from):
        day = _local_day(zone, _when(record, "at"))
        mood = record.data.get("mood")
        if day is not None and isinstance(mood, int):
            by_day.setdefault(day, []).append(mood)
    chart_dates = [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    chart = [
        [d.isoformat(), round(float(mean(by_day[d])), 2) if d in by_day else None]
        for d in chart_dates
    ]
    week_moods = [m for d, ms in by_day.items() if start <= d <= today for m in ms]
    before_moods = [m for d, ms in by_day.items() if before <= d < start for m in ms]

    reflections = [
        r for r in records.since(state, coaching.REFLECTION, week_from)
        if this_week(_local_day(zone, _when(r)))
    ]  # fmt: skip
    tried = [r for r in reflections if r.data.get("happened") is True]
    climbed = [r for r in tried if r.data.get("choice") == "climb"]
    follow_ups = [
        r for r in records.since(state, FOLLOW_UP, week_from)
        if this_week(_local_day(zone, _when(r, "at")))
    ]  # fmt: skip
    reached = [r for r in follow_ups if r.data.get("answer") in REACHED]
    wins = [
        r for r in records.since(state, coaching.WIN, week_from)
        if this_week(_local_day(zone, _when(r))) and str(r.data.get("text") or "").strip()
    ]  # fmt: skip
    # Newest first; records keep the order they were made in, which breaks ties.
    wins = sorted(wins, key=lambda r: _when(r) or now, reverse=True)
    measures = state.records.get(coaching.UCLA, [])
    measured_now = any(this_week(_local_day(zone, _when(r))) for r in measures)

    earlier = [
        r for r in state.records.get(coaching.REVIEW, [])
        if str(r.data.get("week_start") or "") < start.isoformat() and r.data.get("answer")
    ]  # fmt: skip
    return {
        "today": today.isoformat(),
        "week_start": start.isoformat(),
        "chart": {"days": chart},
        "checkins": len(week_moods),
        "checkins_before": len(before_moods),
        "mood": round(float(mean(week_moods)), 1) if week_moods else None,
        "mood_before": round(float(mean(before_moods)), 1) if before_moods else None,
        "steps_tried": len(tried),
        "steps_climbed": len(climbed),
        "reach_outs": len(tried) + len(reached),
        "wins": [str(r.data["text"]).strip() for r in wins[:WINS_SHOWN]],
        "wins_total": len(wins),
        "ucla": [int(r.data["total"]) for r in measures if isinstance(r.data.get("total"), int)],
        "question": question_for(today),
        "last_answer": str(earlier[-1].data["answer"]) if earlier else None,
        "quiet": not (week_moods or reflections or follow_ups or wins or measured_now),
    }


def _review_record(state: UserState, week_start: str, now: datetime) -> Record:
    """This week's REVIEW record (one per week looked at), made on first look."""
    found = next(
        (
            r
            for r in state.records.get(coaching.REVIEW, [])
            if r.data.get("week_start") == week_start
        ),
        None,
    )
    return found or records.add(
        state, coaching.REVIEW, {"week_start": week_start, "answer": None}, now
    )


@enter("review_week")
def review_week(call: HookCall) -> dict[str, Any]:
    """The week's summary for the review screen (see `week_summary`).

    The question and the week shown are kept in the slots, so an answer typed later is
    filed under the week it answers. The "chart" is left out when the 28 days hold no
    mood at all: an empty chart says nothing kind.
    """
    summary = week_summary(call.state, call.now)
    call.frame.slots[QUESTION] = summary["question"]
    call.frame.slots[WEEK_START] = summary["week_start"]
    _review_record(call.state, summary["week_start"], call.now)
    if all(mood is None for _, mood in summary["chart"]["days"]):
        return {k: v for k, v in summary.items() if k != "chart"} | {"no_chart": True}
    return summary | {"no_chart": False}


@enter("review_question")
def review_question(call: HookCall) -> dict[str, Any]:
    """The question shown on the review screen (this week's, if it was not shown)."""
    shown = call.frame.slots.get(QUESTION)
    today = local_time(call.state.profile.timezone, call.now).date()
    return {"question": shown if shown in QUESTIONS else question_for(today)}


@action("review_save_answer")
def save_answer(call: HookCall) -> None:
    """Keep a typed answer in this week's REVIEW record; a tapped button (its value is
    None) saves nothing. A second answer in the same week replaces the first."""
    if not isinstance(call.value, str) or not call.value.strip():
        return
    week = call.frame.slots.get(WEEK_START)
    if not isinstance(week, str):
        week = week_summary(call.state, call.now)["week_start"]
    record = _review_record(call.state, week, call.now)
    record.data = {**record.data, "answer": call.value.strip()}
