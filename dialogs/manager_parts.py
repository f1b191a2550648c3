"""What the dialog manager's mixins may use of one another, declared once for the type checker.

`DialogManager` (dialogs/manager.py) is assembled from mixins: other events
(manager_events.py), the stack rules (manager_stack.py), crisis routing
(manager_safety.py) and listening (manager_listen.py). Each calls methods that another
part defines. `ManagerParts` lists those methods with their real signatures, so mypy
checks every call; at run time the mixins inherit from `object`, and this module is only
imported under `TYPE_CHECKING`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from dialogs import drafts
from dialogs.model import Frame, Keyboard, Turn
from dialogs.safety import Risk
from dialogs.spec import ChoiceSpec, DialogSet, DialogSpec, StepSpec


class ManagerParts(Protocol):
    """The dialog manager's shared state and the methods its parts call across files."""

    dialogs: DialogSet
    catalog: Any
    commands: dict[str, str]
    help_lines: list[str]
    _assess: Callable[[str, Risk | None], Risk] | None

    # --- movement (dialogs/manager.py, manager_stack.py) ----------------------------
    def _push(
        self,
        turn: Turn,
        dialog: str,
        now: datetime,
        slots: dict[str, Any] | None = None,
        step: str | None = None,
        via: drafts.Via = drafts.SHORTCUT,
    ) -> None: ...
    def _open(
        self,
        turn: Turn,
        dialog: str,
        now: datetime,
        via: drafts.Via = drafts.SHORTCUT,
        step: str | None = None,
    ) -> None: ...
    def _enter(self, turn: Turn, now: datetime, hops: int = 0) -> None: ...
    def _go(self, turn: Turn, target: str | None, now: datetime) -> None: ...
    def _trim(self, turn: Turn, now: datetime, keep: int) -> None: ...
    def _set_aside(self, turn: Turn, spec: DialogSpec, frame: Frame, now: datetime) -> bool: ...
    def _back(self, turn: Turn, left: Frame, now: datetime) -> None: ...
    def _resume(self, turn: Turn, now: datetime, lead: str = "common/resume") -> None: ...

    # --- reading an answer (dialogs/manager.py) -------------------------------------
    def _answer(self, turn: Turn, step: StepSpec, now: datetime, text: str) -> None: ...
    def _accept(
        self,
        turn: Turn,
        step: StepSpec,
        value: Any,
        now: datetime,
        choice: ChoiceSpec | None = None,
        pressed: bool = False,
    ) -> None: ...
    def _match_choice(
        self, turn: Turn, step: StepSpec, text: str, now: datetime
    ) -> ChoiceSpec | None: ...
    def _parse(self, step: StepSpec, text: str, locale: str = "en") -> Any: ...
    def _spec(self, frame: Frame) -> StepSpec: ...
    def _choices(self, turn: Turn, step: StepSpec, now: datetime) -> list[ChoiceSpec]: ...

    # --- saying (dialogs/manager.py) ------------------------------------------------
    def _say(self, turn: Turn, template: str, keyboard: Keyboard = None, **ctx: Any) -> None: ...
    def _show_current(self, turn: Turn, now: datetime, quiet: bool = False) -> None: ...
    def _reask(
        self, turn: Turn, step: StepSpec, now: datetime, template: str, **ctx: Any
    ) -> None: ...
    def _expired(self, turn: Turn, now: datetime) -> None: ...

    # --- safety (dialogs/manager.py, manager_safety.py) and commands ----------------
    def _screen(self, turn: Turn, text: str, now: datetime, remember: bool = True) -> Risk: ...
    def _unsafe(self, turn: Turn, now: datetime) -> bool: ...
    def _on_risk(
        self, turn: Turn, text: str, now: datetime, risk: Risk, held: bool = True
    ) -> bool: ...
    def _revive(self, turn: Turn, dialog: str, step_id: str) -> Frame: ...
    def _followup(self, turn: Turn, now: datetime) -> None: ...
    def _open_crisis(
        self,
        turn: Turn,
        step: str,
        now: datetime,
        words: str | None,
        flags: dict[str, bool] | None = None,
    ) -> None: ...
    def _cmd_start(self, turn: Turn, now: datetime) -> None: ...
