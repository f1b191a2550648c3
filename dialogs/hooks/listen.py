"""Hooks for the `listen` dialog: the reply to words a step could not take as an answer.

The dialog manager (dialogs/manager_listen.py) pushes the dialog on top of the step that got the
words, with these slots (never the words themselves):

- `intent`, `reply`, `kind`: the matched intent's id, reply template and kind (None: no
  intent matched, the general warm reply is used);
- `offers`: the offer ids to show as buttons, in order (see OFFERS);
- `heard`: how many messages this frame has answered (1 for the first); `again`: True
  when the latest message brought no new intent, so the reply turns shorter and varies;
- `value`: the number the mood-in-words confirm proposes (step `confirm`);
- `zones`: [[IANA zone, label], ...] for a country with several zones (step `zones`);
- `idea`: how many "another idea" taps the small-step screen has had;
- `reopen`: the step underneath is a screen to read (`display`): "back" opens its dialog
  again, since the stack rules never bring such a screen back by themselves.

Every screen ends with a way back to the step underneath ("Back to the check-in"); with
nothing underneath it is the menu instead. Offers that need a profile are left out for
someone still setting up.
"""

from __future__ import annotations

from typing import Any

from dialogs import drafts
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.hooks import crisis as crisis_hooks
from dialogs.hooks.contacts import contact_list
from dialogs.hooks.sos import ready_link
from dialogs.model import Frame
from dialogs.spec import DIALOG_PREFIX, END, ChoiceSpec

DIALOG = "listen"
REPLY, CONFIRM, ZONES = "reply", "confirm", "zones"  # the steps the dialog manager opens it at
MIN_OFFERS, MAX_OFFERS = 2, 3
# Offer id -> where its button leads: a step of this dialog, `dialog:<id>`, or None for
# "person" (a link to their first person, or adding one). Targets are checked by a test.
OFFERS: dict[str, str | None] = {
    "person": None,
    "reframe": "dialog:reframe",
    "step": "step",
    "breathe": "breathe",
    "sos": "dialog:sos",
    "pause": "dialog:pause",
    "settings": "dialog:settings",
    "about": "about",
    "help": "help",
    "menu": "dialog:menu",
}
NEEDS_PROFILE = frozenset({"person", "reframe", "pause", "settings", "menu"})
DEFAULT_OFFERS = ("person", "breathe", "help")  # no intent matched
STOP_OFFERS = ("pause", "settings")  # "stop messaging me": a break, or fewer messages
FILL = ("breathe", "step", "sos", "help")  # need no profile: they top up a short list
# The back button's label names these places ("Back to the check-in"); others get a
# general "Back to where we were" (prompts/en/listen/buttons.yaml).
PLACES = frozenset({"checkin", "menu", "onboarding", "settings", "pause"})
IDEAS = 6  # prompts/en/listen/step.j2 has this many small steps


def below(call: HookCall) -> Frame | None:
    """The frame under this listen frame, or None when it is the only one."""
    stack = call.state.stack
    for i, frame in enumerate(stack):
        if frame is call.frame:
            return stack[i - 1] if i > 0 else None
    return stack[-2] if len(stack) > 1 else None


def offers_for(
    wanted: tuple[str, ...], onboarded: bool, under: str | None, stop: bool = False
) -> list[str]:
    """The offer ids to show, at most MAX_OFFERS: known ones, that fit a person who is
    (not) onboarded, without one that opens the dialog underneath (the menu, settings:
    the back button goes there already).

    `stop`: a request to hear less; pause and settings come first. When fewer than
    MIN_OFFERS of the wanted ones fit (someone still setting up), FILL tops them up."""

    def fits(offer: str) -> bool:
        return (
            offer in OFFERS
            and (onboarded or offer not in NEEDS_PROFILE)
            and not (under is not None and OFFERS[offer] == f"dialog:{under}")
        )

    shown: list[str] = []
    for offer in [*STOP_OFFERS, *wanted] if stop else wanted:
        if fits(offer) and offer not in shown:
            shown.append(offer)
    for offer in FILL:
        if len(shown) >= MIN_OFFERS:
            break
        if fits(offer) and offer not in shown:
            shown.append(offer)
    return shown[:MAX_OFFERS]


@enter("listen_reply")
def listen_reply(call: HookCall) -> dict[str, Any]:
    """Values for every listen template: reply (intent template name or None), kind,
    intent, heard (int >= 1), again (bool), value (int or None), where (dialog id
    underneath or None), onboarded (bool)."""
    slots = call.frame.slots
    under = below(call)
    return {
        "reply": slots.get("reply"),
        "kind": slots.get("kind"),
        "intent": slots.get("intent"),
        "heard": int(slots.get("heard", 1)),
        "again": bool(slots.get("again")),
        "value": slots.get("value"),
        "where": under.dialog if under else None,
        "onboarded": call.state.profile.onboarded,
    }


@enter("listen_idea")
def listen_idea(call: HookCall) -> dict[str, Any]:
    """`idea`: which small step to show (0..IDEAS-1), stable for a day and a frame: the
    day's number plus the "another idea" taps, so the same screen does not jump about."""
    taps = int(call.frame.slots.get("idea", 0))
    return {"idea": (call.now.toordinal() + taps) % IDEAS}


def _back(call: HookCall) -> ChoiceSpec:
    """Back to the step underneath; with nothing there, the menu (or just a close)."""
    under = below(call)
    if under is None and call.state.profile.onboarded:
        return ChoiceSpec(id="menu", label="listen.offer.menu", next="dialog:menu")
    where = under.dialog if under is not None and under.dialog in PLACES else ""
    # A screen to read underneath (the menu, a card) is opened again, not resumed.
    reopen = under is not None and call.frame.slots.get("reopen")
    target = f"{DIALOG_PREFIX}{under.dialog}" if under is not None and reopen else END
    return ChoiceSpec(
        id="back", label="listen.back", ctx=(("where", where),), hook="listen_back", next=target
    )


def _offer(call: HookCall, offer: str) -> ChoiceSpec | None:
    if offer != "person":
        return ChoiceSpec(id=offer, label=f"listen.offer.{offer}", next=OFFERS[offer])
    people = contact_list(call)["people"]
    if not people:
        return ChoiceSpec(id="person", label="listen.offer.add_person", next="dialog:contacts")
    first = people[0]
    label = "listen.offer.send" if first["reach"] == "telegram" else "listen.offer.share"
    return ChoiceSpec(
        id="person", label=label, ctx=(("name", first["name"]),), url=ready_link(first)
    )


@choices("listen_offers")
def listen_offers(call: HookCall) -> list[ChoiceSpec]:
    """The reply's buttons: its offers (2-3), then the way back."""
    found = [_offer(call, offer) for offer in call.frame.slots.get("offers", [])]
    return [c for c in found if c is not None] + [_back(call)]


@choices("listen_confirm")
def listen_confirm(call: HookCall) -> list[ChoiceSpec]:
    """ "Shall I note that as 2?": [Yes, 2] gives the number to the step underneath;
    [Pick a number] shows that step again."""
    value = call.frame.slots.get("value")
    yes = ChoiceSpec(
        id="yes",
        label="listen.confirm.yes",
        ctx=(("value", value),),
        value=str(value),
        hook="listen_keep",
        next=END,
    )
    pick = ChoiceSpec(id="pick", label="listen.confirm.pick", hook="listen_back", next=END)
    return [yes, pick]


@choices("listen_zones")
def listen_zones(call: HookCall) -> list[ChoiceSpec]:
    """One button per zone of the country they named, then "another place"."""
    zones = call.frame.slots.get("zones") or []
    buttons = [
        ChoiceSpec(
            id=f"z{i}",
            label="listen.zone",
            ctx=(("label", label),),
            value=zone,
            hook="listen_keep",
            next=END,
        )
        for i, (zone, label) in enumerate(zones)
    ]
    other = ChoiceSpec(id="other", label="listen.zones.other", hook="listen_back", next=END)
    return [*buttons, other]


@choices("listen_more")
def listen_more(call: HookCall) -> list[ChoiceSpec]:
    """Under a breathing minute or a small step: once more / another idea, and the way back."""
    step = call.frame.step
    again = {"breathe": "listen.breathe.again", "step": "listen.step.another"}.get(step)
    if again:
        return [
            ChoiceSpec(id="again", label=again, hook="listen_more_again", next=step),
            _back(call),
        ]
    return [_back(call)]


@action("listen_keep")
def listen_keep(call: HookCall) -> None:
    """The tapped value goes to the step underneath as its answer when this dialog ends
    (the dialog manager's `answer_below`, as the crisis dialog's "keep it" does)."""
    call.frame.slots[crisis_hooks.ANSWER_BELOW] = str(call.value)


@action("listen_back")
def listen_back(call: HookCall) -> None:
    """ "Back to the check-in" asks for the step underneath by name: it comes back however
    long this screen was open (the covered frame's mark is renewed; dialogs/drafts.py)."""
    under = below(call)
    if under is not None:
        drafts.mark_paused(under, drafts.SHORTCUT, call.now)


@action("listen_more_again")
def listen_more_again(call: HookCall) -> None:
    """Once more / another idea: the small-step screen moves to its next idea."""
    if call.frame.step == "step":
        call.frame.slots["idea"] = int(call.frame.slots.get("idea", 0)) + 1
