"""The weekly review, the connection window and their settings (issue 12).

`week_summary` on built states (local dates in Asia/Kolkata, counts, the UCLA trend, the
caption's length), the review and window dialogs on the pure manager (the scheduler and
/review are wired by the lead), and the two settings dialogs end to end on the fake Bot API.
"""

from __future__ import annotations

import html
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dialogs import coaching, drafts
from dialogs.hooks import review
from dialogs.hooks.rhythm import in_quiet_hours
from dialogs.manager import DialogManager
from dialogs.model import Press, Profile, Record, Text, Turn, UserState
from dialogs.spec import load_dialogs
from prompts import default_catalog
from tests.telegram_harness import bridges_on_fake, onboard

KOLKATA = "Asia/Kolkata"  # UTC+05:30 all year: 20:00 UTC is 01:30 the next local day
NOW = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)  # Sunday 18:30 in Kolkata
MOODS = [2, 3, 3, 4, 1, 5, 4, 3, 2, 4]  # one check-in a day, oldest first
CATALOG = default_catalog()
DIALOGS = load_dialogs()
MANAGER = DialogManager(DIALOGS, CATALOG)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


def person(zone: str = KOLKATA) -> UserState:
    return UserState(profile=Profile(consented=True, onboarded=True, timezone=zone))


def add(state: UserState, kind: str, data: dict[str, Any], at: datetime) -> None:
    state.records.setdefault(kind, []).append(Record(kind, data, created_at=at))


def ten_checkins(state: UserState, shift: timedelta = timedelta()) -> None:
    """Check-ins at 20:00 UTC on 12-21 November: local dates 13-22 November (+ shift)."""
    for i, mood in enumerate(MOODS):
        at = datetime(2026, 11, 12 + i, 20, 0, tzinfo=UTC) + shift
        add(state, "mood", {"at": at.isoformat(), "mood": mood, "connected": None}, at)


def plain(text: str) -> str:
    """What Telegram counts of an HTML caption: tags gone, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def open_dialog(state: UserState, dialog: str, now: datetime, slots: dict[str, Any]) -> Turn:
    """Open a dialog as the scheduler will (on top, covering what lies below for good)."""
    turn = Turn(state)
    MANAGER._push(turn, dialog, now, slots, via=drafts.DUE)
    return turn


def rendered(turn: Turn) -> list[str]:
    return [CATALOG.render("en", r.template, r.ctx) for r in turn.replies]


# --- week_summary ---------------------------------------------------------------------


def test_the_chart_groups_ten_checkins_by_local_date() -> None:
    state = person()
    ten_checkins(state)
    summary = review.week_summary(state, NOW)
    days = summary["chart"]["days"]
    assert len(days) == 28
    assert days[0][0] == "2026-10-26" and days[-1][0] == "2026-11-22"
    dates = [date.fromisoformat(d) for d, _ in days]
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(dates))
    by_date = dict((d, m) for d, m in days)
    # Local dates, not UTC ones: the first check-in (12 Nov UTC) is 13 Nov in Kolkata.
    assert by_date["2026-11-12"] is None
    assert [by_date[f"2026-11-{13 + i}"] for i in range(10)] == [float(m) for m in MOODS]
    assert sum(m is not None for _, m in days) == 10


def test_two_checkins_on_one_local_day_are_averaged() -> None:
    state = person()
    # Kolkata times: 00:30 and 14:30 on the 21st, 22:30 on the 20th.
    for at, mood in (
        (datetime(2026, 11, 20, 19, 0, tzinfo=UTC), 2),
        (datetime(2026, 11, 21, 9, 0, tzinfo=UTC), 5),
        (datetime(2026, 11, 20, 17, 0, tzinfo=UTC), 4),
    ):
        add(state, "mood", {"at": at.isoformat(), "mood": mood, "connected": None}, at)
    days = dict((d, m) for d, m in review.week_summary(state, NOW)["chart"]["days"])
    assert days["2026-11-21"] == 3.5
    assert days["2026-11-20"] == 4.0


def test_the_weeks_counts() -> None:
    state = person()
    ten_checkins(state)
    # Reflections: two steps happened this week (one climbed), one didn't; one last week.
    # 20:00 UTC on the 15th is already the 16th in Kolkata (the week's first day).
    add(
        state,
        coaching.REFLECTION,
        {"happened": True, "choice": "climb"},
        datetime(2026, 11, 15, 20, 0, tzinfo=UTC),
    )
    add(state, coaching.REFLECTION, {"happened": True, "choice": "stay"}, NOW)
    add(state, coaching.REFLECTION, {"happened": False, "choice": "smaller"}, NOW)
    # 23:30 on the 15th in Kolkata: the week before.
    add(
        state,
        coaching.REFLECTION,
        {"happened": True, "choice": "climb"},
        datetime(2026, 11, 15, 18, 0, tzinfo=UTC),
    )
    # Follow-ups: "easy" counts as a reach-out, "not yet" doesn't, last week's doesn't.
    for answer, at in (
        ("easy", NOW - timedelta(days=1)),
        ("not_yet", NOW),
        ("hard", NOW - timedelta(days=9)),
    ):
        add(state, "step_follow_up", {"at": at.isoformat(), "step": None, "answer": answer}, at)
    for i in range(5):
        add(
            state,
            coaching.WIN,
            {"text": f"win {i}", "source": "typed"},
            NOW - timedelta(days=4) + timedelta(hours=i),
        )
    add(state, coaching.WIN, {"text": "old win", "source": "typed"}, NOW - timedelta(days=8))
    for total, days_ago in ((8, 30), (7, 16), (6, 2)):
        add(
            state,
            coaching.UCLA,
            {"items": [2, 2, 2], "total": total},
            NOW - timedelta(days=days_ago),
        )
    summary = review.week_summary(state, NOW)
    assert summary["today"] == "2026-11-22" and summary["week_start"] == "2026-11-16"
    assert summary["checkins"] == 7 and summary["checkins_before"] == 3
    assert summary["mood"] == round(sum(MOODS[3:]) / 7, 1)
    assert summary["mood_before"] == round(sum(MOODS[:3]) / 3, 1)
    assert (summary["steps_tried"], summary["steps_climbed"]) == (2, 1)
    assert summary["reach_outs"] == 3  # two steps that happened, one follow-up answered
    assert summary["wins"] == ["win 4", "win 3", "win 2"] and summary["wins_total"] == 5
    assert summary["ucla"] == [8, 7, 6]
    assert summary["question"] in review.QUESTIONS
    assert summary["quiet"] is False
    text = rendered(open_dialog(state, "review", NOW, {"scheduled": True}))[0]
    assert "8 → 7 → 6" in text
    assert "Check-ins: <b>7</b>" in text and "(the week before: 2.7)" in text
    assert "Steps you tried: <b>2</b>" in text and "win 4" in text and "old win" not in text


def test_the_question_rotates_week_by_week() -> None:
    asked = [review.week_summary(person(), NOW + timedelta(weeks=w))["question"]
             for w in range(len(review.QUESTIONS))]  # fmt: skip
    assert sorted(asked) == sorted(review.QUESTIONS)


def test_the_caption_stays_under_telegrams_limit_with_long_words() -> None:
    for text in ("w" * 300, "&<>" * 100, "a long day " * 27):
        for week in range(len(review.QUESTIONS)):  # every question once
            shift = timedelta(weeks=week)
            now = NOW + shift
            state = person()
            ten_checkins(state, shift)
            add(state, coaching.REFLECTION, {"happened": True, "choice": "climb"}, now)
            add(state, "step_follow_up", {"at": now.isoformat(), "answer": "okay"}, now)
            for _ in range(6):
                add(state, coaching.WIN, {"text": text, "source": "typed"}, now)
            for total in (9, 8, 7, 6, 5, 4):
                add(state, coaching.UCLA, {"items": [1, 1, 1], "total": total}, now)
            add(state, coaching.REVIEW, {"week_start": "2026-01-01", "answer": text}, now)
            turn = open_dialog(state, "review", now, {"scheduled": True})
            assert "chart" in turn.replies[0].ctx
            assert turn.replies[0].ctx["wins_total"] == 6 and turn.replies[0].ctx["last_answer"]
            caption = rendered(turn)[0]
            assert len(plain(caption)) < 1024, len(plain(caption))
            if text.isalpha():
                assert len(caption) < 1024  # with its tags, too


def test_a_quiet_week_is_gentle_and_an_empty_month_has_no_chart() -> None:
    state = person()
    at = NOW - timedelta(days=20)
    add(state, "mood", {"at": at.isoformat(), "mood": 3, "connected": None}, at)
    summary = review.week_summary(state, NOW)
    assert summary["quiet"] is True and summary["checkins"] == 0
    turn = open_dialog(state, "review", NOW, {"scheduled": True})
    text = plain(rendered(turn)[0])
    assert "quiet one" in text and not re.search(r"\b0\b", text)
    assert sum(m is not None for _, m in turn.replies[0].ctx["chart"]["days"]) == 1
    empty = open_dialog(person(), "review", NOW, {})
    assert "chart" not in empty.replies[0].ctx  # nothing to draw: no picture at all
    assert "quiet one" in rendered(empty)[0]


# --- the review dialog (manager) ------------------------------------------------------


def press(dialog: str, step: str, choice: str) -> Press:
    return Press(DIALOGS[dialog].callback(step, choice))


def test_typing_on_the_review_keeps_the_answer_for_the_week() -> None:
    state = person()
    ten_checkins(state)
    turn = open_dialog(state, "review", NOW, {"scheduled": True})
    labels = [b.label for row in turn.replies[0].buttons for b in row]
    assert labels == ["review.week.answer", "review.week.steps", "review.week.close"]
    assert turn.state.records[coaching.REVIEW][0].data == {
        "week_start": "2026-11-16",
        "answer": None,
    }  # looked at: noted, no answer yet
    turn = MANAGER.step(turn.state, Text("Write to Meera first"), NOW)
    assert "Write to Meera first" in rendered(turn)[0]
    assert [r.data for r in turn.state.records[coaching.REVIEW]] == [
        {"week_start": "2026-11-16", "answer": "Write to Meera first"}
    ]
    assert turn.state.top is None
    # A week later the answer comes back, and this week's has its own record.
    later = open_dialog(turn.state, "review", NOW + timedelta(days=7), {})
    assert "Write to Meera first" in rendered(later)[0]
    assert len(later.state.records[coaching.REVIEW]) == 2


def test_answer_button_skip_and_close_save_nothing_by_mistake() -> None:
    turn = open_dialog(person(), "review", NOW, {})
    shown = turn.state.top.slots[review.QUESTION]  # type: ignore[union-attr]
    turn = MANAGER.step(turn.state, press("review", "week", "answer"), NOW)
    assert turn.state.top.step == "answer"  # type: ignore[union-attr]
    assert turn.replies[0].ctx["question"] == shown
    turn = MANAGER.step(turn.state, press("review", "answer", "skip"), NOW)
    assert turn.state.top is None
    assert [r.data["answer"] for r in turn.state.records[coaching.REVIEW]] == [None]
    turn = open_dialog(turn.state, "review", NOW, {})
    turn = MANAGER.step(turn.state, press("review", "week", "answer"), NOW)
    turn = MANAGER.step(turn.state, Text("Call my brother"), NOW)
    assert [r.data["answer"] for r in turn.state.records[coaching.REVIEW]] == ["Call my brother"]
    turn = open_dialog(turn.state, "review", NOW, {})
    turn = MANAGER.step(turn.state, press("review", "week", "close"), NOW)
    assert turn.state.top is None and [r.template for r in turn.replies] == ["review/bye"]
    assert [r.data["answer"] for r in turn.state.records[coaching.REVIEW]] == ["Call my brother"]


def test_plan_a_step_opens_the_steps_dialog() -> None:
    turn = open_dialog(person(), "review", NOW, {})
    turn = MANAGER.step(turn.state, press("review", "week", "steps"), NOW)
    assert turn.replies[0].template.startswith("steps/")


# --- the connection window -----------------------------------------------------------


def test_the_window_message_and_its_buttons() -> None:
    turn = open_dialog(person(), "window", NOW, {"at": "12:30"})
    text = rendered(turn)[0]
    assert f"next {coaching.WINDOW_MINUTES} minutes" in text and "(12:30)" in text
    assert DIALOGS["window"].steps["open"].display
    opened = MANAGER.step(turn.state, press("window", "open", "contacts"), NOW)
    assert opened.state.top is not None and opened.state.top.dialog == "contacts"
    later = MANAGER.step(turn.state, press("window", "open", "later"), NOW)
    assert later.state.top is None and rendered(later) == [CATALOG.render("en", "window/bye", {})]
    without_slots = rendered(open_dialog(person(), "window", NOW, {}))[0]
    assert "()" not in without_slots and "minutes" in without_slots


def test_quiet_hours_run_past_midnight() -> None:
    assert in_quiet_hours("21:30", "21:00", "08:00") and in_quiet_hours("07:59", "21:00", "08:00")
    assert not in_quiet_hours("08:00", "21:00", "08:00")
    assert not in_quiet_hours("12:30", "21:00", "08:00")
    assert in_quiet_hours("13:00", "12:00", "14:00") and not in_quiet_hours(
        "14:00", "12:00", "14:00"
    )


# --- the settings, end to end --------------------------------------------------------


def rhythm_of(state: UserState) -> dict[str, Any]:
    return coaching.rhythm(state)


async def test_settings_weekly_review_day_time_and_off(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        replies = await ada.send("/settings")
        assert "• Weekly review: Sundays at 18:00" in replies[-1].plain_text
        await ada.click("Weekly review")
        assert "Right now it's Sundays at 18:00" in ada.last.plain_text
        await ada.click("Fri")
        assert "Friday it is" in ada.last.plain_text
        saved = await ada.send("19:30")
        assert (
            saved[-1].plain_text == "Done: your weekly review comes on Fridays at 19:30, your time."
        )
        assert ada.buttons() == ["⚙️ Back to settings", "👍 Done"]
        rhythm = rhythm_of(tg.state())
        assert (rhythm["review_day"], rhythm["review_time"]) == (4, "19:30")
        back = await ada.click("Back to settings")
        assert "• Weekly review: Fridays at 19:30" in back[-1].plain_text
        await ada.click("Weekly review")
        await ada.click("Mon")
        await ada.click("18:00")
        assert (rhythm_of(tg.state())["review_day"], rhythm_of(tg.state())["review_time"]) == (
            0,
            "18:00",
        )
        await ada.send("/settings")
        await ada.click("Weekly review")
        await ada.click("Turn off")
        assert "no weekly review for now" in ada.last.plain_text
        assert rhythm_of(tg.state())["review_day"] is None
        assert len(tg.state().records[coaching.RHYTHM]) == 1  # one record, changed in place
        await ada.click("Done")
        assert "All set" in ada.last.plain_text


async def test_settings_connection_windows_on_own_and_off(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        replies = await ada.send("/settings")
        assert "• Connection windows: off" in replies[-1].plain_text
        await ada.click("Connection windows")
        await ada.click("12:30 and 19:00")
        assert rhythm_of(tg.state())["windows"] == ["12:30", "19:00"]
        assert "connection windows at 12:30 and 19:00, your time" in ada.last.plain_text
        assert "quiet hours" not in ada.last.plain_text
        await ada.click("Back to settings")
        assert "• Connection windows: 12:30 and 19:00" in ada.last.plain_text
        await ada.click("Connection windows")
        await ada.click("Choose my own")
        await ada.send("21:30")
        await ada.send("21:30")
        assert "same time as the first" in ada.last.plain_text
        assert rhythm_of(tg.state())["windows"] == ["12:30", "19:00"]
        await ada.send("7:45")
        assert rhythm_of(tg.state())["windows"] == ["07:45", "21:30"]  # earliest first
        assert "07:45 and 21:30 fall in your quiet hours" in ada.last.plain_text
        await ada.send("/settings")
        await ada.click("Connection windows")
        await ada.click("Turn them off")
        assert rhythm_of(tg.state())["windows"] == []
        assert "no connection windows for now" in ada.last.plain_text
        assert ada.buttons() == ["⚙️ Back to settings", "👍 Done"]


async def test_review_on_telegram_is_a_chart_photo_with_its_caption(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/checkin")
        await ada.click("4")
        await ada.click("Skip")
        await ada.click("Skip")  # no small win to note
        await ada.send("/review")
        photo = ada.last
        assert photo.method == "sendPhoto" and photo.document is not None
        assert "Check-ins: 1, mood around 4.0 out of 5" in photo.plain_text
        assert photo.button_labels == ["✍️ Answer the question", "🪜 Plan a step", "Close"]
        await ada.send("Say hi to my neighbour")
        assert "Noted: Say hi to my neighbour" in ada.last.plain_text
        kept = [r.data for r in tg.state().records[coaching.REVIEW]]
        assert kept == [{"week_start": "2026-11-17", "answer": "Say hi to my neighbour"}]


# --- every step has a way on, back or out --------------------------------------------


GROUP = ("compassion", "truth", "wins", "measure", "change_windows", "change_review", "review")


def test_every_step_that_waits_for_an_answer_shows_a_button() -> None:
    """Without one, /cancel is the only way out of a step: a dead end on a phone."""
    for name in (*GROUP, "window"):
        for step in DIALOGS[name].steps.values():
            if step.end or step.input == "none":
                continue
            assert step.choices, f"{name}.{step.id} shows no button"


async def test_own_window_times_have_a_way_back_and_a_way_out(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/settings")
        await ada.click("Connection windows")
        await ada.click("Choose my own times")
        assert ada.buttons() == ["« Back", "Turn them off"]
        await ada.click("Back")
        assert "When would suit you" in ada.last.plain_text or "Right now" in ada.last.plain_text
        await ada.click("Choose my own times")
        await ada.send("10:00")
        await ada.send("10:00")  # the same again: asked again, with the buttons
        assert ada.buttons() == ["« Back", "Turn them off"]
        await ada.send("back")  # typed: to the first time, and the "same time" note goes
        assert "first window" in ada.last.plain_text
        await ada.send("9:15")
        assert "First window at 09:15" in ada.last.plain_text
        assert rhythm_of(tg.state())["windows"] == []  # nothing saved on the way
        await ada.click("Turn them off")
        assert "no connection windows for now" in ada.last.plain_text
        assert rhythm_of(tg.state())["windows"] == []
        await ada.send("/settings")
        await ada.click("Connection windows")
        await ada.click("12:30 and 19:00")
        await ada.send("/settings")
        await ada.click("Connection windows")
        await ada.click("Choose my own times")
        await ada.send("turn them off")
        assert rhythm_of(tg.state())["windows"] == []


async def test_the_review_time_step_has_a_way_back_to_the_days(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/settings")
        await ada.click("Weekly review")
        await ada.click("Fri")
        assert "« Back" in ada.buttons()
        await ada.click("Back")
        assert "Which day suits you" in ada.last.plain_text
        assert rhythm_of(tg.state())["review_day"] == 6  # unchanged: still Sunday
        await ada.click("Tue")
        await ada.click("20:00")
        assert (rhythm_of(tg.state())["review_day"], rhythm_of(tg.state())["review_time"]) == (
            1,
            "20:00",
        )


def test_a_plain_no_closes_the_review_without_an_answer() -> None:
    turn = open_dialog(person(), "review", NOW, {})
    turn = MANAGER.step(turn.state, Text("no thanks"), NOW)
    assert turn.state.top is None and [r.template for r in turn.replies] == ["review/bye"]
    assert [r.data["answer"] for r in turn.state.records[coaching.REVIEW]] == [None]
