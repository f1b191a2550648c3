"""Hooks for the crisis dialog: reading typed answers, corrections, "not safe" and the follow-up.

The crisis dialog holds every reply to a risky message (see dialogs/flows/crisis.yaml):
the crisis reply, the direct question for a "concern", the reply for someone helping
another person, the reply to abuse disclosed, and the screens after them. What the
person typed is never kept here, with one exception: when the message interrupted a step
that collects text, it waits in the frame's `pending` slot until they choose to keep it
as their answer (or drop it), and the frame is gone once they leave.

Time rules (all UTC, set here, sent by the sweep through `Due("followup")`):
- "No, I'm not safe": `unsafe_at` = now; the emergency number stays on every screen for
  UNSAFE_FOR (manager.py) unless they tap "I've called / someone is with me"; a follow-up
  FOLLOWUP_UNSAFE later, even in quiet hours.
- Any crisis reply (a crisis message, "yes" or "not sure" to the concern question): a
  follow-up FOLLOWUP_LATER later, moved out of their quiet hours.
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any, Literal

from dialogs.hooks import HookCall, action, enter
from dialogs.inputs import fold
from dialogs.model import UserState
from dialogs.schedule import after_quiet_hours

PENDING = "pending"  # the words they were writing when help came, until kept or dropped
PENDING_AT = "pending_at"  # [dialog, step] those words were meant for
ANSWER_BELOW = "answer_below"  # leaving the crisis dialog gives these words to the step below
KEPT = "kept"  # in the step below: the fold of words just kept there (manager, one event)
TYPED = "typed"  # slot of the question steps: read at once, then emptied
AGAIN = "again"  # the concern question is being asked a second time
LISTEN_FROM = "listen_from"  # the screen words were typed on, for the warm reply
LISTENS = "listens"  # how many warm replies this frame gave: the next one's words turn
LISTEN_VARIANTS = 3  # prompts/en/crisis/listen.j2 has this many openings
CORRECTED = "corrected"  # what "That's not what I meant" put right: "abuse", else a risk
ABUSE = "abuse"  # they also spoke of being hurt: the crisis reply adds the abuse lines
SCREENED = "screened"  # the not-safe screen answers a message, not their "no": corrections
URGENT = "urgent"  # a recent act (an overdose taken, a cut that won't stop): call now, first

FOLLOWUP_UNSAFE = timedelta(hours=1)
FOLLOWUP_LATER = timedelta(hours=2)

Reading = Literal["yes", "no", "unsure", "safe", "unsafe", "misread", "other"]

# --- reading a typed answer ------------------------------------------------------------

# English and Spanish read together: the person may write either, whatever their settings.
_LEAD = r"(?:(?:um+|uh+|hm+|well|honestly|i think|i guess|so|lol|haha|oh|pues|bueno|eh+|mm+)\s)*"
_TAIL = (r"(?:\s(?:now|right now|for now|atm|at the moment|thanks|thank you|thx|i think|i guess"
         r"|i suppose|tbh|honestly|really|lol|haha"
         r"|ahora|ahora mismo|gracias|creo|la verdad))*")  # fmt: skip


def _whole(body: str) -> re.Pattern[str]:
    return re.compile(rf"^{_LEAD}(?:{body}){_TAIL}$")


_YES = _whole(r"y|yes|yeah|yea|yep|yup|ya|yes yes|i am|i do|i have|definitely|kind of|kinda"
              r"|si|sip|si si|claro|claro que si|si claro|por supuesto|desde luego"
              r"|(?:yes|yeah|yep) (?:i am|i do|i have|definitely)|i am yes|i do yes")  # fmt: skip
_NO = _whole(r"n|no|nope|nah|no no|not really|i dont think so|not at all|no not really"
             r"|nope not really|nah not really|no i dont|no im not|no i am not|not really no"
             r"|no i dont think so|definitely not|absolutely not|no way"
             r"|nop|no no no|para nada|creo que no|la verdad que no|no la verdad|en absoluto"
             r"|de ninguna manera|no mucho")  # fmt: skip
_UNSURE = _whole(r"i dont know|i do not know|dont know|idk|dunno|i dunno|not sure|im not sure"
                 r"|i am not sure|unsure|maybe|no idea|i have no idea|i dont know honestly"
                 r"|sort of|sorta|i think so|i guess so|possibly|perhaps|a bit|a little"
                 # "help me" to "are you safe?": not a clear yes; the reply for not sure gives
                 # the emergency number, the helplines, their people and a calm minute.
                 r"|help|help me|please|please help|please help me|i need help"
                 # Spanish: "no estoy segura" is "I'm not sure" here, never "not safe".
                 r"|no se|no lo se|nose|ni idea|no tengo ni idea|no estoy segur[oa]|quizas|quiza"
                 r"|tal vez|a lo mejor|puede ser|creo que si|mas o menos|un poco|ayuda|ayudame"
                 r"|por favor|por favor ayudame|ayudame por favor|necesito ayuda|auxilio"
                 r"|socorro")  # fmt: skip
_SAFE = _whole(r"(?:(?:yes|yeah|yep|yup|ya)\s)?(?:im|i am|i feel|i\s?m)?\s?"
               r"(?:safe|ok|okay|fine|alright|all right|good)(?:\s(?:enough|here))?"
               r"|(?:si\s)?(?:estoy\s)?(?:a salvo|bien|tranquil[oa])"
               r"(?:\s(?:aqui|en casa))?")  # fmt: skip
_UNSAFE = _whole(r"(?:(?:no|nope|nah)\s)?(?:im not|i am not|i dont feel|not)\s?"
                 r"(?:safe|ok|okay|fine|alright|all right)"
                 r"|unsafe|im in danger|i am in danger"
                 r"|(?:no\s)?no estoy (?:a salvo|bien)|no me siento (?:a salvo|bien|segur[oa])"
                 r"|estoy en peligro|no,? no estoy a salvo")  # fmt: skip
# "no, I was talking about a documentary": putting us right, not an answer.
_CORRECTION = re.compile(
    r"\b(?:i meant|i mean|meant|talking about|was about|not what i meant|not like that"
    r"|didnt mean|did not mean|misunderstood|misread|got it wrong|wrong idea|joking|kidding"
    r"|just saying|figure of speech|expression|a joke|documentary|film|movie|series|show"
    r"|song|lyrics|book|novel|game|character|quote|quoting|news|article|podcast|history"
    r"|homework|essay|false alarm|not serious"
    r"|quise decir|queria decir|hablaba de|hablo de|era broma|es broma|bromeando|una expresion"
    r"|forma de hablar|pelicula|serie|libro|cancion|noticia|me malinterpretaste|malentendido"
    r"|no iba en serio|no lo decia en serio)\b"
)
_OTHER = re.compile(
    r"\b(?:someone else|somebody else|not about me|isnt about me|its about my \w+|its my \w+ not me"
    r"|about (?:a|my) (?:friend|sister|brother|mum|mom|mother|dad|father|partner|son"
    r"|daughter|wife|husband|girlfriend|boyfriend|cousin|colleague|classmate|flatmate|roommate)"
    r"|otra persona|alguien mas|no es sobre mi|no es por mi|no hablo de mi"
    r"|es (?:sobre|por) (?:mi|una|un) (?:amig[oa]|herman[oa]|madre|padre|mama|papa|pareja"
    r"|hij[oa]|prim[oa]|novi[oa]|compa[nñ]er[oa]))\b"
)


# A recent act: the emergency number comes before anything else. The classifier's families
# for means in hand and self-harm done, and (in case a family is renamed or a phrasing
# misses it) a few plain act words of our own, read on the folded text.
ACT_FAMILIES = frozenset({"means_now", "self_harm_act"})
_ACT = re.compile(
    r"\b(?:(?:took|taken|swallowed|downed) (?:all (?:my|the|of)|a lot of|too many|the whole"
    r"|a whole|a full|everything|an overdose|\d+)|overdosed|i ?(?:ve )?od(?:d|ed)"
    r"|(?:wont|cant|will not|doesnt|isnt) stop(?:ping)? (?:the )?bleeding|cut (?:too|so) deep"
    r"|cut deeper|losing (?:a lot of|so much) blood"
    # Spanish, accents folded: something swallowed ("me tomé veinte pastillas", "me bebí la
    # lejía"), an overdose, bleeding that won't stop. Read only on a risky message, so the
    # pills of an ordinary day never get here.
    r"|me (?:he )?(?:tome|tomado|trague|tragado|bebi|bebido|eche|echado)"
    r"(?: \w+){0,4}? (?:pastillas|pastis|pepas|pildoras|comprimidos|capsulas|medicamentos"
    r"|medicinas|remedios|paracetamol|ibuprofeno|insulina|lejia|cloro|veneno|raticida"
    r"|matarratas|anticongelante)|(?:bebi|trague|tome) (?:\w+ ){0,3}(?:lejia|cloro|veneno"
    r"|raticida|matarratas|anticongelante)|sobredosis|no (?:para|deja|paro) de sangrar)\b"
)


def is_act(text: str, families: tuple[str, ...] = ()) -> bool:
    """A recent act of harm: an overdose taken, a cut that won't stop bleeding, means in hand.

    True when one of ACT_FAMILIES fired or the text has one of a few plain act words
    ("I took all my pills", "I've taken an overdose"). Used only on risky messages.
    """
    return bool(ACT_FAMILIES.intersection(families)) or bool(_ACT.search(fold(text)))


def read_answer(text: str) -> Reading | None:
    """How a typed reply to a yes/no question of the crisis dialog reads, or None if unclear.

    Only clear replies count: "yes", "I'm safe", "no", "not really", "I don't know"...
    "no, I was talking about a documentary" is a correction ("misread"), "it's about my
    friend" is about someone else ("other"). Anything else is None: asked again gently.
    """
    words = fold(text)
    if not words:
        return None
    for reading, pattern in (("safe", _SAFE), ("unsafe", _UNSAFE), ("unsure", _UNSURE),
                             ("yes", _YES), ("no", _NO)):  # fmt: skip
        if pattern.match(words):
            return reading  # type: ignore[return-value]
    if _OTHER.search(words):
        return "other"
    if _CORRECTION.search(words):
        return "misread"
    return None


# --- risk memory, "not safe" and the follow-up -------------------------------------------


def forget_risk(state: UserState) -> None:
    """They put us right: the last risky message does not count towards the next one."""
    state.profile.risk_level = None
    state.profile.risk_at = None


def plan_followup(state: UserState, now: datetime, delay: timedelta, quiet: bool) -> None:
    """Set `followup_at` to now + delay (moved out of quiet hours when `quiet`), unless an
    earlier follow-up is already planned."""
    profile = state.profile
    at = now + delay
    if quiet and profile.timezone:
        # A zone or window we cannot read: keep the plain delay.
        with suppress(ValueError, KeyError):
            at = after_quiet_hours(at, profile.timezone, profile.quiet_start, profile.quiet_end)
    planned = profile.followup_at
    if planned is None or planned <= now or at < planned:
        profile.followup_at = at


def mark_unsafe(state: UserState, now: datetime) -> None:
    """They said they are not safe: keep the emergency number in view and come back soon."""
    state.profile.unsafe_at = now
    plan_followup(state, now, FOLLOWUP_UNSAFE, quiet=False)


@action("crisis_opened")
def crisis_opened(call: HookCall) -> None:
    """The crisis reply was shown: a gentle follow-up in a couple of hours."""
    plan_followup(call.state, call.now, FOLLOWUP_LATER, quiet=True)


@enter("unsafe_marker")
def unsafe_marker(call: HookCall) -> dict[str, Any]:
    """On the "not safe" screen, however they reached it (tapped, typed, "I still need help")."""
    mark_unsafe(call.state, call.now)
    return {}


@enter("listen_turn")
def listen_turn(call: HookCall) -> dict[str, Any]:
    """The warm reply's `variant` (0, 1, 2, 0...): counted in the frame, so "help me" sent
    three times is not answered word for word the same three times."""
    count = int(call.frame.slots.get(LISTENS, 0))
    call.frame.slots[LISTENS] = count + 1
    return {"variant": count % LISTEN_VARIANTS}


@action("crisis_called")
def crisis_called(call: HookCall) -> None:
    """ "I've called / someone is with me": the emergency banner can rest."""
    call.state.profile.unsafe_at = None


@enter("followup_sent")
def followup_sent(call: HookCall) -> dict[str, Any]:
    """`unsafe`: whether they still have not said they called or someone is with them
    (`profile.unsafe_at` is set), for the follow-up's words."""
    return {"unsafe": call.state.profile.unsafe_at is not None}


# --- answers ---------------------------------------------------------------------------


def _pending_fits(call: HookCall) -> bool:
    """Their held words can still go where they were writing them."""
    stack = call.state.stack
    below = stack[-2] if len(stack) >= 2 and stack[-1] is call.frame else None
    where = call.frame.slots.get(PENDING_AT)
    return (
        call.frame.slots.get(PENDING) is not None
        and below is not None
        and where == [below.dialog, below.step]
    )


def _back(call: HookCall, forget: bool = True) -> str | None:
    """Leaving after a false alarm: their words kept if they were mid-answer.

    `forget`: the alarm no longer counts towards the next one. Not after the concern
    question's "no": a concern soon after another concern still counts as a crisis.
    """
    if forget:
        forget_risk(call.state)
    if _pending_fits(call):
        call.frame.slots[ANSWER_BELOW] = call.frame.slots.pop(PENDING)
    return "cleared"


@action("crisis_answer")
def crisis_answer(call: HookCall) -> str | None:
    """ "Are you safe right now?" typed instead of tapped. Their words are not kept."""
    typed = call.frame.slots.pop(TYPED, None)
    if typed is None:  # a button: its own next
        return None
    reading = read_answer(str(typed))
    if reading in ("yes", "safe"):
        return "safe"
    if reading in ("no", "unsafe"):
        return "unsafe"
    if reading == "unsure":
        return "unsure"
    if reading == "other":
        forget_risk(call.state)
        return "other"
    if reading == "misread":
        return crisis_misread(call)
    return "unclear"


@action("concern_answer")
def concern_answer(call: HookCall) -> str | None:
    """ "Are you thinking of ending your life or hurting yourself?" typed instead of tapped."""
    typed = call.frame.slots.pop(TYPED, None)
    if typed is None:
        call.frame.slots.pop(AGAIN, None)
        return None
    reading = read_answer(str(typed))
    call.frame.slots.pop(AGAIN, None)
    if reading in ("yes", "unsafe", "unsure"):
        return "help"
    if reading in ("no", "safe", "misread"):
        return _back(call, forget=False)
    if reading == "other":
        forget_risk(call.state)
        return "other"
    call.frame.slots[AGAIN] = True
    return "concern"


@action("concern_no")
def concern_no(call: HookCall) -> str | None:
    """ "No, that's not what I meant": back to their step, their words kept as the answer.

    The risk memory stays (a level and a time): two doubtful messages within RISK_MEMORY
    are not doubtful, even when the first was answered "no"."""
    return _back(call, forget=False)


@action("crisis_misread")
def crisis_misread(call: HookCall) -> str | None:
    """ "That's not what I meant" on a crisis reply: offer to keep their words, else back.

    The goodbye fits what was put right (the abuse reply, or a risk to life)."""
    forget_risk(call.state)
    call.frame.slots[CORRECTED] = "abuse" if call.frame.step == "abuse" else "risk"
    return "misread_keep" if _pending_fits(call) else "cleared"


@action("about_other")
def about_other(call: HookCall) -> None:
    """ "It's about someone else": this person's own risk memory does not count it."""
    forget_risk(call.state)


@action("about_me")
def about_me(call: HookCall) -> None:
    """ "It's actually about me": remembered as a crisis of their own."""
    call.state.profile.risk_level = "crisis"
    call.state.profile.risk_at = call.now


@action("crisis_keep")
def crisis_keep(call: HookCall) -> str | None:
    """ "Keep it as my answer": their words go to the step they were writing in."""
    if not _pending_fits(call):
        call.frame.slots.pop(PENDING, None)
        return "cleared"
    call.frame.slots[ANSWER_BELOW] = call.frame.slots.pop(PENDING)
    return None


@action("misread_keep_answer")
def misread_keep_answer(call: HookCall) -> str | None:
    """ "Shall I keep what you wrote?" typed: yes keeps, no leaves it out, else asked again."""
    typed = call.frame.slots.pop(TYPED, None)
    if typed is None:
        return None
    reading = read_answer(str(typed))
    if reading in ("yes", "safe"):
        return crisis_keep(call) or "kept"
    if reading in ("no", "unsafe"):
        crisis_drop(call)
        return "cleared"
    return "misread_keep"


@action("followup_answer")
def followup_answer(call: HookCall) -> str | None:
    """ "How are you doing now?" typed: okay, still hard (the crisis reply), or the warm reply."""
    typed = call.frame.slots.pop(TYPED, None)
    if typed is None:
        return None
    reading = read_answer(str(typed))
    if reading in ("yes", "safe"):
        return "okay"
    if reading in ("no", "unsafe", "unsure"):
        return "help"
    return "listen"


@action("crisis_drop")
def crisis_drop(call: HookCall) -> None:
    """ "Leave it out": the words they were writing when help came (slot `pending`) are dropped."""
    call.frame.slots.pop(PENDING, None)
