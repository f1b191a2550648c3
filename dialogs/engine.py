"""The coach's rules: a pure ``step(state, event, now) -> Turn``.

No Telegram, no SQL, no clock: the adapter passes the time in, storage saves
the returned state, and the adapter renders the replies. The person's dialogs
live on a stack so a command or a crisis can interrupt one and return to it.

Safety comes first. Every text and caption is graded by `assess` (dialogs.safety) before
any dialog sees it, with the person's recent risk (a level and a time, never words). A
risky message opens the crisis dialog on top, at the step that fits: `help` (a crisis),
`concern` (asked directly), `other` (someone else at risk) or `abuse`. If they were
writing an answer, the words wait in the crisis frame until they keep or drop them.
Buttons of the crisis and "Need a quick chat?" dialogs work from any later state, words
typed on their buttons get a warm reply, and after "No, I'm not safe" every turn shows
the emergency number (see `_keep_emergency_in_view`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dialogs import drafts, hooks, places, safety
from dialogs.commands import COMMANDS, SHORTCUTS
from dialogs.hooks import crisis as crisis_hooks
from dialogs.inputs import fold, is_blank, parse_number, parse_time
from dialogs.model import (
    Button,
    Command,
    Due,
    Event,
    ForgetMe,
    Frame,
    Keyboard,
    Location,
    Photo,
    Press,
    Reply,
    Text,
    Turn,
    Unsupported,
    UserState,
)
from dialogs.safety import NO_RISK, Risk
from dialogs.spec import (
    CALLBACK_PREFIX,
    DIALOG_PREFIX,
    END,
    ChoiceSpec,
    DialogSet,
    DialogSpec,
    StepSpec,
)

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
ONBOARDING_DIALOG = "onboarding"
MENU_DIALOG = "menu"
MAX_HOPS = 25  # message-only steps chained in one turn; validation forbids loops anyway
MAX_STACK = 5  # older interrupted dialogs are set aside (as drafts where they keep one)
PHOTO_ID = "photo_id"  # an enter hook returning this sends the step's message as that photo
DOCUMENT = "document"  # an enter hook returning (filename, bytes) sends that file with it


class _Invalid(Exception):
    """An answer the current step cannot take; carries the re-ask prompt."""

    def __init__(self, template: str, **ctx: Any) -> None:
        super().__init__(template)
        self.template = template
        self.ctx = ctx


Assess = Callable[[str, Risk | None], Risk]


def _since(now: datetime, then: datetime) -> timedelta:
    """now - then, reading a naive time (as some databases return it) as UTC."""
    return now - (then if then.tzinfo else then.replace(tzinfo=UTC))


class Engine:
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
        # A command whose dialog is not loaded would crash; unknown is kinder.
        self.commands = {
            name: target
            for name, target in COMMANDS.items()
            if not target.startswith(DIALOG_PREFIX) or target.removeprefix(DIALOG_PREFIX) in dialogs
        }

    # --- entry point ------------------------------------------------------------

    def step(self, state: UserState, event: Event, now: datetime) -> Turn:
        turn = Turn(state.copy())
        self._repair(turn)
        top = turn.state.top
        # Words just kept as this step's answer are let through unscreened once, by the very
        # next event only (see _go): whatever comes next, the mark goes.
        kept = top.slots.pop(crisis_hooks.KEPT, None) if top is not None else None
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
        if any(isinstance(e, ForgetMe) for e in turn.effects):
            turn.state = UserState()
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
        if frame is not None and self._repeats_pending(turn, frame, text):
            # The same words again, right after help was shown: they mean them as their
            # answer. Help came once; asking again would be a loop.
            frame.slots[crisis_hooks.ANSWER_BELOW] = frame.slots.pop(crisis_hooks.PENDING)
            self._go(turn, "kept", now)
            return
        banner = self._banner_typed(turn, text, now)
        if banner is not None:
            # "I still need help" / "I've called" typed under the banner: the same as a tap.
            self._on_press(turn, self.dialogs[CRISIS_DIALOG].callback("banner", banner), now)
            return
        # Safety first: before any dialog sees the words, in every state.
        if self._on_risk(turn, text, now, self._screen(turn, text, now)):
            return
        shortcut = self._shortcut(turn, text)
        if shortcut:
            self._on_command(turn, Command(shortcut), now)
            return
        if frame is None:
            if self._unsafe(turn, now):  # nothing open: they still get a warm reply
                self._open_crisis(turn, LISTEN, now, None)
            else:
                self._idle(turn, now)
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

    # --- safety -----------------------------------------------------------------

    def _unsafe(self, turn: Turn, now: datetime) -> bool:
        """They said "No, I'm not safe" less than UNSAFE_FOR ago (and have not called)."""
        at = turn.state.profile.unsafe_at
        return at is not None and _since(now, at) <= UNSAFE_FOR and CRISIS_DIALOG in self.dialogs

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

    def _screen(self, turn: Turn, text: str, now: datetime, remember: bool = True) -> Risk:
        """Grade the words with the person's recent risk (level and time, never words).

        A concern within RISK_MEMORY of another concern or a crisis counts as a crisis.
        """
        profile = turn.state.profile
        recent = None
        if profile.risk_level and profile.risk_at and _since(now, profile.risk_at) <= RISK_MEMORY:
            recent = Risk(profile.risk_level)  # type: ignore[arg-type]
        risk = (self._assess or safety.assess)(text, recent if remember else None)
        if recent and risk.subject == "self" and risk.level == "concern":
            risk = replace(risk, level="crisis")  # the classifier does this too; make sure
        if remember and risk.subject == "self" and risk.level != "none":
            profile.risk_level, profile.risk_at = risk.level, now
        return risk

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
        if _since(now, profile.unsafe_at) > UNSAFE_FOR:
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

    def _shortcut(self, turn: Turn, text: str) -> str | None:
        folded = fold(text)
        locale = turn.state.profile.locale
        for label, command in SHORTCUTS.items():
            if command in self.commands and folded == fold(self.catalog.label(locale, label)):
                return command
        return None

    def _on_press(self, turn: Turn, data: str, now: datetime) -> None:
        parts = data.split("|")
        frame = turn.state.top
        if len(parts) != 4 or parts[0] != CALLBACK_PREFIX:
            self._expired(turn, now)
            return
        _, dialog, step_id, choice_id = parts
        before = [(f, f.step) for f in turn.state.stack]
        if frame is None or (dialog, step_id) != (frame.dialog, frame.step):
            if dialog not in SAFETY_DIALOGS or self.dialogs.step(dialog, step_id) is None:
                self._expired(turn, now)
                return
            # Help never goes stale: a crisis or "Need a quick chat?" button, however old,
            # brings its dialog back to the top at that step and does what it says.
            frame = self._revive(turn, dialog, step_id)
        step = self._spec(frame)
        choice = next(
            (c for c in self._choices(turn, step, now) if c.id == choice_id and not c.url), None
        )
        if choice is None:  # as it was: nothing revived for a button that is not there
            turn.state.stack = [f for f, _ in before]
            for f, step_id in before:
                f.step = step_id
            self._expired(turn, now)
            return
        while len(turn.state.stack) > MAX_STACK:  # a revived frame may have made it one too many
            oldest = turn.state.stack.pop(0)
            self._set_aside(turn, self.dialogs[oldest.dialog], oldest, now)
        self._accept(turn, step, choice.value, now, choice, pressed=True)

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

    def _on_location(self, turn: Turn, event: Location, now: datetime) -> None:
        frame = turn.state.top
        step = self._spec(frame) if frame else None
        if step is None or step.input != "timezone":
            self._say(turn, "common/location_unused")
            self._show_current(turn, now)
            return
        zone = places.zone_from_location(event.latitude, event.longitude)
        if zone is None:
            self._reask(turn, step, now, "common/invalid_location")
            return
        self._accept(turn, step, zone, now)

    def _on_unsupported(self, turn: Turn, event: Unsupported, now: datetime) -> None:
        caption = event.caption.strip()
        if caption and self._on_risk(turn, caption, now, self._screen(turn, caption, now), False):
            return
        self._say(turn, "common/unsupported", kind=event.kind)
        self._show_current(turn, now)

    def _on_photo(self, turn: Turn, event: Photo, now: datetime) -> None:
        frame = turn.state.top
        step = self._spec(frame) if frame else None
        if step is None or step.input != "photo":
            # Only a photo step keeps photos; anywhere else it is media we cannot use.
            self._on_unsupported(turn, Unsupported("photo", event.caption), now)
            return
        caption = event.caption.strip()
        if caption and self._on_risk(turn, caption, now, self._screen(turn, caption, now), False):
            return
        if len(caption) > step.max_length:
            self._reask(turn, step, now, "common/invalid_too_long", limit=step.max_length)
        else:
            self._accept(turn, step, {"file_id": event.file_id, "caption": caption}, now)

    def _on_due(self, turn: Turn, event: Due, now: datetime) -> None:
        """A scheduled check-in or nudge: open its dialog, unless now is the wrong moment.

        Nothing is sent to someone who has not finished onboarding, or who is in the
        middle of the crisis or "Need a quick chat?" flow: those come first.
        """
        if event.kind == "followup":
            self._followup(turn, now)
            return
        top = turn.state.top
        if not turn.state.profile.onboarded or event.kind not in self.dialogs:
            return
        if top is not None and top.dialog in (CRISIS_DIALOG, SOS_DIALOG):
            return
        # A new morning asks afresh: yesterday's half-answered check-in is dropped.
        turn.state.stack = [f for f in turn.state.stack if f.dialog != event.kind]
        self._push(turn, event.kind, now, {"soft": True} if event.soft else None)

    def _on_command(self, turn: Turn, cmd: Command, now: datetime) -> None:
        handler = self.commands.get(cmd.name)
        if handler is None:
            self._say(turn, "common/unknown_command", command=cmd.name)
            self._show_current(turn, now)
        elif handler.startswith(DIALOG_PREFIX):
            self._cmd_open(turn, handler.removeprefix(DIALOG_PREFIX), now)
        else:
            getattr(self, f"_cmd_{handler}")(turn, now)

    # --- commands ---------------------------------------------------------------

    def _cmd_start(self, turn: Turn, now: datetime) -> None:
        state = turn.state
        if state.profile.onboarded:
            self._say(turn, "common/welcome_back", keyboard="main")
            self._open(turn, MENU_DIALOG, now)
        elif state.top and state.top.dialog == ONBOARDING_DIALOG:
            self._say(turn, "common/picking_up")
            self._show_current(turn, now)
        else:
            state.stack = []
            self._push(turn, ONBOARDING_DIALOG, now)

    def _cmd_menu(self, turn: Turn, now: datetime) -> None:
        self._cmd_open(turn, MENU_DIALOG, now)

    def _cmd_open(self, turn: Turn, dialog: str, now: datetime) -> None:
        if self.dialogs[dialog].needs_profile and not turn.state.profile.onboarded:
            self._say(turn, "common/finish_onboarding_first")
            self._show_current(turn, now)
            return
        self._open(turn, dialog, now)

    def _cmd_help(self, turn: Turn, now: datetime) -> None:
        self._say(turn, "common/help", onboarded=turn.state.profile.onboarded)
        self._show_current(turn, now, quiet=True)

    def _cmd_cancel(self, turn: Turn, now: datetime) -> None:
        frame = turn.state.top
        if frame is None:
            self._say(turn, "common/nothing_to_cancel", onboarded=turn.state.profile.onboarded)
            return
        turn.state.stack.pop()
        spec = self.dialogs[frame.dialog]
        kept_draft = self._set_aside(turn, spec, frame, now)
        self._say(turn, "common/cancelled", dialog=frame.dialog, keeps=spec.keeps,
                  draft=kept_draft, onboarded=turn.state.profile.onboarded)  # fmt: skip
        if turn.state.top:
            self._show_current(turn, now)

    # --- dialog movement --------------------------------------------------------

    def _open(self, turn: Turn, dialog: str, now: datetime) -> None:
        """Bring a dialog to the top: resume it if it is open somewhere, else start it."""
        stack = turn.state.stack
        spec = self.dialogs[dialog]
        existing = next((f for f in reversed(stack) if f.dialog == dialog), None)
        if existing is None:
            self._push(turn, dialog, now)
            return
        was_top = existing is stack[-1]
        stack.remove(existing)
        if spec.restart_on_open:  # "Need a quick chat?" always answers with its first message
            self._push(turn, dialog, now)
            return
        if spec.draft_step and existing.step not in (spec.start, spec.draft_step):
            # Half-way through something they may want back: offer continue or discard.
            self._set_aside(turn, spec, existing, now)
            self._push(turn, dialog, now)
            return
        stack.append(existing)
        if not was_top and existing.step != spec.start:
            self._say(turn, "common/picking_up")
        self._show_current(turn, now)

    def _push(
        self,
        turn: Turn,
        dialog: str,
        now: datetime,
        slots: dict[str, Any] | None = None,
        step: str | None = None,
    ) -> None:
        spec = self.dialogs[dialog]
        stack = turn.state.stack
        while len(stack) >= MAX_STACK:
            oldest = stack.pop(0)
            self._set_aside(turn, self.dialogs[oldest.dialog], oldest, now)
        has_draft = spec.draft_step and drafts.find(turn.state, dialog) is not None
        first = step or (spec.draft_step if has_draft else spec.start)
        stack.append(Frame(dialog, first, dict(slots or {})))
        self._enter(turn, now)

    def _set_aside(self, turn: Turn, spec: DialogSpec, frame: Frame, now: datetime) -> bool:
        """Keep an unfinished run of a dialog that offers drafts; True if one was kept."""
        if spec.draft_step and frame.step not in (spec.start, spec.draft_step) and frame.slots:
            drafts.save(turn.state, frame, now)
            return True
        return False

    def _followup(self, turn: Turn, now: datetime) -> None:
        """The gentle message an hour or two after a crisis reply (planned in hooks/crisis.py).

        Sent to anyone who got a crisis reply, onboarded or not; `followup_at` is cleared.
        """
        turn.state.profile.followup_at = None
        if CRISIS_DIALOG not in self.dialogs:
            return
        self._open_crisis(turn, "followup", now, None)

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
                at = below.step
                self._answer(turn, self._spec(below), now, answer)
                if turn.state.top is below and below.step == at:
                    # The same step asks again ("anything else?"): if they send the same
                    # words straight away, they are not screened into help a second time.
                    # Only a fold of words this frame already holds, for one event.
                    below.slots[crisis_hooks.KEPT] = fold(answer)
                return
            if below:
                if below.dialog != MENU_DIALOG:  # the menu needs no "back to where we were"
                    self._say(turn, "common/resume")
                self._show_current(turn, now)
        elif target.startswith(DIALOG_PREFIX):
            turn.state.stack.pop()
            self._open(turn, target.removeprefix(DIALOG_PREFIX), now)
        else:
            spec = self.dialogs[frame.dialog]
            # Hooks may return a step saved in a draft; a newer script may not have it.
            frame.step = target if target in spec.steps else spec.start
            self._enter(turn, now)

    def _enter(self, turn: Turn, now: datetime, hops: int = 0) -> None:
        frame = turn.state.top
        assert frame is not None
        step = self._spec(frame)
        passive = step.input == "none" or (step.end and not step.choices)
        target: str | None = None
        if passive and step.hook:
            target = self._run_action(turn, step.hook, frame, None, now)
        self._prompt(turn, step, now)
        if not passive or hops >= MAX_HOPS:
            return
        if any(isinstance(e, ForgetMe) for e in turn.effects):
            return
        target = target or (END if step.end else step.next)
        if target and target != END and not target.startswith(DIALOG_PREFIX):
            frame.step = target if target in self.dialogs[frame.dialog].steps else frame.step
            self._enter(turn, now, hops + 1)
        else:
            self._go(turn, target, now)

    # --- answers ----------------------------------------------------------------

    def _answer(self, turn: Turn, step: StepSpec, now: datetime, text: str) -> None:
        try:
            choice = self._match_choice(turn, step, text, now)
            if choice is not None:
                self._accept(turn, step, choice.value, now, choice)
                return
            value = self._parse(step, text)
        except _Invalid as invalid:
            if invalid.template in CANNOT_TAKE and self._unsafe(turn, now):
                # After "not safe", words a step of buttons (or numbers, or times) cannot
                # take are not a wrong answer: they get the warm reply, never "please tap".
                self._open_crisis(turn, LISTEN, now, None)
                return
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
        if step.input == "choice" and text.isdigit() and 1 <= int(text) <= len(options):
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
        return None

    def _parse(self, step: StepSpec, text: str) -> Any:
        kind = step.input
        if kind in ("text", "multi"):
            if len(text) > step.max_length:
                raise _Invalid("common/invalid_too_long", limit=step.max_length)
            return text
        if kind == "number":
            assert step.min is not None and step.max is not None
            value = parse_number(text, step.min, step.max)
            if value is None:
                raise _Invalid("common/invalid_number", low=step.min, high=step.max)
            return value
        if kind == "time":
            value = parse_time(text)
            if value is None:
                raise _Invalid("common/invalid_time")
            return value
        if kind == "timezone":
            match = places.resolve_zone(text)
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
        target = target or (choice.next if choice else None) or step.next
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

    def _idle(self, turn: Turn, now: datetime) -> None:
        if turn.state.profile.onboarded:
            self._push(turn, MENU_DIALOG, now)
        else:
            self._say(turn, "common/not_started")

    def _prompt(self, turn: Turn, step: StepSpec, now: datetime, edit: bool = False) -> None:
        buttons = self._buttons(turn, step, now)
        # A step may set or take away the persistent keyboard on a message without buttons.
        wanted = step.keyboard if step.keyboard in ("main", "remove") else None
        keyboard: Keyboard = wanted if not buttons else None  # type: ignore[assignment]
        ctx = self._ctx(turn, step, now)
        photo, document = ctx.get(PHOTO_ID), ctx.get(DOCUMENT)
        turn.replies.append(
            Reply(step.prompt, ctx, buttons, keyboard, edit=edit, photo=photo, document=document)
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

    def _run_action(
        self, turn: Turn, name: str, frame: Frame, value: Any, now: datetime
    ) -> str | None:
        call = hooks.HookCall(turn.state, frame, value, now, turn.effects)
        return hooks.registry("action")[name](call)

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
