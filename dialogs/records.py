"""Small helpers hooks use to read and change a person's saved records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dialogs.model import Record, UserState


def items(state: UserState, kind: str) -> list[Record]:
    """The person's `kind` records, oldest first unless reordered: the live list (created
    empty if missing), so changing it changes what storage saves."""
    return state.records.setdefault(kind, [])


def add(state: UserState, kind: str, data: dict[str, Any], now: datetime) -> Record:
    """Append a new `kind` record (plain-JSON `data`, created at `now`, aware UTC) and return
    it; its id stays None until storage saves it at the end of the turn."""
    record = Record(kind, data, created_at=now)
    items(state, kind).append(record)
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
    """The last `kind` record in the list (the newest, for kinds never reordered), or None."""
    found = state.records.get(kind)
    return found[-1] if found else None
