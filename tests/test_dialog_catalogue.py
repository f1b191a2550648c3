"""`bridges dialogs hooks`: the generated catalogue of input kinds and hooks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dialogs import catalogue as module
from dialogs import hooks
from dialogs.catalogue import catalogue
from dialogs.spec import INPUT_KINDS, load_dialogs


def test_every_input_kind_and_every_hook_is_listed_with_where_it_is_used() -> None:
    page = catalogue(load_dialogs())
    for kind in INPUT_KINDS:
        assert f"- `{kind}`: " in page
    for kind in ("action", "enter", "choices"):
        for name in hooks.registry(kind):
            assert f"- `{name}`: " in page, name
    line = next(x for x in page.splitlines() if x.startswith("- `checkin_branch`"))
    assert line.endswith("Used in: checkin.connected.")
    line = next(x for x in page.splitlines() if x.startswith("- `review_week`"))
    assert "Used in: review.week." in line


def test_a_new_input_kind_without_a_help_line_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "INPUT_KINDS", (*INPUT_KINDS, "sketch"))
    with pytest.raises(ValueError, match="sketch"):
        catalogue(load_dialogs())


def test_the_cli_prints_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "dialogs", "hooks"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# What a dialog can use")


def test_a_hook_attached_by_code_is_not_called_unused() -> None:
    """`contacts_move_up` sits on buttons the contacts choices hook makes, not in a file."""
    text = catalogue(load_dialogs())
    line = next(x for x in text.splitlines() if x.startswith("- `contacts_move_up`"))
    assert "not used by any dialog file" not in line
    assert "dialogs/hooks/contacts.py" in line
