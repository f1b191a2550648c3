"""The exposure ladder: a short list of social steps from easy to hard (issue 12).

Pure: no clock, no I/O but reading the library file once. A ladder is the data of a
LADDER record (dialogs/coaching.py):

    {"need": str | None, "goal": "widen" | "deepen" | "calm" | None,
     "steps": [{"id": int, "idea": str | None, "text": str | None,
                "expected": int | None, "tries": int, "done": int}, ...],
     "current": int}

Steps run easy to hard; a step is a library idea ("idea", its words in the prompts under
"steps.idea.<id>") or the person's own words ("text", which wins when both are set).
Functions here never change their arguments: they return new ladders.

The library (dialogs/data/step_ideas.yaml) lists ideas with the needs they serve, a
level (micro < joint < deeper) and a rough default difficulty 0-10, and the social
portfolio: fallback actions by energy (low, some, plenty).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

# The exact wall-clock rules of the check-ins (a time in a DST gap moves to the end of the
# gap, a time that happens twice is its first occurrence): one rule for every local time.
from dialogs.schedule import _wall_instants, next_checkin, parse_local_time
from dialogs.yaml_data import load_yaml

LIBRARY_PATH = Path(__file__).parent / "data" / "step_ideas.yaml"
NEEDS: tuple[str, ...] = ("confidant", "casual", "activities", "group", "bond")
GOALS: tuple[str, ...] = ("widen", "deepen", "calm")
LEVELS: tuple[str, ...] = ("micro", "joint", "deeper")  # easy to hard
ENERGIES: tuple[str, ...] = ("low", "some", "plenty")
MIN_STEPS, MAX_STEPS = 5, 8
OWN_SIZE = 5  # the size of a step of their own words that was never rated (middle of 0-10)

# How many steps of each level (micro, joint, deeper) a proposal has, by goal: widening
# leans on joint activities, deepening on deeper steps, calming on many small moments.
QUOTAS: dict[str | None, tuple[int, int, int]] = {
    None: (3, 2, 1),
    "widen": (3, 3, 1),
    "deepen": (2, 2, 2),
    "calm": (4, 1, 1),
}

# suggest(): the scale is the person's own 0-10 ("how hard was it really").
EASY_AT = 4  # this hard or easier: ready to climb
CLIMB_IF_EASIER_UP_TO = 6  # up to this, easier than expected also means climb
HARD_AT = 8  # this hard or harder: stay at this height for a while

Suggestion = Literal["climb", "repeat", "stay", "smaller"]


@dataclass(frozen=True)
class Idea:
    """One step idea of the library. `id` names its words in the prompts
    ("steps.idea.<id>"); `needs` are the needs-map kinds it serves (NEEDS); `difficulty`
    is the library writers' rough default on 0 (effortless) to 10 (the hardest step on
    any ladder), not a measured scale: only the person's own ratings order their ladder.
    """

    id: str
    needs: tuple[str, ...]
    level: str  # one of LEVELS
    difficulty: int  # 0-10, a rough default

    @property
    def rank(self) -> int:
        """The level's place in LEVELS: 0 micro, 1 joint, 2 deeper."""
        return LEVELS.index(self.level)


@dataclass(frozen=True)
class Library:
    """dialogs/data/step_ideas.yaml, parsed and checked (load_library)."""

    ideas: tuple[Idea, ...]  # in file order
    portfolio: dict[str, tuple[str, ...]]  # energy -> portfolio item ids

    def idea(self, idea_id: str | None) -> Idea | None:
        """The idea with this id, or None (a step of their own words, or an id the library
        no longer has)."""
        return next((i for i in self.ideas if i.id == idea_id), None)


def _parse(raw: Any, source: str) -> Library:
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: needs 'ideas' and 'portfolio'")
    ideas: list[Idea] = []
    for entry in raw.get("ideas") or []:
        idea = Idea(
            id=str(entry["id"]),
            needs=tuple(str(n) for n in entry.get("needs") or ()),
            level=str(entry.get("level")),
            difficulty=int(entry.get("difficulty", OWN_SIZE)),
        )
        if idea.level not in LEVELS:
            raise ValueError(f"{source}: idea '{idea.id}' has level {idea.level!r}")
        if not set(idea.needs) <= set(NEEDS):
            raise ValueError(f"{source}: idea '{idea.id}' serves an unknown need")
        if not 0 <= idea.difficulty <= 10:
            raise ValueError(f"{source}: idea '{idea.id}' difficulty is not 0-10")
        if any(i.id == idea.id for i in ideas):
            raise ValueError(f"{source}: idea '{idea.id}' is listed twice")
        ideas.append(idea)
    folio = raw.get("portfolio") or {}
    portfolio = {e: tuple(str(i) for i in folio.get(e) or ()) for e in ENERGIES}
    return Library(tuple(ideas), portfolio)


@lru_cache(maxsize=4)
def load_library(path: Path = LIBRARY_PATH) -> Library:
    """The library of step ideas and portfolio items (cached per path); ValueError names a
    broken entry, OSError when the file can't be read."""
    return _parse(load_yaml(path.read_text("utf-8")), str(path))


# --- proposing a ladder ---------------------------------------------------------------


def _step(step_id: int, idea: str | None = None, text: str | None = None) -> dict[str, Any]:
    return {"id": step_id, "idea": idea, "text": text, "expected": None, "tries": 0, "done": 0}


def _easy_first(ideas: list[Idea], library: Library) -> list[Idea]:
    return sorted(ideas, key=lambda i: (i.difficulty, i.rank, library.ideas.index(i)))


def propose(
    need: str | None, goal: str | None, library: Library | None = None
) -> list[dict[str, Any]]:
    """5 to 8 new steps for a need and goal, easy to hard (ids 1, 2, ...).

    `need` is a needs-map kind (None: any), `goal` widen | deepen | calm | None. Each level
    gets the goal's quota (QUOTAS) of the easiest ideas serving the need; a level short of
    them borrows the easiest ideas of that level serving other needs. The steps are then
    ordered by default difficulty (level breaks ties). Unknown needs or goals read as None.
    """
    library = library or load_library()
    quota = QUOTAS.get(goal if goal in GOALS else None, QUOTAS[None])
    usable = [i for i in library.ideas if i.difficulty > 0]  # 0: tiny, for `smaller` only
    serving = [i for i in usable if need in NEEDS and need in i.needs] or usable
    chosen: list[Idea] = []
    for level, count in zip(LEVELS, quota, strict=True):
        own = _easy_first([i for i in serving if i.level == level], library)
        others = _easy_first([i for i in usable if i.level == level and i not in own], library)
        chosen += (own + others)[:count]
    if len(chosen) < MIN_STEPS:  # only a very small library gets here
        rest = _easy_first([i for i in usable if i not in chosen], library)
        chosen += rest[: MIN_STEPS - len(chosen)]
    ordered = _easy_first(chosen[:MAX_STEPS], library)
    return [_step(n, idea.id) for n, idea in enumerate(ordered, start=1)]


def new_ladder(need: str | None, goal: str | None, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """A LADDER record's data for these steps; the first (easiest) step is current."""
    steps = copy.deepcopy(steps)
    return {
        "need": need if need in NEEDS else None,
        "goal": goal if goal in GOALS else None,
        "steps": steps,
        "current": steps[0]["id"] if steps else 0,
    }


def new_step_id(steps: list[dict[str, Any]], taken: Iterable[int] = ()) -> int:
    """An id no step in `steps` has, nor any in `taken` (ids of removed steps that plans or
    reflections still name): one more than the largest."""
    return max([*(int(s["id"]) for s in steps), *taken], default=0) + 1


def own_step(steps: list[dict[str, Any]], text: str, taken: Iterable[int] = ()) -> dict[str, Any]:
    """A new step of the person's own words, with a fresh id (see `new_step_id`)."""
    return _step(new_step_id(steps, taken), None, text)


def order_by_rating(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps easy to hard by their expected rating (0-10), as new dicts.

    The sort is stable: equal ratings keep their order. An unrated step (a smaller step
    just put below another, not rated yet) stays just below the first rated step above
    it, whatever that step's new place; unrated steps with no rated step above stay at
    the top. The person's own ratings are the only scale here, so the ladder reads "easy
    to hard by your ratings"; `current` is a step id, so it survives the reordering.
    """
    keys: list[float] = []
    above: float = float("inf")  # unrated steps at the very top stay there
    for step in reversed(steps):
        rating = step.get("expected")
        if isinstance(rating, int) and not isinstance(rating, bool):
            above = rating
        keys.append(above)
    keys.reverse()
    order = sorted(range(len(steps)), key=lambda n: keys[n])
    return [copy.deepcopy(steps[n]) for n in order]


def reorder(ladder: dict[str, Any]) -> dict[str, Any]:
    """The ladder (LADDER data) with its steps easy to hard by rating (see
    `order_by_rating`); call it whenever a step gets or changes its rating."""
    out = copy.deepcopy(ladder)
    out["steps"] = order_by_rating(out.get("steps") or [])
    return out


# --- moving on the ladder --------------------------------------------------------------


def find_step(ladder: dict[str, Any], step_id: Any) -> dict[str, Any] | None:
    """The step dict with this id in LADDER data (the ladder's own, not a copy), or None."""
    return next((s for s in ladder.get("steps") or [] if s.get("id") == step_id), None)


def _index(ladder: dict[str, Any], step_id: Any) -> int | None:
    steps = ladder.get("steps") or []
    return next((n for n, s in enumerate(steps) if s.get("id") == step_id), None)


def next_step(ladder: dict[str, Any], step_id: Any = None) -> dict[str, Any] | None:
    """The step above `step_id` (default: the current one), or None at the top."""
    at = _index(ladder, ladder.get("current") if step_id is None else step_id)
    steps = ladder.get("steps") or []
    return steps[at + 1] if at is not None and at + 1 < len(steps) else None


def climb(ladder: dict[str, Any], step_id: Any = None) -> dict[str, Any]:
    """The ladder with `current` on the step above `step_id` (default: the current step).
    At the top (or for an unknown step) it is returned unchanged (as a copy)."""
    out = copy.deepcopy(ladder)
    above = next_step(ladder, step_id)
    if above is not None:
        out["current"] = above["id"]
    return out


def record_try(ladder: dict[str, Any], step_id: Any, done: bool) -> dict[str, Any]:
    """The ladder after a try of a step was reflected on: `tries` + 1, and `done` + 1 if
    it fully happened. An unknown step changes nothing."""
    out = copy.deepcopy(ladder)
    step = find_step(out, step_id)
    if step is not None:
        step["tries"] = int(step.get("tries") or 0) + 1
        step["done"] = int(step.get("done") or 0) + (1 if done else 0)
    return out


def suggest(expected: int | None, actual: int | None, happened: bool, partly: bool = False) -> str:
    """What the ladder suggests after a try: "climb" | "repeat" | "stay" | "smaller".

    `expected` and `actual` are the person's 0-10 ratings (before, and how hard it really
    was); `partly`: it happened only in part. The rule, first match wins:

    1. it didn't happen                                   -> "smaller" (an easier step)
    2. no real rating given                               -> "repeat"
    3. actual >= 8 (HARD_AT): it was hard                 -> "stay" (let it grow familiar)
    4. it happened only partly                            -> "repeat" (once more, whole)
    5. actual <= 4 (EASY_AT), or actual <= 6 and lower
       than expected (easier than feared)                 -> "climb"
    6. otherwise (5-7, about as hard as expected or more) -> "repeat"
    """
    if not happened:
        return "smaller"
    if actual is None:
        return "repeat"
    if actual >= HARD_AT:
        return "stay"
    if partly:
        return "repeat"
    if actual <= EASY_AT:
        return "climb"
    if expected is not None and actual <= CLIMB_IF_EASIER_UP_TO and actual < expected:
        return "climb"
    return "repeat"


# --- a smaller step ---------------------------------------------------------------------


def _size(step: dict[str, Any], library: Library) -> int:
    """How big a step is on the library's scale: its idea's default difficulty; for their
    own words, their expected rating, else OWN_SIZE."""
    idea = library.idea(step.get("idea"))
    if idea is not None:
        return idea.difficulty
    expected = step.get("expected")
    return int(expected) if isinstance(expected, int) else OWN_SIZE


def _rank(step: dict[str, Any], library: Library) -> int:
    idea = library.idea(step.get("idea"))
    if idea is not None:
        return idea.rank
    size = _size(step, library)  # their own words: the level their size suggests
    return 0 if size <= 4 else 1 if size <= 6 else 2


def smaller(
    ladder: dict[str, Any],
    step_id: Any,
    library: Library | None = None,
    taken: Iterable[int] = (),
) -> dict[str, Any] | None:
    """An easier step for the ladder's need than step `step_id`, or None.

    First choice: an idea not on the ladder yet, serving the ladder's need (any idea if
    the need is None), smaller than the step (lower default difficulty, level no higher),
    preferring a lower level, and within it the biggest such idea: the nearest rung below.
    It comes back as a new step (a fresh id, see `new_step_id`; not yet on the ladder: see
    `insert_below`).
    With none left for that need, the same among all ideas. A full ladder (MAX_STEPS)
    takes no new step. Else the nearest existing step below it on the ladder that they
    rated easier (or that is smaller, when unrated); None when there is none, or for an
    unknown step.
    """
    library = library or load_library()
    at = _index(ladder, step_id)
    if at is None:
        return None
    steps: list[dict[str, Any]] = ladder.get("steps") or []
    step = steps[at]
    size, rank = _size(step, library), _rank(step, library)
    used = {s.get("idea") for s in steps}
    need = ladder.get("need")
    pool = [i for i in library.ideas if need not in NEEDS or need in i.needs]
    fits = [i for i in pool if i.id not in used and i.difficulty < size and i.rank <= rank]
    if not fits:
        # The need's own ideas run out at the bottom of the ladder; a smaller step of any
        # kind still beats "try the same again" after it didn't happen.
        fits = [
            i for i in library.ideas if i.id not in used and i.difficulty < size and i.rank <= rank
        ]
    if fits and len(steps) < MAX_STEPS:
        lower = [i for i in fits if i.rank < rank]
        pick = max(lower or fits, key=lambda i: (i.rank, i.difficulty, -library.ideas.index(i)))
        return _step(new_step_id(steps, taken), pick.id)
    mine = step.get("expected")
    for below in steps[:at][::-1]:  # reversed() here is typed Any by mypy
        theirs = below.get("expected")
        if isinstance(mine, int) and isinstance(theirs, int):  # rated
            easier = theirs < mine
        else:
            easier = _size(below, library) < size
        if easier:
            return copy.deepcopy(below)
    return None


def insert_below(ladder: dict[str, Any], step_id: Any, new: dict[str, Any]) -> dict[str, Any]:
    """The ladder with `new` just below step `step_id` and made current. A step already on
    the ladder (same id) is not added again: it just becomes current."""
    out = copy.deepcopy(ladder)
    steps = out.setdefault("steps", [])
    if find_step(out, new.get("id")) is None:
        at = _index(out, step_id)
        steps.insert(at if at is not None else 0, copy.deepcopy(new))
    out["current"] = new["id"]
    return out


# --- the social portfolio -----------------------------------------------------------------


def seed_portfolio(library: Library | None = None) -> dict[str, list[dict[str, str]]]:
    """A first PORTFOLIO record's data: the library's items by energy, as {"idea": id}."""
    library = library or load_library()
    return {e: [{"idea": i} for i in library.portfolio.get(e, ())] for e in ENERGIES}


# --- when -----------------------------------------------------------------------------


def local_instant(day: date, hhmm: str, zone: str | ZoneInfo | None) -> datetime:
    """The aware UTC instant when the clock in `zone` shows `hhmm` ("HH:MM") on `day`.

    `zone` is an IANA name or ZoneInfo; None means UTC. The wall-clock rules are those of
    dialogs/schedule.py: a time that happens twice (autumn) is its first occurrence, a time
    that does not exist (spring) is the end of the gap (02:30 on Berlin's spring day is
    03:00 local, 01:00 UTC). Raises ValueError for a malformed time, KeyError (from
    zoneinfo) for an unknown zone.
    """
    if zone is None:
        return datetime.combine(day, parse_local_time(hhmm), UTC)
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    instants = _wall_instants(day, parse_local_time(hhmm), tz)
    if instants:
        return instants[0]
    # A gap across midnight (no zone has had one since 2011): the next time it exists.
    return next_checkin(hhmm, tz, datetime.combine(day, parse_local_time("00:00"), UTC))
