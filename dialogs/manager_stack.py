"""The dialog manager's stack rules: opening a dialog, setting one aside, bringing one back.

A person's dialogs live on a stack, so a command or a crisis can interrupt one and return
to it (issue 11; dialogs/drafts.py holds the return window and the marks):

- `_open` brings a dialog to the top: resumed if it is open somewhere, else started.
- `_trim` keeps the stack at MAX_STACK frames, setting the oldest aside (onboarding stays
  until it is finished); `_set_aside` keeps an unfinished run as a draft where its dialog
  offers them.
- `_back` decides, when a dialog ends on top of others, whether the one below comes back
  (only soon after a shortcut covered it) or is set aside; `_goodbye` is a help screen's
  kind goodbye when what they were doing was set aside.

`StackRules` is a mixin of `dialogs.manager.DialogManager`: it moves frames only through the
manager's own `_push` and `_enter`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from dialogs import drafts
from dialogs.manager_safety import SAFETY_DIALOGS
from dialogs.model import Frame, Turn

if TYPE_CHECKING:
    from dialogs.spec import DialogSpec

ONBOARDING_DIALOG = "onboarding"
MAX_STACK = 5  # older interrupted dialogs are set aside (as drafts where they keep one)


if TYPE_CHECKING:
    from dialogs.manager_parts import ManagerParts as _Parts
else:
    _Parts = object  # the type checker's view only: see dialogs/manager_parts.py


class StackRules(_Parts):
    """The stack half of the dialog manager (a mixin: see the module docstring)."""

    def _open(
        self,
        turn: Turn,
        dialog: str,
        now: datetime,
        via: drafts.Via = drafts.SHORTCUT,
        step: str | None = None,
    ) -> None:
        """Bring a dialog to the top: resume it if it is open somewhere, else start it.

        `via`: how it was asked for (a command by default; `drafts.FLOW` from another
        dialog's `dialog:` target), which decides whether what it covers comes back.
        `step`: start there instead of at its start (a `dialog:<id>/<step>` target); a
        run of it already open is then replaced.
        """
        stack = turn.state.stack
        spec = self.dialogs[dialog]
        if step is not None:
            turn.state.stack = [f for f in stack if f.dialog != dialog]
            self._push(turn, dialog, now, step=step, via=via)
            return
        existing = next((f for f in reversed(stack) if f.dialog == dialog), None)
        if existing is None:
            self._push(turn, dialog, now, via=via)
            return
        was_top = existing is stack[-1]
        stack.remove(existing)
        existing.slots.pop(drafts.PAUSED, None)
        if spec.restart_on_open:  # "Need a quick chat?" always answers with its first message
            self._push(turn, dialog, now, via=via)
            return
        if spec.draft_step and existing.step not in (spec.start, spec.draft_step):
            # Half-way through something they may want back: offer continue or discard.
            self._set_aside(turn, spec, existing, now)
            self._push(turn, dialog, now, via=via)
            return
        if stack:
            drafts.mark_paused(stack[-1], via, now)
        stack.append(existing)
        if not was_top and existing.step != spec.start and not self._spec(existing).display:
            self._resume(turn, now, "common/picking_up")  # one line and the question
            return
        self._show_current(turn, now)

    def _trim(self, turn: Turn, now: datetime, keep: int) -> None:
        """Set aside the oldest frames until at most `keep` are left. Onboarding stays
        until it is finished: the next oldest goes instead."""
        stack = turn.state.stack
        while len(stack) > keep:
            at = 1 if stack[0].dialog == ONBOARDING_DIALOG else 0
            oldest = stack.pop(at)
            self._set_aside(turn, self.dialogs[oldest.dialog], oldest, now)

    def _set_aside(self, turn: Turn, spec: DialogSpec, frame: Frame, now: datetime) -> bool:
        """Keep an unfinished run of a dialog that offers drafts; True if one was kept.

        A run still at its start or draft step, with no answers, or resting on a `display`
        screen (nothing left to answer) is not kept.
        """
        step = spec.steps.get(frame.step)
        answers = drafts.own_slots(frame.slots)
        if step is None or step.display or not answers:
            return False
        if spec.draft_step and frame.step not in (spec.start, spec.draft_step):
            drafts.save(turn.state, frame, now)
            return True
        return False

    def _back(self, turn: Turn, left: Frame, now: datetime) -> None:
        """After `left` closed on top of other frames: bring back the one below, or set it aside.

        It comes back (one short line and its question: `_resume`) only if a shortcut covered
        it less than `drafts.RETURN_WINDOW` ago; onboarding always comes back until it is done.
        A `display` screen never does: it is dropped, and the rule asks again about the frame
        under it. A frame not brought back is set aside (a draft where its dialog keeps them),
        and so is everything under it: no question stays on the stack out of sight.
        """
        stack = turn.state.stack
        returning = True
        while stack:
            below = stack[-1]
            mark = below.slots.pop(drafts.PAUSED, None)
            returning = returning and drafts.comes_back(mark, left.dialog, SAFETY_DIALOGS, now)
            if below.dialog == ONBOARDING_DIALOG or (returning and not self._spec(below).display):
                self._resume(turn, now)
                return
            stack.pop()
            self._set_aside(turn, self.dialogs[below.dialog], below, now)
            left = below

    def _goodbye(self, turn: Turn, left: Frame, now: datetime) -> None:
        """ "Back to what I was doing" on a help screen when what they were doing was set
        aside (left too long ago): the dialog's kind goodbye (its `bye` step), not silence."""
        spec = self.dialogs[left.dialog]
        step = spec.steps.get(left.step)
        if step is None or step.end or "bye" not in spec.steps:
            return
        turn.state.stack.append(Frame(left.dialog, "bye"))
        self._enter(turn, now)
