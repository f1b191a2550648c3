"""The dialog manager's listening: free words where a step expects a button, a number, a
time or a zone.

Words a step cannot take are first understood where they can be, and otherwise answered
as what they are (a person talking) rather than as a wrong answer. Crisis screening has
already run (`DialogManager._on_text`): only words it let through reach this module.

Where a step (a choice, number, time or time zone step) cannot take the words, in order:

1. Understood. A button's label or number, a number in words ("three") and a time in
   words ("8 in the evening") are read by the step itself (`DialogManager._match_choice`,
   `DialogManager._parse`). Here: a mood in words on a mood scale ("pretty bad" -> 2) opens a
   one-tap confirm, "Shall I note that as 2?" [Yes, 2] [Pick a number]; a country on a
   time zone step opens its zones as buttons ("USA" -> Eastern, Central...), or takes the
   zone when the country has only one. A mood scale is a number step marked
   `words: mood` in its dialog file.
   A mood is read from a short answer (MOOD_ANSWER_WORDS words at most: "pretty bad",
   "I'm so sad"), or from a longer one that matches no intent; "I'm so lonely it hurts"
   is heard as loneliness (step 2), not turned into a number.
2. Answered. When an intent matches (dialogs/intents.py), or the words are a message
   rather than an attempt (see below), the `listen` dialog (dialogs/flows/listen.yaml)
   opens on top: the intent's reply (or a general warm one), its offers as 2-3 buttons
   and a button back to the step ("Back to the check-in"), which is shown again only if
   they tap it. A "stop messaging me" intent always offers a pause and settings.
3. Asked again. Anything else gets the step's short re-ask as before.

A message, not an attempt: an intent matched, or at least WORDS_TO_LISTEN words that
contain a letter ("I had an awful day today"). At the menu, and with nothing open, any
text with a letter is a message, since there is no question to attempt. So "7" on a 1-5
scale, "25:00", "Narnia" and "🫠" are attempts (re-asked); "I feel so alone" is heard.

While the listen dialog is on top, typed words go: to its own buttons by label (never
by number: "3" is an answer to the step underneath); "yes" on the confirm; else to the
step underneath when it can take them (the listen frame goes first); else another, shorter
listening reply whose words turn with each message (`heard`), or the new intent's reply.

Before /start (nothing open, not onboarded), words get a warm line that answers them (the
intent's reply when one matches, common/not_started.j2) and then the welcome, as /start.

`ListenRouting` is a mixin of `dialogs.manager.DialogManager`; it moves dialogs only through the
manager's own `_push`, `_enter`, `_accept` and `_answer`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from dialogs import drafts, intents, places
from dialogs.hooks import crisis as crisis_hooks
from dialogs.hooks import listen as listen_hooks
from dialogs.inputs import mood_from_words
from dialogs.model import Frame, Turn

if TYPE_CHECKING:
    from dialogs.spec import StepSpec

LISTEN_DIALOG = listen_hooks.DIALOG
MENU = "menu"
WORDS_TO_LISTEN = 4  # words with a letter that make a message, not an attempt
MOOD_ANSWER_WORDS = 3  # a mood in this many words is an answer even if it names a feeling
# Re-asks that mean "the step cannot take these words" (common/*.j2); others (too long,
# not a photo, a location not found) keep their own reply.
HEARD = ("common/invalid_choice", "common/invalid_number", "common/invalid_time",
         "common/invalid_timezone")  # fmt: skip
TAKES_WORDS = ("choice", "number", "time", "timezone")  # steps a listen frame can sit on

Understood = tuple[str, Any]  # ("value", answer) | ("confirm", mood) | ("zones", [[zone, label]])


def _words(text: str) -> int:
    return sum(1 for word in text.split() if any(c.isalpha() for c in word))


if TYPE_CHECKING:
    from dialogs.manager_parts import ManagerParts as _Parts
else:
    _Parts = object  # the type checker's view only: see dialogs/manager_parts.py


class ListenRouting(_Parts):
    """The listening half of the dialog manager (a mixin: see the module docstring)."""

    # --- a step that could not take the words -------------------------------------------

    def _hear(self, turn: Turn, step: StepSpec, now: datetime, text: str, template: str) -> bool:
        """Words the top step rejected with `template`: understood or answered (True), or
        left to the usual short re-ask (False). See the module docstring for the rule."""
        frame = turn.state.top
        if template not in HEARD or frame is None or LISTEN_DIALOG not in self.dialogs:
            return False
        understood = self._understand(turn, frame, step, text)
        if understood is not None:
            self._use(turn, step, now, understood)
            return True
        intent = intents.match(text, turn.state.profile.locale)
        if intent is None and not self._speaks(frame, text):
            return False
        if self._unsafe(turn, now):  # after "not safe", the crisis dialog's warm reply
            self._open_crisis(turn, "listen", now, None)
            return True
        self._open_listen(turn, now, intent)
        return True

    def _speaks(self, frame: Frame | None, text: str) -> bool:
        """A message rather than an attempt at the answer (module docstring)."""
        if frame is None or frame.dialog == MENU:
            return _words(text) > 0
        return _words(text) >= WORDS_TO_LISTEN

    def _understand(self, turn: Turn, frame: Frame, step: StepSpec, text: str) -> Understood | None:
        """What the words mean for this step beyond its own parsing, or None."""
        mood_step = step.input == "number" and step.words == "mood"
        locale = turn.state.profile.locale
        if mood_step and (_words(text) <= MOOD_ANSWER_WORDS or intents.match(text, locale) is None):
            mood = mood_from_words(text, locale)
            low, high = step.min, step.max
            if mood is not None and low is not None and high is not None and low <= mood <= high:
                return ("confirm", mood)
        if step.input == "timezone":
            zones = places.zones_for_country(text, turn.state.profile.locale)
            if zones and len(zones) == 1:
                return ("value", zones[0].zone)
            if zones:
                return ("zones", [[z.zone, z.label] for z in zones])
        return None

    def _use(self, turn: Turn, step: StepSpec, now: datetime, understood: Understood) -> None:
        kind, value = understood
        if kind == "value":
            self._accept(turn, step, value, now)
        elif kind == "confirm":
            self._push_listen(turn, now, {"value": value}, listen_hooks.CONFIRM)
        else:
            self._push_listen(turn, now, {"zones": value}, listen_hooks.ZONES)

    def _takes(self, turn: Turn, step: StepSpec, text: str, now: datetime) -> bool:
        """The top step would take these words as its answer (a button, a value, or words
        it understands), without doing anything yet."""
        from dialogs.manager import _Invalid  # the dialog manager imports this module

        frame = turn.state.top
        if frame is None or step.input not in TAKES_WORDS:
            return False
        if self._match_choice(turn, step, text, now) is not None:
            return True
        try:
            self._parse(step, text, turn.state.profile.locale)
            return True
        except _Invalid:
            return self._understand(turn, frame, step, text) is not None

    # --- the listen dialog --------------------------------------------------------------

    def _listen_slots(self, turn: Turn, intent: intents.Intent | None) -> dict[str, Any]:
        """The listen frame's slots for this intent (None: the general reply); see
        dialogs/hooks/listen.py. The words themselves are never kept."""
        under = turn.state.top
        if under is not None and under.dialog == LISTEN_DIALOG:
            stack = turn.state.stack
            under = stack[-2] if len(stack) > 1 else None
        locale = turn.state.profile.locale
        reply = intent.reply if intent is not None else None
        if reply is not None and not self.catalog.has_template(locale, reply):
            reply = None  # a reply a writer has not added yet: the general words
        stop = intent is not None and "stop" in (intent.id, intent.kind)
        wanted = tuple(intent.offers) if intent is not None else listen_hooks.DEFAULT_OFFERS
        offers = listen_hooks.offers_for(
            wanted, turn.state.profile.onboarded, under.dialog if under else None, stop
        )
        return {
            "intent": intent.id if intent is not None else None,
            "kind": intent.kind if intent is not None else None,
            "reply": reply,
            "offers": offers,
        }

    def _open_listen(self, turn: Turn, now: datetime, intent: intents.Intent | None) -> None:
        """The listen dialog on top of whatever is open (or of nothing)."""
        self._push_listen(turn, now, self._listen_slots(turn, intent) | {"heard": 1})

    def _push_listen(
        self, turn: Turn, now: datetime, slots: dict[str, Any], step: str | None = None
    ) -> None:
        """Push the listen dialog (at `step`, default its start). Slot `reopen`: the step
        underneath is a screen to read (`display`), which the stack rules never bring back
        by themselves, so its back button opens that dialog again instead."""
        under = turn.state.top
        reopen = under is not None and self._spec(under).display
        self._push(turn, LISTEN_DIALOG, now, slots | {"reopen": reopen}, step=step)

    def _listening(self, turn: Turn) -> bool:
        top = turn.state.top
        return top is not None and top.dialog == LISTEN_DIALOG

    def _listen_answer(self, turn: Turn, step: StepSpec, now: datetime, text: str) -> None:
        """Words typed while the listen dialog is on top (module docstring)."""
        stack = turn.state.stack
        frame = stack[-1]
        choice = None if text.strip().isdigit() else self._match_choice(turn, step, text, now)
        yes = frame.step == listen_hooks.CONFIRM and crisis_hooks.read_answer(text) == "yes"
        if choice is None and yes:
            choice = next(c for c in self._choices(turn, step, now) if c.id == "yes")
        if choice is not None:
            self._accept(turn, step, choice.value, now, choice)
            return
        stack.pop()
        under = turn.state.top
        if under is not None and self._takes(turn, self._spec(under), text, now):
            under.slots.pop(drafts.PAUSED, None)  # uncovered: it takes the words now
            self._answer(turn, self._spec(under), now, text)
            return
        if self._unsafe(turn, now):  # after "not safe": the crisis dialog's warm reply
            self._open_crisis(turn, "listen", now, None)
            return
        stack.append(frame)
        intent = intents.match(text, turn.state.profile.locale)
        heard = int(frame.slots.get("heard", 0)) + 1
        if "offers" not in frame.slots or (
            intent is not None and intent.id != frame.slots.get("intent")
        ):
            # A new intent, or words on the confirm or zones screen: a full reply.
            first = "offers" not in frame.slots
            reopen = frame.slots.get("reopen", False)
            frame.slots = self._listen_slots(turn, intent) | {"heard": 1 if first else heard}
            frame.slots["reopen"] = reopen
            frame.slots["again"] = False
        else:  # nothing new: a shorter reply, its words turning with `heard`
            frame.slots |= {"heard": heard, "again": True}
        frame.step = listen_hooks.REPLY
        self._enter(turn, now)

    def _drop_listen(self, turn: Turn) -> None:
        """A shortcut or command typed over the listen reply: the reply has done its job."""
        if self._listening(turn):
            turn.state.stack.pop()
            if turn.state.top is not None:
                turn.state.top.slots.pop(drafts.PAUSED, None)

    # --- nothing open ------------------------------------------------------------------

    def _idle_words(self, turn: Turn, now: datetime, text: str) -> None:
        """Words with nothing open. Onboarded: the listening reply, with the menu as the
        way on. Not yet: a warm line that answers them, then the welcome (as /start),
        except after "stop messaging me"."""
        intent = intents.match(text, turn.state.profile.locale)
        if turn.state.profile.onboarded:
            self._open_listen(turn, now, intent)
            return
        slots = self._listen_slots(turn, intent)
        stop = slots["intent"] == "stop" or slots["kind"] == "stop"
        self._say(turn, "common/not_started", words=True, reply=slots["reply"],
                  intent=slots["intent"], profile=turn.state.profile)  # fmt: skip
        if not stop:  # "stop messaging me" before they began: nothing more is sent
            self._cmd_start(turn, now)
