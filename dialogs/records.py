"""Small helpers hooks use to read and change a person's saved records.

State records load one kind at a time (dialogs.model.Records): `items`, `find` and
`remove` read a whole kind; `add`, `latest` and `newest` do not, so a turn that only adds a
check-in or looks at the last one costs the same for a history of 5 or 5,000.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dialogs.model import Record, UserState


def items(state: UserState, kind: str) -> list[Record]:
    """The person's `kind` records, oldest first unless reordered: the live list (created
    empty if missing), so changing it changes what storage saves. Reads the whole kind."""
    return state.records.setdefault(kind, [])


def add(state: UserState, kind: str, data: dict[str, Any], now: datetime) -> Record:
    """Append a new `kind` record (plain-JSON `data`, created at `now`, aware UTC) and return
    it; its id stays None until storage saves it at the end of the turn. Reads nothing."""
    record = Record(kind, data, created_at=now)
    state.records.append(kind, record)
    return record


def find(state: UserState, kind: str, record_id: object) -> Record | None:
    """The person's own record with this id, or None (stale, deleted or forged ids)."""
    try:
        wanted = int(str(record_id))
    except ValueError:
        return None
    return next((r for r in state.records.get(kind, []) if r.id == wanted), None)


def remove(state: UserState, kind: str, record: Record) -> None:
    """Drop `record` from the `kind` list (storage deletes its row with the turn); records
    compare by value, so the first equal one goes. Raises ValueError if none is there."""
    items(state, kind).remove(record)


def latest(state: UserState, kind: str) -> Record | None:
    """The last `kind` record in the list (the newest, for kinds never reordered), or None.
    Reads only that one."""
    found = state.records.newest(kind, 1)
    return found[-1] if found else None


def newest(state: UserState, kind: str, n: int) -> list[Record]:
    """The last `n` records of `kind` (fewer if there are fewer), oldest first: a bounded
    read for kinds that grow without end (moods, wins...). A new list: appending to it
    saves nothing; changing a record in it does."""
    return state.records.newest(kind, n)


def fetch(state: UserState, wanted: Mapping[str, int]) -> None:
    """Load the newest n of each kind in `wanted` ({kind: n}) in one go, before reading them
    one by one with `newest` or `latest` (one database round trip instead of several)."""
    state.records.fetch(wanted)


def since(state: UserState, kind: str, start: datetime, least: int = 16) -> list[Record]:
    """The `kind` records created at or after `start` (aware), oldest first, plus possibly a
    few older ones (callers still filter by their own dates): read newest first, `least` and
    then twice as many each time, until one older than `start` is among them.

    Bounded by what falls in the period, not by the whole history. Relies on records of
    these kinds being appended as they are made, so stored order is time order (true of
    every kind nobody reorders: moods, wins, reflections, follow-ups...). Records with no
    time (unsaved, new this turn) count as newer than any."""
    n = least
    while True:
        found = state.records.newest(kind, n)
        oldest = found[0].created_at if found else None
        if len(found) < n or (oldest is not None and oldest < start):
            return found
        n *= 2
