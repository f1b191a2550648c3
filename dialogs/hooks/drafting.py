"""Generic hooks for a dialog's draft step: continue where they left off, or start afresh."""

from __future__ import annotations

from typing import Any

from dialogs import drafts
from dialogs.hooks import HookCall, action, enter


@action("restore_draft")
def restore_draft(call: HookCall) -> str | None:
    """ "Continue": take the dialog's draft (dialogs/drafts.py), put its slots back in the frame
    and return the step it was left at (any step of the dialog: its `exits:` list them). None
    when there is no draft any more, or it names no step: the button's own `next`."""
    draft = drafts.take(call.state, call.frame.dialog)
    if draft is None:
        return None
    call.frame.slots = dict(draft.data.get("slots") or {})
    return str(draft.data.get("step") or "") or None


@action("discard_draft")
def discard_draft(call: HookCall) -> None:
    """ "Start afresh": the dialog's draft is dropped and the frame's slots emptied."""
    drafts.take(call.state, call.frame.dialog)
    call.frame.slots = {}


@enter("draft_info")
def draft_info(call: HookCall) -> dict[str, Any]:
    """`draft`: the draft's data ({"step", "slots"}) or None, and `draft_saved`: when it was set
    aside (an aware UTC datetime) or None, for the "carry on?" question."""
    draft = drafts.find(call.state, call.frame.dialog)
    return {"draft": draft.data if draft else None,
            "draft_saved": draft.created_at if draft else None}  # fmt: skip
