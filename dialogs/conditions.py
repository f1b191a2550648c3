"""Branching in the dialog files: a `next:` that is a list of conditions.

A step's `next:` (or a button's) may be a list instead of one target::

    next:
      - {if: "count('contact') == 0", go: name}
      - {if: "slots.person is not none", go: person}
      - {else: manage}

The first condition that holds decides; `else` (required, and last) is where the answer
goes when none does. A condition is a Jinja2 expression (the syntax templates use inside
`{{ }}`: `==`, `<`, `and`, `or`, `not`, `in`, `is none`, filters such as `|length` and
`|lower`), compiled once when the dialogs load, in Jinja2's immutable sandbox: it can read,
never call a method that changes a list or a dict, and sees only the names below.

The names (`NAMES`), all read-only:

- `slots`: this dialog's answers so far (the frame's slots), as `slots.<name>` or
  `slots['<name>']`; a slot never set reads as none. Slots starting with `_` (the dialog manager's
  own) are not readable.
- `value`: the answer just given, as the step keeps it (a button's `value`, the number, the
  text, "HH:MM"); none for a message-only step or a button with `value: null`.
- `profile`: the person's settings in `PROFILE_FIELDS` (`profile.onboarded`,
  `profile.timezone`...).
- `count(kind)`: how many records of that kind they keep (0 for none), e.g.
  `count('contact')`.
- `latest(kind)`: the newest record of that kind, its fields as `latest('x').<field>`
  (a field it lacks reads as none), or none when they have none.
- `below`: the id of the dialog waiting underneath this one on the stack, or none.

Errors. At load, `compile_branch` raises ConditionError for a syntax error, an unknown
name, an unknown profile field, an unknown filter or test, or a `count`/`latest` without
one quoted kind; `dialogs.spec` reports it with the file and step, like every other problem.
At run time `choose` never raises: a condition that fails (comparing a number with words, a
field of none) is logged with its dialog and step (never a value) and the `else` is taken.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.environment import TemplateExpression
from jinja2.meta import find_undeclared_variables
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dialogs.model import Frame, UserState

log = logging.getLogger(__name__)

# The profile fields a condition may read; the rest (safety memory, times) stay out of reach.
PROFILE_FIELDS = ("onboarded", "locale", "timezone", "country", "checkin_time", "nudges")
# Each name an expression may use, with what it is (listed by `bridges dialogs hooks`).
NAMES: dict[str, str] = {
    "slots": "this dialog's answers so far (`slots.<name>`; a slot never set is none)",
    "value": "the answer just given, as the step keeps it (none for a message-only step)",
    "profile": "the person's settings: " + ", ".join(f"`{f}`" for f in PROFILE_FIELDS),
    "count": "`count(kind)`: how many records of that kind they keep",
    "latest": "`latest(kind)`: the newest record of that kind (`.field`), or none",
    "below": "the id of the dialog waiting underneath this one, or none",
}
RECORD_FUNCTIONS = ("count", "latest")

# No globals (range, lipsum, namespace...): an expression sees only what `namespace` gives.
_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_ENV.globals.clear()


class ConditionError(ValueError):
    """A condition that cannot be used; the message says why (never with a person's data)."""


class View:
    """A read-only view of a dict for expressions: `view.name` and `view['name']` give the
    value, or None when it is missing, so a slot never set reads as none. Deliberately not a
    Mapping: a slot named `items` or `get` must read as the slot, not as a method."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._data.get(name)

    def __getitem__(self, name: str) -> Any:
        return self._data.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __bool__(self) -> bool:
        return bool(self._data)


@dataclass(frozen=True)
class Branch:
    """One `{if: <source>, go: <target>}` of a conditional `next:`; `test` is the compiled
    expression (call it through `choose`)."""

    source: str
    go: str
    test: TemplateExpression = field(compare=False, repr=False)


def _parse(source: str) -> nodes.Expr:
    """The expression's syntax tree; raises ConditionError for anything but one expression."""
    parser = Parser(_ENV, source, state="variable")
    try:
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise ConditionError(f"unexpected '{parser.stream.current.value}' after the expression")
    except TemplateError as err:
        raise ConditionError(f"is not an expression ({err.message})") from None
    return expr


def _check_names(expr: nodes.Expr) -> None:
    """Unknown names, unknown profile fields and `count`/`latest` calls without one kind."""
    tree = nodes.Template([nodes.Output([expr])])
    tree.set_environment(_ENV)
    try:
        found = find_undeclared_variables(tree)
    except TemplateError as err:  # an unknown filter or test
        raise ConditionError(err.message or "cannot be compiled") from None
    unknown = sorted(found - NAMES.keys())
    if unknown:
        known = ", ".join(NAMES)
        raise ConditionError(f"uses unknown name(s) {', '.join(unknown)} (known: {known})")
    for node in [expr, *expr.find_all(nodes.Node)]:  # find_all leaves out the top node
        if isinstance(node, nodes.Getattr | nodes.Getitem) and _named(node.node) == "profile":
            wanted = node.attr if isinstance(node, nodes.Getattr) else _const(node.arg)
            if wanted not in PROFILE_FIELDS:
                fields = ", ".join(PROFILE_FIELDS)
                raise ConditionError(f"reads profile.{wanted}, which is not one of {fields}")
        if isinstance(node, nodes.Call) and _named(node.node) in RECORD_FUNCTIONS:
            one_kind = len(node.args) == 1 and isinstance(_const(node.args[0]), str)
            if not one_kind or node.kwargs or node.dyn_args or node.dyn_kwargs:
                raise ConditionError(f"{_named(node.node)}() takes one quoted record kind")


def _named(node: nodes.Node) -> str | None:
    """The name a node reads (`profile` in `profile.locale`), or None for anything else."""
    return node.name if isinstance(node, nodes.Name) else None


def _const(node: nodes.Node) -> Any:
    return node.value if isinstance(node, nodes.Const) else None


def compile_branch(source: Any, go: Any) -> Branch:
    """`{if: source, go: go}` checked and compiled once; raises ConditionError."""
    if not isinstance(source, str) or not source.strip():
        raise ConditionError("'if' needs an expression in quotes")
    if not isinstance(go, str) or not go:
        raise ConditionError("needs 'go: <step>'")
    _check_names(_parse(source))
    try:
        test = _ENV.compile_expression(source)
    except TemplateError as err:  # an unknown filter or test is found when compiling
        raise ConditionError(err.message or "cannot be compiled") from None
    return Branch(source, go, test)


def below(state: UserState, frame: Frame) -> str | None:
    """The id of the dialog under `frame` on the stack (under the top when `frame` is not on
    it), or None when nothing waits underneath."""
    stack = state.stack
    at = next((i for i, f in enumerate(stack) if f is frame), len(stack) - 1)
    return stack[at - 1].dialog if at > 0 else None


def namespace(state: UserState, frame: Frame, value: Any) -> dict[str, Any]:
    """The names of `NAMES`, read-only, for one evaluation."""
    profile = state.profile

    def count(kind: str) -> int:
        return len(state.records.get(kind) or [])

    def latest(kind: str) -> View | None:
        found = state.records.get(kind)
        return View(found[-1].data) if found else None

    return {
        "slots": View(frame.slots),
        "value": value,
        "profile": View({name: getattr(profile, name) for name in PROFILE_FIELDS}),
        "count": count,
        "latest": latest,
        "below": below(state, frame),
    }


def choose(
    branches: tuple[Branch, ...],
    fallback: str | None,
    state: UserState,
    frame: Frame,
    value: Any,
    where: str,
) -> str | None:
    """The `go` of the first branch whose condition holds, else `fallback` (the `else`).

    `where` ("dialog/step") names the place in the log when a condition fails at run time;
    the turn then goes on to `fallback`. Nothing here changes `state` or `frame`.
    """
    if not branches:
        return fallback
    names = namespace(state, frame, value)
    for branch in branches:
        try:
            holds = bool(branch.test(**names))
        except Exception as err:  # any failure: the safe way on, never a crashed turn
            log.warning(
                "condition %d of %s failed (%s); took its else",
                branches.index(branch) + 1,
                where,
                type(err).__name__,
            )
            return fallback
        if holds:
            return branch.go
    return fallback
