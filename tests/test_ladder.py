"""The ladder's pure rules (dialogs/ladder.py): proposals, smaller steps, the suggestion
after a try, climbing, and local times to UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from dialogs import ladder
from prompts import default_catalog

LIB = ladder.load_library()


def difficulty(step: dict[str, object]) -> int:
    idea = LIB.idea(str(step["idea"]))
    assert idea is not None
    return idea.difficulty


@pytest.mark.parametrize("need", [*ladder.NEEDS, None])
@pytest.mark.parametrize("goal", [*ladder.GOALS, None])
def test_a_proposal_has_5_to_8_steps_easy_to_hard_for_the_need(
    need: str | None, goal: str | None
) -> None:
    steps = ladder.propose(need, goal)
    assert ladder.MIN_STEPS <= len(steps) <= ladder.MAX_STEPS
    sizes = [difficulty(s) for s in steps]
    assert sizes == sorted(sizes)
    assert [s["id"] for s in steps] == list(range(1, len(steps) + 1))
    assert len({s["idea"] for s in steps}) == len(steps)  # no idea twice
    levels = [LIB.idea(str(s["idea"])).level for s in steps]  # type: ignore[union-attr]
    assert {"micro", "joint", "deeper"} <= set(levels)  # from a moment to a real stretch
    if need is not None:
        served = [need in LIB.idea(str(s["idea"])).needs for s in steps]  # type: ignore[union-attr]
        assert all(served)
    for s in steps:
        assert s == {"id": s["id"], "idea": s["idea"], "text": None, "expected": None,
                     "tries": 0, "done": 0}  # fmt: skip


def test_goals_shape_the_mix() -> None:
    def count(goal: str, level: str) -> int:
        steps = ladder.propose("bond", goal)
        return sum(LIB.idea(str(s["idea"])).level == level for s in steps)  # type: ignore[union-attr]

    assert count("deepen", "deeper") > count("widen", "deeper")
    assert count("widen", "joint") > count("deepen", "joint")
    assert count("calm", "micro") > count("deepen", "micro")


def test_casual_widen_starts_with_micro_connections() -> None:
    ideas = [s["idea"] for s in ladder.propose("casual", "widen")]
    assert ideas[:3] == ["two_smiles", "thank_detail", "barista"]


def test_every_idea_and_portfolio_item_has_words() -> None:
    catalog = default_catalog()
    for idea in LIB.ideas:
        assert catalog.has_label("en", f"steps.idea.{idea.id}"), idea.id
    for items in LIB.portfolio.values():
        assert items
        for item in items:
            assert catalog.has_label("en", f"steps.portfolio.{item}"), item


def test_a_broken_library_is_refused_with_the_idea_named(tmp_path: object) -> None:
    bad = {"ideas": [{"id": "x", "needs": ["casual"], "level": "huge", "difficulty": 3}]}
    with pytest.raises(ValueError, match="'x'"):
        ladder._parse(bad, "test")


def a_ladder(need: str = "confidant", goal: str | None = "deepen") -> dict[str, object]:
    return ladder.new_ladder(need, goal, ladder.propose(need, goal))


def test_smaller_is_a_lower_idea_not_on_the_ladder_yet() -> None:
    data = a_ladder()
    on_ladder = {s["idea"] for s in data["steps"]}  # type: ignore[union-attr]
    for step in data["steps"][1:]:  # type: ignore[index]
        easier = ladder.smaller(data, step["id"])
        assert easier is not None
        if easier["idea"] in on_ladder:  # nothing new below it: the step below
            assert easier == data["steps"][data["steps"].index(step) - 1]  # type: ignore[union-attr]
            continue
        idea, was = LIB.idea(easier["idea"]), LIB.idea(step["idea"])
        assert idea is not None and was is not None
        assert "confidant" in idea.needs
        assert idea.difficulty < was.difficulty and idea.rank <= was.rank
        assert easier["id"] not in {s["id"] for s in data["steps"]}  # type: ignore[union-attr]


def test_smaller_prefers_a_lower_level_then_the_nearest_rung() -> None:
    data = a_ladder()
    call = next(s for s in data["steps"] if s["idea"] == "call_friend")  # type: ignore[union-attr]
    easier = ladder.smaller(data, call["id"])
    assert easier is not None and easier["idea"] == "voice_note"  # micro, the biggest left


def test_smaller_falls_back_to_a_tiny_step_then_the_step_below_then_none() -> None:
    tiny = [i.id for i in ladder.load_library().ideas if i.difficulty == 0]
    assert len(tiny) >= 3
    steps = [
        {"id": 1, "idea": "two_smiles", "text": None, "expected": 1, "tries": 0, "done": 0},
        {"id": 2, "idea": None, "text": "Say hi to Sam", "expected": 1, "tries": 0, "done": 0},
    ]
    data = ladder.new_ladder("casual", None, steps)
    # The easiest idea at the bottom: a tiny step (never proposed, only offered here).
    easier = ladder.smaller(data, 1)
    assert easier is not None and easier["idea"] in tiny
    # With every tiny step on the ladder already: the step below, then nothing.
    full = ladder.new_ladder(
        "casual",
        None,
        [{"id": 10 + n, "idea": t, "text": None, "expected": 0, "tries": 0, "done": 0}
         for n, t in enumerate(tiny)] + steps,
    )  # fmt: skip
    # Own words rated 1: not two_smiles (rated 1 too, not easier) but the nearest step
    # below that they rated easier, the last tiny one (0).
    assert ladder.smaller(full, 2) == full["steps"][len(tiny) - 1]
    # A full ladder takes no new step: only one already on it.
    eight = ladder.new_ladder(
        "casual",
        None,
        [{"id": n, "idea": None, "text": f"s{n}", "expected": n, "tries": 0, "done": 0}
         for n in range(1, ladder.MAX_STEPS + 1)],
    )  # fmt: skip
    assert ladder.smaller(eight, 5) == eight["steps"][3]
    assert ladder.smaller(eight, 1) is None
    assert ladder.smaller(full, 10) is None  # a tiny step at the very bottom
    assert ladder.smaller(data, 99) is None


def test_tiny_steps_are_never_proposed() -> None:
    for need in (*ladder.NEEDS, None):
        for goal in (*ladder.GOALS, None):
            proposed = {s["idea"] for s in ladder.propose(need, goal)}
            assert not proposed & {i.id for i in ladder.load_library().ideas if i.difficulty == 0}


def test_insert_below_puts_the_new_step_under_and_makes_it_current() -> None:
    data = a_ladder()
    third = data["steps"][2]["id"]  # type: ignore[index]
    easier = ladder.smaller(data, third)
    assert easier is not None
    out = ladder.insert_below(data, third, easier)
    ids = [s["id"] for s in out["steps"]]
    assert ids.index(easier["id"]) == ids.index(third) - 1
    assert out["current"] == easier["id"]
    assert len(data["steps"]) + 1 == len(out["steps"])  # type: ignore[arg-type]
    again = ladder.insert_below(out, third, easier)  # already there: not added twice
    assert len(again["steps"]) == len(out["steps"])


@pytest.mark.parametrize(
    ("expected", "actual", "happened", "partly", "choice"),
    [
        (7, None, False, False, "smaller"),  # didn't happen
        (None, None, False, False, "smaller"),
        (5, None, True, False, "repeat"),  # no rating
        (7, 4, True, False, "climb"),  # easy: climb
        (2, 4, True, False, "climb"),  # 4 or less is easy, even if harder than feared
        (8, 6, True, False, "climb"),  # easier than expected, up to 6
        (6, 6, True, False, "repeat"),  # as expected
        (5, 7, True, False, "repeat"),  # harder than expected
        (9, 7, True, False, "repeat"),  # easier but still 7: once more
        (3, 8, True, False, "stay"),  # hard: stay a while
        (9, 10, True, True, "stay"),
        (7, 3, True, True, "repeat"),  # partly: once more, whole
        (None, 5, True, False, "repeat"),
    ],
)
def test_the_suggestion_rule(
    expected: int | None, actual: int | None, happened: bool, partly: bool, choice: str
) -> None:
    assert ladder.suggest(expected, actual, happened, partly) == choice


def test_climb_moves_current_up_and_stops_at_the_top() -> None:
    data = a_ladder()
    ids = [s["id"] for s in data["steps"]]  # type: ignore[union-attr]
    assert data["current"] == ids[0]
    up = ladder.climb(data)
    assert up["current"] == ids[1] and data["current"] == ids[0]  # a new ladder
    top = ladder.climb({**data, "current": ids[-1]})
    assert top["current"] == ids[-1]
    assert ladder.climb(data, ids[3])["current"] == ids[4]


def test_record_try_counts_tries_and_done() -> None:
    data = a_ladder()
    first = data["steps"][0]["id"]  # type: ignore[index]
    out = ladder.record_try(ladder.record_try(data, first, True), first, False)
    assert (out["steps"][0]["tries"], out["steps"][0]["done"]) == (2, 1)
    assert data["steps"][0]["tries"] == 0  # type: ignore[index]


def test_order_by_rating_is_stable_easy_to_hard() -> None:
    steps = ladder.propose("group", None)
    for s, rating in zip(steps, [5, 2, 5, 9, 0, 2], strict=True):
        s["expected"] = rating
    ordered = ladder.order_by_rating(steps)
    assert [s["expected"] for s in ordered] == [0, 2, 2, 5, 5, 9]
    assert [s["id"] for s in ordered] == [5, 2, 6, 1, 3, 4]


def test_an_unrated_step_stays_just_below_its_step_and_a_new_rating_moves_it() -> None:
    data = a_ladder()
    for s, rating in zip(data["steps"], [1, 2, 3, 5, 6, 8], strict=False):  # type: ignore[union-attr]
        s["expected"] = rating
    fifth = data["steps"][4]["id"]  # type: ignore[index]
    easier = ladder.smaller(data, fifth)
    assert easier is not None
    placed = ladder.insert_below(data, fifth, easier)
    same = ladder.reorder(placed)  # unrated: it keeps its place below the fifth step
    assert [s["id"] for s in same["steps"]] == [s["id"] for s in placed["steps"]]
    top = {**placed, "steps": [*placed["steps"], ladder.own_step(placed["steps"], "Mine")]}
    assert ladder.reorder(top)["steps"][-1]["text"] == "Mine"  # unrated at the top: stays
    for s in placed["steps"]:
        if s["id"] == easier["id"]:
            s["expected"] = 3  # rated after it was put there
    moved = ladder.reorder(placed)
    assert [s["expected"] for s in moved["steps"]] == [1, 2, 3, 3, 5, 6, 8]
    assert moved["steps"][3]["id"] == easier["id"] == moved["current"]
    assert placed["steps"][4]["id"] == easier["id"]  # the argument is left as it was


def test_seed_portfolio_has_every_energy() -> None:
    seed = ladder.seed_portfolio()
    assert set(seed) == {"low", "some", "plenty"}
    assert all(seed[e] and all("idea" in i for i in seed[e]) for e in seed)


def test_local_instant_kolkata_has_a_half_hour_offset() -> None:
    at = ladder.local_instant(date(2026, 11, 24), "18:00", "Asia/Kolkata")
    assert at == datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
    assert at.utcoffset() is not None and at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    zone = ZoneInfo("Asia/Kolkata")
    assert ladder.local_instant(date(2026, 11, 24), "00:15", zone) == datetime(
        2026, 11, 23, 18, 45, tzinfo=UTC
    )


def test_local_instant_follows_dst() -> None:
    berlin = "Europe/Berlin"
    # Summer time (UTC+2) and winter time (UTC+1) on either side of the change.
    assert ladder.local_instant(date(2026, 3, 28), "18:00", berlin) == datetime(
        2026, 3, 28, 17, 0, tzinfo=UTC
    )
    assert ladder.local_instant(date(2026, 3, 29), "18:00", berlin) == datetime(
        2026, 3, 29, 16, 0, tzinfo=UTC
    )
    # 02:30 does not exist on the spring day: the end of the gap, 03:00 local.
    assert ladder.local_instant(date(2026, 3, 29), "02:30", berlin) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )
    # 02:30 happens twice on the autumn day: the first one (still summer time).
    assert ladder.local_instant(date(2026, 10, 25), "02:30", berlin) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    # New York's spring day, in the evening: already UTC-4.
    assert ladder.local_instant(date(2026, 3, 8), "18:00", "America/New_York") == datetime(
        2026, 3, 8, 22, 0, tzinfo=UTC
    )


def test_local_instant_without_a_zone_is_utc_and_bad_times_are_refused() -> None:
    assert ladder.local_instant(date(2026, 11, 24), "18:00", None) == datetime(
        2026, 11, 24, 18, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        ladder.local_instant(date(2026, 11, 24), "25:00", "Asia/Kolkata")
