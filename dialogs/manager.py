"""The coach's rules: a pure ``step(state, event, now) -> Turn``.

No Telegram, no SQL, no clock: the adapter passes the time in, storage saves
the returned state, and the adapter renders the replies. The person's dialogs
live on a stack so a command or a crisis can interrupt one and return to it.

Typed words, the common path, are all here: `step` -> `_on_text` -> screened
(`_screen`, dialogs/safety.py `assess`) -> the step's answer (`_answer`, `_parse`,
`_accept`, its hooks) -> the next step (`_go`, `_enter`, `_prompt`); or, with nothing open
or words a step can't take, the listening reply (dialogs/manager_listen.py). The rest lives
in mixins of `DialogManager`, each called from here only behind a condition this file shows:

- dialogs/manager_safety.py (`SafetyRouting`): what follows a risky message (the crisis
  dialog), the "not safe" banner, the follow-up;
- dialogs/manager_listen.py (`ListenRouting`): words a step can't take, words with nothing
  open;
- dialogs/manager_events.py (`EventRouting`): commands, button taps, locations, photos,
  other media and the scheduler's due turns;
- dialogs/manager_stack.py (`StackRules`): opening a dialog, setting one aside, bringing
  one back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from dialogs import conditions, drafts, hooks, places, safety
from dialogs.commands import SHORTCUTS, command_table, help_lines
from dialogs.hooks import crisis as crisis_hooks
from dialogs.inputs import (
    fold,
    is_blank,
    parse_number,
    parse_number_words,
    parse_time,
    yes_or_no,
)
from dialogs.manager_events import MENU_DIALOG, EventRouting
from dialogs.manager_listen import ListenRouting
from dialogs.manager_safety import (
    CANNOT_TAKE,
    CRISIS_DIALOG,
    LISTEN,
    RISK_MEMORY,
    SAFETY_DIALOGS,
    UNSAFE_FOR,
    Assess,
    SafetyRouting,
    since,
)
from dialogs.manager_stack import MAX_STACK, StackRules
from dialogs.model import (
    Button,
    Command,
    Due,
    Event,
    ForgetMe,
    Frame,
    Keyboard,
    Location,
    Missed,
    Photo,
    Press,
    Profile,
    Reply,
    Text,
    Turn,
    Unsupported,
    UserState,
)
from dialogs.safety import NO_RISK, Risk
from dialogs.spec import (
    DIALOG_PREFIX,
    END,
    ChoiceSpec,
    DialogSet,
    StepSpec,
    split_target,
)

MAX_HOPS = 25  # message-only steps chained in one turn; validation forbids loops anyway
PHOTO_ID = "photo_id"  # an enter hook returning this sends the step's message as that photo
CHART = "chart"  # an enter hook returning this sends the step's message as that chart
_OUT_OF = re.compile(r"^\s*(\d{1,3})\s*/\s*(\d{1,3})\s*$")  # "6/10": a rating out of the top
DOCUMENT = "document"  # an enter hook returning (filename, bytes) sends that file with it


class _Invalid(Exception):
    """An answer the current step cannot take; carries the re-ask prompt."""

    def __init__(self, template: str, **ctx: Any) -> None:
        super().__init__(template)
        self.template = template
        self.ctx = ctx


class DialogManager(EventRouting, StackRules, SafetyRouting, ListenRouting):
    """Runs the dialogs: one event in, one `Turn` out (the new state and the replies).

    Pure: no Telegram, no SQL, no clock of its own and no randomness; the adapters hand it
    the person's `UserState`, the event and the time, and storage saves what it returns in
    one transaction. Every typed word is screened for crisis language (`_screen`) before
    any dialog sees it. The parts off the common path are mixins: other events and commands
    (dialogs/manager_events.py), the stack rules (dialogs/manager_stack.py), crisis routing
    (dialogs/manager_safety.py) and listening to free words (dialogs/manager_listen.py).
    """

    def __init__(
        self,
        dialogs: DialogSet,
        catalog: Any,
        crisis_check: Callable[[str], bool] | None = None,
        assess: Assess | None = None,
    ) -> None:
        """`assess(text, recent) -> Risk` grades every message (default: dialogs.safety.assess,
        looked up on each call). The older `crisis_check(text) -> bool` still works: True
        reads as a crisis about themselves."""
        self.dialogs = dialogs
        self.catalog = catalog
        if assess is None and crisis_check is not None:
            check = crisis_check

            def assess(text: str, recent: Risk | None = None) -> Risk:
                return Risk("crisis", "self", ("crisis_check",)) if check(text) else NO_RISK

        self._assess = assess
        # The built-ins and what the loaded dialog files declare (dialogs/commands.py).
        self.commands = command_table(dialogs.dialogs.values())
        self.help_lines = help_lines(dialogs.dialogs.values())

    # --- entry point ------------------------------------------------------------

    def step(self, state: UserState, event: Event, now: datetime) -> Turn:
        """The turn for `event` (a Text, Press, Command, Location, Photo, Due, Missed...)
        at `now` (an aware UTC datetime). `state` is not changed: the turn holds a copy,
        with the replies to send and the effects storage must apply (e.g. ForgetMe). Never
        raises for anything a person can send; a broken hook or dialog file does raise.
        """
        turn = Turn(state.copy())
        self._repair(turn)
        top = turn.state.top
        # Words just kept as this step's answer are let through unscreened once, by the very
        # next event only (see _go): whatever comes next, the mark goes.
        kept = top.slots.pop(crisis_hooks.KEPT, None) if top is not None else None
        if isinstance(event, Missed) and (isinstance(event.event, Command) or top is None):
            event = event.event  # a command, or no question open: nothing to show again
        if isinstance(event, Text | Command) and event.language and not state.profile.onboarded:
            self._app_language(turn, event)  # only as they begin: see there
        if isinstance(event, Text):
            self._on_text(turn, event.text, now, kept)
        elif isinstance(event, Command):
            self._on_command(turn, event, now)
        elif isinstance(event, Press):
            self._on_press(turn, event.data, now)
        elif isinstance(event, Location):
            self._on_location(turn, event, now)
        elif isinstance(event, Photo):
            self._on_photo(turn, event, now)
        elif isinstance(event, Unsupported):
            self._on_unsupported(turn, event, now)
        elif isinstance(event, Due):
            self._on_due(turn, event, now)
        elif isinstance(event, Missed):
            self._on_missed(turn, event, now)
        if any(isinstance(e, ForgetMe) for e in turn.effects):
            # The goodbye is still said in their language; storage keeps nothing of it.
            turn.state = UserState(profile=Profile(locale=turn.state.profile.locale))
        if turn.state.profile.unsafe_at is not None:  # "No, I'm not safe" (manager_safety.py)
            self._keep_emergency_in_view(turn, now)
        return turn

    # --- events -----------------------------------------------------------------

    def _on_text(self, turn: Turn, raw: str, now: datetime, kept: str | None = None) -> None:
        text = raw.strip()
        if is_blank(text):
            self._say(turn, "common/empty")
            self._show_current(turn, now)
            return
        frame = turn.state.top
        if frame is not None and kept is not None and kept == fold(text):
            self._kept_again(turn, frame, text, now)
            return
        crisis = frame if frame is not None and frame.dialog == CRISIS_DIALOG else None
        if crisis is not None and self._repeats_pending(turn, crisis, text):
            # The same words again, right after help was shown: they mean them as their
            # answer. Help came once; asking again would be a loop.
            crisis.slots[crisis_hooks.ANSWER_BELOW] = crisis.slots.pop(crisis_hooks.PENDING)
            self._go(turn, "kept", now)
            return
        banner = self._banner_typed(turn, text, now) if self._unsafe(turn, now) else None
        if banner is not None:
            # "I still need help" / "I've called" typed under the banner: the same as a tap.
            self._on_press(turn, self.dialogs[CRISIS_DIALOG].callback("banner", banner), now)
            return
        # Safety first: before any dialog sees the words, in every state. Words that carry a
        # risk open the crisis dialog (dialogs/manager_safety.py `_on_risk`).
        risk = self._screen(turn, text, now)
        if (risk.level != "none" or risk.abuse) and self._on_risk(turn, text, now, risk):
            return
        shortcut = self._shortcut(turn, text)
        if shortcut:
            self._drop_listen(turn)  # the listening reply has done its job
            self._on_command(turn, Command(shortcut), now)
            return
        if frame is None:
            if self._unsafe(turn, now):  # nothing open: they still get a warm reply
                self._open_crisis(turn, LISTEN, now, None)
            else:
                self._idle(turn, now, text)
            return
        step = self._spec(frame)
        if frame.dialog in SAFETY_DIALOGS and step.input != "text":
            choice = self._match_choice(turn, step, text, now)
            if choice is not None:
                self._accept(turn, step, choice.value, now, choice)
            else:  # never "please tap one of the buttons" here
                self._listen(turn, now)
            return
        self._answer(turn, step, now, text)

    def _shortcut(self, turn: Turn, text: str) -> str | None:
        folded = fold(text)
        locale = turn.state.profile.locale
        for label, command in SHORTCUTS.items():
            if command in self.commands and folded == fold(self.catalog.label(locale, label)):
                return command
        return None

    # --- safety first (what a risky message opens: dialogs/manager_safety.py) ---------

    def _screen(self, turn: Turn, text: str, now: datetime, remember: bool = True) -> Risk:
        """Grade the words with the person's recent risk (level and time, never words).

        A concern within RISK_MEMORY of another concern or a crisis counts as a crisis.
        """
        profile = turn.state.profile
        recent = None
        if profile.risk_level and profile.risk_at and since(now, profile.risk_at) <= RISK_MEMORY:
            recent = Risk(profile.risk_level)  # type: ignore[arg-type]
        risk = (self._assess or safety.assess)(text, recent if remember else None)
        if recent and risk.subject == "self" and risk.level == "concern":
            risk = replace(risk, level="crisis")  # the classifier does this too; make sure
        if remember and risk.subject == "self" and risk.level != "none":
            profile.risk_level, profile.risk_at = risk.level, now
        return risk

    def _unsafe(self, turn: Turn, now: datetime) -> bool:
        """They said "No, I'm not safe" less than UNSAFE_FOR ago (and have not called)."""
        at = turn.state.profile.unsafe_at
        return at is not None and since(now, at) <= UNSAFE_FOR and CRISIS_DIALOG in self.dialogs

    # --- dialog movement (opening and returning: dialogs/manager_stack.py) -----------

    def _push(
        self,
        turn: Turn,
        dialog: str,
        now: datetime,
        slots: dict[str, Any] | None = None,
        step: str | None = None,
        via: drafts.Via = drafts.SHORTCUT,
    ) -> None:
        """Start `dialog` on top of the stack (at `step`, or its draft step, or its start).

        `via`: what opened it. The frame it covers is marked with that and the time, so the
        stack rules (`_back`) know whether to bring it back: only after a shortcut (the
        default: a command, help, crisis, a listening reply) and only soon after.
        """
        spec = self.dialogs[dialog]
        stack = turn.state.stack
        self._trim(turn, now, MAX_STACK - 1)  # room for the new one
        if stack:
            drafts.mark_paused(stack[-1], via, now)
        draft = spec.draft_step
        has_draft = draft and drafts.find(turn.state, dialog) is not None
        first = step or (draft if draft and has_draft else spec.start)
        stack.append(Frame(dialog, first, dict(slots or {})))
        self._enter(turn, now)

    def _go(self, turn: Turn, target: str | None, now: datetime) -> None:
        frame = turn.state.top
        assert frame is not None
        if target is None or target == END:
            left = turn.state.stack.pop()
            below = turn.state.top
            answer = left.slots.get(crisis_hooks.ANSWER_BELOW)
            if below and isinstance(answer, str):
                # Words they wrote before help came, kept by their choice: the step they
                # interrupted takes them now, exactly as if just typed (already screened).
                below.slots.pop(drafts.PAUSED, None)
                at = below.step
                self._answer(turn, self._spec(below), now, answer)
                if turn.state.top is below and below.step == at:
                    # The same step asks again ("anything else?"): if they send the same
                    # words straight away, they are not screened into help a second time.
                    # Only a fold of words this frame already holds, for one event.
                    below.slots[crisis_hooks.KEPT] = fold(answer)
                return
            if below:
                self._back(turn, left, now)
            if not turn.state.stack and left.dialog in SAFETY_DIALOGS:
                self._goodbye(turn, left, now)
        elif target.startswith(DIALOG_PREFIX):
            turn.state.stack.pop()
            # Chosen inside a dialog (the menu, a list): not a shortcut, so what lies below
            # is not brought back after it.
            dialog, entry = split_target(target.removeprefix(DIALOG_PREFIX))
            self._open(turn, dialog, now, via=drafts.FLOW, step=entry)
        else:
            spec = self.dialogs[frame.dialog]
            # Hooks may return a step saved in a draft; a newer script may not have it.
            frame.step = target if target in spec.steps else spec.start
            self._enter(turn, now)

    def _enter(self, turn: Turn, now: datetime, hops: int = 0) -> None:
        frame = turn.state.top
        assert frame is not None
        step = self._spec(frame)
        passive = step.passive
        target: str | None = None
        if passive and step.hook:
            target = self._run_action(turn, step.hook, frame, None, now)
        self._prompt(turn, step, now)
        if not passive or hops >= MAX_HOPS:
            return
        if any(isinstance(e, ForgetMe) for e in turn.effects):
            return
        target = target or (END if step.end else self._onward(turn, frame, step, None))
        if target and target != END and not target.startswith(DIALOG_PREFIX):
            frame.step = target if target in self.dialogs[frame.dialog].steps else frame.step
            self._enter(turn, now, hops + 1)
        else:
            self._go(turn, target, now)

    # --- answers ----------------------------------------------------------------

    def _answer(self, turn: Turn, step: StepSpec, now: datetime, text: str) -> None:
        if self._listening(turn):  # words after a listening reply (dialogs/manager_listen.py)
            self._listen_answer(turn, step, now, text)
            return
        try:
            choice = self._match_choice(turn, step, text, now)
            if choice is not None:
                self._accept(turn, step, choice.value, now, choice)
                return
            value = self._parse(step, text, turn.state.profile.locale)
        except _Invalid as invalid:
            if invalid.template in CANNOT_TAKE and self._unsafe(turn, now):
                # After "not safe", words a step of buttons (or numbers, or times) cannot
                # take are not a wrong answer: they get the warm reply, never "please tap".
                self._open_crisis(turn, LISTEN, now, None)
                return
            if self._hear(turn, step, now, text, invalid.template):
                return  # understood, or answered as a person talking (manager_listen.py)
            self._reask(turn, step, now, invalid.template, **invalid.ctx)
            return
        self._accept(turn, step, value, now)

    def _match_choice(
        self, turn: Turn, step: StepSpec, text: str, now: datetime
    ) -> ChoiceSpec | None:
        options = [c for c in self._choices(turn, step, now) if not c.url]
        if not options:
            return None
        # A number is a value on number steps and a time on time steps, not a button index.
        if step.input == "choice" and text.isdecimal() and 1 <= int(text) <= len(options):
            return options[int(text) - 1]
        # On a number step, input without letters is read as a number: folding away its
        # punctuation would turn "-1" or "2.5" into the "1" or "25" button.
        if step.input == "number" and not any(c.isalpha() for c in text):
            return None
        wanted = fold(text)
        locale = turn.state.profile.locale
        for option in options:
            label = self.catalog.label(locale, option.label, dict(option.ctx))
            if wanted and wanted == fold(label):
                return option
        # "on saturday please": words a choices hook gave a button, naming only that one.
        typed = set(wanted.split())
        named = [o for o in options if typed & set(o.words)]
        if len(named) == 1:
            return named[0]
        # "sure", "nah": a button the dialog file marks as meaning yes or no.
        meant = yes_or_no(text, locale)
        return next((o for o in options if meant and o.means == meant), None)

    def _parse(self, step: StepSpec, text: str, locale: str = "en") -> Any:
        kind = step.input
        if kind in ("text", "multi"):
            if len(text) > step.max_length:
                raise _Invalid("common/invalid_too_long", limit=step.max_length)
            return text
        if kind == "number":
            assert step.min is not None and step.max is not None
            value = parse_number(text, step.min, step.max)
            out_of = _OUT_OF.match(text)
            if value is None and out_of and int(out_of[2]) == step.max:  # "6/10", as we print it
                value = parse_number(out_of[1], step.min, step.max)
            if value is None and any(c.isalpha() for c in text):  # "three", "four out of five"
                value = parse_number_words(text, step.min, step.max, locale)
            if value is None:
                raise _Invalid("common/invalid_number", low=step.min, high=step.max)
            return value
        if kind == "time":
            hhmm = parse_time(text, locale)
            if hhmm is None:
                raise _Invalid("common/invalid_time")
            return hhmm
        if kind == "timezone":
            match = places.resolve_zone(text, locale)
            if match is None:
                raise _Invalid("common/invalid_timezone", typed=text[:100])
            return match.zone
        if kind == "photo":
            raise _Invalid("common/invalid_photo")
        raise _Invalid("common/invalid_choice")

    def _accept(
        self,
        turn: Turn,
        step: StepSpec,
        value: Any,
        now: datetime,
        choice: ChoiceSpec | None = None,
        pressed: bool = False,
    ) -> None:
        frame = turn.state.top
        assert frame is not None
        if step.input == "multi" and not (choice and choice.finish):
            self._toggle(turn, step, frame, value, now, choice, pressed)
            return
        if step.collect and choice is None:
            collected = frame.slots.setdefault(step.slot or "items", [])
            collected.append(value)
            if len(collected) < step.max_items:
                self._enter(turn, now)  # same step again: "anything else?"
                return
        elif step.collect or step.input == "multi":
            if self._count(step, frame) < step.min_items:
                self._reask(turn, step, now, "common/need_items", count=step.min_items)
                return
        elif step.slot:
            frame.slots[step.slot] = value
        target: str | None = None
        for name in (step.hook, choice.hook if choice else None):
            if name:
                target = self._run_action(turn, name, frame, value, now) or target
        if any(isinstance(e, ForgetMe) for e in turn.effects):
            return
        target = target or self._onward(turn, frame, step, value, choice)
        first_new = len(turn.replies)
        self._go(turn, target if target else (END if step.end else None), now)
        if step.keyboard == "location":
            self._restore_keyboard(turn, first_new)

    def _toggle(
        self,
        turn: Turn,
        step: StepSpec,
        frame: Frame,
        value: Any,
        now: datetime,
        choice: ChoiceSpec | None,
        pressed: bool,
    ) -> None:
        """A multi-select option: tick or untick it; typed words join as their own item."""
        slot = step.slot or "selected"
        if choice is None:
            own = frame.slots.setdefault(f"{slot}_own", [])
            if len(own) < step.max_items:
                own.append(value)
            self._prompt(turn, step, now)
            return
        selected = frame.slots.setdefault(slot, [])
        if choice.id in selected:
            selected.remove(choice.id)
        else:
            selected.append(choice.id)
        self._prompt(turn, step, now, edit=pressed)

    def _count(self, step: StepSpec, frame: Frame) -> int:
        slot = step.slot or ("selected" if step.input == "multi" else "items")
        own = frame.slots.get(f"{slot}_own", []) if step.input == "multi" else []
        return len(frame.slots.get(slot, [])) + len(own)

    # --- rendering --------------------------------------------------------------

    def _show_current(self, turn: Turn, now: datetime, quiet: bool = False) -> None:
        frame = turn.state.top
        if frame is None:
            if not quiet:
                self._idle(turn, now)
            return
        self._prompt(turn, self._spec(frame), now)

    def _idle(self, turn: Turn, now: datetime, text: str | None = None) -> None:
        """Nothing open. Words get a reply that answers them (`_idle_words`); otherwise the
        menu, or how to begin."""
        if text is not None:
            self._idle_words(turn, now, text)
        elif turn.state.profile.onboarded:
            self._push(turn, MENU_DIALOG, now)
        else:
            self._say(turn, "common/not_started", words=False, reply=None)

    def _prompt(self, turn: Turn, step: StepSpec, now: datetime, edit: bool = False) -> None:
        buttons = self._buttons(turn, step, now)
        # A step may set or take away the persistent keyboard on a message without buttons.
        wanted = step.keyboard if step.keyboard in ("main", "remove") else None
        keyboard: Keyboard = wanted if not buttons else None  # type: ignore[assignment]
        ctx = self._ctx(turn, step, now)
        photo, document, chart = ctx.get(PHOTO_ID), ctx.get(DOCUMENT), ctx.get(CHART)
        edit = edit and chart is None  # a text can't be edited into a photo
        turn.replies.append(
            Reply(step.prompt, ctx, buttons, keyboard, edit, photo, document, chart)
        )
        if step.keyboard == "location":
            turn.replies.append(Reply("common/location_hint", {}, keyboard="location"))

    def _reask(self, turn: Turn, step: StepSpec, now: datetime, template: str, **ctx: Any) -> None:
        # A short line with the step's buttons again, rather than the whole prompt.
        turn.replies.append(Reply(template, ctx, self._buttons(turn, step, now)))

    def _restore_keyboard(self, turn: Turn, start: int) -> None:
        """Swap the location keyboard for the usual one on the first new message without buttons."""
        keyboard: Keyboard = "main" if turn.state.profile.onboarded else "remove"
        for i in range(start, len(turn.replies)):
            if not turn.replies[i].buttons and turn.replies[i].keyboard is None:
                turn.replies[i] = replace(turn.replies[i], keyboard=keyboard)
                return

    def _expired(self, turn: Turn, now: datetime) -> None:
        self._say(turn, "common/expired")
        self._show_current(turn, now)

    def _say(self, turn: Turn, template: str, keyboard: Keyboard = None, **ctx: Any) -> None:
        turn.replies.append(Reply(template, ctx, keyboard=keyboard))

    def _ctx(self, turn: Turn, step: StepSpec, now: datetime) -> dict[str, Any]:
        frame = turn.state.top
        assert frame is not None
        ctx: dict[str, Any] = {"slots": dict(frame.slots), "profile": turn.state.profile}
        for name in step.enter:
            call = hooks.HookCall(turn.state, frame, None, now, turn.effects)
            ctx.update(hooks.registry("enter")[name](call))
        return ctx

    def _choices(self, turn: Turn, step: StepSpec, now: datetime) -> list[ChoiceSpec]:
        frame = turn.state.top
        assert frame is not None
        options = [c for c in step.choices if not c.when or frame.slots.get(c.when) is not None]
        if step.choices_from:
            call = hooks.HookCall(turn.state, frame, None, now, turn.effects)
            options = hooks.registry("choices")[step.choices_from](call) + options
        return options

    def _buttons(self, turn: Turn, step: StepSpec, now: datetime) -> tuple[tuple[Button, ...], ...]:
        frame = turn.state.top
        assert frame is not None
        spec = self.dialogs[frame.dialog]
        selected = frame.slots.get(step.slot or "selected", []) if step.input == "multi" else []
        buttons = [
            Button(
                c.label,
                "" if c.url else spec.callback(step.id, c.id),
                c.ctx,
                url=c.url,
                checked=c.id in selected,
            )
            for c in self._choices(turn, step, now)
        ]
        width = max(step.columns, 1)
        return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))

    # --- bookkeeping ------------------------------------------------------------

    def _spec(self, frame: Frame) -> StepSpec:
        step = self.dialogs.step(frame.dialog, frame.step)
        assert step is not None, "frames are repaired before use"
        return step

    def _onward(
        self,
        turn: Turn,
        frame: Frame,
        step: StepSpec,
        value: Any,
        choice: ChoiceSpec | None = None,
    ) -> str | None:
        """Where the file sends an answer once the action hooks have run without a target of
        their own: the choice's `next`, else the step's. A conditional `next:` takes its
        first condition that holds, else its `else` (dialogs/conditions.py); conditions
        are read after the hooks, so they see what the hooks kept. None: nowhere."""
        for holder in (choice, step):
            if holder is not None and holder.next:
                if not holder.branches:  # a plain `next:`
                    return holder.next
                where = f"{frame.dialog}/{step.id}"
                return conditions.choose(
                    holder.branches, holder.next, turn.state, frame, value, where
                )
        return None

    def _run_action(
        self, turn: Turn, name: str, frame: Frame, value: Any, now: datetime
    ) -> str | None:
        call = hooks.HookCall(turn.state, frame, value, now, turn.effects)
        target: str | None = hooks.registry("action")[name](call)  # an action's next step
        return target

    def _repair(self, turn: Turn) -> None:
        """Drop frames a newer script no longer has, so an update never strands anyone."""
        state = turn.state
        kept = [
            f
            for f in state.stack
            if self.dialogs.step(f.dialog, f.step) is not None
            and (state.profile.onboarded or not self.dialogs[f.dialog].needs_profile)
        ]
        if len(kept) != len(state.stack):
            state.stack = kept
            self._say(turn, "common/script_updated")

    # --- the question again -----------------------------------------------------------

    def _resume(self, turn: Turn, now: datetime, lead: str = "common/resume") -> None:
        """The top frame's question again, in one message: the short line `lead` with the
        step's `ask` template, or its whole prompt when it has none (the template gets both
        as `question_template` and `question_short`). A step whose message is a photo or a
        file keeps it: the line first, then that message as usual."""
        frame = turn.state.top
        assert frame is not None
        step = self._spec(frame)
        ctx = self._ctx(turn, step, now)
        buttons = self._buttons(turn, step, now)
        wanted = step.keyboard if step.keyboard in ("main", "remove") else None
        keyboard: Keyboard = wanted if not buttons else None  # type: ignore[assignment]
        photo, document, chart = ctx.get(PHOTO_ID), ctx.get(DOCUMENT), ctx.get(CHART)
        if step.ask is None and (photo or document or chart):
            self._say(turn, lead)
            turn.replies.append(
                Reply(step.prompt, ctx, buttons, keyboard, False, photo, document, chart)
            )
        else:
            ctx |= {"question_template": step.ask or step.prompt, "question_short": bool(step.ask)}
            turn.replies.append(Reply(lead, ctx, buttons, keyboard))
        if step.keyboard == "location":
            turn.replies.append(Reply("common/location_hint", {}, keyboard="location"))
