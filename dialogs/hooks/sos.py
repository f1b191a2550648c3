"""Hooks for "Need a quick chat?" and the crisis reply: the person's safety net at a glance.

Both show, in one message: their reach-out list with its one-tap links, their
self-soothe kit (photos behind a button) and the filled parts of their safety plan,
beside the helplines. A Telegram message holds 4096 characters, so their own words
are shortened, step by step, until the whole net fits: a reply that is refused for
being too long would leave someone with nothing at the worst moment.
"""

from __future__ import annotations

from typing import Any

from dialogs.hooks import HookCall, action, choices, enter
from dialogs.hooks.contacts import contact_actions, contact_list
from dialogs.hooks.kit import items as kit_items
from dialogs.hooks.kit import photos, see_photos, site
from dialogs.hooks.plan import sections
from dialogs.inputs import fold
from dialogs.spec import ChoiceSpec

BUDGET = 2600  # characters of their own words; the fixed lines and helplines take the rest


# (note, ready message, kit line, plan line, plan lines per part); None = in full.
LEVELS: tuple[tuple[int | None, int | None, int, int, int], ...] = (
    (None, None, 200, 100, 5),
    (None, None, 120, 70, 3),
    (60, 100, 80, 50, 2),
    (0, 60, 50, 30, 1),
)


def _short(text: str, limit: int | None) -> str:
    """At most `limit` characters: None keeps it whole, 0 leaves it out."""
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…" if limit > 0 else ""


def _people(call: HookCall, note: int | None, message: int | None) -> list[dict[str, Any]]:
    people = contact_list(call)["people"]
    return [
        p
        | {
            "note": _short(p["note"], note) if p["note"] else None,
            "message": _short(p["message"], message),
        }
        for p in people
    ]


def _kit(call: HookCall, limit: int) -> list[dict[str, Any]]:
    shown = []
    for record in kit_items(call.state):
        data = record.data
        if data.get("type") == "text":
            shown.append({"type": "text", "text": _short(str(data["text"]), limit)})
        elif data.get("type") == "link":
            label = _short(str(data.get("label") or ""), min(limit, 60))
            shown.append({"type": "link", "url": data["url"], "label": label or site(data["url"])})
    return shown


def _plan(call: HookCall, limit: int, per_part: int) -> list[dict[str, Any]]:
    return [
        {
            "section": section,
            "lines": [_short(line, limit) for line in lines[:per_part]],
            "more": max(len(lines) - per_part, 0),
        }
        for section, lines in sections(call.state).items()
        if lines
    ]


def _size(net: dict[str, Any]) -> int:
    """Roughly how many characters their own words take, with their bullets and labels."""
    people = sum(len(p["name"]) + len(p["handle"]) + len(p["note"] or "") + len(p["message"]) + 16
                 for p in net["people"])  # fmt: skip
    kit = sum(len(k.get("text") or k.get("label") or "") + 6 for k in net["kit"])
    plan = sum(40 + sum(len(line) + 3 for line in part["lines"]) for part in net["plan"])
    return people + kit + plan


@enter("safety_net")
def safety_net(call: HookCall) -> dict[str, Any]:
    net: dict[str, Any] = {}
    for note, message, kit_line, plan_line, per_part in LEVELS:
        net = {"people": _people(call, note, message), "kit": _kit(call, kit_line),
               "plan": _plan(call, plan_line, per_part)}  # fmt: skip
        if _size(net) <= BUDGET:
            break
    return net | {"kit_photos": len(photos(call.state)), "count": len(net["people"])}


# --- buttons ------------------------------------------------------------------------


@choices("sos_actions")
def sos_actions(call: HookCall) -> list[ChoiceSpec]:
    """Their people's links (or an invitation to add one), then their photos, if any."""
    buttons = contact_actions(call)
    if not buttons and call.state.profile.onboarded:
        # Nobody on the list yet: adding one person is the most useful next step.
        buttons.append(ChoiceSpec(id="add", label="sos.main.add", next="dialog:contacts"))
    return buttons + net_photos(call)


@choices("net_links")
def net_links(call: HookCall) -> list[ChoiceSpec]:
    return contact_actions(call)


@choices("net_photos")
def net_photos(call: HookCall) -> list[ChoiceSpec]:
    return [see_photos(call, next_step="photos")] if photos(call.state) else []


@choices("net_links_and_photos")
def net_links_and_photos(call: HookCall) -> list[ChoiceSpec]:
    return contact_actions(call) + net_photos(call)


@action("net_back")
def net_back(call: HookCall) -> str | None:
    """Back to what they were doing; with nothing underneath, a kind goodbye instead."""
    return "bye" if len(call.state.stack) <= 1 else None


# --- "Are you safe right now?" typed instead of tapped ------------------------------

_UNSURE = ("not sure", "unsure", "dont know", "no idea", "maybe", "idk")
_NO = ("no", "nope", "nah", "n")
_UNSAFE = ("not safe", "unsafe", "im not", "i am not", "not really")
_YES = ("yes", "yeah", "yep", "yup", "y", "ok", "okay", "fine")


@action("crisis_answer")
def crisis_answer(call: HookCall) -> str | None:
    """A typed answer, read generously; anything unclear is taken as "not sure".

    Their words are not kept: the slot is emptied at once.
    """
    typed = call.frame.slots.pop("typed", None)
    if typed is None:  # a button: its own next
        return None
    words = fold(str(typed))
    first = words.split(" ", 1)[0] if words else ""
    if any(phrase in words for phrase in _UNSURE):
        return "unsure"
    if first in _NO or any(phrase in words for phrase in _UNSAFE):
        return "unsafe"
    if first in _YES or "safe" in words.split():
        return "safe"
    return "unsure"
