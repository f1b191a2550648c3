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


EXPECTED = """\
you: /start
bot: Hi, I'm Bridges 🌉
     
     I'm a small coach for the lonely stretches of life. Together we can notice which kind of connection you miss, talk back to harsh thoughts, and take tiny, doable steps toward people.
     
     Shall I tell you a little about how this works?
     [Tell me more]
     [Not now]
you: [Tell me more]
bot: A few honest words first:
     
     • I'm a coach made of careful scripts, <b>not a therapist</b> and <b>not an emergency service</b>.
     • If you are ever in danger, please call your local emergency number.
     • When things feel heavy, <b>Need a quick chat?</b> brings up your people and helplines in one tap.
     [Okay, got it]
you: [Okay, got it]
bot: To be useful over time, I keep what you share here: your answers, settings and check-ins. Nobody else can see them through the bot, but whoever runs the server this bot is on can read its database. You can export or erase all of it whenever you like (/privacy has the details).
     
     Is it okay for me to keep your answers?
     [Yes, keep my answers]
     [No, thanks]
you: [Yes, keep my answers]
bot: So my check-ins reach you at the right time of your day, which time zone are you in?
     
     Tap one below, type your city (or an offset such as UTC+2), or share your location.
     [London / Dublin] [Berlin / Paris / Rome]
     [Kyiv / Athens / Helsinki] [New York / Toronto]
     [Chicago / Dallas] [Los Angeles / Vancouver]
     [India] [Sydney / Melbourne]
bot: Or tap <b>Share my location</b> below. I only use it to set your time zone.
     {📍 Share my location}
you: Lisbon
bot: Got it: <b>Europe/Lisbon (UTC+00:00, 09:00 now)</b>.
     If that looks wrong, you can change it any time from /menu.
     (keyboard removed)
bot: When would you like a gentle check-in each day? Mornings suit many people, but any time works. Tap a time, or type one such as 8:15 or 19:30.
     [7:30] [8:00] [9:00]
     [No check-ins]
you: [8:00]
bot: You're all set: I'll check in around <b>08:00</b> your time. Thank you for trusting me with this. 💛
     {Need a quick chat?}
     {☰ Menu}
bot: Before we start: would you answer three quick questions about how connected you've felt lately? It takes under a minute. I'll ask again every two weeks, so we can both see what changes.
     [Sure, ask me]
     [Skip for now]
you: [Skip for now]
bot: One last thing, if you like: who's someone you could message on a heavy day? Keeping a name or two here puts them one tap away when you need them.
     [➕ Add someone now]
     [Maybe later]
you: [Maybe later]
bot: What would you like to do?
     [💬 Need a quick chat?]
     [🧭 My needs map]
     [🪜 My small steps]
     [🏅 My wins]
     [📈 My week]
     [🪞 Weigh a harsh thought]
     [📖 Past thoughts]
     [👥 My reach-out list]
     [🌱 My safety plan]
     [🧺 My self-soothe kit]
     [🤲 A self-compassion break]
     [🌤 One tiny truth]
     [⚙️ Settings]
     [ℹ️ About Bridges]
     [Close menu]
"""


async def test_onboarding_transcript(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        assert ada.transcript() == EXPECTED.rstrip("\n")
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
