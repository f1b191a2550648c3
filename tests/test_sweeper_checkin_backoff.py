"""Check-ins that go unanswered come less often and more softly; a reply restores them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialogs.schedule import checkin_gap_days
from tests.telegram_harness import Clock, bridges_with_clock, new_messages, onboard

SOFT = "just a quiet hello"
USUAL = "Good morning"


@pytest.mark.parametrize(
    ("unanswered", "days"), [(0, 1), (1, 1), (2, 1), (3, 2), (4, 4), (5, 7), (9, 7)]
)
def test_the_gap_between_checkins_grows_with_silence(unanswered: int, days: int) -> None:
    assert checkin_gap_days(unanswered) == days


async def test_silence_means_fewer_softer_checkins_and_a_reply_restores_them(
    tmp_path: Path,
) -> None:
    clock = Clock(datetime(2026, 11, 22, 20, 0, tzinfo=UTC))
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(9001)
        await onboard(ada, "Lisbon", "8:00")
        await ada.send("/settings")
        await ada.click("How often to nudge")
        await ada.click("Off")
        sent: list[tuple[int, str]] = []
        for day in range(23):  # Ada never answers: one sweep a day at 08:00 Lisbon (UTC)
            clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC) + timedelta(days=day))
            for text in await new_messages(bot, ada):
                sent.append((day, text))
        days = [day for day, _ in sent]
        # Daily while fewer than three wait unanswered; the 4th is softer, and after it
        # they come every 2nd day, every 4th, then weekly.
        assert days == [0, 1, 2, 3, 5, 9, 16]
        wording = [SOFT in text for _, text in sent]
        assert wording == [False, False, False, True, True, True, True]

        # She writes back: the count resets; the next check-ins are usual and daily again.
        await ada.send("hi, sorry, rough couple of weeks")
        for date in (
            datetime(2026, 12, 16, 8, 0, tzinfo=UTC),
            datetime(2026, 12, 17, 8, 0, tzinfo=UTC),
        ):
            clock.set(date)
            texts = await new_messages(bot, ada)
            assert texts and USUAL in texts[0], (date, texts)
