"""Dialogs as data: the YAML schema, its loader, and the checks run at load time.

A dialog file names its steps, the prompt each shows, the input it expects,
and where each answer leads. Anything data cannot say is a hook registered by
name in ``dialogs.hooks``. A broken file is refused with the file and step named,
so a writer who edits a conversation learns exactly what to fix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dialogs.conditions import Branch, ConditionError, compile_branch
from dialogs.yaml_data import load_yaml

FLOWS_DIR = Path(__file__).parent / "flows"
INPUT_KINDS = ("choice", "multi", "text", "number", "time", "timezone", "photo", "none")
KEYBOARDS = (None, "location", "remove", "main")
END = "end"
DIALOG_PREFIX = "dialog:"


def split_target(target: str) -> tuple[str, str | None]:
    """A `dialog:<id>` or `dialog:<id>/<step>` target (the prefix already removed) as
    (dialog id, step or None). The step form opens that dialog at that step, e.g. the
    measure's first question when onboarding already asked whether they want it."""
    dialog, _, step = target.partition("/")
    return dialog, step or None


CALLBACK_PREFIX = "c"
MAX_CALLBACK_BYTES = 64
DEFAULT_MAX_LENGTH = 400


class DialogError(ValueError):
    """A dialog file that cannot be used; the message names file and step."""


@dataclass(frozen=True)
class ChoiceSpec:
    """One button of a step (or one option a choices hook made): its id, label key, where it
    goes (`next`, maybe conditional) and the value it gives the step."""

    id: str
    label: str
    next: str | None = None
    value: Any = None
    hook: str | None = None
    ctx: tuple[tuple[str, Any], ...] = ()  # values for the label template
    url: str | None = None  # link buttons (only from choices hooks)
    finish: bool = False  # on a multi-select step: the "done" button
    when: str | None = None  # shown only while the frame's slot of this name holds a value
    means: str | None = None  # "yes" or "no": typing yes/no (sure, ok, nope...) taps it
    # Other words that tap it when typed, as whole words ("saturday", "sat" for "Sat 5"),
    # folded (dialogs.inputs.fold); only from choices hooks. Words naming two buttons tap none.
    words: tuple[str, ...] = ()
    # A conditional `next:` (dialogs/conditions.py): tried in order before `next`, which is
    # then the list's `else`.
    branches: tuple[Branch, ...] = ()


@dataclass(frozen=True)
class StepSpec:
    """One step of a dialog file: what it asks (`prompt`, `input`), where the answer is kept
    (`slot`), its buttons and hooks, and where it goes next. dialogs/README.md has every key."""

    id: str
    prompt: str
    input: str = "choice"
    slot: str | None = None
    next: str | None = None
    choices: tuple[ChoiceSpec, ...] = ()
    choices_from: str | None = None
    hook: str | None = None
    enter: tuple[str, ...] = ()  # enter hooks, merged in order
    end: bool = False
    keyboard: str | None = None
    columns: int = 1
    min: int | None = None
    max: int | None = None
    max_length: int = DEFAULT_MAX_LENGTH
    exits: tuple[str, ...] = ()
    collect: bool = False  # text answers append to a list until a button moves on
    min_items: int = 0  # for collect and multi steps: how many before moving on
    max_items: int = 10
    display: bool = False  # a screen to read (a card, a list, a menu): never resumed
    ask: str | None = None  # template of a one-line form of the question, used on resuming
    words: str | None = None  # "mood": a mood in words ("pretty bad") is offered as a number
    branches: tuple[Branch, ...] = ()  # a conditional `next:`; `next` is then its `else`

    @property
    def passive(self) -> bool:
        """It shows its message and moves on without an answer: `input: none`, or an `end`
        step without buttons (the dialog manager's `_enter`, the graph and the script agree
        here)."""
        return self.input == "none" or (self.end and not self.choices)

    def targets(self) -> list[str]:
        """Every place the file says this step may lead: `next` and its conditions, each
        button's, and the `exits` a hook may return."""
        found = [b.go for b in self.branches] + ([self.next] if self.next else [])
        for choice in self.choices:
            found += [b.go for b in choice.branches] + ([choice.next] if choice.next else [])
        return found + list(self.exits)


@dataclass(frozen=True)
class WayIn:
    """How a person reaches a dialog: its file's `command`, `menu`, `order`, `help` and
    `listed` keys (dialogs/commands.py turns them into the command table, /help and the
    menu's buttons). Their words are prompts, never YAML: labels `<id>.command` and
    `<id>.menu`, template `<id>/_help`."""

    command: str | None = None  # `/<command>` opens it from anywhere
    menu: bool = False  # a button of the main menu
    order: int = 0  # its place in the menu, /help and Telegram's command list, lowest first
    help: bool = False  # a line in /help (only with a command)
    listed: bool = False  # in Telegram's command list (only with a command)


@dataclass(frozen=True)
class DialogSpec:
    """One dialog file, parsed and checked: its steps, its way in and its stack rules."""

    id: str
    start: str
    steps: dict[str, StepSpec]
    source: str
    way_in: WayIn = WayIn()
    menu_step: str | None = None  # the menu dialog: the step whose first buttons open dialogs
    needs_profile: bool = False  # only for people who finished onboarding
    keeps: str | None = None  # what /cancel reassures about: prompts common/kept/<keeps>.j2
    draft_step: str | None = None  # where an unfinished run is offered back (continue/discard)
    restart_on_open: bool = False  # opening it again starts at `start`, wherever it was

    def callback(self, step: str, choice: str) -> str:
        """A button's callback data, "c|<dialog>|<step>|<choice>" (at most 64 bytes, checked at
        load: the Bot API's limit for callback_data)."""
        return "|".join((CALLBACK_PREFIX, self.id, step, choice))


@dataclass
class DialogSet:
    """Every loaded dialog by id, and `script_version`: the first 12 hex digits of a hash of
    the dialog files, stored with each conversation at every turn."""

    dialogs: dict[str, DialogSpec]
    script_version: str = ""

    def __getitem__(self, dialog_id: str) -> DialogSpec:
        return self.dialogs[dialog_id]

    def __contains__(self, dialog_id: object) -> bool:
        return dialog_id in self.dialogs

    def step(self, dialog_id: str, step_id: str) -> StepSpec | None:
        """The step, or None when the dialog or the step no longer exists."""
        spec = self.dialogs.get(dialog_id)
        return spec.steps.get(step_id) if spec else None


@dataclass
class _Problems:
    source: str
    items: list[str] = field(default_factory=list)

    def add(self, step: str | None, message: str) -> None:
        where = f"{self.source}: step '{step}'" if step else self.source
        self.items.append(f"{where}: {message}")


# --- parsing ----------------------------------------------------------------------


def _parse_choice(dialog: str, step: str, raw: Any, problems: _Problems) -> ChoiceSpec | None:
    if not isinstance(raw, dict) or "id" not in raw:
        problems.add(step, "each choice needs an 'id'")
        return None
    unknown = set(raw) - {"id", "label", "next", "value", "hook", "finish", "when", "means"}
    if unknown:
        problems.add(step, f"choice '{raw['id']}' has unknown keys {sorted(unknown)}")
    # YAML reads a bare yes/no as a boolean: both spellings mean the same here.
    means = raw.get("means")
    if isinstance(means, bool):
        means = "yes" if means else "no"
    if means not in (None, "yes", "no"):
        problems.add(step, f"choice '{raw['id']}': means must be yes or no")
    cid = str(raw["id"])
    onward, branches = _parse_next(raw.get("next"), step, problems, f"choice '{cid}': ")
    return ChoiceSpec(
        id=cid,
        label=str(raw.get("label") or f"{dialog}.{step}.{cid}"),
        next=onward,
        branches=branches,
        value=raw.get("value", cid),
        hook=raw.get("hook"),
        finish=bool(raw.get("finish", False)),
        when=raw.get("when"),
        means=means,
    )


def _parse_next(
    raw: Any, step: str, problems: _Problems, where: str = ""
) -> tuple[str | None, tuple[Branch, ...]]:
    """A `next:` as (target, conditions): a plain target has none; a list of
    `{if: <expression>, go: <target>}` ends with the `{else: <target>}` it must have, which
    becomes the target. Each expression is checked and compiled here, once."""
    if raw is None or isinstance(raw, str):
        return raw, ()
    if not isinstance(raw, list):
        problems.add(step, f"{where}next must be a step id or a list of conditions")
        return None, ()
    branches: list[Branch] = []
    fallback: str | None = None
    for at, item in enumerate(raw):
        if isinstance(item, dict) and set(item) == {"else"}:
            if at != len(raw) - 1:
                problems.add(step, f"{where}the 'else' of a conditional next must come last")
            fallback = str(item["else"]) if item["else"] else None
        elif isinstance(item, dict) and set(item) == {"if", "go"}:
            try:
                branches.append(compile_branch(item["if"], item["go"]))
            except ConditionError as err:
                problems.add(step, f"{where}condition '{item['if']}': {err}")
        else:
            problems.add(step, f"{where}each condition is {{if: <expression>, go: <step>}}")
    if fallback is None:
        problems.add(step, f"{where}a conditional next needs a last {{else: <step>}}")
    return fallback, tuple(branches)


_STEP_KEYS = {
    "prompt", "input", "slot", "next", "choices", "choices_from", "hook", "enter",
    "end", "keyboard", "columns", "min", "max", "max_length", "exits",
    "collect", "min_items", "max_items", "display", "ask", "words",
}  # fmt: skip
WORD_KINDS = (None, "mood")  # `words:` what a number step also reads from words


def _parse_step(dialog: str, sid: str, raw: Any, problems: _Problems) -> StepSpec | None:
    if not isinstance(raw, dict):
        problems.add(sid, "must be a mapping of settings")
        return None
    unknown = set(raw) - _STEP_KEYS
    if raw.get("words") not in WORD_KINDS or (raw.get("words") and raw.get("input") != "number"):
        problems.add(sid, "words: mood is for number steps only")
    if unknown:
        problems.add(sid, f"unknown keys {sorted(unknown)}")
    choices = tuple(
        c
        for c in (_parse_choice(dialog, sid, r, problems) for r in raw.get("choices") or [])
        if c is not None
    )
    kind = raw.get("input") or ("choice" if choices or raw.get("choices_from") else "none")
    onward, branches = _parse_next(raw.get("next"), sid, problems)
    return StepSpec(
        id=sid,
        prompt=str(raw.get("prompt") or f"{dialog}/{sid}"),
        input=kind,
        slot=raw.get("slot"),
        next=onward,
        branches=branches,
        choices=choices,
        choices_from=raw.get("choices_from"),
        hook=raw.get("hook"),
        enter=_names(raw.get("enter")),
        end=bool(raw.get("end", False)),
        keyboard=raw.get("keyboard"),
        columns=int(raw.get("columns", 1)),
        min=raw.get("min"),
        max=raw.get("max"),
        max_length=int(raw.get("max_length", DEFAULT_MAX_LENGTH)),
        exits=tuple(raw.get("exits") or ()),
        collect=bool(raw.get("collect", False)),
        min_items=int(raw.get("min_items", 0)),
        max_items=int(raw.get("max_items", 10)),
        display=bool(raw.get("display", False)),
        ask=str(raw["ask"]) if raw.get("ask") else None,
        words=raw.get("words"),
    )


def _names(raw: Any) -> tuple[str, ...]:
    """A hook name or a list of them."""
    if raw is None:
        return ()
    return (str(raw),) if isinstance(raw, str) else tuple(str(n) for n in raw)


_DIALOG_KEYS = {
    "id", "start", "steps", "needs_profile", "keeps", "draft_step", "restart_on_open",
    "command", "menu", "order", "help", "listed", "menu_step",
}  # fmt: skip
COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")  # what Telegram accepts as a command


def _parse_way_in(raw: dict[str, Any], problems: _Problems) -> WayIn:
    command = raw.get("command")
    if command is not None and not (isinstance(command, str) and COMMAND_NAME.match(command)):
        problems.add(None, f"command '{command}' must be 1-32 lowercase letters, digits or _")
        command = None
    flags: dict[str, bool] = {}
    defaults = {"menu": False, "help": command is not None, "listed": command is not None}
    for key, default in defaults.items():
        value = raw.get(key, default)
        if not isinstance(value, bool):
            problems.add(None, f"'{key}' must be true or false")
            value = False
        flags[key] = value
    declared = raw.get("command") is not None  # even a misspelt one: one problem is enough
    for key in ("help", "listed"):
        if key in raw and not declared:
            problems.add(None, f"'{key}' says how its command is shown, but it has no 'command'")
    order = raw.get("order")
    placed = declared or flags["menu"]
    if placed and (isinstance(order, bool) or not isinstance(order, int)):
        problems.add(None, "a 'command' or 'menu' needs an 'order': a whole number, its place")
    elif order is not None and not placed:
        problems.add(None, "'order' places a command or a menu button, but it has neither")
    return WayIn(
        command=command,
        menu=flags["menu"],
        order=order if isinstance(order, int) else 0,
        help=flags["help"] and command is not None,
        listed=flags["listed"] and command is not None,
    )


def parse_dialog(text: str, source: str) -> tuple[DialogSpec | None, _Problems]:
    """Parse one dialog file's YAML `text` (named `source` in problems): the spec, or None
    when it cannot be read at all, and the problems found in it (never raises)."""
    problems = _Problems(source)
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        problems.add(None, f"is not valid YAML ({exc})")
        return None, problems
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), dict):
        problems.add(None, "needs 'id', 'start' and a mapping of 'steps'")
        return None, problems
    did = str(raw.get("id") or Path(source).stem)
    if unknown := set(raw) - _DIALOG_KEYS:
        problems.add(None, f"unknown top-level keys {sorted(unknown)}")
    steps: dict[str, StepSpec] = {}
    for sid, sraw in raw["steps"].items():
        step = _parse_step(did, str(sid), sraw, problems)
        if step is not None:
            steps[step.id] = step
    spec = DialogSpec(
        id=did,
        start=str(raw.get("start") or next(iter(steps), "")),
        steps=steps,
        source=source,
        needs_profile=bool(raw.get("needs_profile", False)),
        keeps=raw.get("keeps"),
        draft_step=raw.get("draft_step"),
        restart_on_open=bool(raw.get("restart_on_open", False)),
        way_in=_parse_way_in(raw, problems),
        menu_step=str(raw["menu_step"]) if raw.get("menu_step") else None,
    )
    return spec, problems


# --- checks -----------------------------------------------------------------------


def _check_targets(spec: DialogSpec, known: dict[str, set[str]], problems: _Problems) -> None:
    for step in spec.steps.values():
        for target in step.targets():
            if target == END:
                continue
            if target.startswith(DIALOG_PREFIX):
                dialog, entry = split_target(target.removeprefix(DIALOG_PREFIX))
                if dialog not in known:
                    problems.add(step.id, f"goes to '{target}', but no such dialog exists")
                elif entry is not None and entry not in known[dialog]:
                    problems.add(step.id, f"goes to '{target}', but '{dialog}' has no such step")
            elif target not in spec.steps:
                problems.add(step.id, f"goes to '{target}', which is not a step of '{spec.id}'")


def _check_shape(spec: DialogSpec, hooks: Any, problems: _Problems) -> None:
    for step in spec.steps.values():
        if step.input not in INPUT_KINDS:
            problems.add(step.id, f"input '{step.input}' is not one of {', '.join(INPUT_KINDS)}")
        if step.input == "number" and (step.min is None or step.max is None):
            problems.add(step.id, "a number step needs 'min' and 'max'")
        if step.input in ("text", "number", "time", "timezone", "photo") and not step.slot:
            problems.add(step.id, f"a {step.input} step needs a 'slot' to keep the answer in")
        if step.input == "choice" and not step.choices and not step.choices_from:
            problems.add(step.id, "a choice step needs 'choices' or 'choices_from'")
        if step.keyboard not in KEYBOARDS:
            problems.add(step.id, f"keyboard '{step.keyboard}' is not location, remove or main")
        if step.collect and step.input != "text":
            problems.add(step.id, "'collect' works on text steps only")
        if step.display and step.ask:
            problems.add(step.id, "a 'display' screen is never brought back, so 'ask' is unused")
        if step.input == "multi" and not any(c.finish for c in step.choices):
            problems.add(step.id, "a multi step needs one choice with 'finish: true'")
        exits_ok = (
            step.end
            or step.next
            or (step.choices and all(c.next for c in step.choices))
            or (step.input == "multi" and any(c.finish and c.next for c in step.choices))
        )
        if not exits_ok:
            problems.add(step.id, "is a dead end: give it 'next', 'end: true' or a next per choice")
        for name, kind in _hook_names(step):
            if name not in hooks.registry(kind):
                problems.add(step.id, f"uses {kind} hook '{name}', which is not registered")
        for choice in step.choices:
            data = spec.callback(step.id, choice.id)
            if len(data.encode()) > MAX_CALLBACK_BYTES:
                problems.add(step.id, f"choice '{choice.id}' makes callback data over 64 bytes")


def _hook_names(step: StepSpec) -> Iterable[tuple[str, str]]:
    if step.hook:
        yield step.hook, "action"
    for name in step.enter:
        yield name, "enter"
    if step.choices_from:
        yield step.choices_from, "choices"
    for choice in step.choices:
        if choice.hook:
            yield choice.hook, "action"


def _check_reach(spec: DialogSpec, problems: _Problems) -> None:
    if spec.start not in spec.steps:
        problems.add(None, f"start step '{spec.start}' does not exist")
        return
    if spec.draft_step and spec.draft_step not in spec.steps:
        problems.add(None, f"draft_step '{spec.draft_step}' does not exist")
        return
    roots = [spec.start] + ([spec.draft_step] if spec.draft_step else [])
    seen, todo = set(roots), list(roots)
    while todo:
        step = spec.steps[todo.pop()]
        for target in step.targets():
            if target in spec.steps and target not in seen:
                seen.add(target)
                todo.append(target)
    for sid in spec.steps:
        if sid not in seen:
            problems.add(sid, f"cannot be reached from the start step '{spec.start}'")
    # Every step must be able to leave the dialog, or a person could be trapped in a loop.
    leaves = {
        s.id
        for s in spec.steps.values()
        if s.end or any(t == END or t.startswith(DIALOG_PREFIX) for t in s.targets())
    }
    changed = True
    while changed:
        changed = False
        for step in spec.steps.values():
            if step.id not in leaves and any(t in leaves for t in step.targets()):
                leaves.add(step.id)
                changed = True
    for sid in seen - leaves:
        problems.add(sid, "has no way out of the dialog from here (a closed loop)")


def _check_prompts(spec: DialogSpec, catalog: Any, problems: _Problems) -> None:
    for locale in catalog.locales:
        for step in spec.steps.values():
            if not catalog.has_template(locale, step.prompt):
                problems.add(step.id, f"prompt '{step.prompt}' is missing in locale '{locale}'")
            if step.ask and not catalog.has_template(locale, step.ask):
                problems.add(step.id, f"ask '{step.ask}' is missing in locale '{locale}'")
            for choice in step.choices:
                if not catalog.has_label(locale, choice.label):
                    problems.add(
                        step.id, f"button label '{choice.label}' is missing in locale '{locale}'"
                    )
        if spec.keeps and not catalog.has_template(locale, f"common/kept/{spec.keeps}"):
            problems.add(
                None, f"keeps '{spec.keeps}' has no line common/kept/{spec.keeps}.j2 in '{locale}'"
            )


def validate(specs: list[DialogSpec], catalog: Any, hooks: Any, problems: list[_Problems]) -> None:
    """Check the dialogs together (targets, shapes, hooks, reach, prompts in every locale,
    ways in), adding what is wrong to each file's `problems`."""
    from dialogs.commands import check_ways_in

    known = {s.id: set(s.steps) for s in specs}
    by_source = {p.source: p for p in problems}
    for spec in specs:
        p = by_source[spec.source]
        _check_targets(spec, known, p)
        _check_shape(spec, hooks, p)
        _check_reach(spec, p)
        _check_prompts(spec, catalog, p)
    check_ways_in(specs, catalog, lambda spec, message: by_source[spec.source].add(None, message))


def load_dialogs(
    directory: Path = FLOWS_DIR,
    catalog: Any = None,
    hooks: Any = None,
    extra: dict[str, str] | None = None,
) -> DialogSet:
    """Load and check every ``*.yaml`` dialog; raise DialogError listing all problems.

    ``extra`` maps a source name to YAML text, so tests can add a broken dialog
    without writing files.
    """
    from dialogs import hooks as default_hooks
    from dialogs.commands import with_menu_buttons
    from prompts import default_catalog

    catalog = catalog or default_catalog()
    hooks = hooks or default_hooks
    sources = {
        str(p.relative_to(directory.parent.parent)): p.read_text("utf-8")
        for p in sorted(directory.glob("*.yaml"))
    }
    sources.update(extra or {})
    specs: list[DialogSpec] = []
    problems: list[_Problems] = []
    seen_ids: dict[str, str] = {}
    for source, text in sources.items():
        spec, p = parse_dialog(text, source)
        problems.append(p)
        if spec is None:
            continue
        if spec.id in seen_ids:
            p.add(None, f"dialog id '{spec.id}' is already used by {seen_ids[spec.id]}")
            continue
        seen_ids[spec.id] = source
        specs.append(spec)
    validate(specs, catalog, hooks, problems)
    errors = [item for p in problems for item in p.items]
    if errors:
        raise DialogError("\n".join(errors))
    digest = hashlib.sha256("".join(sources[k] for k in sorted(sources)).encode()).hexdigest()
    return DialogSet({s.id: s for s in with_menu_buttons(specs)}, script_version=digest[:12])
