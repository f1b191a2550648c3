"""When the small-steps reminders come (dialogs/reminders.py): pure rules, no clock, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialogs import coaching, reminders
from dialogs.model import Profile, Record, UserState

# Monday 23 November 2026, 09:00 UTC = 14:30 in Kolkata.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def person(zone: str = "Asia/Kolkata", **profile: object) -> UserState:
    state = UserState(
        profile=Profile(consented=True, onboarded=True, timezone=zone, last_seen_at=NOW)
    )
    for key, value in profile.items():
        setattr(state.profile, key, value)
    return state


def plan(state: UserState, at: datetime, record_id: int = 7) -> Record:
    data = {
        "ladder": 1,
        "step": 2,
        "at": at.isoformat(),
        "ask_at": (at + timedelta(hours=3)).isoformat(),
        "reminded": None,
        "asked": None,
        "closed": False,
    }
    record = Record(coaching.PLAN, data, record_id, NOW)
    state.records.setdefault(coaching.PLAN, []).append(record)
    return record


def checked_in(state: UserState, at: datetime = NOW) -> UserState:
    state.records.setdefault("mood", []).append(Record("mood", {"mood": 3}, 99, at))
    return state


def whats(state: UserState, now: datetime) -> list[str]:
    return [i.what for i in reminders.due_items(state, now)]


def no_review(state: UserState) -> None:
    coaching.set_rhythm(state, NOW, review_day=None)


def test_a_planned_step_comes_at_its_minute_then_how_did_it_go_after() -> None:
    state = person()
    no_review(state)
    at = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)  # tomorrow 18:00 in Kolkata
    record = plan(state, at)
    assert reminders.next_at(state, NOW) == at
    assert whats(state, at - timedelta(minutes=1)) == []
    due = reminders.due_items(state, at)
    assert [(i.what, i.dialog, i.slots) for i in due] == [("step", "step_reminder", {"plan": 7})]
    reminders.mark_sent(state, due[0], at)
    assert record.data["reminded"] == at.isoformat()
    # 21:00 in Kolkata is the start of quiet hours: the question waits until 08:00.
    later = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
    assert reminders.next_at(state, at) == later
    assert whats(state, at + timedelta(hours=3)) == []
    assert [(i.what, i.dialog) for i in reminders.due_items(state, later)] == [
        ("reflect", "reflect")
    ]
    reminders.mark_sent(state, reminders.due_items(state, later)[0], later)
    assert reminders.next_at(state, later) is None  # closed by the reflection, or asked once


def test_quiet_hours_move_the_question_to_the_morning_and_a_pause_holds_everything() -> None:
    state = person()
    no_review(state)
    at = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # 20:00 Kolkata; asked at 23:00: quiet
    plan(state, at)
    reminders.mark_sent(state, reminders.due_items(state, at)[0], at)
    # 08:00 Kolkata the next morning (quiet hours end).
    assert reminders.next_at(state, at) == datetime(2026, 11, 24, 2, 30, tzinfo=UTC)
    paused = person()
    no_review(paused)
    paused.profile.paused_until = NOW + timedelta(days=3)
    plan(paused, NOW + timedelta(hours=1))
    assert reminders.next_at(paused, NOW) == NOW + timedelta(days=3)
    assert whats(paused, NOW + timedelta(hours=2)) == []


def test_a_reminder_missed_by_hours_is_only_marked_not_sent() -> None:
    state = person()
    no_review(state)
    record = plan(state, NOW - timedelta(hours=13))
    due = reminders.due_items(state, NOW)
    assert [(i.what, i.skip) for i in due] == [("step", True)]
    reminders.mark_sent(state, due[0], NOW)
    assert record.data["reminded"] is not None
    assert [(i.what, i.skip) for i in reminders.due_items(state, NOW)] == [("reflect", False)]


def test_the_weekly_review_comes_sunday_at_18_local_and_skips_a_silent_week() -> None:
    state = checked_in(person())
    sunday = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)  # Sunday 18:00 in Kolkata
    assert reminders.next_at(state, NOW) == sunday
    due = reminders.due_items(state, sunday)
    assert [(i.what, i.skip, i.slots) for i in due] == [("review", False, {"scheduled": True})]
    reminders.mark_sent(state, due[0], sunday)
    # Next week's is planned only once that week holds something (a check-in on Tuesday).
    assert reminders.next_at(state, sunday + timedelta(minutes=1)) is None
    tuesday = sunday + timedelta(days=2)
    checked_in(state, tuesday).profile.last_seen_at = tuesday
    assert reminders.next_at(state, tuesday) == sunday + timedelta(days=7)
    # A silent week's review is never sent, so never planned: no turn runs for it.
    silent = checked_in(person(last_seen_at=NOW - timedelta(days=10)), NOW - timedelta(days=10))
    assert reminders.due_items(silent, sunday) == []
    assert reminders.next_at(silent, NOW) is None
    # They wrote, but noted nothing all week (no check-in, step or win): none either.
    nothing = person()
    assert reminders.due_items(nothing, sunday) == []
    # Its own day and hour; off is off.
    friday = checked_in(person())
    coaching.set_rhythm(friday, NOW, review_day=4, review_time="19:30")
    assert reminders.next_at(friday, NOW) == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    no_review(friday)
    assert reminders.next_at(friday, NOW) is None


def test_the_measure_comes_fourteen_days_after_the_last_answer_or_offer() -> None:
    state = person()
    no_review(state)
    assert reminders.next_at(state, NOW) is None  # never offered: onboarding asks first
    coaching.set_rhythm(state, NOW, measure_asked=NOW.isoformat())
    # Silent for the week before it is due: no questions until they write again.
    assert reminders.next_at(state, NOW) is None
    state.profile.last_seen_at = NOW + timedelta(days=10)
    assert reminders.next_at(state, NOW) == NOW + timedelta(days=14)
    answered = NOW + timedelta(days=2)
    state.records[coaching.UCLA] = [Record(coaching.UCLA, {"items": [2, 2, 2]}, 3, answered)]
    assert reminders.next_at(state, NOW) == answered + timedelta(days=14)
    # Never within 3 hours after they wrote: it would cut into what they came for.
    state.profile.last_seen_at = answered + timedelta(days=14, hours=-1)
    assert reminders.next_at(state, NOW) == answered + timedelta(days=14, hours=2)


def test_connection_windows_remind_at_their_start_skip_quiet_hours_and_rest_in_silence() -> None:
    state = person()
    no_review(state)
    coaching.set_rhythm(state, NOW, windows=["15:00", "22:30"])  # 22:30 is in quiet hours
    first = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # 15:00 Kolkata today
    assert reminders.next_at(state, NOW) == first
    due = reminders.due_items(state, first)
    assert [(i.what, i.slots, i.skip) for i in due] == [("window", {"at": "15:00"}, False)]
    reminders.mark_sent(state, due[0], first)
    late = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 22:30 Kolkata: quiet, skipped
    assert reminders.due_items(state, late) == []
    assert reminders.next_at(state, first) == first + timedelta(days=1)
    # Three days without a word from them: the windows rest until they write.
    state.profile.last_seen_at = NOW - timedelta(days=3)
    assert reminders.next_at(state, first) is None


def test_two_due_at_once_come_spaced_but_a_planned_step_keeps_its_minute() -> None:
    state = checked_in(person())
    sunday = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
    coaching.set_rhythm(state, NOW, measure_asked=(sunday - timedelta(days=14)).isoformat())
    plan(state, sunday)
    assert whats(state, sunday) == ["step", "review", "measure"]
    reminders.mark_sent(state, reminders.due_items(state, sunday)[0], sunday)
    assert whats(state, sunday + timedelta(minutes=5)) == []
    assert reminders.next_at(state, sunday) == sunday + reminders.SPACING
    plan(state, sunday + timedelta(minutes=10), record_id=8)  # a second plan they made
    assert whats(state, sunday + timedelta(minutes=10)) == ["step"]


def test_nothing_before_onboarding_is_finished() -> None:
    state = person()
    state.profile.onboarded = False
    plan(state, NOW)
    assert reminders.next_at(state, NOW) is None
    assert reminders.due_items(state, NOW) == []
