"""A dialog declares its own way in: its command, its /help line and its menu button.

Issue 13's must-show: a new dialog written here as YAML and prompts only (no Python) is
opened by its command, has its line in /help, its button in /menu and its entry in
Telegram's command list, through the real Application on the fake Bot API. A dialog
without those keys gets none of them. And the README's chat commands are the declared ones.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dialogs.commands import command_table, listed
from dialogs.spec import FLOWS_DIR, load_dialogs
from prompts import PROMPTS_DIR, Catalog
from tests.telegram_harness import bridges_on_fake, onboard

ROOT = Path(__file__).resolve().parents[1]

# Telegram's command list of the shipped dialogs, as it has been since before issue 13.
TELEGRAM_ORDER = [
    "sos", "menu", "needs", "steps", "wins", "review", "measure", "reframe", "thoughts",
    "contacts", "plan", "kit", "checkin", "pause", "resume", "settings", "privacy", "export",
    "delete", "help", "cancel", "start",
]  # fmt: skip

GRATITUDE = """\
# One good thing from today: a dialog made of YAML and prompts only.
id: goodthing
command: goodthing
menu: true
order: 75
needs_profile: true
start: ask
steps:
  ask:
    input: text
    slot: good
    next: thanks
  thanks:
    end: true
"""

QUIET = """\
# A dialog with no way in of its own (no command, no menu): another dialog opens it.
id: quiet
start: hush
steps:
  hush:
    end: true
"""

WORDS = {
    "goodthing/ask.j2": "What is one good thing that happened today, however small?",
    "goodthing/thanks.j2": "<i>{{ slots.good }}</i>: thank you for noticing it.",
    "goodthing/_help.j2": "/goodthing: note one good thing from your day",
    "goodthing/buttons.yaml": (
        'goodthing.command: "Note one good thing from today"\ngoodthing.menu: "🌼 One good thing"\n'
    ),
    "quiet/hush.j2": "A quiet moment.",
}


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Catalog]:
    """The shipped dialog files and prompts, copied, plus `goodthing` and `quiet`."""
    flows = tmp_path / "dialogs" / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    (flows / "goodthing.yaml").write_text(GRATITUDE, encoding="utf-8")
    (flows / "quiet.yaml").write_text(QUIET, encoding="utf-8")
    prompts = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR / "en", prompts / "en")
    for name, text in WORDS.items():
        path = prompts / "en" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return flows, Catalog(prompts)


async def test_a_new_dialog_from_yaml_and_prompts_has_every_way_in(
    tmp_path: Path, world: tuple[Path, Catalog]
) -> None:
    flows, catalog = world
    url = f"sqlite:///{tmp_path}/bridges.db"
    async with bridges_on_fake(url, flows=flows, catalog=catalog) as tg:
        # Telegram's command list: in its place (order 75: after /reframe), with its words.
        sent = {c["command"]: c["description"] for c in tg.fake.commands}
        at = TELEGRAM_ORDER.index("reframe") + 1
        assert list(sent) == [*TELEGRAM_ORDER[:at], "goodthing", *TELEGRAM_ORDER[at:]]
        assert sent["goodthing"] == "Note one good thing from today"

        ada = tg.chat()
        await onboard(ada)
        help_text = (await ada.send("/help"))[0].plain_text
        lines = help_text.splitlines()
        reframe = next(i for i, line in enumerate(lines) if line.startswith("/reframe:"))
        assert lines[reframe + 1] == "/goodthing: note one good thing from your day"
        assert "/quiet" not in help_text

        await ada.send("/menu")
        buttons = ada.buttons()
        assert buttons.index("🌼 One good thing") == buttons.index("🪞 Weigh a harsh thought") + 1
        assert not any("quiet" in b.lower() for b in buttons)
        await ada.click("One good thing")
        top = tg.state().top
        assert top is not None and (top.dialog, top.step) == ("goodthing", "ask")
        await ada.send("the baker saved me the last loaf")
        assert "the baker saved me the last loaf</i>: thank you" in ada.last_text

        await ada.send("/goodthing")
        assert ada.last_text.startswith("What is one good thing")
        top = tg.state().top
        assert top is not None and top.dialog == "goodthing"

        replies = await ada.send("/quiet")
        assert replies[0].plain_text.startswith("I don't know /quiet.")


def test_the_shipped_commands_keep_their_order_in_telegrams_list() -> None:
    dialogs = load_dialogs().dialogs.values()
    assert [e.command for e in listed(dialogs)] == TELEGRAM_ORDER


def readme_chat_commands() -> set[str]:
    """The commands named in the first column of the README's "Chat command" table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| Chat command |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    return {name for row in rows for name in re.findall(r"`/(\w+)`", row.split("|")[1])}


def test_the_readme_lists_every_chat_command_and_no_other() -> None:
    declared = set(command_table(load_dialogs().dialogs.values()))
    in_readme = readme_chat_commands()
    assert in_readme == declared, (
        f"missing from README.md: {sorted(declared - in_readme)}; "
        f"not a command: {sorted(in_readme - declared)}"
    )
