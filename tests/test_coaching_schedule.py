"""The small-steps method on the clock, end to end (issue 12): the real PTB Application on
the fake Bot API, a clock the tests move, `Sweeper.sweep` called directly.

A person in Asia/Kolkata (UTC+05:30, no DST) plans a step and gets its reminder at that
minute; checks in for ten days and gets the weekly review with its mood chart as a photo.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from tests.fakebot import SentMessage
from tests.telegram_harness import Clock, onboard
from tests.test_sweeper import Bot, bridges_with_clock

# Monday 16 November 2026, 09:00 in Kolkata.
MONDAY = datetime(2026, 11, 16, 3, 30, tzinfo=UTC)
# Telegram's sendPhoto limit for an uploaded photo (Bot API docs, "sendPhoto").
PHOTO_LIMIT = 10 * 1024 * 1024


def photos(messages: list[SentMessage]) -> list[SentMessage]:
    return [m for m in messages if m.method == "sendPhoto"]


def reviews(messages: list[SentMessage]) -> list[SentMessage]:
    return [m for m in messages if "Your week" in (m.text or "")]


async def sweep_at(bot: Bot, at: datetime) -> int:
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
        seen = len(ada.messages())
        # Nothing from them for nearly two weeks; the second Sunday's review is skipped.
        await sweep_at(bot, datetime(2026, 11, 22, 12, 30, tzinfo=UTC))
        # The first week: they wrote in it (no check-ins, so no chart: words only).
        assert len(reviews(ada.messages()[seen:])) == 1
        seen = len(ada.messages())
        await sweep_at(bot, datetime(2026, 11, 29, 12, 30, tzinfo=UTC))
        assert reviews(ada.messages()[seen:]) == []
        rhythm = bot.tg.state().records["rhythm"][0].data
        assert rhythm["review_sent"] == "2026-11-29T12:30:00+00:00"  # marked, not sent
