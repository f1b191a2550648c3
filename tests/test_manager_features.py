"""DialogManager features every conversation leans on, on a small made-up dialog."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs import drafts
from dialogs.manager import MAX_STACK, DialogManager
from dialogs.model import Command, Event, Frame, Press, Profile, Text, Turn, UserState
from dialogs.spec import load_dialogs
from prompts import Catalog

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

DEMO = """
id: demo
start: when
needs_profile: true
draft_step: resume
steps:
  resume:
    enter: draft_info
    choices:
      - {id: continue, hook: restore_draft, next: when}
      - {id: discard, hook: discard_draft, next: when}
  when:
    input: multi
    slot: when
    min_items: 1
    max_length: 30
    choices:
      - {id: mornings}
      - {id: weekends}
      - {id: done, finish: true, next: evidence}
  evidence:
    input: text
    collect: true
    slot: evidence
    min_items: 1
    max_items: 3
    next: bye
    choices:
      - {id: done, next: bye}
  bye:
    end: true
"""
LABELS = """
demo.resume.continue: Continue
demo.resume.discard: Start afresh
demo.when.mornings: Mornings
demo.when.weekends: Weekends
demo.when.done: Done
demo.evidence.done: Done
"""


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> DialogManager:
    """The shipped dialogs plus `demo`, with the shipped prompts plus demo's."""
    root = tmp_path_factory.mktemp("world")
    flows = root / "pkg" / "flows"
    flows.mkdir(parents=True)
    shipped = Path(__file__).parents[1] / "dialogs" / "flows"
    for path in shipped.glob("*.yaml"):
        (flows / path.name).write_text(path.read_text())
    (flows / "demo.yaml").write_text(DEMO)
    prompts = root / "prompts"
    for path in (Path(__file__).parents[1] / "prompts").rglob("*"):
        if path.is_file() and path.suffix in (".j2", ".yaml"):
            target = prompts / path.relative_to(Path(__file__).parents[1] / "prompts")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    for locale in ("en", "es"):  # every locale has every prompt (bridges dialogs check)
        (prompts / locale / "demo").mkdir()
        (prompts / locale / "demo" / "buttons.yaml").write_text(LABELS)
        for step in ("resume", "when", "evidence", "bye"):
            (prompts / locale / "demo" / f"{step}.j2").write_text(f"{step}: {{{{ slots }}}}")
    catalog = Catalog(prompts)
    return DialogManager(load_dialogs(flows, catalog=catalog), catalog)


def run(manager: DialogManager, state: UserState, *events: Event) -> Turn:
    turn = Turn(state)
    for event in events:
        turn = manager.step(turn.state, event, NOW)
    return turn


def member() -> UserState:
    return UserState(profile=Profile(consented=True, onboarded=True, timezone="UTC"))


def press(manager: DialogManager, step: str, choice: str) -> Press:
    return Press(manager.dialogs["demo"].callback(step, choice))


def open_demo(manager: DialogManager) -> UserState:
    manager.commands["demo"] = "dialog:demo"
    return run(manager, member(), Command("demo")).state


def test_multi_select_ticks_unticks_and_edits_in_place(manager: DialogManager) -> None:
    state = open_demo(manager)
    turn = run(manager, state, press(manager, "when", "mornings"))
    reply = turn.replies[-1]
    assert reply.edit, "a tapped option re-renders the same message"
    ticked = [b.label for row in reply.buttons for b in row if b.checked]
    assert ticked == ["demo.when.mornings"]
    turn = run(manager, turn.state, press(manager, "when", "mornings"))
    assert turn.state.top is not None and turn.state.top.slots["when"] == []


def test_multi_select_needs_one_item_and_takes_own_words(manager: DialogManager) -> None:
    state = open_demo(manager)
    turn = run(manager, state, press(manager, "when", "done"))
    assert [r.template for r in turn.replies] == ["common/need_items"]
    assert turn.state == state
    turn = run(manager, state, Text("on the bus <b>home</b>"))
    assert turn.state.top is not None
    assert turn.state.top.slots["when_own"] == ["on the bus <b>home</b>"]
    too_long = run(manager, state, Text("x" * 31))
    assert [r.template for r in too_long.replies] == ["common/invalid_too_long"]
    turn = run(manager, turn.state, press(manager, "when", "done"))
    assert turn.state.top is not None and turn.state.top.step == "evidence"


def test_collecting_lines_until_done_or_full(manager: DialogManager) -> None:
    state = run(manager, open_demo(manager), Text("typed label: Mornings"),
                press(manager, "when", "weekends"), Text("Done")).state  # fmt: skip
    assert state.top is not None and state.top.step == "evidence"
    assert state.top.slots["when"] == ["weekends"]
    assert state.top.slots["when_own"] == ["typed label: Mornings"]
    empty = run(manager, state, press(manager, "evidence", "done"))
    assert [r.template for r in empty.replies] == ["common/need_items"]
    turn = run(manager, state, Text("one"), Text("two"))
    assert turn.state.top is not None and turn.state.top.slots["evidence"] == ["one", "two"]
    turn = run(manager, turn.state, Text("three"))  # the third fills it: moves on by itself
    assert turn.state.top is None
    assert [r.template for r in turn.replies] == ["demo/bye"]


def test_cancel_midway_keeps_a_draft_that_can_be_continued(manager: DialogManager) -> None:
    state = run(manager, open_demo(manager), press(manager, "when", "mornings"),
                press(manager, "when", "done"), Text("a line")).state  # fmt: skip
    turn = run(manager, state, Command("cancel"))
    assert turn.replies[0].template == "common/cancelled"
    assert turn.replies[0].ctx["draft"] is True
    assert drafts.find(turn.state, "demo") is not None
    turn = run(manager, turn.state, Command("demo"))
    assert turn.state.top is not None and turn.state.top.step == "resume"
    turn = run(manager, turn.state, press(manager, "resume", "continue"))
    assert turn.state.top is not None
    assert (turn.state.top.step, turn.state.top.slots["evidence"]) == ("evidence", ["a line"])
    assert drafts.find(turn.state, "demo") is None


def test_a_draft_can_be_discarded(manager: DialogManager) -> None:
    state = run(manager, open_demo(manager), press(manager, "when", "mornings"),
                press(manager, "when", "done"), Command("cancel"), Command("demo")).state  # fmt: skip
    turn = run(manager, state, press(manager, "resume", "discard"))
    assert turn.state.top is not None
    assert (turn.state.top.step, turn.state.top.slots) == ("when", {})
    assert drafts.find(turn.state, "demo") is None


def test_reopening_a_dialog_half_way_offers_its_draft(manager: DialogManager) -> None:
    state = run(manager, open_demo(manager), press(manager, "when", "mornings"),
                press(manager, "when", "done"), Command("menu")).state  # fmt: skip
    assert [f.dialog for f in state.stack] == ["demo", "menu"]
    turn = run(manager, state, Command("demo"))
    assert [f.dialog for f in turn.state.stack] == ["menu", "demo"]
    assert turn.state.top is not None and turn.state.top.step == "resume"


def test_reopening_an_interrupted_dialog_resumes_it_without_a_copy(manager: DialogManager) -> None:
    state = run(manager, member(), Command("menu"), Command("help"), Command("menu"))
    assert [f.dialog for f in state.state.stack] == ["menu"]


def test_the_stack_is_bounded_and_sets_the_oldest_aside(manager: DialogManager) -> None:
    state = member()
    demo = Frame("demo", "evidence", {"when": ["mornings"]})
    state.stack = [demo] + [Frame("menu", "main") for _ in range(MAX_STACK - 1)]
    turn = run(manager, state, Text("kms"))
    assert len(turn.state.stack) == MAX_STACK
    assert turn.state.top is not None and turn.state.top.dialog == "crisis"
    assert all(f.dialog != "demo" for f in turn.state.stack)
    draft = drafts.find(turn.state, "demo")
    assert draft is not None and draft.data["slots"] == {"when": ["mornings"]}


@pytest.mark.parametrize("typed", ["☰ Menu", "menu", "MENU"])
def test_the_persistent_keyboard_buttons_work_as_text(manager: DialogManager, typed: str) -> None:
    turn = run(manager, member(), Text(typed))
    assert turn.state.top is not None and turn.state.top.dialog == "menu"


def test_onboarding_ends_with_the_persistent_keyboard(manager: DialogManager) -> None:
    state = UserState(profile=Profile(consented=True))
    state.stack = [Frame("onboarding", "checkin_time")]
    turn = run(manager, state, Text("8:00"))
    assert "main" in [r.keyboard for r in turn.replies]
