"""Every locale mirrors the English prompts: no template or label missing, none extra."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import prompts.tree
from bot.cli import main
from prompts import PROMPTS_DIR
from prompts.tree import compare


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A copy of the shipped prompts/ (English and Spanish), to break."""
    root = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR / "en", root / "en")
    shutil.copytree(PROMPTS_DIR / "es", root / "es")
    return root


def test_the_shipped_locales_match_english() -> None:
    assert compare() == []


def test_the_copy_matches_before_anything_is_broken(tree: Path) -> None:
    assert compare(tree) == []


def test_a_missing_included_template_is_named(tree: Path) -> None:
    # common/kept/ lines are only reached through an include in common/cancelled.j2.
    (tree / "es" / "common" / "kept" / "wins.j2").unlink()
    assert compare(tree) == ["prompts/es: template 'common/kept/wins.j2' is missing"]


def test_an_extra_template_is_named(tree: Path) -> None:
    (tree / "es" / "common" / "old_words.j2").write_text("Palabras viejas.")
    assert compare(tree) == ["prompts/es: template 'common/old_words.j2' is not in 'en'"]


def test_a_missing_label_and_an_extra_one_are_named(tree: Path) -> None:
    path = tree / "es" / "buttons.yaml"
    text = path.read_text("utf-8")
    assert 'keyboard.sos: "' in text
    lines = [line for line in text.splitlines() if not line.startswith("keyboard.sos:")]
    path.write_text("\n".join([*lines, 'command.sos: "Antigua"']) + "\n", "utf-8")
    assert compare(tree) == [
        "prompts/es: label 'keyboard.sos' is missing (in buttons.yaml in English)",
        "prompts/es: label 'command.sos' is not in 'en'",
    ]


def test_a_label_in_another_file_than_in_english_is_named(tree: Path) -> None:
    top = tree / "es" / "buttons.yaml"
    wins = tree / "es" / "wins" / "buttons.yaml"
    line = next(x for x in wins.read_text("utf-8").splitlines() if x.startswith("wins.menu:"))
    wins.write_text(wins.read_text("utf-8").replace(line + "\n", ""), "utf-8")
    top.write_text(top.read_text("utf-8") + line + "\n", "utf-8")
    assert compare(tree) == [
        "prompts/es: label 'wins.menu' is in buttons.yaml, not wins/buttons.yaml as in 'en'"
    ]


def test_dialogs_check_fails_on_a_gap_and_passes_without_one(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(prompts.tree, "PROMPTS_DIR", tree)
    assert main(["dialogs", "check"]) == 0
    (tree / "es" / "sos" / "_help.j2").unlink()
    (tree / "en" / "common" / "new_words.j2").write_text("New words.")
    assert main(["dialogs", "check"]) == 1
    err = capsys.readouterr().err
    assert "Locale check failed:" in err
    assert "prompts/es: template 'common/new_words.j2' is missing" in err
    assert "prompts/es: template 'sos/_help.j2' is missing" in err
