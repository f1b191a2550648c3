"""`bridges dialogs script NAME`: a whole dialog on one page, as Markdown (issue 13)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dialogs.graph import mermaid
from dialogs.script import Sample, order, plain, script
from dialogs.spec import END, DialogSet, DialogSpec, StepSpec, load_dialogs, parse_dialog
from prompts import Catalog, default_catalog


@pytest.fixture(scope="module")
def loaded() -> DialogSet:
    return load_dialogs()


def sections(page: str) -> dict[str, str]:
    """The page cut at its `## step` headings: step id -> its section."""
    parts = re.split(r"^## (\S+)$", page, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def quoted(section: str) -> str:
    """The step's message (the Markdown quote) as plain words, bold and italics undone."""
    lines = [line[1:].strip() for line in section.splitlines() if line.startswith(">")]
    return " ".join(" ".join(lines).replace("*", "").split())


def engine_target(step: StepSpec, choice_next: str | None) -> str:
    # Written out here from the dialog manager's rule (dialogs/manager.py `_accept`), not taken
    # from dialogs.graph, so the page is checked against the dialog manager.
    return choice_next or step.next or END


def link(target: str) -> str:
    return "end" if target == END else f"[{target}](#{target})"


def test_script_reframe_has_every_step_its_words_and_every_button(loaded: DialogSet) -> None:
    dialog = loaded["reframe"]
    page = script(dialog)
    found = sections(page)
    assert set(found) == set(dialog.steps)
    assert list(found) == order(dialog)
    assert next(iter(found)) == dialog.start
    catalog = default_catalog()
    sample = Sample(catalog)
    walked = sample.walk(dialog)
    strict = 0
    for sid, step in dialog.steps.items():
        section = found[sid]
        # The words as the real catalog (strict: no placeholder allowed) renders them with
        # the sample pass's values: a step whose hooks gave every value reads exactly so.
        try:
            expected = catalog.render("en", step.prompt, walked[sid].ctx)
        except Exception:
            expected = None
        if expected is not None:
            strict += 1
            assert quoted(section) == plain(expected), sid
        for choice in step.choices:
            label = catalog.label("en", choice.label)
            target = engine_target(step, choice.next)
            assert f"- “{label}” → {link(target)}" in section, (sid, choice.id)
    # Every reframe template renders with the sample pass alone (hooks included).
    assert strict == len(dialog.steps)


def test_script_shows_the_saved_table_with_the_sample_answers(loaded: DialogSet) -> None:
    # The evidence table, built by the real save_entry / saved_entry hooks on the sample pass.
    from dialogs.script import SAMPLE_ANSWERS

    saved = sections(script(loaded["reframe"]))["saved"]
    for slot in ("thought", "balanced"):
        assert SAMPLE_ANSWERS[slot] in saved
    for line in [*SAMPLE_ANSWERS["evidence_for"], *SAMPLE_ANSWERS["evidence_against"]]:
        assert line in saved
    assert f"{SAMPLE_ANSWERS['belief_before']} → {SAMPLE_ANSWERS['belief_after']}" in saved


def test_script_names_input_hooks_and_next(loaded: DialogSet) -> None:
    dialog = loaded["reframe"]
    found = sections(script(dialog))
    for sid, step in dialog.steps.items():
        for name in (*step.enter, step.hook, step.choices_from):
            if name:
                assert f"`{name}`" in found[sid], (sid, name)
        if step.input == "number":
            assert f"from {step.min} to {step.max}" in found[sid]
        if step.input == "text":
            assert f"up to {step.max_length} characters" in found[sid]
        if step.next and step.input != "multi":
            assert f"→ {link(step.next)}" in found[sid]
        for target in step.exits:
            assert link(target) in found[sid].split("**Hooks:**")[1].split("\n")[0]


def test_multi_options_stay_and_only_finish_moves_on(loaded: DialogSet) -> None:
    when = loaded["needs"].steps["when"]
    section = sections(script(loaded["needs"]))["when"]
    catalog = default_catalog()
    for choice in when.choices:
        label = catalog.label("en", choice.label)
        if choice.finish:
            assert f"“{label}” → {link(engine_target(when, choice.next))}" in section
        else:
            assert f"“{label}” ticks (stays here)" in section


def test_hook_values_missing_become_placeholders_or_the_template(tmp_path: Path) -> None:
    root = tmp_path / "prompts"
    (root / "en" / "demo").mkdir(parents=True)
    (root / "en" / "buttons.yaml").write_text("demo.ask.go: 'Go {{ n }}'\n")
    (root / "en" / "demo" / "ask.j2").write_text(
        "Hi <b>{{ who }}</b>, {{ entry.date }}{% if flag %} never{% endif %}."
    )
    (root / "en" / "demo" / "sum.j2").write_text("{{ count + 1 }} left")
    dialog, problems = parse_dialog(
        "id: demo\nstart: ask\nsteps:\n"
        "  ask:\n    enter: demo_values\n    choices: [{id: go, next: sum}]\n"
        "  sum:\n    enter: demo_count\n    end: true\n",
        "demo.yaml",
    )
    assert dialog is not None and not problems.items
    page = script(dialog, Sample(Catalog(root)), text="# A demo.\nid: demo\n")
    found = sections(page)
    assert page.startswith("# Dialog `demo`\n\nA demo.\n")
    assert "> Hi **‹who›**, ‹entry.date›." in found["ask"]
    assert "- “Go ‹n›” → [sum](#sum)" in found["ask"]
    assert "*(needs `demo_count`: shown as written)*" in found["sum"]
    assert "{{ count + 1 }} left" in found["sum"]


def test_every_shipped_dialog_renders_a_script_and_a_graph(loaded: DialogSet) -> None:
    sample = Sample()
    for dialog in loaded.dialogs.values():
        page = script(dialog, sample)
        assert set(sections(page)) == set(dialog.steps), dialog.id
        assert "‹None›" not in page and "Undefined" not in page, dialog.id
        assert mermaid(dialog, sample).startswith("flowchart TD\n"), dialog.id


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_prints_the_script_and_refuses_an_unknown_name(loaded: DialogSet) -> None:
    done = run_cli("dialogs", "script", "reframe")
    assert done.returncode == 0, done.stderr
    assert done.stdout == script(loaded["reframe"])
    missing = run_cli("dialogs", "script", "nope")
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "No dialog named 'nope'" in missing.stderr


def test_a_dialog_spec_without_a_file_still_has_a_page() -> None:
    step = StepSpec(id="only", prompt="common/expired", input="none", end=True)
    dialog = DialogSpec(id="bare", start="only", steps={"only": step}, source="<test>")
    page = script(dialog)
    assert "## only" in page and "by itself → end" in page
