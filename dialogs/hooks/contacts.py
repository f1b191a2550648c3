"""Hooks for the reach-out list: people a person could message on a heavy day.

Each person is a "contact" record: {name, reach, handle, note, message}, where
reach is "telegram" (handle: the username), "phone" (handle: the normalised
number) or "other" (handle: their own words), and message None means the usual
"Need a quick chat?". `contact_list`, `contact_actions` and prompts/en/contacts/
_list.j2 are meant for reuse by any dialog that shows the list.

Buttons that act on one person carry its record id in the choice id, and are
rebuilt from the person's own records on every tap, so an id that is not theirs
(stale, removed or forged) matches nothing and gets the engine's "expired" reply.
While a person is being changed, `slots.person` holds their record id; without
it, the add steps are adding someone new.
"""

from __future__ import annotations

from typing import Any

from dialogs import contact_links, records
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.model import Record, UserState
from dialogs.spec import ChoiceSpec

KIND = "contact"
MAX_PEOPLE = 5  # a short list is quicker to use in a hard moment
TYPED = "typed"  # slot of the username and phone steps


def people(state: UserState) -> list[Record]:
    return state.records.get(KIND, [])


def default_message(state: UserState) -> str:
    # The words live with the other prompts; reading them is deterministic, so still pure.
    from prompts import default_catalog

    return default_catalog().label(state.profile.locale, "contacts.default_message")


def view(state: UserState, record: Record) -> dict[str, Any]:
    """One person, ready for a template (their words stay variables, so they are escaped)."""
    data = record.data
    return {
        "id": record.id,
        "name": data["name"],
        "reach": data["reach"],
        "handle": data["handle"],
        "note": data.get("note"),
        "message": data.get("message") or default_message(state),
        "position": people(state).index(record) + 1,
    }


def _editing(call: HookCall) -> Record | None:
    person = call.frame.slots.get("person")
    return None if person is None else records.find(call.state, KIND, person)


def _change(record: Record, **fields: Any) -> None:
    record.data = {**record.data, **fields}


def _named(record: Record) -> tuple[tuple[str, Any], ...]:
    """Label values for a button that names this person."""
    return (("name", record.data["name"]),)


# --- the list, and its one-tap links ------------------------------------------------


@enter("contact_list")
def contact_list(call: HookCall) -> dict[str, Any]:
    found = people(call.state)
    return {"people": [view(call.state, r) for r in found], "count": len(found),
            "max_people": MAX_PEOPLE}  # fmt: skip


@choices("contact_actions")
def contact_actions(call: HookCall) -> list[ChoiceSpec]:
    """Link buttons: open the chat (Telegram usernames) and share the ready message (all)."""
    buttons = []
    for i, record in enumerate(people(call.state), start=1):
        person = view(call.state, record)
        name = _named(record)
        if person["reach"] == "telegram":
            url = contact_links.chat_url(person["handle"])
            buttons.append(ChoiceSpec(id=f"chat{i}", label="contacts.chat", ctx=name, url=url))
        url = contact_links.share_url(person["message"])
        buttons.append(ChoiceSpec(id=f"share{i}", label="contacts.share", ctx=name, url=url))
    return buttons


@action("contacts_fresh")
def contacts_fresh(call: HookCall) -> None:
    """Empty the frame's slots: back at the list, or starting or stopping an addition,
    nothing half-done is kept (and no `person` is being changed). Where to go next is the
    dialog file's (conditions on `count('contact')`)."""
    call.frame.slots = {}


# --- adding someone -----------------------------------------------------------------


@enter("contact_card")
def contact_card(call: HookCall) -> dict[str, Any]:
    record = _editing(call)
    person = view(call.state, record) if record else None
    name = person["name"] if person else call.frame.slots.get("name", "")
    return {"person": person, "name": name, "editing": person is not None,
            "count": len(people(call.state))}  # fmt: skip


@enter("contact_retry")
def contact_retry(call: HookCall) -> dict[str, Any]:
    """The username and phone prompts, saying what was wrong with a rejected answer.

    A rejected answer is taken back out of the slots here, so it leaves nothing behind.
    """
    typed = call.frame.slots.pop(TYPED, None)
    ctx = contact_card(call) | {"problem": None, "typed": typed}
    if typed is not None:
        check = CHECKS[call.frame.step](typed)
        ctx |= {"problem": check.problem, "chars": check.chars, "length": check.count}
    return ctx


CHECKS = {"username": contact_links.check_username, "phone": contact_links.check_phone}
REACH = {"username": "telegram", "phone": "phone"}


def _checked_reach(call: HookCall) -> str | None:
    typed = call.frame.slots.get(TYPED)
    if typed is None:  # a button, not an answer
        call.frame.slots.pop(TYPED, None)
        return None
    check = CHECKS[call.frame.step](typed)
    if not check.ok:
        return call.frame.step  # asked again; contact_retry explains
    call.frame.slots.pop(TYPED)
    assert check.value is not None
    return _keep_reach(call, REACH[call.frame.step], check.value)


def _keep_reach(call: HookCall, reach: str, handle: str) -> str | None:
    if call.frame.slots.get("person") is None:
        call.frame.slots.update(reach=reach, handle=handle)
        return None
    record = _editing(call)
    if record is None:
        return "open"
    _change(record, reach=reach, handle=handle)
    return "person"


@action("contacts_check_username")
def contacts_check_username(call: HookCall) -> str | None:
    return _checked_reach(call)


@action("contacts_check_phone")
def contacts_check_phone(call: HookCall) -> str | None:
    return _checked_reach(call)


@action("contacts_save_other")
def contacts_save_other(call: HookCall) -> str | None:
    typed = call.frame.slots.pop(TYPED, None)
    return None if typed is None else _keep_reach(call, "other", str(typed))


@action("contacts_add")
def contacts_add(call: HookCall) -> str | None:
    slots = call.frame.slots
    if len(people(call.state)) >= MAX_PEOPLE:
        return "full"
    if not {"name", "reach", "handle"} <= slots.keys():  # a frame from an older script
        return "name"
    data = {"name": slots["name"], "reach": slots["reach"], "handle": slots["handle"],
            "note": slots.get("note"), "message": None}  # fmt: skip
    records.add(call.state, KIND, data, call.now)
    call.frame.slots = {}
    return None


@enter("contact_added")
def contact_added(call: HookCall) -> dict[str, Any]:
    found = people(call.state)
    newest = view(call.state, found[-1]) if found else None
    return {"person": newest, "count": len(found), "max_people": MAX_PEOPLE}


# --- changing someone ---------------------------------------------------------------


@choices("contact_people")
def contact_people(call: HookCall) -> list[ChoiceSpec]:
    return [
        ChoiceSpec(id=str(r.id), label="contacts.pick_person", value=r.id, ctx=_named(r))
        for r in people(call.state)
        if r.id is not None  # saved ones only: a button needs a lasting id
    ]


# (choice, next step) on a person's card; "up" only shows for those below the first.
CARD = (("rename", "rename"), ("reach", "how"), ("note", "edit_note"),
        ("message", "message"), ("up", "person"), ("remove", "confirm_remove"))  # fmt: skip


@choices("contact_person_actions")
def contact_person_actions(call: HookCall) -> list[ChoiceSpec]:
    record = _editing(call)
    if record is None or record.id is None:
        return []
    first = people(call.state).index(record) == 0
    return [
        ChoiceSpec(
            id=f"{what}.{record.id}",
            label=f"contacts.person.{what}",
            value=record.id,
            next=target,
            hook="contacts_move_up" if what == "up" else None,
        )
        for what, target in CARD
        if not (what == "up" and first)
    ]


@action("contacts_save_name")
def contacts_save_name(call: HookCall) -> str | None:
    return _save_field(call, "new_name", "name")


@action("contacts_save_note")
def contacts_save_note(call: HookCall) -> str | None:
    return _save_field(call, "new_note", "note")


@action("contacts_save_message")
def contacts_save_message(call: HookCall) -> str | None:
    return _save_field(call, "new_message", "message")


def _save_field(call: HookCall, slot: str, field: str) -> str | None:
    typed = call.frame.slots.pop(slot, None)
    if typed is None:  # a button: its own hook (if any) does the work
        return None
    record = _editing(call)
    if record is None:
        return "open"
    _change(record, **{field: typed})
    return None


@action("contacts_clear_note")
def contacts_clear_note(call: HookCall) -> str | None:
    return _reset(call, "note")


@action("contacts_reset_message")
def contacts_reset_message(call: HookCall) -> str | None:
    return _reset(call, "message")


def _reset(call: HookCall, field: str) -> str | None:
    record = _editing(call)
    if record is None:
        return "open"
    _change(record, **{field: None})
    return None


@action("contacts_move_up")
def contacts_move_up(call: HookCall) -> None:
    record = _editing(call)
    found = people(call.state)
    if record is not None and (i := found.index(record)) > 0:
        found[i - 1], found[i] = found[i], found[i - 1]


@choices("contact_remove_choices")
def contact_remove_choices(call: HookCall) -> list[ChoiceSpec]:
    record = _editing(call)
    if record is None or record.id is None:
        return []
    label = "contacts.confirm_remove."
    return [
        ChoiceSpec(id=f"yes.{record.id}", label=f"{label}yes", value=record.id,
                   ctx=_named(record), hook="contacts_remove", next="removed"),
        ChoiceSpec(id=f"no.{record.id}", label=f"{label}no", value=record.id,
                   ctx=_named(record), next="person"),
    ]  # fmt: skip


@action("contacts_remove")
def contacts_remove(call: HookCall) -> str | None:
    record = _editing(call)
    if record is None:
        return "open"
    records.remove(call.state, KIND, record)
    call.frame.slots = {"removed_name": record.data["name"]}
    return None


@enter("contact_removed")
def contact_removed(call: HookCall) -> dict[str, Any]:
    return {"name": call.frame.slots.get("removed_name", ""), "count": len(people(call.state))}
