"""Every locale holds exactly the English templates and labels: no gap, nothing left over.

The dialog check (dialogs/spec.py, dialogs/commands.py) asks for the templates and labels
it can see a dialog use. Templates included by other templates, and labels and templates
named from code (a hook's reply, a label looked up by key), are only found by comparing
whole trees: the set of ``.j2`` files and the set of label keys of each locale against
DEFAULT_LOCALE's. A missing one would show English (or fail) in the middle of a Spanish
conversation; an extra one is a stale or misspelled name that nothing reads.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from prompts import DEFAULT_LOCALE, PROMPTS_DIR


def templates(root: Path, locale: str) -> set[str]:
    """The template names of one locale ("onboarding/welcome"), from its ``.j2`` files."""
    folder = root / locale
    return {p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob("*.j2")}


def labels(root: Path, locale: str) -> dict[str, str]:
    """Each label key of one locale, with the buttons.yaml that defines it (relative to the
    locale folder). A key defined twice keeps its first file; the Catalog refuses it."""
    folder = root / locale
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("buttons.yaml")):
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        for key in data:
            found.setdefault(str(key), path.relative_to(folder).as_posix())
    return found


def compare(root: Path | None = None, reference: str = DEFAULT_LOCALE) -> list[str]:
    """One line per difference between each locale under `root` (default: the shipped
    prompts/; a locale is a folder with a buttons.yaml) and `reference`: templates and
    labels it lacks, and ones it has that `reference` doesn't. Also a label that sits in
    another buttons.yaml than the reference's, so each locale's files mirror the English
    ones. [] when all match."""
    root = root or PROMPTS_DIR
    locales = sorted(p.name for p in root.iterdir() if (p / "buttons.yaml").is_file())
    want_templates = templates(root, reference)
    want_labels = labels(root, reference)
    problems: list[str] = []
    for locale in locales:
        if locale == reference:
            continue
        have_templates = templates(root, locale)
        have_labels = labels(root, locale)
        for name in sorted(want_templates - have_templates):
            problems.append(f"prompts/{locale}: template '{name}.j2' is missing")
        for name in sorted(have_templates - want_templates):
            problems.append(f"prompts/{locale}: template '{name}.j2' is not in '{reference}'")
        for key in sorted(want_labels.keys() - have_labels.keys()):
            problems.append(
                f"prompts/{locale}: label '{key}' is missing (in {want_labels[key]} in English)"
            )
        for key in sorted(have_labels.keys() - want_labels.keys()):
            problems.append(f"prompts/{locale}: label '{key}' is not in '{reference}'")
        for key in sorted(want_labels.keys() & have_labels.keys()):
            if want_labels[key] != have_labels[key]:
                problems.append(
                    f"prompts/{locale}: label '{key}' is in {have_labels[key]}, "
                    f"not {want_labels[key]} as in '{reference}'"
                )
    return problems
