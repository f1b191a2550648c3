"""The small-steps method on the clock, end to end (issue 12): the real PTB Application on
the fake Bot API, a clock the tests move, `Sweeper.sweep` called directly.

A person in Asia/Kolkata (UTC+05:30, no DST) plans a step and gets its reminder at that
minute; checks in for ten days and gets the weekly review with its mood chart as a photo.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from dialogs import coaching
from storage.tables import RecordRow, User
from tests.fakebot import ChatDriver, SentMessage
from tests.telegram_harness import Clock, ClockedBot, bridges_with_clock, onboard

# Monday 16 November 2026, 09:00 in Kolkata.
MONDAY = datetime(2026, 11, 16, 3, 30, tzinfo=UTC)
# Telegram's sendPhoto limit for an uploaded photo (Bot API docs, "sendPhoto").
PHOTO_LIMIT = 10 * 1024 * 1024


def photos(messages: list[SentMessage]) -> list[SentMessage]:
    return [m for m in messages if m.method == "sendPhoto"]


def reviews(messages: list[SentMessage]) -> list[SentMessage]:
    return [m for m in messages if "Your week" in (m.text or "")]


async def sweep_at(bot: ClockedBot, at: datetime) -> int:
    bot.clock.set(at)
    return await bot.sweep()


async def test_ten_check_ins_then_sunday_18_00_brings_the_review_with_its_chart(
    tmp_path: Path,
) -> None:
    clock = Clock(MONDAY)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat()
        await onboard(ada, "Kolkata", "9:00")
        assert bot.tg.state().profile.timezone == "Asia/Kolkata"
        for day in range(10):
            clock.set(MONDAY + timedelta(days=day, minutes=5))
            await ada.send("/checkin")
            await ada.click(str(1 + day % 5))
            await ada.click("Skip")
        sunday = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)  # 18:00 in Kolkata
        await sweep_at(bot, sunday - timedelta(hours=2))  # whatever else is due (a nudge)
        seen = len(ada.messages())
        assert await sweep_at(bot, sunday - timedelta(minutes=1)) == 0
        assert await sweep_at(bot, sunday) == 1
        sent = photos(ada.messages()[seen:])
        assert len(sent) == 1, ada.transcript()
        review = sent[0]
        assert review.document is not None
        png = review.document.content
        assert png.startswith(b"\x89PNG") and len(png) < PHOTO_LIMIT
        with Image.open(io.BytesIO(png)) as image:
            image.load()
            assert image.format == "PNG"
            assert image.size == (1000, 700)
        caption = review.text or ""
        assert len(caption) <= 1024
        assert "check-in" in caption.lower(), caption
        # Once a week: the next sweep sends nothing more.
        assert await sweep_at(bot, sunday + timedelta(minutes=1)) == 0
        assert bot.tg.state().records["rhythm"][0].data["review_sent"] == sunday.isoformat()


async def test_a_silent_week_gets_no_review(tmp_path: Path) -> None:
    clock = Clock(MONDAY)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat()
        await onboard(ada, "Kolkata", "No check-ins")
        await ada.send("/checkin")
        await ada.click("3")
        await ada.click("Skip")
        seen = len(ada.messages())
        # One check-in on Monday, then nothing for nearly two weeks.
        await sweep_at(bot, datetime(2026, 11, 22, 12, 30, tzinfo=UTC))
        assert len(reviews(ada.messages()[seen:])) == 1  # the first week had a check-in
        seen = len(ada.messages())
        await sweep_at(bot, datetime(2026, 11, 29, 12, 30, tzinfo=UTC))
        assert reviews(ada.messages()[seen:]) == []
        rhythm = bot.tg.state().records["rhythm"][0].data
        assert rhythm["review_sent"] == "2026-11-22T12:30:00+00:00"  # the first week's only


async def ladder_of_activities(chat: ChatDriver, ratings: list[str]) -> None:
    await chat.send("/steps")
    await chat.click("Start from scratch")
    await chat.click("Shared activities")
    await chat.click("Looks good")
    for rating in ratings:
        await chat.click(rating)


async def plan_first_step(chat: ChatDriver, day: str, time: str) -> None:
    await chat.send("/steps")
    await chat.click("Plan a step")
    await chat.click("👉")  # the current step
    await chat.click(day)
    await chat.send(time)
    await chat.click("Skip the backup")


def texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.plain_text for m in messages)


async def test_a_step_planned_for_tomorrow_18_00_in_kolkata_is_reminded_at_that_minute(
    tmp_path: Path,
) -> None:
    clock = Clock(MONDAY)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat()
        await onboard(ada, "Kolkata", "No check-ins")
        await ladder_of_activities(ada, ["7", "8", "8", "9", "9", "10"])
        first = (coaching.ladder(bot.tg.state()) or pytest.fail("no ladder")).data["current"]
        await plan_first_step(ada, "Tomorrow", "18:00")
        assert "tomorrow at 18:00" in ada.last.plain_text
        tomorrow_18 = datetime(2026, 11, 17, 12, 30, tzinfo=UTC)  # 18:00 in Kolkata
        seen = len(ada.messages())
        await sweep_at(bot, tomorrow_18 - timedelta(minutes=1))
        assert ada.messages()[seen:] == []
        assert await sweep_at(bot, tomorrow_18) == 1
        reminder = texts(ada.messages()[seen:])
        assert "🚶 I'm going" in ada.buttons(), reminder
        await ada.click("🚶 I'm going")
        # "How did it go?" 3 hours later is 21:00, in quiet hours: 08:00 the next morning.
        seen = len(ada.messages())
        await sweep_at(bot, tomorrow_18 + timedelta(hours=3))
        assert ada.messages()[seen:] == []
        morning = datetime(2026, 11, 18, 2, 30, tzinfo=UTC)
        assert await sweep_at(bot, morning) == 1
        assert ada.buttons()[:3] == ["Yes", "Partly", "It didn't happen"], ada.transcript()
        await ada.click("Yes")
        await ada.click("4")
        assert "You expected 7; it was 4." in texts(ada.messages()[seen:]), ada.transcript()
        for _ in range(3):  # easy, hard, adjust: skipped
            await ada.click("Skip")
        climb = next(label for label in ada.buttons() if "Climb to" in label)
        await ada.click(climb)
        state = bot.tg.state()
        the_ladder = (coaching.ladder(state) or pytest.fail("no ladder")).data
        assert the_ladder["current"] != first
        [reflection] = [r.data for r in state.records[coaching.REFLECTION]]
        assert (reflection["expected"], reflection["actual"], reflection["choice"]) == (
            7,
            4,
            "climb",
        )
        [plan] = [r.data for r in state.records[coaching.PLAN]]
        assert plan["closed"] and plan["reminded"] == tomorrow_18.isoformat()
        # Its win is in the victory log.
        await ada.send("/wins")
        assert "Ladder step:" in ada.last.plain_text


async def test_not_today_at_the_reminder_is_met_kindly_with_a_smaller_step(tmp_path: Path) -> None:
    clock = Clock(MONDAY)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat()
        await onboard(ada, "Kolkata", "No check-ins")
        await ladder_of_activities(ada, ["3", "4", "5", "6", "7", "8"])
        steps_before = len((coaching.ladder(bot.tg.state()) or pytest.fail()).data["steps"])
        await plan_first_step(ada, "Today", "19:30")
        at = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)  # 19:30 in Kolkata
        assert await sweep_at(bot, at) == 1
        await ada.click("Not today")
        await ada.click("Let it go for now")
        said = ada.transcript()
        for blame in ("should have", "failed", "fault"):
            assert blame not in said.lower()
        state = bot.tg.state()
        the_ladder = (coaching.ladder(state) or pytest.fail()).data
        assert len(the_ladder["steps"]) == steps_before + 1  # a smaller step, below
        assert "📅 Plan the smaller step" in ada.buttons()
        [reflection] = [r.data for r in state.records[coaching.REFLECTION]]
        assert reflection["happened"] is False
        # The plan is closed: no "how did it go?" later for it.
        seen = len(ada.messages())
        await sweep_at(bot, at + timedelta(hours=13))
        assert "did it happen" not in texts(ada.messages()[seen:]).lower()


def exported(chat: ChatDriver) -> dict[str, Any]:
    [file] = [m.document for m in chat.messages() if m.method == "sendDocument" and m.document]
    return dict(json.loads(file.content.decode("utf-8")))


async def test_export_holds_all_of_it_and_delete_erases_all_of_it(tmp_path: Path) -> None:
    clock = Clock(MONDAY)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat()
        await onboard(ada, "Kolkata", "9:00")
        await ada.send("/measure")  # the loneliness measure
        await ada.click("Let's do it")
        for answer in ("Often", "Some of the time", "Often"):
            await ada.click(answer)
        await ada.send("/checkin")  # a high check-in: a win
        await ada.click("5")
        await ada.click("Skip")
        await ada.send("Said hi to my neighbour")
        await ada.send("/wins")  # the victory log has it
        assert "Said hi to my neighbour" in ada.last.plain_text
        await ada.click("Close")
        await ladder_of_activities(ada, ["7", "8", "8", "9", "9", "10"])
        await ada.send("/steps")  # a plan with a backup from the portfolio
        await ada.click("Plan a step")
        await ada.click("👉")
        await ada.click("Today")
        await ada.send("18:00")
        await ada.click("Low")
        await ada.click(ada.buttons()[0])
        clock.set(MONDAY + timedelta(hours=10))  # after the step: reflect from /steps
        await ada.send("/steps")
        await ada.click("How did it go?")
        await ada.click("Yes")
        await ada.click("4")
        for _ in range(3):
            await ada.click("Skip")
        await ada.click(next(b for b in ada.buttons() if "Climb to" in b))
        await ada.send("/settings")  # connection windows
        await ada.click("Connection windows")
        await ada.click("12:30 and 19:00")
        await ada.send("/review")  # the week, and an answer to its question
        await ada.send("Text my cousin back")
        await ada.send("/export")
        data = exported(ada)
        records = data["records"]
        for name in (
            "loneliness_measures", "check_ins", "wins", "step_ladders", "planned_steps",
            "backup_options", "step_reflections", "review_and_windows", "weekly_reviews",
        ):  # fmt: skip
            assert records.get(name), (name, sorted(records))
        assert [m["total"] for m in records["loneliness_measures"]] == [8]
        assert {w["source"] for w in records["wins"]} == {"checkin", "reflection"}
        assert records["review_and_windows"][0]["windows"] == ["12:30", "19:00"]
        assert records["weekly_reviews"][0]["answer"] == "Text my cousin back"
        assert records["step_reflections"][0]["actual"] == 4
        await ada.send("/delete")
        await ada.click("Erase everything")
        await ada.send("delete")
        assert "Everything I kept about you is erased" in ada.last_text
        assert bot.tg.state().records == {}
        with bot.tg.bridges.store.engine.connect() as db:
            assert db.execute(select(func.count()).select_from(RecordRow)).scalar_one() == 0
            assert db.execute(select(func.count()).select_from(User)).scalar_one() == 0


async def test_the_measure_comes_back_after_two_weeks_and_windows_at_their_start(
    tmp_path: Path,
) -> None:
    clock = Clock(MONDAY)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat()
        await onboard(ada, "Kolkata", "No check-ins")  # the measure skipped at the end
        await ada.send("/settings")
        await ada.click("Connection windows")
        await ada.click("12:30 and 19:00")
        seen = len(ada.messages())
        window = datetime(2026, 11, 16, 13, 30, tzinfo=UTC)  # 19:00 in Kolkata, today
        await sweep_at(bot, window - timedelta(minutes=1))
        assert ada.messages()[seen:] == []
        assert await sweep_at(bot, window) == 1
        assert "Your connection window (19:00)" in ada.last.plain_text
        await ada.click("Not now")
        # Two weeks after the offer at onboarding: the three questions again, gently (to
        # someone who still writes: a check-in on day 10).
        clock.set(MONDAY + timedelta(days=10))
        await ada.send("/checkin")
        await ada.click("4")
        await ada.click("Skip")
        await ada.click("Skip")
        two_weeks = MONDAY + timedelta(days=14)
        await sweep_at(bot, two_weeks - timedelta(hours=2))  # windows, nudges before it
        seen = len(ada.messages())
        await sweep_at(bot, two_weeks)
        assert "a couple of weeks" in texts(ada.messages()[seen:]), ada.transcript()
        assert "Let's do it" in ada.buttons()


async def test_a_low_check_in_brings_back_a_past_win(tmp_path: Path) -> None:
    clock = Clock(MONDAY)
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat()
        await onboard(ada, "Kolkata", "No check-ins")
        await ada.send("/wins")
        await ada.click("Add a win")
        await ada.send("Went to the pottery class alone")
        await ada.click("Yes, it's a win")  # "alone" reads like a feeling: asked first
        clock.set(MONDAY + timedelta(days=2))
        await ada.send("/checkin")
        await ada.click("1")
        await ada.click("Skip")
        low = ada.last.plain_text
        assert "Remember when you noted this? “Went to the pottery class alone”" in low
