"""Commands a person can type anywhere, the /help lines and the menu's buttons.

A few commands are built in (an DialogManager method ``_cmd_<name>`` each). Every other one is
declared by its dialog file (`command`, `menu`, `order`, `help`, `listed`: see
``dialogs/README.md``), so a new conversation needs no edit here. One `order` number
places an entry in all three lists, lowest first, among the built-ins' numbers below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from dialogs.spec import DIALOG_PREFIX, MAX_CALLBACK_BYTES, ChoiceSpec, DialogSpec


@dataclass(frozen=True)
class Builtin:
    """A command handled by the dialog manager itself (`_cmd_<name>`), not by a dialog file."""

    order: int  # its place among the dialogs' `order` numbers
    help: bool  # a line in /help, the template `common/_help_<name>`


BUILTINS: dict[str, Builtin] = {
    "menu": Builtin(15, help=True),
    "help": Builtin(900, help=False),
    "cancel": Builtin(910, help=True),
    "start": Builtin(920, help=True),
}

# Buttons of the persistent keyboard arrive as plain text: label key -> command.
SHORTCUTS: dict[str, str] = {"keyboard.sos": "sos", "keyboard.menu": "menu"}


@dataclass(frozen=True)
class Entry:
    """One command: `target` is a built-in's name or `dialog:<id>`; `describe` the label
    key of its line in Telegram's command list; `help` the template of its /help line."""

    command: str
    target: str
    order: int
    listed: bool
    describe: str
    help: str | None


def entries(dialogs: Iterable[DialogSpec]) -> list[Entry]:
    """Every command, built-in or declared, in their shared order."""
    found = [
        Entry(
            command=name,
            target=name,
            order=b.order,
            listed=True,
            describe=f"command.{name}",
            help=f"common/_help_{name}" if b.help else None,
        )
        for name, b in BUILTINS.items()
    ]
    found += [
        Entry(
            command=s.way_in.command,
            target=DIALOG_PREFIX + s.id,
            order=s.way_in.order,
            listed=s.way_in.listed,
            describe=f"{s.id}.command",
            help=f"{s.id}/_help" if s.way_in.help else None,
        )
        for s in dialogs
        if s.way_in.command
    ]
    return sorted(found, key=lambda e: e.order)


def command_table(dialogs: Iterable[DialogSpec]) -> dict[str, str]:
    """Command name -> a built-in's name or `dialog:<id>`, for the dialog manager."""
    return {e.command: e.target for e in entries(dialogs)}


def help_lines(dialogs: Iterable[DialogSpec]) -> list[str]:
    """The templates of /help's lines, in order."""
    return [e.help for e in entries(dialogs) if e.help]


def listed(dialogs: Iterable[DialogSpec]) -> list[Entry]:
    """Telegram's command list (setMyCommands), in order."""
    return [e for e in entries(dialogs) if e.listed]


def menu_buttons(dialogs: Iterable[DialogSpec]) -> tuple[ChoiceSpec, ...]:
    """The menu's buttons that open dialogs: id = the dialog's id, label `<id>.menu`."""
    chosen = sorted((s for s in dialogs if s.way_in.menu), key=lambda s: s.way_in.order)
    return tuple(
        ChoiceSpec(id=s.id, label=f"{s.id}.menu", next=DIALOG_PREFIX + s.id, value=s.id)
        for s in chosen
    )


def with_menu_buttons(specs: list[DialogSpec]) -> list[DialogSpec]:
    """The dialogs, the one with a `menu_step` given the declared buttons first on it."""
    buttons = menu_buttons(specs)
    out = []
    for spec in specs:
        if spec.menu_step in spec.steps:
            step = spec.steps[spec.menu_step]
            step = replace(step, choices=buttons + step.choices)
            spec = replace(spec, steps={**spec.steps, step.id: step})
        out.append(spec)
    return out


Report = Callable[[DialogSpec, str], None]


def check_ways_in(specs: list[DialogSpec], catalog: Any, report: Report) -> None:
    """Problems with the declared commands and menu buttons, each reported on its dialog:
    a clash of names or order numbers, a missing label or template, no menu to show in."""
    taken: dict[str, str] = {name: "a built-in command" for name in BUILTINS}
    places: dict[int, str] = {b.order: f"the built-in /{name}" for name, b in BUILTINS.items()}
    menus = [s for s in specs if s.menu_step]
    for spec in menus[1:]:
        report(spec, f"menu_step: only one dialog can hold the menu ({menus[0].source} does)")
    for spec in menus:
        if spec.menu_step not in spec.steps:
            report(spec, f"menu_step '{spec.menu_step}' is not a step of '{spec.id}'")
    for spec in specs:
        way = spec.way_in
        if way.command:
            if way.command in taken:
                report(spec, f"command '/{way.command}' is already {taken[way.command]}")
            taken.setdefault(way.command, f"declared by {spec.source}")
        if way.command or way.menu:
            if way.order in places:
                report(spec, f"order {way.order} is also the place of {places[way.order]}")
            places.setdefault(way.order, spec.source)
        if way.menu:
            _check_menu_button(spec, menus, report)
        _check_words(spec, catalog, report)


def _check_menu_button(spec: DialogSpec, menus: list[DialogSpec], report: Report) -> None:
    if not menus:
        report(spec, "menu: true, but no dialog has a 'menu_step' to show its button")
        return
    menu = menus[0]
    step = menu.steps.get(menu.menu_step or "")
    if step is not None and any(c.id == spec.id for c in step.choices):
        report(spec, f"its menu button clashes with the button '{spec.id}' of {menu.source}")
    if len(menu.callback(menu.menu_step or "", spec.id).encode()) > MAX_CALLBACK_BYTES:
        report(spec, "its menu button makes callback data over 64 bytes: use a shorter id")


def _check_words(spec: DialogSpec, catalog: Any, report: Report) -> None:
    """Each declared entry's words, in every locale."""
    way = spec.way_in
    for locale in catalog.locales:
        if way.listed and not catalog.has_label(locale, f"{spec.id}.command"):
            report(spec, f"command label '{spec.id}.command' is missing in locale '{locale}'")
        if way.menu and not catalog.has_label(locale, f"{spec.id}.menu"):
            report(spec, f"menu label '{spec.id}.menu' is missing in locale '{locale}'")
        if way.help and not catalog.has_template(locale, f"{spec.id}/_help"):
            report(spec, f"help line '{spec.id}/_help' is missing in locale '{locale}'")
