"""Dialog files are checked when loaded: a broken one is refused with file and step named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
