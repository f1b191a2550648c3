"""Hooks for the needs map: ratings and ranking, first-step ideas, saving and showing maps.

A map is a "needs_map" record. Maps are only ever added (a redo is a new record), so a
map's position in the list is a stable way to point at it from a button.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from dialogs import drafts, places, records
from dialogs.hooks import HookCall, action, choices, enter
from dialogs.hooks.drafting import draft_info
from dialogs.model import Frame, Record, UserState
from dialogs.spec import ChoiceSpec

DIALOG = "needs"
KIND = "needs_map"

# The kinds of connection rated, in the order they are asked; equal ratings keep this order.
KINDS: tuple[str, ...] = ("confidant", "casual", "activities", "group", "bond")

# Two or three small first steps suited to each kind (labels: needs.idea.<id>).
IDEAS: dict[str, tuple[str, ...]] = {
    "confidant": ("old_friend", "true_thing", "ask_call"),
    "casual": ("barista", "two_smiles", "neighbour"),
    "activities": ("short_walk", "local_class", "online_group"),
    "group": ("online_group", "show_up_once", "volunteer"),
    "bond": ("voice_note", "coffee", "appreciate"),
}

# The goal that usually fits each focus; only a hint, the person chooses.
GOAL_HINTS: dict[str, str] = {
    "confidant": "deepen",
    "casual": "widen",
    "activities": "widen",
    "group": "widen",
    "bond": "deepen",
}

MAX_LISTED = 8  # older maps offered as buttons


# --- pure helpers ---------------------------------------------------------------------


def weighs(social: int | None, emotional: int | None) -> str:
    """Which kind of isolation weighs more: social, emotional, both or neither."""
    s, e = social or 0, emotional or 0
    if s == e:
        return "both" if s >= 2 else "neither"
    if max(s, e) <= 1:
        return "neither"
    return "social" if s > e else "emotional"


def rank(ratings: dict[str, int]) -> list[str]:
    """Emptiest first; equal ratings keep the order they were asked in."""
    return sorted(KINDS, key=lambda k: (-ratings.get(k, 0), KINDS.index(k)))


def tied_at_top(ratings: dict[str, int]) -> list[str]:
    """The kinds sharing the highest rating (0-4), in the order they were asked; more than one
    means the person picks which comes first."""
    top = max((ratings.get(k, 0) for k in KINDS), default=0)
    return [k for k in KINDS if ratings.get(k, 0) == top]


def _ratings(slots: dict[str, Any]) -> dict[str, int]:
    raw = slots.get("ratings") or {}
    return {k: int(v) for k, v in raw.items() if k in KINDS}


def _next_unrated(slots: dict[str, Any]) -> str | None:
    done = _ratings(slots)
    return next((k for k in KINDS if k not in done), None)


def _focus(slots: dict[str, Any]) -> str:
    focus = slots.get("focus")
    return focus if focus in KINDS else rank(_ratings(slots))[0]


def _first_step(slots: dict[str, Any]) -> dict[str, str]:
    """A suggested idea ({"idea": id}) or the person's own words ({"own": text})."""
    chosen = slots.get("first_step")
    if isinstance(chosen, dict) and chosen.get("idea"):
        return {"idea": str(chosen["idea"])}
    if isinstance(chosen, str):
        return {"own": chosen}
    return {"own": str(slots.get("own_step") or "")}


def _zone(state: UserState) -> tzinfo:
    zone = state.profile.timezone
    return ZoneInfo(zone) if zone and places.is_valid_zone(zone) else UTC


def _made_at(record: Record, fallback: datetime) -> datetime:
    stamp = record.data.get("made_at")
    try:
        made = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
    except ValueError:
        made = None
    made = made or record.created_at or fallback
    return made if made.tzinfo else made.replace(tzinfo=UTC)


def map_view(record: Record, zone: tzinfo, now: datetime) -> dict[str, Any]:
    """What a summary template needs, with the date in the person's own time zone."""
    data = record.data
    ratings = {k: int(v) for k, v in (data.get("ratings") or {}).items() if k in KINDS}
    ranking = [k for k in data.get("ranking") or [] if k in KINDS] or rank(ratings)
    return {
        "made": _made_at(record, now).astimezone(zone),
        "when": list(data.get("when") or []),
        "when_own": list(data.get("when_own") or []),
        "weighs": data.get("weighs") or "neither",
        "ranking": [{"kind": k, "rating": ratings.get(k, 0)} for k in ranking],
        "focus": data.get("focus") if data.get("focus") in KINDS else ranking[0],
        "goal": data.get("goal"),
        "first_step": data.get("first_step") or {"own": ""},
    }


def _maps(state: UserState) -> list[Record]:
    return state.records.get(KIND, [])


def _viewed(frame: Frame, maps: list[Record]) -> Record | None:
    """The older map being looked at from the overview, if any."""
    index = frame.slots.get("viewing")
    if isinstance(index, int) and 0 <= index < len(maps) - 1:
        return maps[index]
    return None


# --- the opening: first time, or the latest map -----------------------------------------


@enter("needs_overview")
def overview(call: HookCall) -> dict[str, Any]:
    """The opening screen: `map` (the latest map, or the older one in the slot `viewing`, as
    `map_view`; None before the first), `viewing` (an older one is shown) and `count` (maps
    kept)."""
    maps = _maps(call.state)
    if not maps:
        return {"map": None, "viewing": False, "count": 0}
    shown = _viewed(call.frame, maps) or maps[-1]
    return {
        "map": map_view(shown, _zone(call.state), call.now),
        "viewing": shown is not maps[-1],
        "count": len(maps),
    }


@choices("needs_overview_choices")
def overview_choices(call: HookCall) -> list[ChoiceSpec]:
    """The opening's buttons: begin / later before the first map; while an older map is shown,
    the list, the latest and close; else redo, older maps (with more than one) and close."""
    maps = _maps(call.state)
    if not maps:
        return [
            ChoiceSpec(id="begin", label="needs.open.begin", next="when"),
            ChoiceSpec(id="later", label="needs.open.later", next="closed"),
        ]
    if _viewed(call.frame, maps):
        return [
            ChoiceSpec(id="list", label="needs.open.list", next="older"),
            ChoiceSpec(id="latest", label="needs.open.latest", next="open"),
            ChoiceSpec(id="close", label="needs.open.close", next="closed"),
        ]
    options = [ChoiceSpec(id="redo", label="needs.open.redo", next="when")]
    if len(maps) > 1:
        options.append(ChoiceSpec(id="older", label="needs.open.older", next="older"))
    return [*options, ChoiceSpec(id="close", label="needs.open.close", next="closed")]


@action("needs_leave_overview")
def leave_overview(call: HookCall) -> None:
    """Leaving the opening: the slots (only `viewing` lives there) are emptied, so a new map
    starts from nothing."""
    # Only the map being viewed lives here; a new map starts from empty slots.
    call.frame.slots.clear()


# --- older maps ---------------------------------------------------------------------------


def _older(state: UserState) -> list[tuple[int, Record]]:
    """(position, map) for every map but the latest, newest first."""
    maps = _maps(state)
    return list(reversed(list(enumerate(maps[:-1]))))[:MAX_LISTED]


@enter("needs_older")
def older(call: HookCall) -> dict[str, Any]:
    """`maps`: every map but the latest, newest first (at most MAX_LISTED, 8), as `map_view`."""
    zone = _zone(call.state)
    return {"maps": [map_view(r, zone, call.now) for _, r in _older(call.state)]}


@choices("needs_older_maps")
def older_maps(call: HookCall) -> list[ChoiceSpec]:
    """One numbered button per older map (value: its position in the records, stable since maps
    are only ever added); each runs `needs_view_map` and goes back to `open`."""
    return [
        ChoiceSpec(
            id=f"m{index}",
            label="needs.older.pick",
            value=index,
            ctx=(("number", n),),
            hook="needs_view_map",
            next="open",
        )
        for n, (index, _) in enumerate(_older(call.state), start=1)
    ]


@action("needs_view_map")
def view_map(call: HookCall) -> None:
    """The tapped older map's position goes to the slot `viewing` (an int)."""
    call.frame.slots["viewing"] = int(call.value)


# --- a half-finished map ------------------------------------------------------------------


@enter("needs_draft")
def draft(call: HookCall) -> dict[str, Any]:
    """For the "carry on?" question: `partway` (the set-aside run has answers beyond the start)
    and `saved` (when it was set aside, in their zone, or None)."""
    info = draft_info(call)
    saved = info.get("draft_saved")
    slots = (info.get("draft") or {}).get("slots") or {}
    return {
        "partway": any(k in slots for k in ("when", "when_own", "social")),
        "saved": saved.astimezone(_zone(call.state)) if saved else None,
    }


# --- isolation, ratings, ranking ----------------------------------------------------------


@enter("needs_isolation")
def isolation(call: HookCall) -> dict[str, Any]:
    """`weighs`: which kind of isolation weighs more by the two answers (slots `social` and
    `emotional`, each on the app's own 0-4 scale: 0 = not true at all, 4 = very true): see
    `weighs`."""
    slots = call.frame.slots
    return {"weighs": weighs(slots.get("social"), slots.get("emotional"))}


@enter("needs_rating_info")
def rating_info(call: HookCall) -> dict[str, Any]:
    """The next kind to rate: `kind` (one of KINDS), `number` (1-based) and `total` (5)."""
    kind = _next_unrated(call.frame.slots) or KINDS[-1]
    return {"kind": kind, "number": KINDS.index(kind) + 1, "total": len(KINDS)}


@action("needs_save_rating")
def save_rating(call: HookCall) -> str | None:
    """One rating (the value, 0-4: 0 = fine as it is, 4 = very empty) for the next unrated kind.

    Writes the slot `ratings` ({kind: 0-4}); once all five are rated, also `ranking` (kinds
    emptiest first, ties in the asked order) and `focus` (the first), or no `focus` on a tie.
    Returns "rate" while kinds are left, "tie" when two or more share the top rating (they
    pick), else None (the file's `ranked`). The branch stays here: it follows the ranking the
    hook computes."""
    slots = call.frame.slots
    slots.pop("rating", None)  # the step's slot only carries the number here
    kind = _next_unrated(slots)
    ratings = _ratings(slots)
    if kind is not None:
        ratings[kind] = int(call.value)
    slots["ratings"] = ratings
    if _next_unrated(slots):
        return "rate"
    slots["ranking"] = rank(ratings)
    if len(tied_at_top(ratings)) > 1:
        slots.pop("focus", None)
        return "tie"  # they choose which comes first
    slots["focus"] = slots["ranking"][0]
    return None


@enter("needs_tie")
def tie(call: HookCall) -> dict[str, Any]:
    """`top`: the highest rating (0-4), shared by the tied kinds."""
    ratings = _ratings(call.frame.slots)
    return {"top": max(ratings.values(), default=0)}


@choices("needs_tied_kinds")
def tied_kinds(call: HookCall) -> list[ChoiceSpec]:
    """One button per kind tied at the top; the value is the kind (kept in the slot `focus`)."""
    return [
        ChoiceSpec(id=k, label=f"needs.kind.{k}", value=k)
        for k in tied_at_top(_ratings(call.frame.slots))
    ]


@action("needs_put_focus_first")
def put_focus_first(call: HookCall) -> None:
    """The chosen kind (the value) moves to the front of the slot `ranking`."""
    slots = call.frame.slots
    ranking = [k for k in slots.get("ranking") or rank(_ratings(slots)) if k != call.value]
    slots["ranking"] = [str(call.value), *ranking]


@enter("needs_ranking")
def ranking(call: HookCall) -> dict[str, Any]:
    """`ranking`: [{kind, rating}] emptiest first, and `focus`: the chosen kind."""
    slots = call.frame.slots
    ratings = _ratings(slots)
    order = slots.get("ranking") or rank(ratings)
    return {
        "ranking": [{"kind": k, "rating": ratings.get(k, 0)} for k in order],
        "focus": _focus(slots),
    }


# --- goal and first step ------------------------------------------------------------------


@enter("needs_focus")
def focus(call: HookCall) -> dict[str, Any]:
    """`focus`: the chosen kind (the slot `focus`, else the emptiest), and `hint`: the goal that
    usually fits it ("widen" or "deepen", GOAL_HINTS); only a hint, the person chooses."""
    kind = _focus(call.frame.slots)
    return {"focus": kind, "hint": GOAL_HINTS[kind]}


@choices("needs_step_ideas")
def step_ideas(call: HookCall) -> list[ChoiceSpec]:
    """Two or three small first steps for the focus (IDEAS), each valued {"idea": id} so the
    saved map tells a suggested idea from their own words."""
    return [
        ChoiceSpec(id=idea, label=f"needs.idea.{idea}", value={"idea": idea})
        for idea in IDEAS[_focus(call.frame.slots)]
    ]


# --- saving and showing the finished map --------------------------------------------------


@action("needs_save_map")
def save_map(call: HookCall) -> None:
    """Save the finished map as a NEEDS_MAP record: made_at (ISO UTC), date (their local day),
    when and when_own, social and emotional (0-4), weighs, ratings ({kind: 0-4}), ranking,
    focus, goal and first_step ({"idea": id} or {"own": text}); the dialog's draft is dropped."""
    slots = call.frame.slots
    ratings = _ratings(slots)
    data = {
        "made_at": call.now.isoformat(),
        "date": call.now.astimezone(_zone(call.state)).date().isoformat(),  # their own day
        "when": list(slots.get("when") or []),
        "when_own": list(slots.get("when_own") or []),
        "social": slots.get("social"),
        "emotional": slots.get("emotional"),
        "weighs": weighs(slots.get("social"), slots.get("emotional")),
        "ratings": ratings,
        "ranking": list(slots.get("ranking") or rank(ratings)),
        "focus": _focus(slots),
        "goal": slots.get("goal"),
        "first_step": _first_step(slots),
    }
    records.add(call.state, KIND, data, call.now)
    drafts.take(call.state, DIALOG)  # a finished map needs no draft


@enter("needs_latest")
def latest(call: HookCall) -> dict[str, Any]:
    """`map`: the newest map (as `map_view`, or None) and `count`: maps kept."""
    record = records.latest(call.state, KIND)
    view = map_view(record, _zone(call.state), call.now) if record else None
    return {"map": view, "count": len(_maps(call.state))}
