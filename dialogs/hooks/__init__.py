"""Named hooks: the few behaviours a dialog file cannot express as data.

Three kinds, each looked up by the name a dialog file uses:
- action: runs when a step gets a valid answer (or is entered, for message-only
  steps); may change the state, add effects, or return a step to jump to;
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
    return _register("action", name)


def enter(name: str) -> Callable[[F], F]:
    return _register("enter", name)


def choices(name: str) -> Callable[[F], F]:
    return _register("choices", name)


def registry(kind: str) -> dict[str, Callable[[HookCall], Any]]:
    return _REGISTRY[kind]


def _register_feature_modules() -> None:
    """Import every module in this package: importing one registers its hooks."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_register_feature_modules()
