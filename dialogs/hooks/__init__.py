"""Named hooks: the few behaviours a dialog file cannot express as data.

Three kinds, each looked up by the name a dialog file uses:
- action: runs when a step gets a valid answer (or is entered, for message-only
  steps); may change the state, add effects, or return a step to jump to (only a target
  it computes: a branch that is only a test on slots, the answer, records or the profile
  is a conditional `next:` in the dialog file, see dialogs/conditions.py);
- enter: returns extra values for the step's prompt template;
- choices: returns the buttons of a step whose options come from data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from dialogs.model import Effect, Frame, UserState
from dialogs.spec import ChoiceSpec


@dataclass
class HookCall:
    """What every hook is called with.

    `state`: the person's whole state (profile, stack, records), changed in place by action
    hooks and saved at the end of the turn; `frame`: the dialog frame the step belongs to (its
    `slots` are this run's answers); `value`: the answer just given (None on entry, for enter
    and choices hooks, and for a button with `value: null`); `now`: the turn's time, an aware
    UTC datetime; `effects`: the turn's effects (append `ForgetMe` to erase everything)."""

    state: UserState
    frame: Frame
    value: Any
    now: datetime
    effects: list[Effect]


ActionHook = Callable[[HookCall], str | None]
EnterHook = Callable[[HookCall], dict[str, Any]]
ChoicesHook = Callable[[HookCall], list[ChoiceSpec]]

_REGISTRY: dict[str, dict[str, Callable[[HookCall], Any]]] = {
    "action": {},
    "enter": {},
    "choices": {},
}

F = TypeVar("F", bound=Callable[[HookCall], Any])


def _register(kind: str, name: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        if name in _REGISTRY[kind]:
            raise ValueError(f"{kind} hook '{name}' is registered twice")
        _REGISTRY[kind][name] = fn
        return fn

    return decorate


def action(name: str) -> Callable[[F], F]:
    """Register an action hook under `name` (ValueError if the name is taken).

    It runs after a step's valid answer (or on entry, for a message-only step) and returns
    None, or a step id (or `dialog:<id>`) to go to instead of the file's `next`: only for a
    target that comes from real computation, listed under the step's `exits:`."""
    return _register("action", name)


def enter(name: str) -> Callable[[F], F]:
    """Register an enter hook under `name`: it returns a dict of extra template values (ValueError
    if the name is taken)."""
    return _register("enter", name)


def choices(name: str) -> Callable[[F], F]:
    """Register a choices hook under `name`: it returns the step's buttons (`ChoiceSpec`s) at run
    time (ValueError if the name is taken)."""
    return _register("choices", name)


def registry(kind: str) -> dict[str, Callable[[HookCall], Any]]:
    """The hooks of one kind ("action", "enter" or "choices") by name; KeyError for another kind."""
    return _REGISTRY[kind]


def _register_feature_modules() -> None:
    """Import every module in this package: importing one registers its hooks."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_register_feature_modules()
