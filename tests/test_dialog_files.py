"""Dialog files are checked when loaded: a broken one is refused with file and step named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dialogs.commands import command_table
from dialogs.graph import mermaid
from dialogs.spec import DialogError, load_dialogs
from prompts import Catalog


@pytest.fixture()
def sandbox(tmp_path: Path) -> tuple[Path, Catalog]:
    """An empty flows folder and a one-locale prompt catalog to write broken dialogs into."""
    flows = tmp_path / "pkg" / "flows"
    flows.mkdir(parents=True)
    (tmp_path / "prompts" / "en" / "demo").mkdir(parents=True)
    (tmp_path / "prompts" / "en" / "buttons.yaml").write_text(
        "demo.ask.yes: 'Yes'\ndemo.ask.no: 'No'\n"
    )
    for name in ("ask", "bye", "other"):
        (tmp_path / "prompts" / "en" / "demo" / f"{name}.j2").write_text(f"{name}?")
    return flows, Catalog(tmp_path / "prompts")


GOOD = """
id: demo
start: ask
steps:
  ask:
    choices:
      - {id: "yes", next: bye}
      - {id: "no", next: end}
  bye:
    end: true
"""


def load(sandbox: tuple[Path, Catalog], text: str) -> None:
    flows, catalog = sandbox
    (flows / "demo.yaml").write_text(text)
    load_dialogs(flows, catalog=catalog)


def test_a_good_dialog_loads(sandbox: tuple[Path, Catalog]) -> None:
    load(sandbox, GOOD)


BROKEN = [
    ("unknown target", GOOD.replace("next: bye", "next: byee"),
     "step 'ask': goes to 'byee', which is not a step of 'demo'"),
    ("unknown dialog", GOOD.replace("next: bye", "next: 'dialog:nowhere'"),
     "goes to 'dialog:nowhere', but no such dialog exists"),
    ("unknown step of a dialog", GOOD.replace("next: bye", "next: 'dialog:demo/nope'"),
     "goes to 'dialog:demo/nope', but 'demo' has no such step"),
    ("unreachable step", GOOD + "  other:\n    end: true\n",
     "step 'other': cannot be reached from the start step 'ask'"),
    ("dead end", GOOD.replace("  bye:\n    end: true", "  bye:\n    input: none"),
     "step 'bye': is a dead end"),
    ("missing prompt", GOOD.replace("  bye:\n    end: true", "  bye:\n    prompt: demo/gone\n    end: true"),
     "step 'bye': prompt 'demo/gone' is missing in locale 'en'"),
    ("missing label", GOOD.replace('{id: "no", next: end}', '{id: "maybe", next: end}'),
     "button label 'demo.ask.maybe' is missing in locale 'en'"),
    ("unknown hook", GOOD.replace("  bye:\n    end: true", "  bye:\n    hook: nope\n    end: true"),
     "step 'bye': uses action hook 'nope', which is not registered"),
    ("bad input kind", GOOD.replace("  bye:\n    end: true", "  bye:\n    input: colour\n    slot: c\n    next: end"),
     "input 'colour' is not one of"),
    ("number without range", GOOD.replace("  bye:\n    end: true", "  bye:\n    input: number\n    slot: n\n    next: end"),
     "step 'bye': a number step needs 'min' and 'max'"),
    ("text without slot", GOOD.replace("  bye:\n    end: true", "  bye:\n    input: text\n    next: end"),
     "step 'bye': a text step needs a 'slot'"),
    ("closed loop", GOOD.replace("next: end}", "next: bye}").replace(
        "  bye:\n    end: true", "  bye:\n    choices:\n      - {id: 'yes', label: demo.ask.yes, next: ask}"),
     "has no way out"),
    ("missing start", GOOD.replace("start: ask", "start: nowhere"), "start step 'nowhere' does not exist"),
    ("not yaml", "id: demo\nsteps: [unclosed", "is not valid YAML"),
    ("no steps", "id: demo\n", "needs 'id', 'start' and a mapping of 'steps'"),
    ("unknown key", GOOD.replace("  bye:\n    end: true", "  bye:\n    end: true\n    colour: red"),
     "step 'bye': unknown keys ['colour']"),
    ("words on a text step", GOOD.replace("  bye:\n    end: true", "  bye:\n    end: true\n    words: mood"),
     "step 'bye': words: mood is for number steps only"),
    # The way in: command, menu, order, help, listed (dialogs/commands.py).
    ("bad command name", GOOD.replace("start:", "command: Demo-1\norder: 5\nstart:"),
     "demo.yaml: command 'Demo-1' must be 1-32 lowercase letters, digits or _"),
    ("command without order", GOOD.replace("start:", "command: demo\nstart:"),
     "demo.yaml: a 'command' or 'menu' needs an 'order'"),
    ("order alone", GOOD.replace("start:", "order: 5\nstart:"),
     "demo.yaml: 'order' places a command or a menu button, but it has neither"),
    ("built-in command", GOOD.replace("start:", "command: help\norder: 5\nstart:"),
     "demo.yaml: command '/help' is already a built-in command"),
    ("order of a built-in", GOOD.replace("start:", "command: demo\norder: 15\nstart:"),
     "demo.yaml: order 15 is also the place of the built-in /menu"),
    ("missing command label", GOOD.replace("start:", "command: demo\norder: 5\nstart:"),
     "demo.yaml: command label 'demo.command' is missing in locale 'en'"),
    ("missing help line", GOOD.replace("start:", "command: demo\norder: 5\nstart:"),
     "demo.yaml: help line 'demo/_help' is missing in locale 'en'"),
    ("help without a command", GOOD.replace("start:", "help: false\nstart:"),
     "demo.yaml: 'help' says how its command is shown, but it has no 'command'"),
    ("menu not true or false", GOOD.replace("start:", "menu: 40\norder: 5\nstart:"),
     "demo.yaml: 'menu' must be true or false"),
    ("menu with no menu to show it", GOOD.replace("start:", "menu: true\norder: 5\nstart:"),
     "demo.yaml: menu: true, but no dialog has a 'menu_step' to show its button"),
    ("menu_step not a step", GOOD.replace("start:", "menu_step: nope\nstart:"),
     "demo.yaml: menu_step 'nope' is not a step of 'demo'"),
    ("unknown top-level key", GOOD.replace("start:", "comand: demo\nstart:"),
     "demo.yaml: unknown top-level keys ['comand']"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_dialog_is_refused_with_file_and_step(
    sandbox: tuple[Path, Catalog], case: str, text: str, expected: str
) -> None:
    with pytest.raises(DialogError) as caught:
        load(sandbox, text)
    message = str(caught.value)
    assert "demo.yaml" in message, message
    assert expected in message, message


def test_callback_data_longer_than_telegram_allows_is_refused(
    sandbox: tuple[Path, Catalog],
) -> None:
    long_id = "x" * 60
    _, catalog = sandbox
    (catalog.root / "en" / "buttons.yaml").write_text(
        f"demo.ask.yes: 'Yes'\ndemo.ask.{long_id}: 'L'\n"
    )
    text = GOOD.replace('{id: "no", next: end}', f'{{id: "{long_id}", next: end}}')
    with pytest.raises(DialogError, match="over 64 bytes"):
        load(sandbox, text)


def test_the_shipped_dialogs_all_load_and_draw() -> None:
    loaded = load_dialogs()
    assert {"onboarding", "menu", "crisis"} <= set(loaded.dialogs)
    graph = mermaid(loaded["onboarding"])
    assert graph.startswith("flowchart TD")
    for step in loaded["onboarding"].steps:
        assert f"    {step}" in graph
    # Every dialog draws, each of its steps a node (issue 12's among them).
    assert {"steps", "reflect", "step_reminder", "wins", "review", "measure"} <= set(loaded.dialogs)
    for dialog in loaded.dialogs.values():
        drawn = mermaid(dialog)
        assert drawn.startswith("flowchart TD"), dialog.id
        assert all(f"    {step}" in drawn for step in dialog.steps), dialog.id


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_dialogs_check_and_graph() -> None:
    check = run_cli("dialogs", "check")
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("OK: ")
    graph = run_cli("dialogs", "graph", "onboarding")
    assert graph.returncode == 0, graph.stderr
    assert 'consent -->|"Yes, keep my answers"| timezone' in graph.stdout
    missing = run_cli("dialogs", "graph", "nope")
    assert missing.returncode == 1
    assert "No dialog named 'nope'" in missing.stderr


EXTRA = """
id: extra
command: extra
menu: true
order: 5
start: go
steps:
  go:
    end: true
"""


def test_a_declared_way_in_loads_and_a_clash_is_named_on_its_file(
    sandbox: tuple[Path, Catalog],
) -> None:
    flows, catalog = sandbox
    words = catalog.root / "en" / "extra"
    words.mkdir()
    (words / "go.j2").write_text("Go.")
    (words / "_help.j2").write_text("/extra: go")
    (words / "buttons.yaml").write_text("extra.command: 'Go'\nextra.menu: 'Go'\n")
    (flows / "demo.yaml").write_text(GOOD.replace("start:", "menu_step: ask\nstart:"))
    (flows / "extra.yaml").write_text(EXTRA)
    loaded = load_dialogs(flows, catalog=catalog)
    # The menu holder's step gets the declared button first, then its own.
    assert [c.id for c in loaded["demo"].steps["ask"].choices] == ["extra", "yes", "no"]
    assert loaded["demo"].steps["ask"].choices[0].next == "dialog:extra"
    assert command_table(loaded.dialogs.values())["extra"] == "dialog:extra"
    (flows / "twin.yaml").write_text(EXTRA.replace("id: extra", "id: twin"))
    with pytest.raises(DialogError) as caught:
        load_dialogs(flows, catalog=catalog)
    message = str(caught.value)
    for expected in (
        "twin.yaml: command '/extra' is already declared by pkg/flows/extra.yaml",
        "twin.yaml: order 5 is also the place of pkg/flows/extra.yaml",
        "twin.yaml: menu label 'twin.menu' is missing in locale 'en'",
    ):
        assert expected in message, message
    assert "extra.yaml: command" not in message, message
