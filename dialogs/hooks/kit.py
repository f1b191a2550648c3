"""Hooks for the self-soothe kit (/kit): a few words, links and photos that help.

Each item is a "kit_item" record: {type: "text", text} | {type: "link", url, label}
| {type: "photo", file_id, caption}. Photos stay on Telegram's side: only their file
id is kept, and they are sent back by id. The kit is shown by /kit, and by "Need a
quick chat?" and the crisis reply (see dialogs/hooks/sos.py).

Showing the photos is a message-only step that repeats itself once per photo:
`kit_next_photo` moves `slots.photo_at` on before each message, `kit_photo` gives
that message its photo. Any dialog can reuse the pair (sos and crisis do).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from dialogs import records
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.model import Record, UserState
from dialogs.spec import ChoiceSpec

KIND = "kit_item"
MAX_ITEMS = 12  # a handful the person can take in at a glance
MAX_PHOTOS = 6  # each photo is its own message: a few, not an album
PHOTO_AT = "photo_at"  # slot: index of the photo being shown
TYPED = "typed"  # slot of the link step
REMOVED = "removed"  # slot: an item was just removed, for the "done" line above the question
# A site name: dot-separated labels in any script, ending in a real-looking top level.
_HOST = re.compile(r"^(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,}|xn--[\w-]+)$")
# "mailto:", "javascript:", "tel:"... but not "example.com:8080".
_OTHER_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?!\d)", re.IGNORECASE)


def items(state: UserState) -> list[Record]:
    """The kit: their KIT_ITEM records, in the order they were added."""
    return state.records.get(KIND, [])


def photos(state: UserState) -> list[Record]:
    """The kit's photo items only, in order (each message of the photo step shows one)."""
    return [r for r in items(state) if r.data.get("type") == "photo"]


def view(record: Record) -> dict[str, Any]:
    """One item for a template; their words stay variables, so they are escaped."""
    data = record.data
    url = data.get("url")
    return {"type": data.get("type"), "text": data.get("text"), "url": url,
            "label": data.get("label"), "site": site(url) if url else None,
            "caption": data.get("caption")}  # fmt: skip


def site(url: str) -> str:
    """A link shown by its site and path, e.g. youtube.com/watch?v=…"""
    parts = urlsplit(url)
    host = (parts.hostname or url).removeprefix("www.")
    rest = parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")
    return short(host + rest, 40)


def short(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def check_link(typed: str) -> tuple[str | None, str | None]:
    """A web link to keep: (normalised url, None), or (None, problem code).

    Codes: spaces, scheme (not a web link), host (no usable site name). A link
    without "https://" gets it, since that is how most people paste a site.
    """
    text = typed.strip().strip("<>").strip()
    if any(c.isspace() for c in text):
        return None, "spaces"
    if "://" not in text and _OTHER_SCHEME.match(text):
        return None, "scheme"
    url = text if "://" in text else f"https://{text}"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return None, "host"
    if parts.scheme.lower() not in ("http", "https"):
        return None, "scheme"
    if not _HOST.match(host):
        return None, "host"
    return url, None


# --- the kit and its menu -------------------------------------------------------------


@enter("kit_view")
def kit_view(call: HookCall) -> dict[str, Any]:
    """The kit for a template: `items` (each as `view`), `count`, `photos` (how many), `max_items`
    (MAX_ITEMS, 12), `max_photos` (MAX_PHOTOS, 6) and `full` (no room for another item)."""
    found = items(call.state)
    return {"items": [view(r) for r in found], "count": len(found),
            "photos": len(photos(call.state)), "max_items": MAX_ITEMS, "max_photos": MAX_PHOTOS,
            "full": len(found) >= MAX_ITEMS}  # fmt: skip


@choices("kit_actions")
def kit_actions(call: HookCall) -> list[ChoiceSpec]:
    """The kit menu's buttons: add words, a link and (under MAX_PHOTOS) a photo while the kit has
    room, see the photos when there are any, remove when there is anything."""
    found = items(call.state)
    buttons = []
    if len(found) < MAX_ITEMS:
        buttons += [ChoiceSpec(id="text", label="kit.manage.text", next="add_text"),
                    ChoiceSpec(id="link", label="kit.manage.link", next="add_link")]  # fmt: skip
        if len(photos(call.state)) < MAX_PHOTOS:
            buttons.append(ChoiceSpec(id="photo", label="kit.manage.photo", next="add_photo"))
    if photos(call.state):
        buttons.append(see_photos(call, next_step="photos"))
    if found:
        buttons.append(ChoiceSpec(id="remove", label="kit.manage.remove", next="remove"))
    return buttons


def see_photos(call: HookCall, next_step: str) -> ChoiceSpec:
    """The "see my photos" button, for any dialog with a photo step named `next_step`."""
    count = len(photos(call.state))
    return ChoiceSpec(id="photos", label="kit.see_photos", next=next_step,
                      hook="kit_photos_from_start", ctx=(("count", count),))  # fmt: skip


# --- adding ---------------------------------------------------------------------------


def _add(call: HookCall, data: dict[str, Any]) -> str | None:
    if len(items(call.state)) >= MAX_ITEMS:
        return "full"
    records.add(call.state, KIND, data, call.now)
    return None


@action("kit_add_text")
def kit_add_text(call: HookCall) -> str | None:
    """Keep their words (slot `text`, up to 200 characters) as a text item. Returns "full" when
    the kit already holds MAX_ITEMS (nothing saved), else None; a button does nothing."""
    text = call.frame.slots.pop("text", None)
    if text is None:  # a button, not an answer
        return None
    return _add(call, {"type": "text", "text": str(text)})


@action("kit_check_link")
def kit_check_link(call: HookCall) -> str | None:
    """The link step's answer (slot `typed`), checked by `check_link`. A refused one returns
    "add_link" (asked again; `kit_link_retry` says why); a good one goes to the slot `url`
    (with "https://" added when missing) and returns None. A button does nothing."""
    typed = call.frame.slots.get(TYPED)
    if typed is None:
        call.frame.slots.pop(TYPED, None)
        return None
    url, _problem = check_link(str(typed))
    if url is None:
        return "add_link"  # asked again; kit_link_retry says what was wrong
    call.frame.slots.pop(TYPED)
    call.frame.slots["url"] = url
    return None


@enter("kit_link_retry")
def kit_link_retry(call: HookCall) -> dict[str, Any]:
    """The link prompt, saying what was wrong; a rejected link leaves nothing behind."""
    typed = call.frame.slots.pop(TYPED, None)
    problem = check_link(str(typed))[1] if typed is not None else None
    return {"typed": typed, "problem": problem}


@action("kit_add_link")
def kit_add_link(call: HookCall) -> str | None:
    """Save the link in the slot `url` with its label (slot `label`, up to 60 characters, or
    None) as a link item. Returns "full" at MAX_ITEMS, "add_link" for a frame from an older
    script without a url, else None."""
    url = call.frame.slots.pop("url", None)
    label = call.frame.slots.pop("label", None)
    if url is None:  # a frame from an older script
        return "add_link"
    return _add(call, {"type": "link", "url": str(url), "label": label or None})


@action("kit_add_photo")
def kit_add_photo(call: HookCall) -> str | None:
    """Save the photo they sent (slot `photo`: {file_id, caption}) as a photo item. Returns
    "full" at MAX_PHOTOS photos or MAX_ITEMS items (nothing saved), else None; a button does
    nothing."""
    photo = call.frame.slots.pop("photo", None)
    if not isinstance(photo, dict):  # a button, not a photo
        return None
    if len(photos(call.state)) >= MAX_PHOTOS:
        return "full"
    data = {"type": "photo", "file_id": str(photo["file_id"]),
            "caption": str(photo.get("caption") or "") or None}  # fmt: skip
    return _add(call, data)


@enter("kit_added")
def kit_added(call: HookCall) -> dict[str, Any]:
    """`kit_view` plus `item`: the newest item (as `view`), for the "added" screen."""
    found = items(call.state)
    return kit_view(call) | {"item": view(found[-1]) if found else None}


# --- showing the photos ---------------------------------------------------------------


@action("kit_photos_from_start")
def kit_photos_from_start(call: HookCall) -> None:
    """ "See my photos": the photo step starts again from the first (slot `photo_at` removed)."""
    call.frame.slots.pop(PHOTO_AT, None)


@action("kit_next_photo")
def kit_next_photo(call: HookCall) -> str | None:
    """Before each photo message: move on one; repeat this step while more are left."""
    at = int(call.frame.slots.get(PHOTO_AT, -1)) + 1
    call.frame.slots[PHOTO_AT] = at
    return call.frame.step if at + 1 < len(photos(call.state)) else None


@enter("kit_photo")
def kit_photo(call: HookCall) -> dict[str, Any]:
    """The photo message's values: `photo_id` (a Telegram file id: the dialog manager sends
    the message as that photo, or None when the index is out of range), `caption`, `number`
    (1-based) and `total`, for the photo at the slot `photo_at`."""
    found = photos(call.state)
    at = int(call.frame.slots.get(PHOTO_AT, 0))
    if not 0 <= at < len(found):
        return {"photo_id": None, "caption": None, "number": 0, "total": len(found)}
    data = found[at].data
    return {"photo_id": data["file_id"], "caption": data.get("caption"), "number": at + 1,
            "total": len(found)}  # fmt: skip


# --- removing -------------------------------------------------------------------------


@choices("kit_remove_choices")
def kit_remove_choices(call: HookCall) -> list[ChoiceSpec]:
    """One button per saved item ("remove 2: <first words>"), valued by its record id; each runs
    `kit_remove` and goes back to `manage`."""
    return [
        ChoiceSpec(
            id=str(r.id),
            label=f"kit.remove.{r.data.get('type')}",
            value=r.id,
            hook="kit_remove",
            next="manage",
            ctx=(("number", i), ("words", _words(r))),
        )
        for i, r in enumerate(items(call.state), start=1)
        if r.id is not None  # saved ones only: a button needs a lasting id
    ]


def _words(record: Record) -> str:
    data = record.data
    words = data.get("text") or data.get("label") or data.get("caption")
    return short(str(words), 40) if words else site(data["url"]) if data.get("url") else ""


@action("kit_remove")
def kit_remove(call: HookCall) -> str | None:
    """Remove the item whose record id is the value and note it in the slot `removed` (read by
    `kit_just_removed`). Returns "open" when it is already gone (a stale button), else None."""
    record = records.find(call.state, KIND, call.value)
    if record is None:
        return "open"
    records.remove(call.state, KIND, record)
    call.frame.slots[REMOVED] = True
    return None


@enter("kit_just_removed")
def kit_just_removed(call: HookCall) -> dict[str, Any]:
    """`removed`: True when an item was removed just before (the slot, taken out, so only the
    question shown straight after says so), else False."""
    return {"removed": bool(call.frame.slots.pop(REMOVED, False))}
