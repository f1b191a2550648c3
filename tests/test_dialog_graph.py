"""`bridges dialogs graph NAME`: short labels, one edge per target, no phantom edges."""

from __future__ import annotations

import re

import pytest

from dialogs.graph import EDGE_CHARS, mermaid, node_id
from dialogs.script import Sample
from dialogs.spec import DialogSet, DialogSpec, load_dialogs, parse_dialog

NODE = re.compile(r'^    (\w+)(\["|\(\["|\(\(\("|\[\[")(.*?)("\]|"\]\)|"\)\)\)|"\]\])$')
EDGE = re.compile(r'^    (\w+) (-->|-\.->)(?:\|"([^"]*)"\|)? (\w+)$')


@pytest.fixture(scope="module")
def loaded() -> DialogSet:
    return load_dialogs()


def drawn(dialog: DialogSpec) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """(node id -> its text, [(source, target, label)]) of the dialog's graph; every line
    is a node or an edge of the shapes the drawing uses (quoted text, no raw quote)."""
    lines = mermaid(dialog).splitlines()
    assert lines[0] == "flowchart TD"
    assert lines[1] == f"    start((start)) --> {node_id(dialog.start)}"
    nodes: dict[str, str] = {"start": "start"}
    edges: list[tuple[str, str, str]] = []
    for line in lines[2:]:
        if node := NODE.match(line):
            assert '"' not in node.group(3), line
            nodes[node.group(1)] = node.group(3)
        elif edge := EDGE.match(line):
            edges.append((edge.group(1), edge.group(4), edge.group(3) or ""))
        else:
            pytest.fail(f"{dialog.id}: not a node or an edge: {line!r}")
    edges.insert(0, ("start", node_id(dialog.start), ""))
    return nodes, edges


def reachable(edges: list[tuple[str, str, str]]) -> set[str]:
    seen, todo = {"start"}, ["start"]
    while todo:
        here = todo.pop()
        for source, target, _ in edges:
            if source == here and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_needs_multi_step_goes_only_where_its_finish_button_goes(loaded: DialogSet) -> None:
    dialog = loaded["needs"]
    when = dialog.steps["when"]
    assert when.input == "multi"
    _, edges = drawn(dialog)
    targets = {t for s, t, _ in edges if s == "when"}
    finish = [c.next or when.next for c in when.choices if c.finish]
    assert targets == {"when", *finish}
    assert "end_done" not in targets


def test_needs_scale_is_one_edge_with_its_range(loaded: DialogSet) -> None:
    dialog = loaded["needs"]
    _, edges = drawn(dialog)
    for sid in ("social", "emotional"):
        step = dialog.steps[sid]
        assert len(step.choices) >= 3 and step.next
        to_next = [label for s, t, label in edges if (s, t) == (sid, step.next)]
        assert to_next == [f"{step.min}–{step.max}"], sid


@pytest.mark.parametrize("name", ["needs", "reframe", "onboarding"])
def test_one_edge_per_pair_and_every_step_has_a_way_in(loaded: DialogSet, name: str) -> None:
    dialog = loaded[name]
    nodes, edges = drawn(dialog)
    pairs = [(s, t) for s, t, _ in edges]
    assert len(pairs) == len(set(pairs))
    assert {node_id(s) for s in dialog.steps} <= reachable(edges)
    assert all(t in nodes for _, t, _ in edges)


def test_every_shipped_graph_is_well_formed(loaded: DialogSet) -> None:
    sample = Sample()
    for dialog in loaded.dialogs.values():
        lines = mermaid(dialog, sample).splitlines()
        assert lines[0] == "flowchart TD", dialog.id
        nodes, edges = drawn(dialog)
        pairs = [(s, t) for s, t, _ in edges]
        assert len(pairs) == len(set(pairs)), dialog.id
        assert {node_id(s) for s in dialog.steps} <= reachable(edges), dialog.id
        assert all(t in nodes for _, t, _ in edges), dialog.id
        assert all(len(label) <= EDGE_CHARS for _, _, label in edges), dialog.id


def test_nodes_carry_the_step_id_and_the_first_words_of_its_prompt(loaded: DialogSet) -> None:
    dialog = loaded["reframe"]
    sample = Sample()
    walked = sample.walk(dialog)
    nodes, _ = drawn(dialog)
    for sid, step in dialog.steps.items():
        html = sample.html(step.prompt, walked[sid].ctx)
        assert html is not None
        first = re.sub(r"<[^>]+>", "", html).split()[0].replace("&#39;", "'")
        assert nodes[sid].startswith(f"<b>{sid}</b>"), sid
        assert first in nodes[sid], sid


def test_buttons_to_one_target_merge_and_hook_exits_are_dotted(loaded: DialogSet) -> None:
    dialog = loaded["reframe"]
    _, edges = drawn(dialog)
    feeling = dialog.steps["feeling"]
    [label] = [lbl for s, t, lbl in edges if (s, t) == ("feeling", feeling.next)]
    assert label == f"text / {len(feeling.choices)} buttons"
    lines = mermaid(dialog).splitlines()
    for target in dialog.steps["resume"].exits:
        assert any(
            re.fullmatch(rf'    resume -\.->\|"[^"]+"\| {target}', line) for line in lines
        ), target
    assert '    start -.->|"draft"| resume' in lines


def test_phantom_routes_of_a_multi_step_are_not_drawn() -> None:
    # A multi step whose options name a `next` and which has its own `next`: options only
    # tick, and the finish button's `next` wins, so neither is a way out.
    text = """
id: demo
start: pick
steps:
  pick:
    input: multi
    next: elsewhere
    choices:
      - {id: a, next: elsewhere}
      - {id: done, finish: true, next: after}
  elsewhere:
    end: true
  after:
    end: true
"""
    dialog, _ = parse_dialog(text, "demo.yaml")
    assert dialog is not None
    _, edges = drawn(dialog)
    assert {t for s, t, _ in edges if s == "pick"} == {"pick", "after"}
    # ...so `elsewhere` has no way in: a real mistake in such a file, and the drawing shows it.
    assert "elsewhere" not in reachable(edges)


def test_a_choices_hook_beside_buttons_of_its_own_draws_no_guess_at_the_end(
    loaded: DialogSet,
) -> None:
    # The check-in's low step: its own buttons all say where they go, and the hook adds link
    # buttons (open a chat), which go nowhere: nothing there leads to the end.
    dialog = loaded["checkin"]
    low = dialog.steps["low"]
    assert low.choices_from and not low.next and not low.exits
    assert all(c.next for c in low.choices)
    _, edges = drawn(dialog)
    targets = [t for s, t, _ in edges if s == "low"]
    assert len(targets) == len({c.next for c in low.choices})
    assert "end_done" not in targets
