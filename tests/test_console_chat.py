"""`bridges chat` driven through piped standard input, as a script would, and through a
pseudo-terminal, as a person at a keyboard would (line editing, the /sos hint, Ctrl-C)."""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import console_input
from bot.console import (
    chat as console_chat,
)
from bot.console import (
    event_from_line,
    export_name,
    format_message,
    person_id,
)
from bot.core import Bridges
from bot.sender import OutButton, Outgoing
from dialogs.model import Command, Press, Text
from storage.repository import UserKey

ONBOARDING = (
    "/start\n1\nokay, got it\n1\nnowhere-land-xyz\nLisbon\n25:99\n8:15\nSkip for now\nmaybe later\n"
)
ADD_ANNA = "/contacts\nAnna\nTelegram username\nanna_k\nSkip\n"
ADD_BO = "Add someone else\nBo\nPhone number\n+351 912 345 678\nSkip\n"
HINT = "Need someone right now? Type /sos"  # prompts/en/console/sos_hint.j2
BUTTON_LINE = re.compile(r"^ +\[\d+\] \S")  # how a choice under a message looks
LIST_LINE = re.compile(r"^\d+[.)] ")  # how a numbered list inside a message looks


def chat(tmp_path: Path, user: str, typed: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/bridges.db"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--user", user],
        input=typed, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip


@pytest.fixture()
def bridges(tmp_path: Path) -> Iterator[Bridges]:
    opened = Bridges.open(f"sqlite:///{tmp_path}/bridges.db")
    yield opened
    opened.close()


def talk(bridges: Bridges, user: str, typed: str) -> str:
    """The same chat in this process (quicker than starting `bridges chat` each time)."""
    out = io.StringIO()
    console_chat(bridges, user, typed.splitlines(keepends=True), out)
    return out.getvalue()


def test_onboarding_in_the_terminal(tmp_path: Path) -> None:
    result = chat(tmp_path, "ann", ONBOARDING)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    # Buttons are bracketed options; typing the number or the label picks them.
    assert "  [1] Tell me more\n  [2] Not now" in out
    assert "you> okay, got it\nbridges> To be useful over time" in out
    assert "I couldn't find “nowhere-land-xyz”" in out
    assert "Got it: Europe/Lisbon" in out
    assert "I didn't catch a time there" in out
    assert "I'll check in around 08:15 your time" in out
    # The loneliness measure was offered after "You're all set"; skipping leads to the invite.
    assert "you> Skip for now\nbridges> One last thing, if you like" in out
    # Fifteen choices: the numbers are right-aligned so the labels line up.
    assert "\n   [9] 🌱 My safety plan\n  [10] 🧺 My self-soothe kit" in out
    assert "\n  [14] ℹ️ About Bridges\n  [15] Close menu" in out
    assert out.rstrip().endswith("[15] Close menu")
    # No Telegram-only hints or HTML in the terminal; no /sos hint when nobody is looking.
    assert "Share my location" not in out
    assert "<b>" not in out
    assert HINT not in out


def test_people_are_separate_and_come_back_to_their_own_data(bridges: Bridges) -> None:
    talk(bridges, "ann", ONBOARDING)
    assert "Hi, I'm Bridges" in talk(bridges, "bob", "/start\n")
    again = talk(bridges, "ann", "/start\n13\n[2]\n")  # "[2]" as shown works like "2"
    assert "Welcome back! Nothing has been erased" in again
    assert "Your morning check-in is at 08:15." in again


def test_empty_input_exits_cleanly(tmp_path: Path) -> None:
    result = chat(tmp_path, "ann", "")
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""


def test_link_buttons_come_first_so_people_are_at_the_top() -> None:
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
        "  [1] 🌿 A one-minute grounding exercise",
        "  [2] Back to what I was doing",
    ]
    assert flat == [("🌿 A one-minute grounding exercise", "sos|main|ground"),
                    ("Back to what I was doing", "sos|main|back")]  # fmt: skip


def test_a_numbered_list_in_a_message_never_looks_like_its_buttons() -> None:
    out = Outgoing(
        "Your list:\n\n1. <b>Anna</b>: @anna_k\n2. <b>Bo</b>: +351912345678\n3) Cleo",
        ((OutButton("➕ Add someone", "contacts|add"),), (OutButton("👍 Done", "contacts|done"),)),
    )
    text, flat = format_message(out)
    lines = text.splitlines()
    items = [line for line in lines if LIST_LINE.match(line)]
    choices = [line for line in lines if BUTTON_LINE.match(line)]
    assert items == ["1. Anna: @anna_k", "2. Bo: +351912345678", "3) Cleo"]
    assert choices == ["  [1] ➕ Add someone", "  [2] 👍 Done"]
    assert not any(BUTTON_LINE.match(line) for line in items)
    assert not any(LIST_LINE.match(line.strip()) for line in choices)
    # Typing the number still taps the button, never the list item; so does "[2]".
    assert event_from_line("1", flat) == Press("contacts|add")
    assert event_from_line(" [2] \n", flat) == Press("contacts|done")
    assert event_from_line("👍 done", flat) == Press("contacts|done")
    assert event_from_line("3", flat) == Text("3")  # no third button: just words
    assert event_from_line("1.", flat) == Text("1.")


def test_a_scale_shows_its_values_and_a_value_beats_a_position() -> None:
    scale = Outgoing("How was today?", (tuple(OutButton(str(n), f"s|{n}") for n in range(5)),))
    text, flat = format_message(scale)
    assert text.splitlines()[-1] == "  [0]  [1]  [2]  [3]  [4]"
    assert event_from_line("1", flat) == Press("s|1")
    assert event_from_line("[4]", flat) == Press("s|4")
    # A number between the buttons' values is a value for the step, never a position.
    belief = Outgoing("How much?", (tuple(OutButton(str(n), f"b|{n}") for n in (0, 25, 50)),))
    _, flat = format_message(belief)
    assert event_from_line("2", flat) == Text("2")
    assert event_from_line("25", flat) == Press("b|25")


def test_the_contacts_list_and_its_buttons_in_a_real_chat(bridges: Bridges) -> None:
    out = talk(bridges, "ann", ONBOARDING + ADD_ANNA + ADD_BO + "See my list\n1\n")
    screen = out.split("you> See my list\n")[1]
    assert re.search(r"^1\. Anna: @anna_k$", screen, re.M)
    assert re.search(r"^2\. Bo: \+351912345678$", screen, re.M)
    assert "  [1] ➕ Add someone\n" in screen
    # Every line that looks like a choice is one of the reply's buttons, nothing else.
    for line in out.splitlines():
        if BUTTON_LINE.match(line):
            assert not LIST_LINE.match(line.strip())
    # "1" tapped the first button (add someone), not the first person on the list.
    after = screen.split("you> 1\n")[1]
    assert after.startswith("bridges> Who would you like to add?")


def test_the_crisis_screen_in_the_terminal_shows_people_first(bridges: Bridges) -> None:
    typed = ONBOARDING + ADD_ANNA + "Done for now\nI want to die\nNo, I'm not safe\n"
    screen = talk(bridges, "ann", typed).split("you> No, I'm not safe\n")[1]
    assert screen.startswith("bridges> Thank you for telling me.")
    assert screen.index("-> 📤 Send Anna") < screen.index("[1] ☎️ I've called")


def test_words_after_a_command_are_screened_like_any_message(bridges: Bridges) -> None:
    assert event_from_line("/menu", []) == Command("menu")
    assert event_from_line("/start I want to die", []) == Text("/start I want to die")
    out = talk(bridges, "cat", "/start I want to die\n")
    assert "Hi, I'm Bridges" not in out
    assert "[3] No, I'm not safe" in out  # the safety question, not the welcome


# --- the /sos hint --------------------------------------------------------------------


def test_the_sos_hint_is_one_line_before_each_prompt_and_never_inside_a_message(
    bridges: Bridges,
) -> None:
    out = io.StringIO()
    console_chat(bridges, "ann", ["/start\n", "1\n"], out, interactive=True, hint=True)
    text = out.getvalue()
    assert text.startswith("Bridges, here in your terminal. Type /start")
    # Three prompts (before /start, before 1, and the one Ctrl-D answered), a hint each.
    assert text.count(f"{HINT}\nyou> ") == 3
    assert text.count(HINT) == 3
    assert HINT not in text.replace(f"{HINT}\nyou> ", "")  # only ever just above a prompt
    assert text.rstrip().endswith("Bye for now. Be gentle with yourself today.")
    assert "\x1b[" not in text  # not a terminal: no colour codes


def test_no_hint_when_piped_to_a_file_unless_asked(bridges: Bridges) -> None:
    quiet = io.StringIO()
    console_chat(bridges, "ann", ["/start\n"], quiet)
    assert HINT not in quiet.getvalue()
    shown = io.StringIO()
    console_chat(bridges, "bob", ["/start\n", "2\n"], shown, hint=True)
    # From a pipe the hint sits just above each echoed line and never trails at the end.
    assert shown.getvalue().startswith(f"{HINT}\nyou> /start\n")
    assert shown.getvalue().count(HINT) == 2
    assert not shown.getvalue().rstrip().endswith(HINT)


# --- /export: a file per person -----------------------------------------------------------


def test_export_file_names_carry_an_id_and_a_date_never_the_name() -> None:
    from datetime import date

    name = export_name("bridges-export-2026-11-30.json", "Ann Smith", date(2026, 1, 1))
    assert name == f"bridges-export-{person_id('Ann Smith')}-2026-11-30.json"
    assert "ann" not in name.casefold().replace("bridges-export", "")
    assert person_id("Ann Smith") != person_id("Bob") and len(person_id("Bob")) == 8
    assert export_name("../../etc/data", "Bob", date(2026, 1, 2)) == (
        f"data-{person_id('Bob')}-2026-01-02"
    )


def test_two_people_on_one_machine_keep_their_own_exports(
    bridges: Bridges, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # files land in the working directory
    said = {
        "ann": talk(bridges, "ann", ONBOARDING + ADD_ANNA + "Done for now\n/export\n"),
        "bob": talk(bridges, "bob", ONBOARDING + "/export\n"),
    }
    files = sorted(tmp_path.glob("bridges-export-*.json"))
    assert len(files) == 2
    kept = {}
    for user, out in said.items():
        (path,) = [f for f in files if person_id(user) in f.name]
        pattern = rf"bridges-export-{person_id(user)}-\d{{4}}-\d{{2}}-\d{{2}}\.json"
        assert re.fullmatch(pattern, path.name)
        assert user not in path.name
        # They are told where it is, in plain words.
        assert f"bridges> I saved your file here: {path}\n" in out
        if sys.platform != "win32":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        kept[user] = json.loads(path.read_text("utf-8"))
    assert kept["ann"]["records"]["contacts"]  # Anna is on Ann's list only
    assert "contacts" not in kept["bob"]["records"]
    # Each also holds the one measure offer from their own onboarding, nobody else's.
    for user in ("ann", "bob"):
        assert len(kept[user]["records"]["review_and_windows"]) == 1
    assert set(kept["bob"]["records"]) == {"review_and_windows"}


def test_an_export_that_cannot_be_written_is_said_kindly(
    bridges: Bridges, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    monkeypatch.chdir(tmp_path)
    # A folder already sits where the file would go (any user, even root, fails to write).
    today = datetime.now(UTC).date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        (tmp_path / f"bridges-export-{person_id('ann')}-{day.isoformat()}.json").mkdir()
    out = talk(bridges, "ann", ONBOARDING + "/export\n/menu\n")
    assert f"bridges> I couldn't save the file in {tmp_path.resolve()}." in out
    assert "What would you like to do?" in out.split("you> /menu")[1]  # the chat goes on


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges there")
def test_an_export_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    from bot.console import save_document

    target = tmp_path / "someone-elses.txt"
    target.write_text("theirs")
    (tmp_path / "bridges-export-x.json").symlink_to(target)
    with pytest.raises(OSError):
        save_document("bridges-export-x.json", b"{}", tmp_path)
    assert target.read_text() == "theirs"
    assert save_document("ok.json", b"{}", tmp_path) == tmp_path.resolve() / "ok.json"


# --- at a keyboard: a pseudo-terminal -----------------------------------------------------


class Terminal:
    """`bridges chat` on a pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, tmp_path: Path, user: str) -> None:
        import pty

        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/bridges.db"}
        env.update(HOME=str(home), TERM="xterm", INPUTRC=os.devnull)
        for name in ("TELEGRAM_BOT_TOKEN", "NO_COLOR", "PYTHONSTARTUP"):
            env.pop(name, None)
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "chat", "--user", user],
            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=tmp_path,
        )  # fmt: skip
        os.close(slave)
        self.seen = ""

    def expect(self, needle: str, timeout: float = 90) -> str:
        """Everything shown up to and including `needle` since the last expect."""
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.master], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no {needle!r} on screen; last: {self.seen[-800:]!r}")
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the chat ended
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended before {needle!r}; last: {self.seen[-800:]!r}")
            self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        at = self.seen.index(needle) + len(needle)
        shown, self.seen = self.seen[:at], self.seen[at:]
        return shown

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # never leave a chat running behind a failed test
            raise
        finally:
            os.close(self.master)


needs_pty = pytest.mark.skipif(sys.platform == "win32", reason="no pseudo-terminals")


@needs_pty
def test_at_a_keyboard_lines_can_be_edited_and_recalled_and_nothing_is_saved(
    tmp_path: Path,
) -> None:
    term = Terminal(tmp_path, "ann")
    try:
        first = term.expect("you> ")
        assert "Bridges, here in your terminal" in first
        # The hint is one dim line just above the prompt.
        assert first.endswith(f"\x1b[2m{HINT}\x1b[0m\nyou> ")
        # Left arrow twice, then a letter: only line editing makes "/hlp" into "/help".
        term.type("/hlp\x1b[D\x1b[De\r")
        assert "Here's what I can do" in term.expect(f"{HINT}\x1b[0m\nyou> ")
        # Up arrow brings the last line back.
        term.type("\x1b[A\r")
        assert "Here's what I can do" in term.expect(f"{HINT}\x1b[0m\nyou> ")
        # Tab completes a command.
        term.type("/sta\t\r")
        assert "Hi, I'm Bridges" in term.expect(f"{HINT}\x1b[0m\nyou> ")
        term.type("\x04")  # Ctrl-D
        assert "Bye for now" in term.expect("today.")
    finally:
        code = term.close()
    assert code == 0
    # History stayed in memory: no file appeared in their home or here.
    assert list((tmp_path / "home").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("bridges.db")) == [
        "home"
    ]


@needs_pty
def test_ctrl_c_says_goodbye(tmp_path: Path) -> None:
    term = Terminal(tmp_path, "ann")
    try:
        term.expect("you> ")
        time.sleep(1)  # a person presses Ctrl-C while the prompt waits, not as it is drawn
        term.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert "Bye for now. Be gentle with yourself today." in term.expect("today.")
    finally:
        code = term.close()
    assert code == 0


def test_without_readline_the_chat_still_reads_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_input, "load_readline", lambda: None)
    assert console_input.enable_line_editing(lambda: ["/start"]) is False
    console_input.forget_history()  # nothing to forget, and no error
    typed = iter(["/start", "1"])

    def fake_input(prompt: str) -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    shown: list[str] = []
    monkeypatch.setattr("builtins.input", fake_input)
    assert list(console_input.typed_lines("you> ", lambda: shown.append("hint"))) == [
        "/start",
        "1",
    ]
    assert shown == ["hint", "hint", "hint"]


def test_a_restart_shows_the_waiting_question_so_a_number_means_its_button(
    bridges: Bridges,
) -> None:
    talk(bridges, "rita", "/start\n1\n1\n1\nLisbon\n")
    again = talk(bridges, "rita", "3\n")
    # The check-in question again, with its buttons, before anything is typed...
    assert again.index("Welcome back. Where we left off:") < again.index("you> 3")
    assert "[3] 9:00" in again
    # ...so "3" is its third button (9:00), not three o'clock in the night.
    assert "I'll check in around 09:00" in again
    assert bridges.store.load(UserKey("console", "rita")).profile.checkin_time == "09:00"
    # Nothing waits on a screen that is only read: no "welcome back" then.
    talk(bridges, "sam", "/start\n2\n")
    assert "Welcome back" not in talk(bridges, "sam", "")
