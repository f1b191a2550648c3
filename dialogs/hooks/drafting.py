"""Generic hooks for a dialog's draft step: continue where they left off, or start afresh."""

from __future__ import annotations

from typing import Any

from dialogs import drafts
from dialogs.hooks import HookCall, action, enter


@action("restore_draft")
def restore_draft(call: HookCall) -> str | None:
    draft = drafts.take(call.state, call.frame.dialog)
    if draft is None:
        return None
    call.frame.slots = dict(draft.data.get("slots") or {})
    return str(draft.data.get("step") or "") or None


@action("discard_draft")
def discard_draft(call: HookCall) -> None:
    drafts.take(call.state, call.frame.dialog)
    call.frame.slots = {}


@enter("draft_info")
def draft_info(call: HookCall) -> dict[str, Any]:
    draft = drafts.find(call.state, call.frame.dialog)
    return {"draft": draft.data if draft else None,
            "draft_saved": draft.created_at if draft else None}  # fmt: skip
