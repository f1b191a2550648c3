"""The dialog manager's events other than typed words: commands, taps, places, photos, due turns.

Typed words take the dialog manager's main path (`DialogManager._on_text`). Everything else is here:

- `_on_command`: a command opens its dialog (`dialogs/commands.py`) or runs `_cmd_<name>`
  (/start, /menu, /help, /cancel).
- `_on_press`: a button tap answers the step it belongs to; an old one is "expired",
  except the crisis and "Need a quick chat?" buttons, which work from any later state.
- `_on_location`, `_on_photo`, `_on_unsupported`: a location answers a time zone step, a
  photo a photo step; other media are named and the question is shown again. Captions
  are screened like any words.
- `_on_missed`: the question they are answering never reached them: it is shown again.
- `_on_due`, `_remind`: the scheduler's turns (a check-in, a nudge, a follow-up, a
  small-steps reminder), never in the middle of the crisis or quick-chat flow.
- `where_we_were`: the open question again, for the terminal after a restart.

`EventRouting` is a mixin of `dialogs.manager.DialogManager`; it moves dialogs only through the
manager's own `_push`, `_open`, `_accept` and the stack rules (dialogs/manager_stack.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from dialogs import drafts, places, reminders
from dialogs.manager_safety import CRISIS_DIALOG, SAFETY_DIALOGS, SOS_DIALOG
from dialogs.manager_stack import MAX_STACK, ONBOARDING_DIALOG
from dialogs.model import (
    Command,
    Due,
    Location,
    Missed,
    Photo,
    Reply,
    Text,
    Turn,
    Unsupported,
    UserState,
)
from dialogs.spec import CALLBACK_PREFIX, DIALOG_PREFIX

MENU_DIALOG = "menu"


if TYPE_CHECKING:
    from dialogs.manager_parts import ManagerParts as _Parts
else:
    _Parts = object  # the type checker's view only: see dialogs/manager_parts.py


class EventRouting(_Parts):
    """The dialog manager's other events (a mixin: see the module docstring)."""

    def _on_missed(self, turn: Turn, event: Missed, now: datetime) -> None:
        """The question they are answering never reached them: crisis words and commands go
        as usual; anything else waits while the question is shown again."""
        inner = event.event
        words: str = getattr(inner, "text", "") or getattr(inner, "caption", "")
        if words.strip() and self._on_risk(turn, words, now, self._screen(turn, words, now)):
            return
        self._say(turn, "common/missed")
        self._show_current(turn, now)

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
        self._trim(turn, now, MAX_STACK)  # a revived frame may have made it one too many
        self._accept(turn, step, choice.value, now, choice, pressed=True)

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
            stack = turn.state.stack
            if len(stack) > 1 and stack[-1].dialog == CRISIS_DIALOG:
                # The scheduler sent it: what lies below is not brought back after it.
                drafts.mark_paused(stack[-2], drafts.DUE, now)
            return
        top = turn.state.top
        if event.kind == "reminder":
            self._remind(turn, now)
            return
        if not turn.state.profile.onboarded or event.kind not in self.dialogs:
            return
        if top is not None and top.dialog in (CRISIS_DIALOG, SOS_DIALOG):
            return
        # A new morning asks afresh: yesterday's half-answered check-in is dropped.
        turn.state.stack = [f for f in turn.state.stack if f.dialog != event.kind]
        # Opened by the scheduler, not by them: whatever it covers is not brought back.
        self._push(turn, event.kind, now, {"soft": True} if event.soft else None, via=drafts.DUE)

    def where_we_were(self, state: UserState, now: datetime) -> list[Reply]:
        """The open question again ("Welcome back. Where we left off: ..." with its
        buttons), for a chat that starts again without a message from them (the terminal
        after a restart), so what they type next answers what they see. Pure: `state` is
        not changed and nothing is saved. Empty when nothing waits for an answer.
        """
        frame = state.top
        if frame is None or frame.dialog not in self.dialogs:
            return []
        step = self.dialogs[frame.dialog].steps.get(frame.step)
        if step is None or step.display or step.passive:
            return []
        turn = Turn(state.copy())
        self._resume(turn, now, "common/picking_up")
        return turn.replies

    def _remind(self, turn: Turn, now: datetime) -> None:
        """A small-steps reminder (dialogs/reminders.py): open the first due one's dialog.

        Skipped ones (a silent week's review, a stale reminder) are only marked. While the
        crisis or quick-chat flow is open, everything waits a while instead.
        """
        state = turn.state
        due = reminders.due_items(state, now)
        top = state.top
        if not due:
            return
        if top is not None and top.dialog in (CRISIS_DIALOG, SOS_DIALOG):
            reminders.hold(state, now)
            return
        for item in due:
            reminders.mark_sent(state, item, now)
            if item.skip:
                continue
            if item.dialog not in self.dialogs:
                return
            state.stack = [f for f in state.stack if f.dialog != item.dialog]
            self._push(turn, item.dialog, now, dict(item.slots), via=drafts.DUE)
            return

    def _on_command(self, turn: Turn, cmd: Command, now: datetime) -> None:
        handler = self.commands.get(cmd.name)
        if handler is None:
            self._say(turn, "common/unknown_command", command=cmd.name)
            self._show_current(turn, now)
        elif handler.startswith(DIALOG_PREFIX):
            self._cmd_open(turn, handler.removeprefix(DIALOG_PREFIX), now)
        else:
            getattr(self, f"_cmd_{handler}")(turn, now)

    def _app_language(self, turn: Turn, event: Text | Command) -> None:
        """The language of their app becomes theirs as they begin: on /start, or words with
        nothing open (which begin as /start does), until onboarding is finished. A language
        with no prompts folder means English. After onboarding only /settings changes it
        (change_language; it needs onboarding), so a later /start never undoes a choice."""
        state = turn.state
        if state.profile.onboarded:
            return
        begins = event.name == "start" if isinstance(event, Command) else state.top is None
        if begins:
            state.profile.locale = self.catalog.locale_for(event.language)

    # --- commands ---------------------------------------------------------------

    def _cmd_start(self, turn: Turn, now: datetime) -> None:
        state = turn.state
        if state.profile.onboarded:
            self._say(turn, "common/welcome_back", keyboard="main")
            self._open(turn, MENU_DIALOG, now)
        elif state.top and state.top.dialog == ONBOARDING_DIALOG:
            self._resume(turn, now, "common/picking_up")
        else:
            state.stack = []
            self._push(turn, ONBOARDING_DIALOG, now)

    def _cmd_menu(self, turn: Turn, now: datetime) -> None:
        self._cmd_open(turn, MENU_DIALOG, now)

    def _cmd_open(self, turn: Turn, dialog: str, now: datetime) -> None:
        if self.dialogs[dialog].needs_profile and not turn.state.profile.onboarded:
            self._say(turn, "common/finish_onboarding_first")
            if turn.state.top is None:  # nothing started yet: start, don't send them to /start
                self._push(turn, ONBOARDING_DIALOG, now)
            else:
                self._show_current(turn, now)
            return
        self._open(turn, dialog, now)

    def _cmd_help(self, turn: Turn, now: datetime) -> None:
        self._say(
            turn, "common/help", onboarded=turn.state.profile.onboarded, lines=self.help_lines
        )
        if turn.state.top:  # the question they were on, in one short line
            self._resume(turn, now)

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
            self._back(turn, frame, now)  # brought back only if briefly interrupted
