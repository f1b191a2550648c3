"""Words that fit the moment: greetings by the person's own hour, check-in words that work
at any time they chose, "Back to settings" after a change, "Save" on the plan's last part,
and screens that speak to the person.

Conversation tests run the real PTB Application against the fake Bot API.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs.hooks.profile import local_time, part_of_day
from prompts import default_catalog
from tests.telegram_harness import (
    FIXED_NOW,
    Clock,
    bridges_on_fake,
    bridges_with_clock,
    new_messages,
    onboard,
)

GREETINGS = ("Good morning", "Good afternoon", "Good evening", "Hello 🌙 It's late where you are")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


# --- the part of the day ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "part"),
    [(0, "night"), (4, "night"), (5, "morning"), (11, "morning"), (12, "afternoon"),
     (16, "afternoon"), (17, "evening"), (21, "evening"), (22, "night"), (23, "night")],
)  # fmt: skip
def test_each_hour_has_its_part_of_the_day(hour: int, part: str) -> None:
    assert part_of_day(hour) == part


@pytest.mark.parametrize("hour", [-1, 24])
def test_an_hour_out_of_range_is_a_caller_bug(hour: int) -> None:
    with pytest.raises(ValueError, match="0-23"):
        part_of_day(hour)


def test_local_time_follows_their_zone_and_falls_back_to_utc() -> None:
    assert local_time("Asia/Tokyo", FIXED_NOW).hour == 18
    assert local_time("America/Los_Angeles", FIXED_NOW).hour == 1
    assert local_time(None, FIXED_NOW).hour == 9
    assert local_time("Not/AZone", FIXED_NOW).hour == 9


# --- greetings by their own hour -------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "greeting"),
    [
        ("Lisbon", FIXED_NOW, "Good morning"),  # 09:00 UTC, 09:00 in Lisbon
        ("Tokyo", FIXED_NOW, "Good evening"),  # 09:00 UTC is 18:00 in Tokyo
        ("Lisbon", datetime(2026, 11, 23, 14, 0, tzinfo=UTC), "Good afternoon"),
        ("Los Angeles", FIXED_NOW, "Hello 🌙 It's late where you are"),  # 01:00 there
    ],
)
async def test_the_checkin_greets_by_their_local_hour(
    url: str, zone: str, now: datetime, greeting: str
) -> None:
    async with bridges_on_fake(url, now=now) as tg:
        ada = tg.chat()
        await onboard(ada, zone_text=zone)
        replies = await ada.send("/checkin")
        text = replies[-1].plain_text
        assert text.startswith(greeting), text
        assert [g for g in GREETINGS if g in text] == [greeting]
        assert ("today" in text) == (greeting == "Good morning")


async def test_an_evening_checkin_never_says_morning(tmp_path: Path) -> None:
    """A check-in chosen for 19:30, as the sweep sends it and as Settings describe it."""
    clock = Clock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    async with bridges_with_clock(tmp_path, clock) as bot:
        ada = bot.tg.chat(4242)
        await onboard(ada, "Lisbon", "8:00")
        card = await ada.send("/settings")
        assert "• Check-in: 08:00 every morning" in card[-1].plain_text
        asked = await ada.click("Check-in time")
        assert asked[-1].plain_text.startswith("Your morning check-in is at 08:00.")
        saved = await ada.send("19:30")
        assert saved[0].plain_text == ("Done: I'll check in around 19:30 your time, every evening.")
        assert ada.buttons() == ["⚙️ Back to settings", "👍 Done"]
        card = await ada.click("Back to settings")
        assert "• Check-in: 19:30 every evening" in card[-1].plain_text
        await ada.click("Check-in time")
        assert ada.last.plain_text.startswith("Your evening check-in is at 19:30.")
        await ada.send("/cancel")

        clock.set(datetime(2026, 11, 22, 19, 30, tzinfo=UTC))  # 19:30 in Lisbon
        sent = await new_messages(bot, ada)
        assert sent and sent[0].startswith("Good evening"), sent
        assert not any("morning" in text.lower() for text in sent)

        # A middling evening: the idea is for tomorrow, not "today".
        replies = await ada.click("3")
        replies = await ada.click("Skip")
        assert "one small way to connect tomorrow" in replies[0].plain_text
        transcript = ada.transcript()
        assert "Good morning" not in transcript.split("/cancel")[-1]


async def test_switching_checkins_off_names_the_ones_that_stop(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/settings")
        await ada.click("Check-in time")
        replies = await ada.click("No check-ins")
        assert replies[0].plain_text.startswith("Done: no morning check-ins for now.")
        assert tg.state().profile.checkin_time is None
        card = await ada.click("Back to settings")
        assert "• Check-in: off" in card[-1].plain_text


async def test_onboarding_asks_for_a_checkin_time_of_any_part_of_the_day(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        transcript = ada.transcript()
        assert "reaches you in the morning" not in transcript
        assert "each morning" not in transcript
        assert "any time works" in transcript


# --- settings: every change ends with a way back -----------------------------------------


CHANGES = [
    ("Time zone", ["Tokyo"], "Saved. Your time zone is now Asia/Tokyo"),
    ("Check-in time", ["9:00"], "Done: I'll check in around 09:00 your time"),
    ("Country for helplines", ["Keep it as it is"], "Okay, nothing changed"),
    ("Country for helplines", ["Ireland"], "Saved: Ireland"),
    ("How often to nudge", ["Daily"], "Done: nudges are now daily"),
    ("Quiet hours", ["22:00–07:00"], "Done: no nudges between 22:00 and 07:00"),
    ("Language", ["English"], "Saved: from now on I'll talk with you in English."),
    ("Language", ["Keep it as it is"], "Okay, nothing changed: still English."),
    ("Pause check-ins and nudges", ["For a day"], "Done: no check-ins or nudges until"),
    ("Pause check-ins and nudges", ["Never mind"], "Okay, nothing paused"),
]


@pytest.mark.parametrize(("button", "answers", "said"), CHANGES)
async def test_each_settings_change_ends_with_back_to_settings_and_done(
    url: str, button: str, answers: list[str], said: str
) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/settings")
        await ada.click(button)
        for answer in answers:
            asked = [b for b in ada.buttons() if answer in b]
            replies = await (ada.click(answer) if asked else ada.send(answer))
        assert said in "\n".join(m.plain_text for m in replies)
        assert ada.buttons() == ["⚙️ Back to settings", "👍 Done"]

        card = await ada.click("Back to settings")
        assert card[-1].plain_text.startswith("Your settings:")
        await ada.click(button)  # the same change again asks afresh
        assert "Back to settings" not in " ".join(ada.buttons())
        await ada.send("/settings")
        await ada.click(button)
        for answer in answers:
            asked = [b for b in ada.buttons() if answer in b]
            await (ada.click(answer) if asked else ada.send(answer))
        done = await ada.click("Done")
        assert done[0].plain_text.startswith("All set.")


async def test_a_zone_typed_as_an_offset_is_shown_as_an_offset(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, zone_text="UTC+2")
        card = (await ada.send("/settings"))[-1].plain_text
        line = next(row for row in card.splitlines() if row.startswith("• Time zone:"))
        assert "Etc/" not in line and re.search(r"UTC\+0?2\b", line), line


# --- the safety plan's last part saves --------------------------------------------------


async def test_the_last_part_of_the_plan_says_save(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/plan")
        await ada.click("Let's start")
        await ada.send("I stop answering messages")
        assert ada.buttons()[0] == "Next part ›"
        for _ in range(6):  # on from parts 1-6 (the people part has "Next part" too)
            await ada.click("Next part" if "Next part ›" in ada.buttons() else "Skip for now")
        assert ada.last.plain_text.startswith("7 of 7 · My reasons to keep going")
        assert ada.buttons() == ["Skip for now ›"]
        await ada.send("my niece's wedding in May")
        text = ada.last.plain_text
        assert "tap Save when this feels like enough" in text and "Next part" not in text
        assert ada.buttons() == ["✅ Save", "🗑 Take a line out"]
        replies = await ada.click("Save")
        assert replies[0].plain_text.startswith("That's your plan, in your own words.")
        plan = tg.state().records["safety_plan"][0].data
        assert plan["reasons"] == ["my niece's wedding in May"]


# --- words read once more ---------------------------------------------------------------


async def test_the_language_screen_speaks_to_the_person(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/settings")
        text = (await ada.click("Language"))[-1].plain_text
        assert "prompts/" not in text and "folder" not in text
        assert text.startswith("Right now I speak English with you.")


@pytest.mark.parametrize(("left", "words"), [(2, "You can add two more"), (1, "one more")])
def test_the_thanks_count_is_said_in_words(left: int, words: str) -> None:
    text = default_catalog().render("en", "reframe/thanks", {"thanks": ["tea"], "left": left})
    assert words in text and f"{left} more" not in text
    assert text.startswith("Saved 💛 ")
