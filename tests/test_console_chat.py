"""`bridges chat` driven through piped standard input, as a script would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ONBOARDING = "/start\n1\nokay, got it\n1\nnowhere-land-xyz\nLisbon\n25:99\n8:15\nmaybe later\n"


def chat(tmp_path: Path, user: str, typed: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/bridges.db"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--user", user],
        input=typed, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip


def test_onboarding_in_the_terminal(tmp_path: Path) -> None:
    result = chat(tmp_path, "ann", ONBOARDING)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    # Buttons are numbered options; typing the number or the label picks them.
    assert "  1) Tell me more\n  2) Not now" in out
    assert "you> okay, got it\nbridges> To be useful over time" in out
    assert "I couldn't find “nowhere-land-xyz”" in out
    assert "Got it: Europe/Lisbon" in out
    assert "I didn't catch a time there" in out
    assert "I'll check in around 08:15 your time" in out
    assert out.rstrip().endswith("10) Close menu")
    # No Telegram-only hints or HTML in the terminal.
    assert "Share my location" not in out
    assert "<b>" not in out


def test_people_are_separate_and_come_back_to_their_own_data(tmp_path: Path) -> None:
    chat(tmp_path, "ann", ONBOARDING)
    bob = chat(tmp_path, "bob", "/start\n")
    assert "Hi, I'm Bridges" in bob.stdout
    again = chat(tmp_path, "ann", "/start\n8\n2\n")
    assert "Welcome back! Nothing has been erased" in again.stdout
    assert "Your morning check-in is at 08:15." in again.stdout


def test_empty_input_exits_cleanly(tmp_path: Path) -> None:
    result = chat(tmp_path, "ann", "")
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""


def test_link_buttons_come_first_so_people_are_at_the_top() -> None:
    from bot.console import format_message
    from bot.render import OutButton, Outgoing

    out = Outgoing(
        "I'm here.",
        (
            (OutButton("📤 Send Anna: “Need a quick chat?”", "", "https://t.me/anna_k"),),
            (OutButton("🌿 A one-minute grounding exercise", "sos|main|ground"),),
            (OutButton("Back to what I was doing", "sos|main|back"),),
        ),
    )
    text, flat = format_message(out)
    assert text.splitlines() == [
        "I'm here.",
        "  -> 📤 Send Anna: “Need a quick chat?”: https://t.me/anna_k",
        "  1) 🌿 A one-minute grounding exercise",
        "  2) Back to what I was doing",
    ]
    assert flat == [("🌿 A one-minute grounding exercise", "sos|main|ground"),
                    ("Back to what I was doing", "sos|main|back")]  # fmt: skip


def test_the_crisis_screen_in_the_terminal_shows_people_first(tmp_path: Path) -> None:
    add_anna = "/contacts\nAnna\nTelegram username\nanna_k\nSkip\nDone for now\n"
    typed = ONBOARDING + add_anna + "I want to die\nNo, I'm not safe\n"
    result = chat(tmp_path, "ann", typed)
    assert result.returncode == 0, result.stderr
    screen = result.stdout.split("you> No, I'm not safe\n")[1]
    assert screen.startswith("bridges> Thank you for telling me.")
    assert screen.index("-> 📤 Send Anna") < screen.index("1) ☎️ I've called")
