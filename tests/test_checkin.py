"""The morning check-in, end to end: mood branches, ideas, support, mood history."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.sender import send_all
from dialogs.model import Due
from storage.repository import UserKey
from tests.fakebot import ChatDriver, FakeBotApi
from tests.telegram_harness import FIXED_NOW, Harness, bridges_on_fake, onboard


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


async def checkin(chat: ChatDriver, mood: str, connected: str = "Skip") -> str:
    await chat.send("/checkin")
    await chat.click(mood)
    await chat.click(connected)
    return chat.transcript()


def moods(tg: Harness) -> list[dict[str, object]]:
    return [r.data for r in tg.state().records.get("mood", [])]


async def test_low_middle_high_branches_and_mood_history(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await checkin(ada, "1")
        assert "heavy start" in ada.last_text or "heavy start" in ada.transcript()
        assert "Need a quick chat?" in " ".join(ada.buttons())
        await ada.click("💬 Need a quick chat?")
        assert tg.state().top and tg.state().top.dialog == "sos"
        await ada.send("/cancel")
        await checkin(ada, "3", "4")
        assert "one small way to connect today" in ada.transcript()
        await checkin(ada, "5")
        assert "note one small win" in ada.last_text
        await ada.send("Called my sister")
        assert "Noted: “Called my sister”. Small wins count." in ada.transcript()
    assert moods(tg) == [
        {"at": FIXED_NOW.isoformat(), "mood": 1, "connected": None},
        {"at": FIXED_NOW.isoformat(), "mood": 3, "connected": 4},
        {"at": FIXED_NOW.isoformat(), "mood": 5, "connected": None},
    ]
    assert [(r.data["text"], r.data["source"]) for r in tg.state().records["win"]] == [
        ("Called my sister", "checkin")
    ]


async def test_typed_numbers_work_and_invalid_input_is_asked_again(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/checkin")
        await ada.send("9")
        assert "whole number from 1 to 5" in ada.last_text
        assert tg.state().top.step == "mood"  # type: ignore[union-attr]
        assert moods(tg) == []
        await ada.send("4")
        await ada.send("banana")
        assert "whole number from 1 to 5" in ada.last_text
        assert tg.state().top.step == "connected"  # type: ignore[union-attr]
        assert moods(tg)[0]["connected"] is None
        await ada.send("2")
        assert "small win" in ada.last_text
        await ada.click("Skip")
        assert "Thanks for checking in" in ada.transcript()
        assert moods(tg) == [{"at": FIXED_NOW.isoformat(), "mood": 4, "connected": 2}]


async def test_the_scheduler_opens_a_checkin(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        key = UserKey("telegram", "1001")
        messages = await asyncio.to_thread(tg.bridges.handle, key, Due("checkin"), FIXED_NOW)
        await send_all(tg.app.bot, tg.bridges.catalog, 1001, messages, None)
        assert "How are you arriving today?" in ada.last_text
        await ada.click("2")
        await ada.click("Skip")
        assert moods(tg)[-1]["mood"] == 2


async def middle_idea(fake: FakeBotApi, url: str, now: datetime) -> str:
    async with bridges_on_fake(url, fake, now=now) as tg:
        ada = tg.chat()
        await ada.send("/checkin")
        await ada.click("3")
        await ada.click("Skip")
        return ada.last_text.split("💡", 1)[1].strip()


async def test_ideas_follow_the_needs_focus_and_do_not_repeat_within_a_week(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/needs")  # a map whose focus is "casual" (emptiest: 4)
        for label in ("Let's map it", "Mornings", "Done", "1", "3", "1", "4", "2", "0", "3"):
            await ada.click(label)
        await ada.click("🌱 Widen my circle")
        await ada.click("Greet the barista by name")
    assert tg.state().records["needs_map"][-1].data["focus"] == "casual"
    shown = [await middle_idea(fake, url, FIXED_NOW + timedelta(days=d)) for d in range(7)]
    assert len(set(shown)) == 7, shown  # every day of a week, all different
    assert "first name" in shown[0] or "hello" in shown[0]  # the focus's ideas come first
    again = await middle_idea(fake, url, FIXED_NOW + timedelta(days=7))
    assert again == shown[0]  # a week later, the first comes back


async def test_three_lows_in_a_row_bring_support_at_most_once_a_day(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        await checkin(ada, "2")
        await checkin(ada, "1")
        assert "last few mornings" not in ada.transcript()
        await checkin(ada, "1")
        assert "last few mornings have felt heavy" in ada.last_text
        assert "🛟 My safety plan" in ada.buttons()
        await checkin(ada, "2")  # same day: the usual low reply
        assert "heavy start" in ada.last_text
        assert ada.transcript().count("last few mornings") == 1
    async with bridges_on_fake(url, fake, now=FIXED_NOW + timedelta(hours=25)) as tg:
        ada = tg.chat()
        await checkin(ada, "1")
        assert "last few mornings have felt heavy" in ada.last_text
        await ada.click("🛟 My safety plan")
        assert tg.state().top.dialog == "plan"  # type: ignore[union-attr]
