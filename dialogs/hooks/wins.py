"""Hooks for the victory log (/wins), and the past win a low check-in offers back.

Wins are `coaching.WIN` records {"text": str, "source": "reflection" | "checkin" |
"typed"}; the time of a win is its record's `created_at` (UTC). The log lists them newest
first, `PAGE` at a time; the slot `page` (0 = newest) says which page is on screen.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from dialogs import coaching, intents, records
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.hooks.profile import local_time
from dialogs.model import Record, UserState
from dialogs.spec import ChoiceSpec

PAGE = 10  # wins on one screen of the log
PAGE_SLOT = "page"
ADDED_SLOT = "added"  # the text of a win just typed, for the "noted" line
PAST_AGE = timedelta(days=1)  # a "remember when" win is at least this old
# A low check-in picks its past win among the newest this many: reading them all would make
# every low check-in cost more as the victory log grows (a win a day is 365 a year).
PAST_WINS = 100


def _newest_first(found: list[Record]) -> list[Record]:
    """`found` newest first by time; records not yet saved (no time) count as the newest."""
    # The list keeps the order they were added; sorting by time makes imports safe too.
    # Python's sort is stable, so wins of the same moment keep that order (reversed below).
    found.sort(key=lambda r: r.created_at.timestamp() if r.created_at else float("inf"))
    return list(reversed(found))


def _page(call: HookCall) -> int:
    raw = call.frame.slots.get(PAGE_SLOT, 0)
    return raw if isinstance(raw, int) and raw >= 0 else 0


@enter("wins_page")
def wins_page(call: HookCall) -> dict[str, Any]:
    """One page of the log for the template.

    Returns {"wins": [{"text", "source", "date": local ISO date | None}], "total": int,
    "page": int (0 = newest), "older": int (how many wins lie beyond this page),
    "added": str | None (a win typed just now)}.
    """
    # Only the wins up to this page are read, and the total is counted: the log costs the
    # same with 10 wins or 3,000 (issue 15). Newest first by time within what is read.
    total = call.state.records.count(coaching.WIN)
    pages = max((total - 1) // PAGE, 0)
    page = min(_page(call), pages)
    read = records.newest(call.state, coaching.WIN, (page + 1) * PAGE)
    shown = _newest_first(read)[page * PAGE : (page + 1) * PAGE]
    zone = call.state.profile.timezone
    return {
        "wins": [
            {
                "text": str(r.data.get("text") or ""),
                "source": r.data.get("source"),
                "date": local_time(zone, r.created_at).date().isoformat() if r.created_at else None,
            }
            for r in shown
        ],
        "total": total,
        "page": page,
        "older": max(total - (page + 1) * PAGE, 0),
        "added": call.frame.slots.get(ADDED_SLOT),
    }


@choices("wins_paging")
def wins_paging(call: HookCall) -> list[ChoiceSpec]:
    """[Show older] while older wins remain; [Back to the newest] on any later page."""
    total = call.state.records.count(coaching.WIN)
    page = _page(call)
    found = []
    if total > (page + 1) * PAGE:
        found.append(
            ChoiceSpec("older", "wins.list.older", next="list", value=None, hook="wins_older")
        )
    if page > 0:
        found.append(
            ChoiceSpec("newest", "wins.list.newest", next="list", value=None, hook="wins_newest")
        )
    return found


@action("wins_older")
def wins_older(call: HookCall) -> None:
    """ "Show older": the slot `page` one on (0 = newest); the "noted" line goes."""
    call.frame.slots[PAGE_SLOT] = _page(call) + 1
    call.frame.slots.pop(ADDED_SLOT, None)


@action("wins_newest")
def wins_newest(call: HookCall) -> None:
    """ "Back to the newest": the slot `page` back to 0; the "noted" line goes."""
    call.frame.slots[PAGE_SLOT] = 0
    call.frame.slots.pop(ADDED_SLOT, None)


HELD_SLOT = "held"  # words that read like a hard feeling, until they say what they are
# Intents (dialogs/data/intents.yaml) that are a hard feeling, never a win to note.
HEAVY = frozenset({"lonely", "sad", "anxious", "angry", "tired"})


@action("wins_add")
def wins_add(call: HookCall) -> str | None:
    """A typed win goes into the log (source "typed"); the list then opens at the newest.
    Words that read as a hard feeling (dialogs/intents.py, one of HEAVY: "I feel so
    alone today") are not a win: `heavy` meets them instead, and nothing is noted."""
    call.frame.slots.pop(ADDED_SLOT, None)
    call.frame.slots[PAGE_SLOT] = 0
    text = str(call.value or "").strip()
    meant = intents.match(text, call.state.profile.locale) if text else None
    if meant is not None and meant.id in HEAVY:
        call.frame.slots.pop("win", None)
        call.frame.slots[HELD_SLOT] = text  # until they say whether it is a win
        return "heavy"
    if text:
        coaching.add_win(call.state, text, "typed", call.now)
        call.frame.slots[ADDED_SLOT] = text
    call.frame.slots.pop("win", None)  # kept once, in the log: not twice in the frame
    return None


@action("wins_keep")
def wins_keep(call: HookCall) -> None:
    """It was a win after all: note the words `heavy` held."""
    held = call.frame.slots.pop(HELD_SLOT, None)
    if isinstance(held, str) and held:
        coaching.add_win(call.state, held, "typed", call.now)
        call.frame.slots[ADDED_SLOT] = held
    call.frame.slots[PAGE_SLOT] = 0


@action("wins_drop")
def wins_drop(call: HookCall) -> None:
    """Not a win: the held words are forgotten."""
    call.frame.slots.pop(HELD_SLOT, None)


def past_win(state: UserState, now: datetime) -> str | None:
    """The text of one past win for a low check-in's "remember when…", or None.

    Only wins at least a day old (`PAST_AGE`, by record.created_at), among the newest
    `PAST_WINS`, are offered: a win from this morning is no memory yet. The pick looks
    random but is seeded by the person's local date (profile.timezone; UTC when unset), so
    every call on the same day gives the same win (a re-rendered message stays the same)
    and tests can rely on it.
    `now` must be timezone-aware.
    """
    old = [
        r
        for r in records.newest(state, coaching.WIN, PAST_WINS)
        if r.created_at is not None and now - r.created_at >= PAST_AGE and r.data.get("text")
    ]
    if not old:
        return None
    old.sort(key=lambda r: r.created_at.timestamp() if r.created_at else 0.0)
    day = local_time(state.profile.timezone, now).date()
    return str(random.Random(day.toordinal()).choice(old).data["text"])
