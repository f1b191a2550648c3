"""The pure manager and files: an enter hook's `document` becomes the reply's document."""

from __future__ import annotations

import json
from datetime import timedelta

from dialogs.manager import DialogManager
from dialogs.model import Command, ForgetMe, Record, Text
from dialogs.spec import load_dialogs
from prompts import default_catalog
from tests.manager_driver import NOW, member, run_events, templates

MANAGER = DialogManager(load_dialogs(), default_catalog())


def test_export_reply_carries_the_file_and_other_replies_do_not() -> None:
    state = member()
    state.records["contact"] = [Record("contact", {"name": "Mia"}, id=1, created_at=NOW)]
    turn = run_events(MANAGER, state, Command("export"))
    assert templates(turn)[0] == "export/file"
    name, content = turn.replies[0].document or ("", b"")
    assert name == f"bridges-export-{NOW.date().isoformat()}.json"
    data = json.loads(content)
    assert data["records"]["contacts"][0]["name"] == "Mia"
    assert all(r.document is None for r in turn.replies[1:])


def test_export_shows_the_safety_memory_as_levels_and_times_in_its_own_section() -> None:
    state = member()
    state.profile.risk_level = "crisis"
    state.profile.risk_at = NOW - timedelta(minutes=20)
    state.profile.unsafe_at = NOW - timedelta(minutes=19)
    state.profile.followup_at = NOW + timedelta(minutes=40)
    turn = run_events(MANAGER, state, Command("export"))
    _, content = turn.replies[0].document or ("", b"")
    data = json.loads(content)
    assert data["safety"] == {
        "last_worrying_message": {
            "level": "crisis",
            "at": (NOW - timedelta(minutes=20)).isoformat(),
        },
        "said_not_safe_at": (NOW - timedelta(minutes=19)).isoformat(),
        "follow_up_message_planned_at": (NOW + timedelta(minutes=40)).isoformat(),
    }
    assert not set(data["profile"]) & {"risk_level", "risk_at", "unsafe_at", "followup_at"}


def test_only_the_typed_word_erases() -> None:
    kept = run_events(MANAGER, member(), Command("delete"), Text("Erase everything"), Text("no"))
    assert "delete/kept" in templates(kept) and not kept.effects
    gone = run_events(MANAGER, member(), Command("delete"), Text("1"), Text(" Delete "))
    assert templates(gone) == ["delete/erased"]
    assert any(isinstance(e, ForgetMe) for e in gone.effects)
