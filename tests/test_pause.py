"""/pause, /resume and the nudge settings, end to end, each change confirmed in words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dialogs.hooks.pause import UNTIL_RESUME
from tests.telegram_harness import FIXED_NOW, bridges_on_fake, onboard


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


async def test_pause_for_a_day_a_week_or_until_resume(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)  # Lisbon: UTC in November
        await ada.send("/pause")
        await ada.click("For a day")
        assert "no check-ins or nudges until Tuesday 24 November, 09:00" in ada.transcript()
        assert tg.state().profile.paused_until == FIXED_NOW + timedelta(days=1)
        await ada.send("/pause")
        assert "paused until Tuesday 24 November, 09:00" in ada.last_text
        await ada.click("For a week")
        assert tg.state().profile.paused_until == FIXED_NOW + timedelta(days=7)
        await ada.send("/pause")
        await ada.click("Until I say /resume")
        assert "no check-ins or nudges until you send /resume" in ada.transcript()
        assert tg.state().profile.paused_until == UNTIL_RESUME
        await ada.send("/pause")
        await ada.click("Never mind")
        assert "the pause stays as it was: until you send /resume" in ada.transcript()
        await ada.send("/resume")
        assert "Welcome back! Check-ins and nudges are on again" in ada.transcript()
        assert tg.state().profile.paused_until is None
        await ada.send("/resume")
        assert "Nothing was paused" in ada.transcript()


async def test_nudge_frequency_and_quiet_hours_from_settings(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        assert (tg.state().profile.nudges, tg.state().profile.quiet_start) == ("gentle", "21:00")
        await ada.click("⚙️ Settings")
        gentle = "Nudges: <b>gentle (at most twice a week)</b>, quiet hours <b>21:00–08:00</b>"
        assert gentle in ada.last_text  # words, never the stored value "gentle"
        await ada.click("🌱 How often to nudge")
        await ada.click("Daily")
        assert "Done: nudges are now <b>daily</b>" in ada.transcript()
        assert tg.state().profile.nudges == "daily"
        await ada.send("/settings")
        assert "• Nudges: <b>daily</b>," in ada.last_text
        await ada.send("/menu")
        await ada.click("⚙️ Settings")
        await ada.click("🌱 How often to nudge")
        await ada.click("Off")
        assert "Done: no more nudges." in ada.transcript()
        await ada.send("/menu")
        await ada.click("⚙️ Settings")
        await ada.click("🌙 Quiet hours")
        await ada.click("22:00–07:00")
        assert "no nudges between <b>22:00</b> and <b>07:00</b>" in ada.transcript()
        await ada.send("/menu")
        await ada.click("⚙️ Settings")
        await ada.click("🌙 Quiet hours")
        await ada.click("Choose my own")
        await ada.send("late")  # not a time: asked again, nothing changed
        assert tg.state().profile.quiet_start == "22:00"
        assert tg.state().top.step == "from_time"  # type: ignore[union-attr]
        await ada.send("23:30")
        await ada.send("6:45")
        assert "no nudges between <b>23:30</b> and <b>06:45</b>" in ada.transcript()
    profile = tg.state().profile
    assert (profile.nudges, profile.quiet_start, profile.quiet_end) == ("off", "23:30", "06:45")


async def test_never_mind_for_someone_never_paused_changes_nothing(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        before = tg.state().profile
        await ada.send("/pause")
        assert "paused" not in ada.last.plain_text.split("How long")[0]  # nothing to report
        replies = await ada.click("Never mind")
        assert replies[0].plain_text.startswith(
            "Okay, nothing paused: check-ins and nudges carry on as usual."
        )
        after = tg.state().profile
        assert after.paused_until is None
        assert after == before  # not one setting moved
        assert ada.buttons() == ["⚙️ Back to settings", "👍 Done"]
        card = await ada.click("Back to settings")
        assert card[-1].plain_text.startswith("Your settings:")
        assert "Paused" not in card[-1].plain_text


async def test_settings_show_a_pause_and_its_end_on_their_own_clock(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, zone_text="Tokyo")  # UTC+9: 09:00 UTC is 18:00 there
        await ada.send("/settings")
        assert "Paused" not in ada.last.plain_text
        await ada.click("Pause check-ins and nudges")
        await ada.click("For a day")
        assert tg.state().profile.paused_until == FIXED_NOW + timedelta(days=1)
        assert "no check-ins or nudges until Tuesday 24 November, 18:00" in ada.transcript()
        card = await ada.click("Back to settings")
        text = card[-1].plain_text
        assert "• Paused: no check-ins or nudges until Tuesday 24 November, 18:00" in text
        assert "09:00" not in text.split("• Paused")[1].split("\n")[0]  # not UTC

        # "Never mind" while paused keeps the pause exactly as it was.
        await ada.click("Pause check-ins and nudges")
        assert "paused until Tuesday 24 November, 18:00" in ada.last.plain_text
        replies = await ada.click("Never mind")
        assert replies[0].plain_text.startswith(
            "Okay, the pause stays as it was: until Tuesday 24 November, 18:00."
        )
        assert tg.state().profile.paused_until == FIXED_NOW + timedelta(days=1)

        await ada.click("Back to settings")
        await ada.click("Pause check-ins and nudges")
        await ada.click("Until I say /resume")
        replies = await ada.click("Back to settings")
        assert "• Paused: no check-ins or nudges until you send /resume" in replies[-1].plain_text
        await ada.send("/resume")
        card = await ada.send("/settings")
        assert "Paused" not in card[-1].plain_text


async def test_after_a_pause_done_closes_and_pause_asks_afresh(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/pause")
        await ada.click("For a week")
        replies = await ada.click("Done")
        assert replies[0].plain_text.startswith("All set.")
        assert all(frame.dialog != "pause" for frame in tg.state().stack)
        asked = await ada.send("/pause")
        assert "How long would you like a break" in asked[-1].plain_text
        assert "paused until Monday 30 November, 09:00" in asked[-1].plain_text
