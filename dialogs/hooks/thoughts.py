"""Hooks for /thoughts: past evidence tables, newest first, a page at a time.

Entry buttons carry the record id. The dialog manager only accepts a tap on a button the
current page offers, and the entry is looked up among the person's own records, so a
stale or forged id never shows anyone else's words.
"""

from __future__ import annotations

from typing import Any

from dialogs import records
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.hooks.reframe import THOUGHT, entry_view
from dialogs.model import Record, UserState
from dialogs.spec import ChoiceSpec

PAGE_SIZE = 5
LABEL_WORDS = 5
LABEL_CHARS = 28


def _newest_first(state: UserState) -> list[Record]:
    return list(reversed(state.records.get(THOUGHT, [])))


def _pages(state: UserState) -> int:
    return max(1, -(-len(state.records.get(THOUGHT, [])) // PAGE_SIZE))


def _page(call: HookCall) -> int:
    """The page being shown, kept within range (entries may have changed since)."""
    wanted = int(call.frame.slots.get("page") or 0)
    return min(max(wanted, 0), _pages(call.state) - 1)


def first_words(text: str) -> str:
    """A short button-sized opening of the thought, marked when cut."""
    words = text.split()
    short = " ".join(words[:LABEL_WORDS])
    if len(short) > LABEL_CHARS:
        short = short[:LABEL_CHARS].rstrip()
    return short + ("…" if short != " ".join(words) else "")


@enter("thoughts_page")
def thoughts_page(call: HookCall) -> dict[str, Any]:
    """`count` (entries kept), `page` (1-based, kept in range) and `pages` (PAGE_SIZE, 5, each)."""
    return {
        "count": len(call.state.records.get(THOUGHT, [])),
        "page": _page(call) + 1,
        "pages": _pages(call.state),
    }


def _entry_button(record: Record) -> ChoiceSpec:
    # The record id travels in the callback data; only ids on the shown page are accepted.
    words = first_words(str(record.data.get("thought") or ""))
    return ChoiceSpec(
        id=f"e{record.id}",
        label="thoughts.entry_button",
        value=record.id,
        hook="open_thought",
        next="entry",
        ctx=(("date", record.data.get("date", "")), ("words", words)),
    )


@choices("thought_buttons")
def thought_buttons(call: HookCall) -> list[ChoiceSpec]:
    """The page's entries, newest first (each valued by its THOUGHT record id, labelled with its
    date and first words, going to `entry`), then « newer and older » as there are pages."""
    page = _page(call)
    shown = _newest_first(call.state)[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    buttons = [_entry_button(record) for record in shown if record.id is not None]
    if page > 0:
        buttons.append(
            ChoiceSpec(id="newer", label="thoughts.list.newer", hook="thoughts_newer", next="list")
        )
    if page < _pages(call.state) - 1:
        buttons.append(
            ChoiceSpec(id="older", label="thoughts.list.older", hook="thoughts_older", next="list")
        )
    return buttons


@action("thoughts_newer")
def thoughts_newer(call: HookCall) -> None:
    """« Newer: the slot `page` (0 = the newest five) goes one page back, kept in range."""
    call.frame.slots["page"] = _page(call) - 1


@action("thoughts_older")
def thoughts_older(call: HookCall) -> None:
    """Older »: the slot `page` goes one page on, kept in range."""
    call.frame.slots["page"] = _page(call) + 1


@action("open_thought")
def open_thought(call: HookCall) -> None:
    """An entry's button: its THOUGHT record id (the value) goes to the slot `open`."""
    call.frame.slots["open"] = call.value


@enter("opened_thought")
def opened_thought(call: HookCall) -> dict[str, Any]:
    """`entry`: the opened entry (the slot `open`, looked up among their own records) as
    `entry_view`, or None for an id that is not theirs."""
    record = records.find(call.state, THOUGHT, call.frame.slots.get("open"))
    return {"entry": entry_view(call.state, record)}
