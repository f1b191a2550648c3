"""`bridges dialogs hooks`: what a dialog writer can use, generated from the code itself.

Pure: reads the hook registry (dialogs/hooks) and the loaded dialog files, returns
Markdown. Nothing here is kept by hand, so it can't go stale: every input kind with what
it takes, the names a condition of a conditional `next:` can read (dialogs/conditions.py)
with the steps that branch on one, and every hook with its kind, its docstring's first
paragraph and the dialog steps that use it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from dialogs import hooks
from dialogs.conditions import NAMES
from dialogs.spec import INPUT_KINDS, DialogSet

# What each input kind takes; checked against INPUT_KINDS so a new kind can't be missed.
INPUT_HELP: dict[str, str] = {
    "choice": "buttons only; a button's label or number typed works too",
    "multi": "buttons that tick and untick, then the `finish: true` one",
    "text": "free text up to `max_length` (default 400); `collect: true` gathers a list",
    "number": 'a whole number in `min`..`max`; words work too ("four", "6/10")',
    "time": 'a time of day, kept as "HH:MM" ("6pm", "half past seven" work)',
    "timezone": "a city, a country, an offset such as UTC+2, or a shared location",
    "photo": "a photo, kept as {file_id, caption}",
    "none": "a message that moves on to `next` by itself",
}

KINDS = {
    "action": "runs on a valid answer (or on entry, for message-only steps); may return a step",
    "enter": "returns extra values for the step's template",
    "choices": "returns the step's buttons at run time",
}


def _summary(doc: str | None) -> str:
    """A docstring's first paragraph on one line, or a note that it has none."""
    if not doc:
        return "*(no docstring)*"
    first = doc.strip().split("\n\n", 1)[0]
    return " ".join(first.split())


def _attached_in_code() -> dict[str, list[str]]:
    """Hook names that hooks' own code attaches to buttons it makes (`hook="name"` in
    dialogs/hooks/*.py), by name: the modules that do it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(Path(hooks.__file__).parent.glob("*.py")):
        for name in re.findall(r"\bhook=\"(\w+)\"", path.read_text(encoding="utf-8")):
            if path.stem not in found[name]:
                found[name].append(path.stem)
    return found


def _uses(dialogs: DialogSet) -> dict[tuple[str, str], list[str]]:
    """(kind, hook name) -> the "dialog.step" places that name it."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for spec in dialogs.dialogs.values():
        for step in spec.steps.values():
            where = f"{spec.id}.{step.id}"
            if step.hook:
                found[("action", step.hook)].append(where)
            for name in step.enter:
                found[("enter", name)].append(where)
            if step.choices_from:
                found[("choices", step.choices_from)].append(where)
            for choice in step.choices:
                if choice.hook:
                    found[("action", choice.hook)].append(f"{where} ({choice.id})")
    return found


def _branching(dialogs: DialogSet) -> list[str]:
    """The "dialog.step" places with a conditional `next:` (on the step or a button)."""
    return [
        f"{spec.id}.{step.id}"
        for spec in dialogs.dialogs.values()
        for step in spec.steps.values()
        if step.branches or any(c.branches for c in step.choices)
    ]


def catalogue(dialogs: DialogSet) -> str:
    """The Markdown page: input kinds, the names of conditions, then hooks by kind,
    alphabetically.

    Raises ValueError if an input kind has no help line (a kind added without one).
    """
    missing = set(INPUT_KINDS) - set(INPUT_HELP)
    if missing:
        raise ValueError(f"input kinds without a help line: {sorted(missing)}")
    uses = _uses(dialogs)
    in_code = _attached_in_code()
    lines = ["# What a dialog can use", "", "## Input kinds (`input:`)", ""]
    lines += [f"- `{kind}`: {INPUT_HELP[kind]}" for kind in INPUT_KINDS]
    lines += [
        "",
        "## Conditions (`next:` as a list of `{if: <expression>, go: <step>}`, then "
        "`{else: <step>}`)",
        "",
        "A Jinja2 expression, checked and compiled when the dialogs load; it reads only:",
        "",
    ]
    lines += [f"- `{name}`: {meaning}" for name, meaning in NAMES.items()]
    places = _branching(dialogs)
    lines += ["", f"Used in: {', '.join(places) if places else 'no dialog file'}."]
    for kind, meaning in KINDS.items():
        registered = hooks.registry(kind)
        lines += ["", f"## {kind.capitalize()} hooks ({len(registered)}): {meaning}", ""]
        for name in sorted(registered):
            places = uses.get((kind, name), [])
            used = ", ".join(places) if places else "not used by any dialog file"
            if not places and name in in_code:
                modules = ", ".join(f"dialogs/hooks/{m}.py" for m in in_code[name])
                used = f"the buttons a choices hook makes ({modules})"
            lines.append(f"- `{name}`: {_summary(registered[name].__doc__)} Used in: {used}.")
    return "\n".join(lines) + "\n"
