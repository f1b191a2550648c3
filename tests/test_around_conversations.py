"""The glue around the conversations: menu, persistent keyboard, /help, /cancel, terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.telegram_harness import Harness, bridges_on_fake, onboard


@pytest.fixture()
async def tg(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


MENU_TARGETS = [
    ("Need a quick chat?", "sos"),
    ("My needs map", "needs"),
    ("Weigh a harsh thought", "reframe"),
    ("Past thoughts", "thoughts"),
    ("My reach-out list", "contacts"),
    ("My safety plan", "plan"),
    ("My self-soothe kit", "kit"),
]


@pytest.mark.parametrize(("button", "dialog"), MENU_TARGETS)
async def test_the_menu_reaches_every_conversation(tg: Harness, button: str, dialog: str) -> None:
    ada = tg.chat()
    await onboard(ada)
    replies = await ada.click(button)
    assert replies, f"{button}: no reply"
    top = tg.state().top
    assert top is not None and top.dialog == dialog


async def test_settings_command_opens_the_settings(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    replies = await ada.send("/settings")
    assert replies[0].plain_text.startswith("Your settings:")
    await ada.click("Check-in time")
    saved = await ada.send("9:15")
    assert tg.state().profile.checkin_time == "09:15"
    # A change ends with a way back to the settings, or out.
    assert saved[-1].plain_text == "Done: I'll check in around 09:15 your time, every morning."
    assert ada.buttons() == ["⚙️ Back to settings", "👍 Done"]
    back = await ada.click("Back to settings")
    assert back[-1].plain_text.startswith("Your settings:")
    assert "• Check-in: 09:15 every morning" in back[-1].plain_text


async def test_your_data_is_reachable_from_settings(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/settings")
    await ada.click("What I keep about you")
    assert "/export" in ada.transcript() and "/delete" in ada.transcript()
    await ada.send("/settings")
    await ada.click("Export my data")
    assert tg.fake.calls_to("sendDocument")
    await ada.send("/settings")
    await ada.click("Delete my data")
    await ada.click("Keep my data")
    assert tg.state().profile.onboarded


async def test_settings_and_about_from_the_menu(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.click("Settings")
    assert "Time zone: Europe/Lisbon" in ada.last.plain_text
    await ada.click("Back to the menu")
    await ada.click("About Bridges")
    assert "not a therapist" in ada.last.plain_text


async def test_need_a_quick_chat_from_the_keyboard_mid_dialog_and_back(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    await ada.send("nobody wants to hear from me")
    before = tg.state().top
    # The persistent keyboard's first button sends its label as text.
    replies = await ada.send("Need a quick chat?")
    text = replies[0].plain_text
    # Lisbon: Portugal's emergency number, and the directory for its lines.
    assert "I'm here." in text and "112" in text and "findahelpline.com" in text
    labels = [b.text for row in replies[0].buttons for b in row]
    assert "🌿 A one-minute grounding exercise" in labels
    assert "➕ Add someone to my list" in labels  # nobody on the list yet
    await ada.click("grounding")
    assert "5</b> things you can see" in ada.last.text
    replies = await ada.click("Back to what I was doing")
    assert [m.plain_text for m in replies] == [
        "Back to where we were: How strongly do you believe the thought right now, from 0 to 100?"
    ]
    assert tg.state().top == before


async def test_need_a_quick_chat_shows_their_people_with_links(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/contacts")
    await ada.send("Sam")
    await ada.click("Telegram")
    await ada.send("@sam_rivers")
    await ada.click("Skip")
    replies = await ada.send("/sos")
    assert "Sam" in replies[0].plain_text
    urls = [b.url for row in replies[0].buttons for b in row if b.url]
    # The link opens Sam's chat with "Need a quick chat?" ready to send.
    # One tap per person: Sam's chat opens with "Need a quick chat?" ready to send.
    assert urls == ["https://t.me/sam_rivers?text=Need%20a%20quick%20chat%3F"]


async def test_help_lists_the_commands_in_plain_words(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    replies = await ada.send("/help")
    text = replies[0].plain_text
    for command in ("/menu", "/needs", "/reframe", "/thoughts", "/contacts", "/plan", "/kit",
                    "/steps", "/wins", "/review", "/measure",
                    "/cancel", "/sos", "/checkin", "/pause", "/resume", "/settings",
                    "/privacy", "/export", "/delete"):  # fmt: skip
        assert command in text
    registered = {c["command"] for c in tg.fake.commands}
    assert registered == {"sos", "menu", "needs", "reframe", "thoughts", "contacts", "plan",
                          "kit", "steps", "wins", "review", "measure",
                          "checkin", "pause", "resume", "settings", "privacy",
                          "export", "delete", "help", "cancel", "start"}  # fmt: skip


async def test_cancel_says_what_was_kept(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    await ada.send("I always get it wrong")
    replies = await ada.send("/cancel")
    assert "kept what you wrote so far as a draft" in replies[0].plain_text
    assert len(replies) == 1  # the menu it covered is a screen to read: not brought back
    replies = await ada.send("/cancel")
    assert "nothing to cancel" in replies[0].plain_text


def test_the_conversations_work_in_the_terminal(tmp_path: Path) -> None:
    typed = "\n".join([
        "/start", "1", "1", "1", "UTC+1", "8:00", "skip for now", "maybe later",
        "/needs", "/cancel", "/reframe", "/cancel", "/contacts", "/cancel", "/thoughts",
    ]) + "\n"  # fmt: skip
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/bridges.db"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"], input=typed, capture_output=True,
        text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Onboarding finished before the commands: the invite was asked once, not brought back.
    assert out.count("One last thing") == 1
    assert "you> /needs\nbridges> " in out
    assert "you> /reframe\nbridges> Let's look at one harsh thought together." in out
    assert "you> /contacts\nbridges> " in out
    assert "I don't know" not in out
