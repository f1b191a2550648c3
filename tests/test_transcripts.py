"""Every conversation in tests/transcripts/*.chat, replayed through the real Application.

One test per file (the id is the file name). After a deliberate change of wording:
`BRIDGES_REWRITE_TRANSCRIPTS=1 .venv/bin/python -m pytest tests/test_transcripts.py`
rewrites the bot lines, then read the changed files before committing them.
The last tests check the runner itself: placeholders, parsing, and that a wrong line fails.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.transcript_runner import (
    chat_files,
    check_file,
    keep_expected,
    line_matches,
    parse,
    parse_now,
)

FOLDER = Path(__file__).parent / "transcripts"
FILES = list(chat_files(FOLDER))
# One conversation per dialog in Spanish (issue 14); each file starts with `@lang es`.
SPANISH = list(chat_files(FOLDER / "es"))


def test_there_are_enough_transcripts() -> None:
    assert len(FILES) >= 30
    assert len(SPANISH) >= 12
    for path in SPANISH:
        assert "\n@lang es" in "\n" + path.read_text("utf-8"), path.name


@pytest.mark.parametrize(
    "path", FILES + SPANISH, ids=[p.name for p in FILES] + [f"es/{p.name}" for p in SPANISH]
)
async def test_transcript(path: Path, tmp_path: Path) -> None:
    try:
        await check_file(path, tmp_path)
    except AssertionError as err:  # the message is the readable part; no runner traceback
        pytest.fail(str(err), pytrace=False)


# --- the runner itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "same"),
    [
        ("bot: See you {date} at {time}.", "bot: See you Tue 24 Nov at 18:00.", True),
        ("bot: See you {date} at {time}.", "bot: See you 2026-11-24 at 7:30 pm.", True),
        ("bot: See you {date} at {time}.", "bot: See you soon at 18:00.", False),
        ("bot: [document {re:bridges-[a-z]+\\.json}, {n} bytes]",
         "bot: [document bridges-export.json, 2417 bytes]", True),
        ("bot: {any}", "bot: anything at all", True),
        ("     {☰ Menu}", "     {☰ Menu}", True),  # a keyboard row is literal
        ("     {Menu}", "     {☰ Menu}", False),
        ("  [Yes] [No]", "     [Yes] [No]", True),  # indentation of continuations is free
        ("", "     ", True),  # an empty line inside a message, trimmed by an editor
        ("bot: Hi", "bot: Hi there", False),
    ],
)  # fmt: skip
def test_a_line_matches_with_placeholders(expected: str, actual: str, same: bool) -> None:
    assert line_matches(expected, actual) is same


def test_rewriting_keeps_placeholders_where_the_new_text_fits_them() -> None:
    expected = ["bot: Planned for {date}.", "     Good luck!", "     [OK]"]
    actual = ["bot: Planned for Tue 24 Nov.", "     You've got this!", "     [OK]"]
    assert keep_expected(expected, actual) == [
        "bot: Planned for {date}.",
        "     You've got this!",
        "     [OK]",
    ]


def test_parsing_steps_blocks_and_blank_lines_inside_a_message() -> None:
    text = "# a comment\n@onboard\n\nyou: /help\nbot: One\n\n     two\n\n@sweep\n"
    script = parse(Path("x.chat"), text)
    assert [s.text for s in script.steps] == ["@onboard", "you: /help", "@sweep"]
    assert script.expected(script.steps[1]) == ["bot: One", "", "     two"]
    with pytest.raises(ValueError, match=r"x\.chat:1"):
        parse(Path("x.chat"), "hello\n")


def test_now_takes_a_date_in_a_zone_or_a_step_forward() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    kolkata = ZoneInfo("Asia/Kolkata")
    six_pm_kolkata = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
    assert parse_now("2026-11-24 18:00", kolkata, start) == six_pm_kolkata
    assert parse_now("2026-11-24 18:00 UTC", kolkata, start).hour == 18
    assert parse_now("+1d 2h", kolkata, start) == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_now("tomorrow", kolkata, start)


async def test_a_wrong_bot_line_fails_with_the_first_difference_marked(tmp_path: Path) -> None:
    path = tmp_path / "wrong.chat"
    path.write_text("you: /start\nbot: Hello, I am somebody else\n", encoding="utf-8")
    with pytest.raises(AssertionError) as failed:
        await check_file(path, tmp_path, rewrite=False)
    message = str(failed.value)
    assert "first at line 2 (after line 1: you: /start)" in message
    assert "  expected: bot: Hello, I am somebody else" in message
    assert "  actual:   bot: Hi, I'm Bridges" in message
    assert "-bot: Hello, I am somebody else" in message
    # Rewriting puts what the bot said into the file, and then it passes.
    await check_file(path, tmp_path / "again", rewrite=True)
    assert "bot: Hi, I'm Bridges" in path.read_text(encoding="utf-8")
    await check_file(path, tmp_path / "third", rewrite=False)
