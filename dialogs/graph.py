"""Where each step of a dialog can lead, and a Mermaid drawing of it (`bridges dialogs graph`).

`routes` follows the dialog manager's own rules (`DialogManager._enter`, `_accept` and `_toggle` in
dialogs/manager.py), so the drawing shows only moves that can happen:

- a message-only step (`input: none`, or `end: true` without buttons) moves on by itself:
  to the end if it is an `end` step, else to `next`;
- a button goes to its own `next`, else the step's `next`, else the end;
- on a multi-select step the options tick and untick and typed words join the list: all of
  them stay on the step; only the `finish` button moves on;
- a typed answer (text, number, time, timezone, photo) goes to `next`, else the end; on a
  `collect` step each line stays, and the step moves on after `max_items` lines;
- buttons from a choices hook carry their own `next` (or are links, which go nowhere),
  unknown until run time: drawn to the step's `next` if it has one, else to the end only
  when the step has no other way on (no button of its own, no typed answer, no `exits:`);
- a hook may jump to any step listed in `exits:`;
- a conditional `next:` (dialogs/conditions.py) adds one edge per condition, labelled with
  its gist ("if count('contact') == 0", see `gist`), wherever that `next` would be
  followed; the edge to its `else` is labelled "else".

Edges decided in code only (hook exits, a choices hook's buttons) are drawn dotted.

A dialog's `draft_step` is entered from the start when a half-finished run is offered back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dialogs.spec import DIALOG_PREFIX, END, ChoiceSpec, DialogSpec, StepSpec

# Route kinds, in the order their labels are written on a merged edge.
BUTTON, TICK, TYPED, LINES, LISTED, HOOK, AUTO, IF = (
    "button", "tick", "typed", "lines", "listed", "hook", "auto", "if",
)  # fmt: skip
TYPED_KINDS = ("text", "number", "time", "timezone", "photo")
LABEL_CHARS = 20  # one button label on an edge, shortened past this
EDGE_CHARS = 30  # a whole edge label: past this, buttons are counted instead of named
NODE_CHARS = 40  # the words of a prompt shown in its node
# Words Mermaid's flowchart grammar reads as keywords; a step with such an id gets a prefix.
RESERVED = {"end", "graph", "subgraph", "flowchart", "style", "class", "classDef", "click",
            "default", "direction", "linkStyle", "call", "href"}  # fmt: skip


@dataclass(frozen=True)
class Route:
    """One way out of a step.

    `kind` is one of BUTTON (a choice from the file), TICK (a multi-select option or typed
    words on a multi step: stays), TYPED (an answer of the step's input kind; on a collect
    step, one line: stays), LINES (a collect step full after `max_items` lines), LISTED
    (buttons from a choices hook), HOOK (an `exits:` target a hook may return), AUTO (a
    message-only step moving on) or IF (a condition of a conditional `next:`, its source in
    `condition`; with `choice`, that button's own). `target` is a step id, `end`, or
    `dialog:<id>[/<step>]`. `hook` names the hook for LISTED and HOOK routes. `otherwise`:
    the route follows a conditional `next:` to its `else` (no condition held).
    """

    kind: str
    target: str
    choice: ChoiceSpec | None = None
    hook: str = ""
    condition: str = ""
    otherwise: bool = False


def exit_hook(step: StepSpec) -> str:
    """Who may send the step to one of its `exits`: the hook's name when only one hook on
    the step could, else "hook", or "button or hook" when a choices hook's buttons may."""
    names = [step.hook, *(c.hook for c in step.choices), step.choices_from]
    found = list(dict.fromkeys(n for n in names if n))
    if len(found) == 1:
        return found[0]
    return "button or hook" if step.choices_from else "hook"


def routes(step: StepSpec) -> list[Route]:
    """Every way out of `step`, in the order of the file (see the module docstring); the
    step's own conditions come first, when any route follows its `next`."""
    default = step.next or END
    otherwise = bool(step.branches)
    hooked = [Route(HOOK, t, hook=exit_hook(step)) for t in step.exits]
    conditions = [Route(IF, b.go, condition=b.source) for b in step.branches]
    if step.passive:
        if step.end:
            return [Route(AUTO, END), *hooked]
        return [*conditions, Route(AUTO, default, otherwise=otherwise), *hooked]
    found: list[Route] = []
    onward: list[Route] = []  # the routes that follow the step's `next`

    def follow(kind: str, choice: ChoiceSpec | None = None, hook: str = "") -> None:
        onward.append(Route(kind, default, choice, hook, otherwise=otherwise))
        found.append(onward[-1])

    for choice in step.choices:
        if step.input == "multi" and not choice.finish:
            found.append(Route(TICK, step.id, choice))
        elif choice.next:
            found += [Route(IF, b.go, choice, condition=b.source) for b in choice.branches]
            found.append(Route(BUTTON, choice.next, choice, otherwise=bool(choice.branches)))
        else:
            follow(BUTTON, choice)
    if step.input == "multi":
        found.append(Route(TICK, step.id))  # typed words join the ticked ones
    elif step.input in TYPED_KINDS:
        if step.collect:
            found.append(Route(TYPED, step.id))
            follow(LINES)
        else:
            follow(TYPED)
    if step.choices_from and (step.next or not (found or hooked)):
        follow(LISTED, hook=step.choices_from)
    return (conditions if onward else []) + found + hooked


def choice_target(step: StepSpec, choice: ChoiceSpec) -> str:
    """Where tapping `choice` leads (its own step for a multi-select option); for a
    conditional `next:`, where it leads when no condition holds (its `else`)."""
    if step.input == "multi" and not choice.finish:
        return step.id
    return choice.next or step.next or END


# --- edge labels ----------------------------------------------------------------------


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary with "…" when longer than `limit`."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:–-") + "…"


def _numbers(labels: list[str]) -> str | None:
    """ "0–4" for the labels "0", "1", "2", "3", "4" (a scale), else None."""
    if len(labels) < 3 or not all(re.fullmatch(r"-?\d+", x) for x in labels):
        return None
    values = sorted(int(x) for x in labels)
    return f"{values[0]}–{values[-1]}"


def _in_range(step: StepSpec, choice: ChoiceSpec | None) -> bool:
    """A button of a number step that only stands for a number typed in its range."""
    return (
        choice is not None
        and step.min is not None
        and step.max is not None
        and isinstance(choice.value, int)
        and not isinstance(choice.value, bool)
        and step.min <= choice.value <= step.max
        and not choice.hook
    )


def edge_label(step: StepSpec, group: list[Route], label: Callable[[ChoiceSpec], str]) -> str:
    """One short label for all the routes from `step` to one target.

    Buttons are named by their rendered label (shortened to LABEL_CHARS), a run of number
    buttons becomes its range ("0–4"), a number step's typed answer its `min`–`max` (which
    stands for the number buttons in range too); more than two buttons, or a label over
    EDGE_CHARS, are counted instead ("3 buttons"). Message-only moves have no label. A
    condition is written "if <condition>" (`slots.` left out), after its button's label when
    both fit; a route to the `else` of conditions starts with "else".
    """
    kinds = {r.kind for r in group}
    typed_number = step.input == "number" and TYPED in kinds
    buttons = [
        label(r.choice)
        for r in group
        if r.kind == BUTTON and r.choice and not (typed_number and _in_range(step, r.choice))
    ]
    rest: list[str] = []
    if TICK in kinds:
        rest.append("tick")
    if TYPED in kinds:
        if step.collect:
            rest.append("a line")
        elif step.input == "number":
            rest.append(f"{step.min}–{step.max}")
        else:
            rest.append(step.input)
    if LINES in kinds:
        rest.append(f"{step.max_items} lines")
    hooked = list(dict.fromkeys(r.hook for r in group if r.kind in (LISTED, HOOK)))
    named = _numbers(buttons) or " / ".join(shorten(b, LABEL_CHARS) for b in buttons)
    text = " / ".join([*rest, *([named] if named else []), *hooked])
    crowded = len(buttons) > 2 and not _numbers(buttons)
    if crowded or (len(text) > EDGE_CHARS and len(buttons) > 1):
        text = " / ".join([*rest, f"{len(buttons)} buttons", *hooked])
    if any(r.otherwise for r in group):
        text = f"else: {text}" if text else "else"
    conditions = [_condition(r, label) for r in group if r.kind == IF]
    text = " / ".join([*conditions, *([text] if text else [])])
    # EDGE_CHARS as drawn: a condition's ">" or "|" takes several characters in Mermaid.
    limit = EDGE_CHARS
    while limit > 1 and len(_text(shorten(text, limit))) > EDGE_CHARS:
        limit -= 1
    return shorten(text, limit)


def gist(condition: str) -> str:
    """A condition shortened for an edge: without `slots.`, filters (`|length`) and the
    `latest(...)` around a record kind, e.g. "gratitude.lines >= 3" for
    "latest('gratitude').lines|length >= 3". The script prints it whole."""
    words = re.sub(r"\|\s*\w+(?:\([^)]*\))?", "", condition.replace("slots.", ""))
    words = re.sub(r"""latest\(\s*['"](\w+)['"]\s*\)""", r"\1", words)
    return " ".join(words.split())


def _condition(route: Route, label: Callable[[ChoiceSpec], str]) -> str:
    """ "if <gist of the condition>" for an IF route, after its button's label when both
    fit."""
    words = "if " + gist(route.condition)
    if route.choice is None:
        return words
    name = shorten(label(route.choice), LABEL_CHARS)
    return f"{name}: {words}" if len(name) + 2 + len(words) <= EDGE_CHARS else words


# --- Mermaid ------------------------------------------------------------------------


def _text(words: str) -> str:
    """Words inside a quoted Mermaid label: its entity codes for the characters it reads."""
    words = words.replace("#", "#35;").replace('"', "#quot;").replace("`", "'")
    return words.replace("<", "#lt;").replace(">", "#gt;").replace("|", "#124;")


def node_id(step_id: str) -> str:
    """The Mermaid id of a step: the step id itself unless Mermaid reads it as a keyword."""
    return f"step_{step_id}" if step_id in RESERVED else step_id


def _exit_node(target: str) -> tuple[str, str]:
    """(node id, node line) for the end or another dialog."""
    if target == END:
        return "end_done", '    end_done((("end")))'
    name = target.removeprefix(DIALOG_PREFIX)
    node = "end_" + re.sub(r"\W", "_", name)
    return node, f'    {node}[["{_text(name)}"]]'


def _node(step: StepSpec, words: str) -> str:
    kind = "" if step.input in ("choice", "none") or step.passive else f" · {step.input}"
    text = f"<b>{_text(step.id)}</b>{kind}"
    if words:
        text += f"<br/>{_text(shorten(words, NODE_CHARS))}"
    shape = ('(["', '"])') if step.end else ('["', '"]')
    return f"    {node_id(step.id)}{shape[0]}{text}{shape[1]}"


def edges(dialog: DialogSpec) -> dict[tuple[str, str], list[Route]]:
    """The routes of every step grouped by (source step, target), in the file's order."""
    grouped: dict[tuple[str, str], list[Route]] = {}
    for step in dialog.steps.values():
        for route in routes(step):
            grouped.setdefault((step.id, route.target), []).append(route)
    return grouped


def mermaid(dialog: DialogSpec, sample: object | None = None) -> str:
    """The dialog as a Mermaid flowchart: one node per step (its id, input kind and the
    first words of its prompt rendered with sample values), one edge per (step, target)
    with a short label, dotted where only a hook decides. `sample` is a
    `dialogs.script.Sample` (default: English, the shipped prompts)."""
    # Imported here: dialogs.script reads the routes above, so it imports this module.
    from dialogs.script import Sample, plain

    sampler = sample if isinstance(sample, Sample) else Sample()
    lines = ["flowchart TD", f"    start((start)) --> {node_id(dialog.start)}"]
    if dialog.draft_step:
        lines.append(f'    start -.->|"draft"| {node_id(dialog.draft_step)}')
    seen = sampler.walk(dialog)
    for step in dialog.steps.values():
        html = sampler.html(step.prompt, seen[step.id].ctx)
        lines.append(_node(step, plain(html) if html is not None else ""))
    exits: dict[str, str] = {}
    for (source, target), group in edges(dialog).items():
        step = dialog.steps[source]
        node = node_id(target) if target in dialog.steps else None
        if node is None:
            node, line = _exit_node(target)
            exits[node] = line
        label = edge_label(step, group, sampler.label)
        dotted = all(r.kind in (HOOK, LISTED) for r in group)
        arrow = "-.->" if dotted else "-->"
        if label:
            arrow += f'|"{_text(label)}"|'
        lines.append(f"    {node_id(source)} {arrow} {node}")
    return "\n".join(lines + sorted(exits.values())) + "\n"
