"""Conditional `next:` (dialogs/conditions.py): the names an expression reads, the checks
at load, the dialog manager choosing each branch, and a failing expression taking its `else`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from dialogs.conditions import NAMES, Branch, ConditionError, choose, compile_branch
from dialogs.hooks.reflect import HARD
from dialogs.manager import DialogManager
from dialogs.model import Command, Frame, Press, Profile, Record, Text, UserState
from dialogs.spec import DialogError, load_dialogs
from prompts import Catalog, default_catalog
from tests.manager_driver import member, run_events

# --- the evaluator, name by name ------------------------------------------------------------


def state_with(*frames: Frame, **records: list[dict[str, Any]]) -> UserState:
    state = UserState(profile=Profile(consented=True, onboarded=True, timezone="Europe/Paris"))
    state.stack = list(frames)
    state.records = {
        kind: [Record(kind, data) for data in found] for kind, found in records.items()
    }
    return state


def holds(source: str, state: UserState, frame: Frame, value: Any = None) -> bool:
    """Whether `source` holds: its branch's target, else the fallback."""
    taken = choose((compile_branch(source, "yes"),), "no", state, frame, value, "demo/ask")
    return taken == "yes"


def test_slots_read_the_frame_and_a_missing_slot_is_none() -> None:
    frame = Frame("demo", "ask", {"person": 4, "items": ["a", "b"]})
    state = state_with(frame)
    assert holds("slots.person == 4", state, frame)
    assert not holds("slots.person == 5", state, frame)
    assert holds("slots['person'] == 4", state, frame)
    assert holds("slots.never_set is none", state, frame)
    # A slot named like a dict method reads as the slot, not as the method.
    assert holds("slots.items|length == 2", state, frame)


def test_value_is_the_answer_just_given() -> None:
    frame = Frame("demo", "ask")
    state = state_with(frame)
    assert holds("value|trim|lower == 'delete'", state, frame, "  DELETE ")
    assert not holds("value|trim|lower == 'delete'", state, frame, "delete it")
    assert holds("value >= 8", state, frame, 9)
    assert not holds("value >= 8", state, frame, 7)


def test_profile_reads_the_listed_fields() -> None:
    frame = Frame("demo", "ask")
    state = state_with(frame)
    assert holds("profile.onboarded and profile.timezone == 'Europe/Paris'", state, frame)
    state.profile.timezone = "Asia/Tokyo"
    assert not holds("profile.timezone == 'Europe/Paris'", state, frame)


def test_count_and_latest_read_the_records() -> None:
    frame = Frame("demo", "ask")
    state = state_with(frame, contact=[{"name": "Ana"}, {"name": "Jo"}])
    assert holds("count('contact') == 2", state, frame)
    assert holds("count('kit_item') == 0", state, frame)
    assert holds("latest('contact').name == 'Jo'", state, frame)
    assert holds("latest('contact').note is none", state, frame)
    assert holds("latest('kit_item') is none", state, frame)
    assert not holds("latest('contact').name == 'Ana'", state, frame)


def test_below_is_the_dialog_underneath() -> None:
    top = Frame("sos", "main")
    assert holds("below is none", state_with(top), top)
    state = state_with(Frame("checkin", "mood"), top)
    assert holds("below == 'checkin'", state, top)
    assert not holds("below is none", state, top)


def test_every_documented_name_is_readable() -> None:
    # The catalogue lists NAMES: each must compile and evaluate.
    frame = Frame("demo", "ask")
    state = state_with(frame)
    probes = {
        "slots": "slots.x is none",
        "value": "value == 'v'",
        "profile": "profile.onboarded",
        "count": "count('x') == 0",
        "latest": "latest('x') is none",
        "below": "below is none",
    }
    assert probes.keys() == NAMES.keys()
    taken = [holds(source, state, frame, "v") for source in probes.values()]
    assert taken == [True, True, True, True, True, True]


def test_an_expression_cannot_change_state(caplog: pytest.LogCaptureFixture) -> None:
    frame = Frame("demo", "ask", {"lines": ["one"]})
    state = state_with(frame, contact=[{"name": "Ana", "tags": []}])
    with caplog.at_level(logging.WARNING, logger="dialogs.conditions"):
        assert not holds("slots.lines.append('two') or true", state, frame)
        assert not holds("latest('contact').tags.append(1) or true", state, frame)
    assert frame.slots == {"lines": ["one"]}
    assert state.records["contact"][0].data == {"name": "Ana", "tags": []}
    assert len(caplog.records) == 2


def test_the_first_condition_that_holds_decides() -> None:
    frame = Frame("demo", "ask", {"n": 5})
    state = state_with(frame)
    branches = (compile_branch("slots.n > 8", "many"), compile_branch("slots.n > 3", "some"))
    assert choose(branches, "few", state, frame, None, "demo/ask") == "some"
    frame.slots["n"] = 9
    assert choose(branches, "few", state, frame, None, "demo/ask") == "many"
    frame.slots["n"] = 1
    assert choose(branches, "few", state, frame, None, "demo/ask") == "few"


def test_a_failing_expression_takes_the_else_and_logs_no_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "my sister never calls back"
    frame = Frame("demo", "ask", {"words": secret})
    state = state_with(frame)
    branches = (compile_branch("slots.words < 3", "small"), compile_branch("true", "later"))
    with caplog.at_level(logging.WARNING, logger="dialogs.conditions"):
        taken = choose(branches, "fallback", state, frame, secret, "demo/ask")
    assert taken == "fallback"  # not "later": an error goes straight to the else
    [record] = caplog.records
    assert "demo/ask" in record.getMessage()
    assert "TypeError" in record.getMessage()
    assert secret not in record.getMessage()


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("slots.n ==", "is not an expression"),
        ("slots.n == 1 }} {{ 2", "after the expression"),
        ("contacts > 0", "unknown name(s) contacts"),
        ("range(3) | length", "unknown name(s) range"),
        ("profile.risk_level", "profile.risk_level"),
        ("count(kind)", "unknown name(s) kind"),
        ("count('a', 'b') > 0", "one quoted record kind"),
        ("latest(slots.kind)", "one quoted record kind"),
        ("slots.n|shout", "No filter named 'shout'"),
        ("slots.n is purple", "No test named 'purple'"),
        ("", "needs an expression"),
    ],
)
def test_bad_expressions_are_refused_at_load(source: str, said: str) -> None:
    with pytest.raises(ConditionError, match=said.replace("(", r"\(").replace(")", r"\)")):
        compile_branch(source, "next_step")


def test_a_branch_keeps_its_source_and_target() -> None:
    branch = compile_branch("count('contact') == 0", "name")
    assert isinstance(branch, Branch)
    assert (branch.source, branch.go) == ("count('contact') == 0", "name")


# --- in a dialog file ---------------------------------------------------------------------

DEMO = """
id: demo
start: count
steps:
  count:
    input: number
    min: 0
    max: 10
    slot: n
    next:
      - {if: "value >= 8", go: many}
      - {if: "slots.n == 0 and count('contact') == 0", go: none}
      - {else: some}
  many:
    choices:
      - id: "on"
        next: [{if: "profile.timezone == 'UTC'", go: utc}, {else: elsewhere}]
  ask:
    input: text
    slot: country_typed
    max_length: 60
    hook: save_country
    next: [{if: "profile.country == 'DE'", go: germany}, {else: elsewhere}]
  words:
    input: text
    slot: words
    next: [{if: "slots.words > 3", go: many}, {else: some}]
  some:
    choices:
      - {id: "on", next: ask}
      - {id: "words", next: words}
  none:
    end: true
  utc:
    end: true
  elsewhere:
    end: true
  germany:
    end: true
"""
STEPS = ("count", "many", "ask", "words", "some", "none", "utc", "elsewhere", "germany")
LABELS = "demo.many.on: 'On'\ndemo.some.on: 'On'\ndemo.some.words: 'Words'\n"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Catalog]:
    """A flows folder for the demo alone, and the shipped prompts plus the demo's (the
    manager's own lines, such as the keyboard's, come from the shipped ones)."""
    root = tmp_path_factory.mktemp("conditions")
    flows = root / "pkg" / "flows"
    flows.mkdir(parents=True)
    shipped = Path(__file__).parents[1] / "prompts"
    for path in shipped.rglob("*"):
        if path.is_file() and path.suffix in (".j2", ".yaml"):
            target = root / "prompts" / path.relative_to(shipped)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    for locale in default_catalog().locales:
        (root / "prompts" / locale / "demo").mkdir()
        (root / "prompts" / locale / "demo" / "buttons.yaml").write_text(LABELS)
        for step in STEPS:
            (root / "prompts" / locale / "demo" / f"{step}.j2").write_text(f"{step}?")
    return flows, Catalog(root / "prompts")


def load(sandbox: tuple[Path, Catalog], text: str) -> DialogManager:
    flows, catalog = sandbox
    (flows / "demo.yaml").write_text(text)
    return DialogManager(load_dialogs(flows, catalog=catalog), catalog)


def start(manager: DialogManager, state: UserState | None = None) -> UserState:
    manager.commands["demo"] = "dialog:demo"
    return run_events(manager, state or member(), Command("demo")).state


def top(state: UserState) -> str | None:
    return state.top.step if state.top else None


def test_each_branch_of_a_step_is_taken(sandbox: tuple[Path, Catalog]) -> None:
    manager = load(sandbox, DEMO)
    assert top(run_events(manager, start(manager), Text("9")).state) == "many"
    assert top(run_events(manager, start(manager), Text("4")).state) == "some"
    empty = run_events(manager, start(manager), Text("0"))
    assert empty.replies[-1].template == "demo/none"  # said, then closed
    assert top(empty.state) is None
    # The second condition reads the records: with someone on the list, 0 is just "some".
    keeper = member()
    keeper.records["contact"] = [Record("contact", {"name": "Ana"})]
    assert top(run_events(manager, start(manager, keeper), Text("0")).state) == "some"


def test_a_buttons_own_conditions_decide_where_it_goes(sandbox: tuple[Path, Catalog]) -> None:
    manager = load(sandbox, DEMO)
    tap = Press(manager.dialogs["demo"].callback("many", "on"))
    here = run_events(manager, start(manager), Text("9"), tap)
    assert here.replies[-1].template == "demo/utc"  # the member's zone is UTC
    away = member()
    away.profile.timezone = "Asia/Tokyo"
    there = run_events(manager, start(manager, away), Text("9"), tap)
    assert there.replies[-1].template == "demo/elsewhere"


def test_conditions_see_what_the_hook_kept_and_its_own_target_wins(
    sandbox: tuple[Path, Catalog],
) -> None:
    manager = load(sandbox, DEMO)
    tap = Press(manager.dialogs["demo"].callback("some", "on"))
    at_ask = run_events(manager, start(manager), Text("4"), tap).state
    assert top(at_ask) == "ask"
    # save_country keeps DE in the profile; the condition, read after it, sees it.
    kept = run_events(manager, at_ask, Text("Germany"))
    assert kept.state.profile.country == "DE"
    assert kept.replies[-1].template == "demo/germany"
    # A country it cannot find: the hook sends the step back to "ask", over the conditions.
    again = run_events(manager, at_ask, Text("Narnia"))
    assert top(again.state) == "ask"
    assert again.state.profile.country is None


def test_a_condition_failing_at_run_time_takes_the_else(
    sandbox: tuple[Path, Catalog], caplog: pytest.LogCaptureFixture
) -> None:
    manager = load(sandbox, DEMO)
    tap = Press(manager.dialogs["demo"].callback("some", "words"))
    at_words = run_events(manager, start(manager), Text("4"), tap).state
    with caplog.at_level(logging.WARNING, logger="dialogs.conditions"):
        turn = run_events(manager, at_words, Text("some words of mine"))
    assert top(turn.state) == "some"  # words > 3 cannot be compared: the else
    assert any("demo/words" in r.getMessage() for r in caplog.records)
    assert not any("words of mine" in r.getMessage() for r in caplog.records)


BROKEN = [
    ("no else", "      - {else: some}\n", "", "step 'count': a conditional next needs a last {else"),
    ("else first", "      - {if: \"value >= 8\", go: many}\n",
     "      - {else: some}\n      - {if: \"value >= 8\", go: many}\n",
     "step 'count': the 'else' of a conditional next must come last"),
    ("syntax", "value >= 8", "value >=", "step 'count': condition 'value >=': is not an expression"),
    ("unknown name", "value >= 8", "answer >= 8", "step 'count': condition 'answer >= 8': uses unknown"),
    ("unknown target", "go: many}", "go: lots}", "step 'count': goes to 'lots', which is not a step"),
    ("bad shape", "go: many}", "then: many}", "step 'count': each condition is {if: <expression>"),
    ("button", "go: utc}", "go: utc, also: 1}", "step 'many': choice 'on': each condition is"),
    ("not a list", "next: [{if: \"profile.country == 'DE'\", go: germany}, {else: elsewhere}]",
     "next: {if: x}", "step 'ask': next must be a step id or a list of conditions"),
]  # fmt: skip


@pytest.mark.parametrize(("why", "old", "new", "said"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_conditional_next_is_refused_with_its_step(
    sandbox: tuple[Path, Catalog], why: str, old: str, new: str, said: str
) -> None:
    assert old in DEMO, why
    with pytest.raises(DialogError) as refused:
        load(sandbox, DEMO.replace(old, new, 1))
    assert f"demo.yaml: {said}" in str(refused.value)


def test_an_unreachable_step_counts_conditional_targets(sandbox: tuple[Path, Catalog]) -> None:
    # `none` is reached only through a condition: removing that condition strands it.
    without = DEMO.replace(
        "      - {if: \"slots.n == 0 and count('contact') == 0\", go: none}\n", ""
    )
    with pytest.raises(DialogError, match="step 'none': cannot be reached"):
        load(sandbox, without)
    load(sandbox, DEMO)


# --- the shipped flows ---------------------------------------------------------------------

SHIPPED = DialogManager(load_dialogs(), default_catalog())


def test_reflect_offers_the_break_from_hard_on() -> None:
    # The file's threshold is the hook module's HARD (the saved screen's "heavy" words).
    suggest = SHIPPED.dialogs["reflect"].steps["suggest"]
    frame = Frame("reflect", "suggest")
    state = state_with(frame)

    def after(actual: int | None, hard: str | None) -> str | None:
        frame.slots = {"actual": actual, "hard": hard}
        return choose(suggest.branches, suggest.next, state, frame, "stay", "reflect/suggest")

    assert after(HARD, None) == "hard_offer"
    assert after(HARD - 1, None) == "saved"
    assert after(None, None) == "saved"
    assert after(0, "My hands shook") == "hard_offer"
    assert after(3, "") == "saved"


def test_not_now_on_a_new_name_goes_back_to_the_list_only_when_it_has_someone() -> None:
    dialog = SHIPPED.dialogs["contacts"]
    not_now = Press(dialog.callback("name", "not_now"))
    nobody = run_events(SHIPPED, member(), Command("contacts"))
    assert top(nobody.state) == "name"  # an empty list goes straight to adding
    closed = run_events(SHIPPED, nobody.state, not_now)
    assert closed.replies[-1].template == "contacts/closed"
    assert closed.state.top is None
    keeper = member()
    person = {"name": "Ana", "reach": "other", "handle": "at work", "note": None}
    keeper.records["contact"] = [Record("contact", person)]
    at_list = run_events(SHIPPED, keeper, Command("contacts"))
    assert top(at_list.state) == "manage"
    adding = run_events(SHIPPED, at_list.state, Press(dialog.callback("manage", "add")))
    assert top(adding.state) == "name"
    back = run_events(SHIPPED, adding.state, not_now)
    assert back.state.top is not None
    assert (back.state.top.dialog, back.state.top.step) == ("contacts", "manage")


def test_back_on_need_a_quick_chat_says_goodbye_only_with_nothing_below() -> None:
    sos = SHIPPED.dialogs["sos"]
    back = Press(sos.callback("main", "back"))
    alone = run_events(SHIPPED, member(), Command("sos"), back)
    assert alone.replies[-1].template == "sos/bye"
    busy = run_events(SHIPPED, member(Frame("checkin", "mood")), Command("sos"), back)
    assert "sos/bye" not in [r.template for r in busy.replies]
    assert busy.state.top is not None and busy.state.top.dialog == "checkin"


# --- drawn and printed ------------------------------------------------------------------------


def test_the_graph_labels_each_condition_and_the_else(sandbox: tuple[Path, Catalog]) -> None:
    from dialogs.graph import EDGE_CHARS, mermaid
    from dialogs.script import Sample

    _, catalog = sandbox
    dialog = load(sandbox, DEMO).dialogs["demo"]
    lines = mermaid(dialog, Sample(catalog)).splitlines()
    assert '    count -->|"if value #gt;= 8"| many' in lines
    assert "    count -->|\"if n == 0 and count('contact'…\"| none" in lines  # cut to fit
    assert '    count -->|"else: 0–10"| some' in lines
    # A button's label comes first when it fits beside its condition ("On: if ..." does not).
    assert "    many -->|\"if profile.timezone == 'UTC'\"| utc" in lines
    assert '    many -->|"else: On"| elsewhere' in lines
    assert '    words -->|"if words #gt; 3"| many' in lines  # `slots.` left out
    labels = [line.split('"')[1] for line in lines if '-->|"' in line]
    assert labels and all(len(label) <= EDGE_CHARS for label in labels)


def test_the_script_says_each_condition_beside_where_it_goes(
    sandbox: tuple[Path, Catalog],
) -> None:
    from dialogs.script import Sample, script

    _, catalog = sandbox
    dialog = load(sandbox, DEMO).dialogs["demo"]
    page = script(dialog, Sample(catalog), text=DEMO)
    assert (
        "if `value >= 8` → [many](#many); "
        "if `slots.n == 0 and count('contact') == 0` → [none](#none); "
        "otherwise an answer → [some](#some)"
    ) in page
    assert (
        "“On” if `profile.timezone == 'UTC'` → [utc](#utc); otherwise → [elsewhere](#elsewhere)"
    ) in page


def test_the_catalogue_lists_the_names_and_where_conditions_are_used() -> None:
    from dialogs.catalogue import catalogue

    page = catalogue(SHIPPED.dialogs)
    for name in NAMES:
        assert f"- `{name}`: " in page
    used = next(line for line in page.splitlines() if line.startswith("Used in: contacts."))
    assert "delete.confirm" in used and "sos.main" in used
