"""Onboarding as a person lives it: the real PTB Application against a fake Bot API."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from storage.tables import User
from tests.fakebot import FakeBotApi
from tests.telegram_harness import bridges_on_fake, onboard


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


def user_rows(harness_bridges: object) -> int:
    engine = harness_bridges.store.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(User)).one()[0])


# The words of this onboarding are checked in tests/transcripts/onboarding_yes.chat; here,
# what it leaves behind.


async def test_onboarding_leaves_a_profile_and_the_command_menu(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        assert ada.last is not None and ada.last.plain_text.startswith("What would you like to do?")
        profile = tg.state().profile
        assert (profile.consented, profile.onboarded) == (True, True)
        assert (profile.timezone, profile.checkin_time) == ("Europe/Lisbon", "08:00")
        assert tg.fake.unanswered_callback_queries() == []
        assert {"menu", "help", "cancel", "start"} <= {c["command"] for c in tg.fake.commands}


async def test_location_sets_the_time_zone(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await ada.send("/start")
        await ada.click("Tell me more")
        await ada.click("Okay, got it")
        await ada.click("Yes, keep my answers")
        assert ada.last is not None and ada.last.requests_location
        await ada.send_location(40.7128, -74.0060)
        assert tg.state().profile.timezone == "America/New_York"
        assert "America/New_York" in ada.messages()[-2].plain_text


async def test_typed_offset_and_typed_time(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await ada.send("/start")
        await ada.send("tell me more")  # typing a button's label works like tapping it
        await ada.send("Okay, got it")
        await ada.send("yes, keep my answers")
        await ada.send("UTC+5:30")
        await ada.send("7.45 am")
        profile = tg.state().profile
        assert (profile.timezone, profile.checkin_time) == ("Asia/Kolkata", "07:45")


async def test_declining_consent_stores_nothing_and_says_how_to_come_back(
    sqlite_url: str,
) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await ada.send("/start")
        assert user_rows(tg.bridges) == 1  # only where they are in the conversation
        await ada.click("Tell me more")
        await ada.click("Okay, got it")
        await ada.click("No, thanks")
        assert "kept nothing" in ada.last_text
        assert "/start" in ada.last_text
        assert user_rows(tg.bridges) == 0
        # And they can begin again.
        await ada.send("/start")
        assert "I'm Bridges" in ada.last_text


async def test_start_again_keeps_everything_and_offers_the_menu(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        before = tg.state()
        replies = await ada.send("/start")
        assert [m.plain_text for m in replies] == [
            "Welcome back! Nothing has been erased; everything is where you left it.",
            "What would you like to do?",
        ]
        assert tg.state() == before


async def test_a_restart_resumes_exactly_where_they_were(sqlite_url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        await ada.send("/start")
        await ada.click("Tell me more")
        await ada.click("Okay, got it")
        await ada.click("Yes, keep my answers")
    # A new process: new Application, same database, same Telegram chat.
    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        await ada.send("Berlin")
        assert tg.state().profile.timezone == "Europe/Berlin"
        assert "When would you like" in ada.last_text


async def test_changing_time_zone_and_checkin_time_from_the_menu(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.click("Settings")
        await ada.click("Time zone")
        assert "Europe/Lisbon" in ada.messages()[-2].plain_text
        await ada.click("New York")
        assert tg.state().profile.timezone == "America/New_York"
        await ada.send("/menu")
        await ada.click("Settings")
        await ada.click("Check-in time")
        await ada.click("No check-ins")
        assert tg.state().profile.checkin_time is None
        assert "no morning check-ins" in ada.last_text


async def test_group_chats_get_one_note_and_nothing_is_stored(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        group = tg.chat(user_id=2002, chat_type="group")
        first = await group.send("/start")
        second = await group.send("what a lovely day everyone")
        third = await group.send("hello everyone, I want to die")
        assert len(first) == 1 and "private chats" in first[0].plain_text
        assert second == []  # the note is said once
        # A crisis is never ignored, even in a group: one short reply with the emergency
        # number (tests/test_screen_everywhere.py has the whole group transcript).
        assert len(third) == 1 and "112 in most of Europe" in third[0].plain_text
        assert user_rows(tg.bridges) == 0
