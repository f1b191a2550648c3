"""Hooks for "Need a quick chat?" and the crisis reply: the person's safety net at a glance.

The first screen is short: one button per person on their reach-out list (one tap gets
"Need a quick chat?" ready for them), the helplines, and one button to their self-soothe
kit and safety plan. That second screen shows the kit (photos behind a button) and the
filled parts of the plan. A Telegram message holds 4096 characters, so their own words
are shortened, step by step, until the whole net fits: a reply that is refused for being
too long would leave someone with nothing at the worst moment.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dialogs import contact_links
from dialogs.hooks import HookCall, choices, enter
from dialogs.hooks.contacts import contact_list
from dialogs.hooks.kit import items as kit_items
from dialogs.hooks.kit import photos, see_photos, site
from dialogs.hooks.plan import sections
from dialogs.spec import ChoiceSpec

BUDGET = 2600  # characters of their own words; the fixed lines and helplines take the rest
MESSAGE_LABEL = 40  # a ready message longer than this is shortened on its button


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
    """Their safety net, shortened until their own words fit BUDGET (2,600 characters of a
    4,096-character Telegram message; LEVELS, step by step): `people` (as contacts' `view`,
    notes and messages shortened), `kit` ([{type: "text", text} | {type: "link", url,
    label}]), `plan` ([{section, lines, more}]), `kit_photos` (how many) and `count` (people)."""
    net: dict[str, Any] = {}
    for note, message, kit_line, plan_line, per_part in LEVELS:
        net = {"people": _people(call, note, message), "kit": _kit(call, kit_line),
               "plan": _plan(call, plan_line, per_part)}  # fmt: skip
        if _size(net) <= BUDGET:
            break
    return net | {"kit_photos": len(photos(call.state)), "count": len(net["people"])}


# --- buttons ------------------------------------------------------------------------


def ready_link(person: dict[str, Any]) -> str:
    """One tap to their person with the ready message in it.

    A Telegram username opens their chat with the words already in the input field
    (t.me/<username>?text=...: clients that ignore `text` still open the chat); other
    ways of reaching someone get Telegram's share link, which asks which chat to send to.
    """
    if person["reach"] == "telegram":
        return contact_links.chat_url(person["handle"]) + "?text=" + quote(person["message"])
    return contact_links.share_url(person["message"])


@choices("net_people")
def net_people(call: HookCall) -> list[ChoiceSpec]:
    """One button per person ("Send Anna: “Need a quick chat?”"; for someone reached by
    phone, "Share “Need a quick chat?” (pick Marie)"), then the kit and plan.

    The kit and the plan sit behind one button so the first screen stays short.
    """
    buttons = [
        ChoiceSpec(
            id=f"send{person['position']}",
            # A share link cannot open their chat: the label says they pick the person.
            label="sos.send" if person["reach"] == "telegram" else "sos.share",
            ctx=(("name", person["name"]), ("message", _short(person["message"], MESSAGE_LABEL))),
            url=ready_link(person),
        )
        for person in contact_list(call)["people"]
    ]
    if kit_items(call.state) or any(sections(call.state).values()):
        buttons.append(ChoiceSpec(id="net", label="sos.net", next="net"))
    return buttons


@choices("sos_actions")
def sos_actions(call: HookCall) -> list[ChoiceSpec]:
    """Their people (or an invitation to add one), then their kit and plan."""
    buttons = net_people(call)
    if not contact_list(call)["people"] and call.state.profile.onboarded:
        # Nobody on the list yet: adding one person is the most useful next step.
        buttons.insert(0, ChoiceSpec(id="add", label="sos.main.add", next="dialog:contacts"))
    return buttons


@choices("net_photos")
def net_photos(call: HookCall) -> list[ChoiceSpec]:
    """ "See my photos" (to the dialog's `photos` step) when the kit has any, else nothing."""
    return [see_photos(call, next_step="photos")] if photos(call.state) else []
