"""Hooks for the reach-out list: people a person could message on a heavy day.

Each person is a "contact" record: {name, reach, handle, note, message}, where
reach is "telegram" (handle: the username), "phone" (handle: the normalised
number) or "other" (handle: their own words), and message None means the usual
"Need a quick chat?". `contact_list`, `contact_actions` and prompts/en/contacts/
_list.j2 are meant for reuse by any dialog that shows the list.

Buttons that act on one person carry its record id in the choice id, and are
rebuilt from the person's own records on every tap, so an id that is not theirs
(stale, removed or forged) matches nothing and gets the dialog manager's "expired" reply.
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
    """Their reach-out list: the CONTACT records, in the order they chose (first = first tried)."""
    return state.records.get(KIND, [])


def default_message(state: UserState) -> str:
    """The usual ready message ("Need a quick chat?") in their locale (label
    `contacts.default_message`), for a person whose `message` is None."""
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
    """`people` (each as `view`), `count` and `max_people` (MAX_PEOPLE, 5), for the list."""
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
    """One person for the add and change steps: `person` (the one being changed, as `view`, or
    None while adding), `name` (theirs, or the slot `name` while adding), `editing` (bool) and
    `count` (people on the list)."""
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
    """The Telegram username step's answer (slot `typed`), checked by contact_links.check_username.

    A button (no `typed`) does nothing here. A username it refuses returns "username" (asked
    again; `contact_retry` says why). A good one is kept in the slots `reach`/`handle` while
    adding (returns None: the file's `next`), or written to the person being changed (returns
    "person", or "open" when that person was removed meanwhile)."""
    return _checked_reach(call)


@action("contacts_check_phone")
def contacts_check_phone(call: HookCall) -> str | None:
    """The phone step's answer (slot `typed`), checked by contact_links.check_phone (kept in
    international form, "+447700900123"): returns "phone" to ask again, else as
    `contacts_check_username` does ("person", "open" or None)."""
    return _checked_reach(call)


@action("contacts_save_other")
def contacts_save_other(call: HookCall) -> str | None:
    """Another way to reach them, in their own words (slot `typed`, up to 100 characters), kept
    as reach "other": None while adding, "person" after changing someone, "open" when that
    person is gone. A button (no `typed`) does nothing."""
    typed = call.frame.slots.pop(TYPED, None)
    return None if typed is None else _keep_reach(call, "other", str(typed))


@action("contacts_add")
def contacts_add(call: HookCall) -> str | None:
    """Save the person being added from the slots `name`, `reach`, `handle`, `note` as a CONTACT
    record ({..., "message": None}: the usual message) and empty the slots.

    Returns "full" when the list already holds MAX_PEOPLE (5) and saves nothing, "name" for a
    frame from an older script without all three answers, else None (the file's `added`)."""
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
    """The newest person (as `view`, or None), `count` and `max_people` for the "added" screen."""
    found = people(call.state)
    newest = view(call.state, found[-1]) if found else None
    return {"person": newest, "count": len(found), "max_people": MAX_PEOPLE}


# --- changing someone ---------------------------------------------------------------


@choices("contact_people")
def contact_people(call: HookCall) -> list[ChoiceSpec]:
    """One button per saved person (value: their record id; label `contacts.pick_person` with
    their `name`); unsaved ones have no lasting id and are left out."""
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
    """The buttons of one person's card (CARD: rename, how to reach, note, message, move up,
    remove), each valued by their record id and going to its step; "move up" only below the
    first. Empty when the person in the slot `person` is gone."""
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
    """The new name (slot `new_name`, up to 40 characters) written to the person being changed.
    Returns "open" when that person is gone, else None; a button does nothing here."""
    return _save_field(call, "new_name", "name")


@action("contacts_save_note")
def contacts_save_note(call: HookCall) -> str | None:
    """The new note (slot `new_note`, up to 100 characters) for the person being changed;
    "open" when that person is gone, else None."""
    return _save_field(call, "new_note", "note")


@action("contacts_save_message")
def contacts_save_message(call: HookCall) -> str | None:
    """Their own ready message (slot `new_message`, up to 200 characters) for the person being
    changed; "open" when that person is gone, else None."""
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
    """ "Clear the note": the person's note becomes None; "open" when the person is gone."""
    return _reset(call, "note")


@action("contacts_reset_message")
def contacts_reset_message(call: HookCall) -> str | None:
    """ "Use the usual message": the person's `message` becomes None (the default one); "open"
    when the person is gone."""
    return _reset(call, "message")


def _reset(call: HookCall, field: str) -> str | None:
    record = _editing(call)
    if record is None:
        return "open"
    _change(record, **{field: None})
    return None


@action("contacts_move_up")
def contacts_move_up(call: HookCall) -> None:
    """Swap the person being changed with the one above them (nothing for the first, or a person
    who is gone): the list's order is the order they would be tried in."""
    record = _editing(call)
    found = people(call.state)
    if record is not None and (i := found.index(record)) > 0:
        found[i - 1], found[i] = found[i], found[i - 1]


@choices("contact_remove_choices")
def contact_remove_choices(call: HookCall) -> list[ChoiceSpec]:
    """ "Yes, remove" (runs `contacts_remove`, then `removed`) and "No, keep" (back to the card)
    for the person being changed, named on both; empty when that person is gone."""
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
    """Remove the person being changed; the slots keep only `removed_name` for the next screen.
    Returns "open" when the person was already gone (a stale button), else None."""
    record = _editing(call)
    if record is None:
        return "open"
    records.remove(call.state, KIND, record)
    call.frame.slots = {"removed_name": record.data["name"]}
    return None


@enter("contact_removed")
def contact_removed(call: HookCall) -> dict[str, Any]:
    """`name` (the one just removed) and `count` (people left) for the "removed" screen."""
    return {"name": call.frame.slots.get("removed_name", ""), "count": len(people(call.state))}
