"""The reply check (tests/fakebot/lint.py) catches each kind of fault and passes clean text.

Every test of the suite runs under it (tests/conftest.py); these show it can fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakebot import FakeBotApi, lint_reply, take_violations
from tests.fakebot.formatting import utf16_len

ROOT = Path(__file__).resolve().parent.parent

CLEAN = [
    "Thanks for checking in. I'm here whenever you need me: /menu.",
    "Are you safe right now?",
    "Hmm... that's okay. Take your time.",
    "Noted (2). Anything else that doesn't fit?",
    "Wait?! Really? Wow!!",
    "• <b>Elsewhere:</b> https://findahelpline.com/?q=1.,x lists helplines.",
    "Counting from 1..5 is fine, and so is version 2.5.",
    "Line one\n\nLine two after an empty line in the middle",
    "x" * 4096,
    "😊" * 2048,  # 4,096 UTF-16 units exactly
]


@pytest.mark.parametrize("text", CLEAN)
def test_clean_text_passes(text: str) -> None:
    assert lint_reply(text, "text") == []


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("Tap Need a quick chat?.", "?."),
        ("Tap Need a quick chat?, then breathe.", "?,"),
        ("Is that right.?", ".?"),
        ("Saved!. Well done.", "!."),
        ("Saved.. Well done.", ".."),
        ("Hello,, friend.", ",,"),
        ("Done., see you.", ".,"),
        ("Four dots.... are too many.", "...."),
    ],
)
def test_doubled_punctuation_is_caught(text: str, mark: str) -> None:
    problems = lint_reply(text, "text")
    assert len(problems) == 1 and f"doubled punctuation {mark!r}" in problems[0]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("\nHello there.", "starts with an empty line"),
        ("  \nHello there.", "starts with an empty line"),
        ("Hello there.\n", "ends with an empty line"),
        ("Hello there.\n \n", "ends with an empty line"),
        (" Hello there.", "starts with spaces"),
        ("Hello there. ", "ends with spaces"),
        ("   ", "an empty message"),
    ],
)
def test_empty_lines_and_spaces_at_the_ends_are_caught(text: str, problem: str) -> None:
    assert lint_reply(text, "text") == [problem]


def test_limits_are_counted_in_utf16_units() -> None:
    emoji = "😊" * 2049  # 2,049 characters, 4,098 UTF-16 units
    assert len(emoji) < 4096 < utf16_len(emoji)
    assert lint_reply(emoji, "text") == ["4098 UTF-16 units, over Telegram's text limit of 4096"]
    assert lint_reply("x" * 4097, "text") == [
        "4097 UTF-16 units, over Telegram's text limit of 4096"
    ]
    caption = "𝐛" * 513  # mathematical bold letters: 2 units each
    assert lint_reply(caption, "caption") == [
        "1026 UTF-16 units, over Telegram's caption limit of 1024"
    ]
    assert lint_reply(caption, "text") == []
    assert lint_reply("", "caption") == []  # a photo may come without a caption


def test_an_unknown_kind_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="kind must be"):
        lint_reply("Hi.", "sticker")  # type: ignore[arg-type]


def test_the_fake_records_messages_captions_and_edits_as_it_receives_them() -> None:
    fake = FakeBotApi()
    take_violations()  # nothing from before counts here
    assert fake.handle("sendMessage", {"chat_id": 5, "text": "All clean."})[1]["ok"]
    assert take_violations() == []

    sent = fake.handle(
        "sendMessage",
        {"chat_id": 5, "text": "Tap <b>Need a quick chat?</b>.", "parse_mode": "HTML"},
    )
    assert sent[1]["ok"]  # Telegram takes it; a person still reads "chat?."
    message_id = sent[1]["result"]["message_id"]
    fake.handle(
        "editMessageText",
        {"chat_id": 5, "message_id": message_id, "text": "\nEdited!."},
    )
    fake.handle("sendPhoto", {"chat_id": 5, "photo": "fake-photo-000001", "caption": "a" * 1025})
    found = take_violations()
    assert [(v.method, v.kind) for v in found] == [
        ("sendMessage", "text"),
        ("editMessageText", "text"),
        ("editMessageText", "text"),
        ("sendPhoto", "caption"),
    ]
    assert [v.problem for v in found] == [
        "doubled punctuation '?.' in: 'Tap Need a quick chat?.'",
        "starts with an empty line",
        "doubled punctuation '!.' in: 'Edited!.'",
        "1025 UTF-16 units, over Telegram's caption limit of 1024",
    ]
    assert all(v.chat_id == 5 for v in found)
    assert take_violations() == []  # taken once


INNER = """
from tests.fakebot import FakeBotApi


def test_sends() -> None:
    FakeBotApi().handle("sendMessage", {"chat_id": 7, "text": TEXT})
"""


@pytest.mark.parametrize(("text", "fails"), [("Tap Need a quick chat?.", True), ("Hi.", False)])
def test_the_suite_fails_the_test_that_sent_a_faulty_reply(
    tmp_path: Path, text: str, fails: bool
) -> None:
    """tests/conftest.py, loaded as a plugin, around a test written on the spot."""
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(f"TEXT = {text!r}\n" + INNER, "utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path),
            str(test_file),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if fails:
        assert run.returncode == 1, run.stdout + run.stderr
        assert "1 reply broke the reply check" in run.stdout
        assert "sendMessage to 7 (text): doubled punctuation '?.'" in run.stdout
    else:
        assert run.returncode == 0, run.stdout + run.stderr
