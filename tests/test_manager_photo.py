"""The pure manager and photos: a `photo` step keeps one, anywhere else it stays "unsupported".

A small made-up dialog on the shipped prompts; no Telegram, no database, a fixed clock.
"""

from __future__ import annotations

import pytest

from dialogs.drafts import own_slots
from dialogs.manager import DialogManager
from dialogs.model import (
    Command,
    Event,
    Frame,
    Photo,
    Press,
    Record,
    Text,
    Turn,
    Unsupported,
    UserState,
)
from dialogs.spec import DialogError, load_dialogs
from prompts import default_catalog
from tests.manager_driver import member, run_events, templates

DEMO = """
id: demo
start: snap
steps:
  snap:
    input: photo
    slot: snap
    max_length: 20
    prompt: kit/add_photo
    next: look
    choices:
      - {id: back, label: kit.add_photo.back, value: null, next: end}
  look:
    input: text
    slot: note
    prompt: kit/add_text
    next: show
  show:
    prompt: kit/photo
    enter: kit_photo   # gives `photo_id`: the message becomes that photo
    end: true
"""
DIALOGS = load_dialogs(extra={"demo.yaml": DEMO})
MANAGER = DialogManager(DIALOGS, default_catalog())


def run(state: UserState, *events: Event) -> Turn:
    return run_events(MANAGER, state, *events)


def test_a_photo_step_keeps_the_file_id_and_the_caption() -> None:
    turn = run(member(Frame("demo", "snap")), Photo("file-big", "  my dog  "))
    assert turn.state.top == Frame("demo", "look", {"snap": {"file_id": "file-big",
                                                             "caption": "my dog"}})  # fmt: skip
    assert templates(turn) == ["kit/add_text"]


def test_an_enter_hook_can_make_a_message_a_photo() -> None:
    state = member(Frame("demo", "snap"))
    state.records["kit_item"] = [
        Record("kit_item", {"type": "photo", "file_id": "kept-id", "caption": "Biscuit"}, 1)
    ]
    turn = run(state, Photo("new-id"), Text("lovely"))
    assert (turn.replies[-1].template, turn.replies[-1].photo) == ("kit/photo", "kept-id")
    assert turn.replies[-1].ctx["caption"] == "Biscuit"
    assert all(r.photo is None for r in run(member(), Command("help")).replies)


@pytest.mark.parametrize(
    "frames",
    [(), (Frame("menu", "main"),), (Frame("reframe", "thought"),)],
    ids=["idle", "a choice step", "a text step"],
)
@pytest.mark.parametrize("caption", ["", "look at this"])
def test_a_photo_anywhere_else_is_answered_as_before(
    frames: tuple[Frame, ...], caption: str
) -> None:
    state = member(*frames)
    as_photo = run(state, Photo("file-big", caption))
    as_before = run(state, Unsupported("photo", caption))
    assert as_photo.replies == as_before.replies
    assert templates(as_photo)[0] == "common/unsupported"
    assert as_photo.state == as_before.state  # idle: both bring up the menu
    assert as_photo.state.stack[: len(frames)] == list(frames)


def test_typed_text_at_a_photo_step_asks_for_a_photo() -> None:
    state = member(Frame("demo", "snap"))
    turn = run(state, Text("here you go"))
    assert templates(turn) == ["common/invalid_photo"]
    assert turn.state == state
    assert [b.label for row in turn.replies[0].buttons for b in row] == ["kit.add_photo.back"]


def test_a_caption_over_the_limit_is_asked_again() -> None:
    state = member(Frame("demo", "snap"))
    turn = run(state, Photo("file-big", "x" * 21))
    assert templates(turn) == ["common/invalid_too_long"]
    assert turn.replies[0].ctx == {"limit": 20}
    assert turn.state == state


@pytest.mark.parametrize("frames", [(Frame("demo", "snap"),), (Frame("menu", "main"),)])
def test_a_crisis_caption_is_screened_first_and_not_kept(frames: tuple[Frame, ...]) -> None:
    turn = run(member(*frames), Photo("file-big", "I want to kill myself"))
    assert turn.state.top is not None and turn.state.top.dialog == "crisis"
    below = [Frame(f.dialog, f.step, own_slots(f.slots)) for f in turn.state.stack[:-1]]
    assert below == list(frames)  # unchanged, but for the note of when it was covered
    assert "kill myself" not in repr(turn.state)


def test_the_back_button_still_works_at_a_photo_step() -> None:
    turn = run(member(Frame("demo", "snap")), Press(DIALOGS["demo"].callback("snap", "back")))
    assert turn.state.stack == []


def test_a_photo_step_needs_a_slot() -> None:
    broken = DEMO.replace("    slot: snap\n", "")
    with pytest.raises(DialogError, match="a photo step needs a 'slot'"):
        load_dialogs(extra={"demo.yaml": broken})
