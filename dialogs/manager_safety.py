"""The dialog manager's safety routing: what the coach does with a risky message.

Every text and caption is graded by `assess` (dialogs.safety) before any dialog sees it,
with the person's recent risk (a level and a time, never words). A risky message opens the
crisis dialog (dialogs/flows/crisis.yaml) on top, at the step that fits: `help` (a crisis),
`concern` (asked directly), `other` (someone else at risk) or `abuse`. If they were writing
an answer, the words wait in the crisis frame until they keep or drop them. Buttons of the
crisis and "Need a quick chat?" dialogs work from any later state, words typed on their
buttons get a warm reply, and after "No, I'm not safe" every turn shows the emergency
number. docs/safety.md explains the choices.

`SafetyRouting` is a mixin of `dialogs.manager.DialogManager`: it uses the dialog manager's
own dialog movement (`_push`, `_enter`, `_go`) and keeps the rules of safety in one place. The
grading itself (`DialogManager._screen`) and "not safe" (`DialogManager._unsafe`) are in
dialogs/manager.py, on every message's path; the dialog manager calls in here only when they say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dialogs import hooks
from dialogs.hooks import crisis as crisis_hooks
from dialogs.inputs import fold
from dialogs.model import Button, Frame, Reply, Turn
from dialogs.safety import Risk

CRISIS_DIALOG = "crisis"
SOS_DIALOG = "sos"
# Their buttons work from any later state, and words typed on them get a warm reply.
SAFETY_DIALOGS = (CRISIS_DIALOG, SOS_DIALOG)
QUESTIONS = ("ask", "unclear", "concern")  # crisis steps that ask a yes/no question
LISTEN = "listen"  # the step of each safety dialog that answers words typed on its buttons
# Re-asks that mean "the step cannot take these words"; after "not safe" they get the warm
# `listen` reply instead. A place name the time zone step cannot find is still asked again.
CANNOT_TAKE = ("common/invalid_choice", "common/invalid_number", "common/invalid_time",
               "common/invalid_photo")  # fmt: skip
RISK_MEMORY = timedelta(minutes=30)  # a concern this soon after another risky message: crisis
# After "No, I'm not safe" the emergency number is on every screen until they tap "I've
# called / someone is with me", or for 12 hours: long enough to cover the night they said
# it, short enough that a banner does not follow them into ordinary days.
UNSAFE_FOR = timedelta(hours=12)

Assess = Callable[[str, Risk | None], Risk]


def since(now: datetime, then: datetime) -> timedelta:
    """now - then, reading a naive time (as some databases return it) as UTC."""
    return now - (then if then.tzinfo else then.replace(tzinfo=UTC))


if TYPE_CHECKING:
    from dialogs.manager_parts import ManagerParts as _Parts
else:
    _Parts = object  # the type checker's view only: see dialogs/manager_parts.py


class SafetyRouting(_Parts):
    """The safety half of the dialog manager (a mixin: see the module docstring)."""

    def _banner_typed(self, turn: Turn, text: str, now: datetime) -> str | None:
        """The banner's choice ("called" or "more") whose label, or a part of it between
        slashes ("I've called", "someone is with me"), they typed; None otherwise or when
        the banner is not shown."""
        if not self._unsafe(turn, now):
            return None
        wanted = fold(text)
        locale = turn.state.profile.locale
        for choice in ("called", "more"):
            label = self.catalog.label(locale, f"crisis.{choice}")
            if wanted in {fold(label), *(fold(part) for part in label.split("/"))} - {""}:
                return choice
        return None

    def _on_risk(self, turn: Turn, text: str, now: datetime, risk: Risk, held: bool = True) -> bool:
        """Open the reply a risky message needs; False if the words carry no risk.

        `held`: the words may wait as a step's answer (typed text, not a caption).
        """
        if risk.level == "none" and not risk.abuse:
            return False
        top = turn.state.top
        act = risk.subject == "self" and crisis_hooks.is_act(text, risk.families)
        if act and risk.level == "concern":
            risk = replace(risk, level="crisis")  # "I've taken an overdose" is never a maybe
        if risk.subject == "other" and risk.level != "none":
            target = "other"
        elif risk.level == "crisis":
            target = "help"
        elif risk.abuse:
            target = "abuse"
        else:
            target = "concern"
        answering = top is not None and top.dialog == CRISIS_DIALOG and top.step in QUESTIONS
        if answering and target in ("help", "concern"):
            assert top is not None
            # Risky words in answer to one of our questions, judged on their own (without
            # the memory of the alarm they answer): "no, I meant the documentary about
            # suicide" is a correction. Otherwise, to "are you thinking of...": yes; to
            # "are you safe?": not safe for a crisis of their own, else not sure.
            alone = self._screen(turn, text, now, remember=False)
            own_crisis = alone.level == "crisis" and alone.subject == "self"
            if not own_crisis and crisis_hooks.read_answer(text) in ("misread", "other"):
                return False
            target = "help" if top.step == "concern" else "unsafe" if own_crisis else "unsure"
        flags = {crisis_hooks.ABUSE: risk.abuse, crisis_hooks.URGENT: act and target == "help"}
        if target in ("help", "concern", "unsure") and self._unsafe(turn, now):
            # They told us they are not safe, and now this: asking "are you safe?" again
            # would be a step back. Straight to the not-safe screen, which can still be
            # put right when it answers a message rather than their own "no".
            flags[crisis_hooks.SCREENED] = not answering
            target = "unsafe"
        self._open_crisis(turn, target, now, text if held else None, flags)
        return True

    def _open_crisis(
        self,
        turn: Turn,
        step: str,
        now: datetime,
        words: str | None,
        flags: dict[str, bool] | None = None,
    ) -> None:
        """The crisis dialog at `step`, on top; their words held if they were mid-answer.

        A crisis frame on top is reused, never stacked twice; one left lower in the stack
        (they walked away from an earlier screen) is replaced by a fresh one, so its old
        words never come back and the words of this message can be held. `flags` (slot ->
        bool) describe this message: `abuse` (they also spoke of being hurt: the crisis
        reply adds the abuse lines, and stays set on a reused frame), `urgent` (a recent
        act: the emergency number first) and `screened` (the not-safe screen answers a
        message, so it offers the corrections), both for this message only.
        """
        flags = flags or {}
        stack = turn.state.stack
        existing = next((f for f in reversed(stack) if f.dialog == CRISIS_DIALOG), None)
        if existing is not None and existing is not stack[-1]:
            stack.remove(existing)
            existing = None
        if existing is not None:
            existing.step = step
            existing.slots.pop(crisis_hooks.AGAIN, None)
            for name in (crisis_hooks.URGENT, crisis_hooks.SCREENED):  # this message's only
                existing.slots.pop(name, None)
            existing.slots |= {name: True for name, on in flags.items() if on}
            self._enter(turn, now)
            return
        top = turn.state.top
        slots: dict[str, Any] = {name: True for name, on in flags.items() if on}
        if words and top is not None and top.dialog not in SAFETY_DIALOGS:
            below = self._spec(top)
            if below.input in ("text", "multi"):
                where = [top.dialog, top.step]
                slots |= {crisis_hooks.PENDING: words, crisis_hooks.PENDING_AT: where}
        self._push(turn, CRISIS_DIALOG, now, slots, step=step)

    def _repeats_pending(self, turn: Turn, frame: Frame, text: str) -> bool:
        """The words they were writing, sent again while the first crisis screen is up."""
        pending = frame.slots.get(crisis_hooks.PENDING)
        stack = turn.state.stack
        return (
            frame.dialog == CRISIS_DIALOG
            and frame.step in (*QUESTIONS, "other", "abuse", "misread_keep")
            and isinstance(pending, str)
            and fold(pending) == fold(text)
            and len(stack) >= 2
            and frame.slots.get(crisis_hooks.PENDING_AT) == [stack[-2].dialog, stack[-2].step]
        )

    def _kept_again(self, turn: Turn, frame: Frame, text: str, now: datetime) -> None:
        """The words they just chose to keep, sent again at once in the same step ("anything
        else?"): already screened and kept, so help does not come round again. Already among
        the step's lines: said so, not added twice; otherwise the step takes them."""
        step = self._spec(frame)
        lines = frame.slots.get(step.slot or "items") if step.collect else None
        if isinstance(lines, list) and any(fold(str(line)) == fold(text) for line in lines):
            self._say(turn, "crisis/kept")
            self._show_current(turn, now)
            return
        self._answer(turn, step, now, text)

    def _listen(self, turn: Turn, now: datetime) -> None:
        frame = turn.state.top
        assert frame is not None
        if frame.step != LISTEN:
            frame.slots[crisis_hooks.LISTEN_FROM] = frame.step  # the reply fits the screen
        frame.step = LISTEN
        self._enter(turn, now)

    def _keep_emergency_in_view(self, turn: Turn, now: datetime) -> None:
        """After "No, I'm not safe": the emergency number on every screen, with "I've called /
        someone is with me" and "I still need help", until they tap the first or UNSAFE_FOR
        passes.

        A reply whose context has `helplines` already shows the number (every template given
        the helplines shows it once), so it gets the two buttons instead of a second number.
        """
        profile = turn.state.profile
        if profile.unsafe_at is None:
            return
        if since(now, profile.unsafe_at) > UNSAFE_FOR:
            profile.unsafe_at = None
            return
        if CRISIS_DIALOG not in self.dialogs or all(r.edit for r in turn.replies):
            return  # nothing sent, or the same screen edited in place (it has the banner)
        spec = self.dialogs[CRISIS_DIALOG]
        buttons = tuple(
            (Button(f"crisis.{choice}", spec.callback("banner", choice)),)
            for choice in ("called", "more")
        )
        shown = False  # a reply of this turn already gives the number
        for i in reversed(range(len(turn.replies))):
            reply = turn.replies[i]
            if "helplines" not in reply.ctx:
                continue
            labels = {b.label for row in reply.buttons for b in row}
            if "crisis.called" in labels:
                return
            if reply.keyboard is None and not reply.edit and not reply.photo:
                turn.replies[i] = replace(reply, buttons=reply.buttons + buttons)
                return
            shown = True
            break
        call = hooks.HookCall(turn.state, Frame(CRISIS_DIALOG, "banner"), None, now, turn.effects)
        ctx = hooks.registry("enter")["helplines"](call) | {"shown": shown}
        turn.replies.append(Reply("crisis/banner", ctx, buttons))

    def _revive(self, turn: Turn, dialog: str, step_id: str) -> Frame:
        """Bring the dialog's frame (or a new one) to the top, at `step_id`."""
        stack = turn.state.stack
        frame = next((f for f in reversed(stack) if f.dialog == dialog), None)
        if frame is None:
            frame = Frame(dialog, step_id)
        else:
            stack.remove(frame)
        frame.step = step_id
        stack.append(frame)
        return frame

    def _followup(self, turn: Turn, now: datetime) -> None:
        """The gentle message an hour or two after a crisis reply (planned in hooks/crisis.py).

        Sent to anyone who got a crisis reply, onboarded or not; `followup_at` is cleared.
        """
        turn.state.profile.followup_at = None
        if CRISIS_DIALOG not in self.dialogs:
            return
        self._open_crisis(turn, "followup", now, None)
