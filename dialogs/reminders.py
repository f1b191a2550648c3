"""When the small-steps method speaks up by itself: planned steps, reflections, the weekly
review, the loneliness measure and connection windows (issue 12).

Pure: every function takes the state and the current instant (aware) and reads the
records of dialogs/coaching.py. `next_at` runs after every turn, so it reads only what it
needs, bounded whatever the history (`READS`, in one round trip): the rhythm, the newest
measure, the newest plans and the newest few records of each kind that counts as noted.
The sweep has one due time per person for all of them, `users.next_reminder_at`, which
storage sets to `next_at(state, now)` after every turn; when it comes, the dialog manager's
`Due("reminder")` turn asks `due_items` what is due, opens the first one's dialog and marks
it sent (`mark_sent`), so the next `next_at` moves on.

Rules, each documented in docs/coaching.md:

* A planned step's reminder comes at the minute they chose; "how did it go?" 3 hours
  later (the plan's `ask_at`). A reminder more than STALE late (downtime, a pause) is
  dropped; the question about how it went is still asked.
* The weekly review comes at their day and hour (default Sunday 18:00 local), at most
  STALE late. A week in which they wrote nothing, or noted nothing (no check-in, step,
  win...), gets none: a review of nothing only points at silence. It is not even
  planned, so no turn runs for it; anything they write or note plans it again.
* The loneliness measure is asked every 14 days after the last one was answered or
  asked, never within 3 hours after they wrote, and not at all while they have been
  silent for the week before it is due; nothing is planned for someone never asked
  (onboarding asks first).
* A connection window's reminder comes at its start; one missed by more than the
  window's length, or starting in quiet hours or a pause, is skipped (late, it would be
  pointless). After 3 days without a word from them the windows rest until they write.
* Quiet hours and /pause hold every one of them: a held item comes at the first
  allowed moment (a window is skipped instead). Back-off: every one sent counts as
  unanswered, like a nudge, and the silence rules above keep a quiet person's chat
  quiet. Two things never come within SPACING of each other, except the planned step
  they asked for at a set minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dialogs import coaching, records
from dialogs.model import Profile, Record, UserState
from dialogs.schedule import (
    NUDGE_QUIET_AFTER_MESSAGE,
    after_quiet_hours,
    in_quiet_hours,
    next_checkin,
    next_weekly,
)

STALE = timedelta(hours=12)
SPACING = timedelta(minutes=30)
SILENT_WEEK = timedelta(days=7)
WINDOWS_SILENT = timedelta(days=3)
MEASURE_EVERY = timedelta(days=coaching.MEASURE_EVERY_DAYS)
WINDOW = timedelta(minutes=coaching.WINDOW_MINUTES)

What = Literal["step", "reflect", "review", "measure", "window"]
# Which comes first when several are due in one sweep (the rest follow, spaced).
_ORDER: tuple[What, ...] = ("step", "reflect", "review", "measure", "window")
DIALOGS: dict[What, str] = {
    "step": "step_reminder",
    "reflect": "reflect",
    "review": "review",
    "measure": "measure",
    "window": "window",
}


@dataclass(frozen=True)
class Item:
    """One thing that is (or will be) due.

    `at` is when it may be sent (UTC, after quiet hours and pause); `planned` the time
    it was planned for; `slots` what its dialog is opened with; `record` the PLAN it is
    about; `skip` says it is due but is only marked, never sent (a silent week's review,
    a stale reminder).
    """

    what: What
    at: datetime
    planned: datetime
    slots: dict[str, Any] = field(default_factory=dict)
    record: Record | None = None
    skip: bool = False

    @property
    def dialog(self) -> str:
        """The dialog opened for it (DIALOGS), e.g. "step_reminder" for a planned step."""
        return DIALOGS[self.what]


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _zone(profile: Profile) -> ZoneInfo:
    try:
        return ZoneInfo(profile.timezone or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _allowed(at: datetime, profile: Profile, rhythm: dict[str, Any]) -> datetime:
    """The first moment at or after `at` outside a pause and quiet hours."""
    if profile.paused_until is not None:
        at = max(at, profile.paused_until)
    try:
        return after_quiet_hours(at, _zone(profile), profile.quiet_start, profile.quiet_end)
    except ValueError:
        return at


def reminder_time(state: UserState, at: datetime) -> datetime:
    """When a step planned for `at` is reminded: `at`, or the first moment after it outside
    the person's quiet hours and pause (UTC). For the planning screen's promise."""
    return _allowed(at, state.profile, coaching.rhythm(state))


def _held_until(rhythm: dict[str, Any]) -> datetime | None:
    return _time(rhythm.get("held_until"))


def _plan_items(state: UserState, rhythm: dict[str, Any], now: datetime) -> list[Item]:
    found: list[Item] = []
    for record in records.newest(state, coaching.PLAN, PLANS_READ):
        data = record.data
        if data.get("closed"):
            continue
        slots = {"plan": record.id}
        at, ask_at = _time(data.get("at")), _time(data.get("ask_at"))
        if at is not None and data.get("reminded") is None:
            allowed = _allowed(at, state.profile, rhythm)
            found.append(Item("step", allowed, at, slots, record, skip=now - at > STALE))
        elif ask_at is not None and data.get("asked") is None:
            allowed = _allowed(ask_at, state.profile, rhythm)
            found.append(Item("reflect", allowed, ask_at, slots, record))
    return found


def _review_slots(
    rhythm: dict[str, Any], zone: ZoneInfo, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """(the latest review time at or before `now`, the next one after it), UTC; (None, None)
    when reviews are off or the setting is broken."""
    day, hhmm = rhythm.get("review_day"), rhythm.get("review_time")
    if not isinstance(day, int) or not isinstance(hhmm, str):
        return None, None
    try:
        # Slots are a week apart: the first after a week ago is the last one, if not future.
        first = next_weekly(hhmm, day, zone, now - timedelta(days=7))
        return (first if first <= now else None), next_weekly(hhmm, day, zone, now)
    except ValueError:
        return None, None


# Kinds that are something the person did or noted (a check-in, a step, a win...): every
# kind but the settings and markers (rhythm, review, checkin_log, draft). Named rather than
# found by listing what a person keeps, which would read every kind on every turn; a new
# kind that counts as noted must be added here.
NOTED = (
    "mood", "win", "reflection", "step_follow_up", "ucla", "thought", "gratitude", "contact",
    "kit_item", "needs_map", "safety_plan", "ladder", coaching.PLAN, "portfolio",
)  # fmt: skip
_NEWEST = 8  # records read per kind by _noted_since
# Plans read by next_at: the newest. A plan has nothing left to send once it was reminded
# and asked (or closed), and plans are made for the coming week at most, one open plan per
# step of a ladder (ladder.MAX_STEPS, 8): a plan with something still to come is among the
# newest 64 unless 64 were made after it, so older ones need not be read on every turn.
PLANS_READ = 64
# What next_at reads first, in one round trip: {kind: how many of the newest}. The noted
# kinds but the mood follow in a second one only when no recent mood answers the question.
READS: dict[str, int] = {
    coaching.RHYTHM: 1,
    coaching.UCLA: 1,
    "mood": _NEWEST,
    coaching.PLAN: PLANS_READ,
}


def _noted_since(state: UserState, slot: datetime) -> bool:
    """Whether anything was noted in the week before `slot` (a check-in, a win, a step...):
    a review of a week with nothing in it would only be a reminder of silence.

    This runs on every turn, so it reads only the newest few records of each NOTED kind,
    never a whole history: new records are appended at the end, and the kinds a person
    reorders (contacts, at most 5) are shorter than that.
    """
    start = slot - SILENT_WEEK

    def recent(kind: str) -> bool:
        return any(
            r.created_at is not None and r.created_at >= start
            for r in records.newest(state, kind, _NEWEST)
        )

    if recent("mood"):  # the usual answer, already read with READS
        return True
    records.fetch(state, {kind: _NEWEST for kind in NOTED})  # the rest in one round trip
    return any(recent(kind) for kind in NOTED)


def _review_item(state: UserState, rhythm: dict[str, Any], now: datetime) -> Item | None:
    zone = _zone(state.profile)
    sent = _time(rhythm.get("review_sent"))
    last, upcoming = _review_slots(rhythm, zone, now)
    seen = state.profile.last_seen_at

    def quiet(slot: datetime) -> bool:
        return seen is None or seen < slot - SILENT_WEEK or not _noted_since(state, slot)

    slots = []
    if last is not None and (sent is None or sent < last) and now - last <= STALE:
        slots.append(last)
    if upcoming is not None:
        slots.append(upcoming)  # a week from it, all it holds is already known: none after
    for slot in slots:
        # A review of a silent week (or of one with nothing noted) is never sent, so it is
        # never planned: no turn runs for it. Anything they write or note plans it again.
        if not quiet(slot):
            return Item("review", _allowed(slot, state.profile, rhythm), slot, {"scheduled": True})
    return None


def _measure_item(state: UserState, rhythm: dict[str, Any]) -> Item | None:
    answered = records.latest(state, coaching.UCLA)
    times = [t for t in (_time(rhythm.get("measure_asked")), answered and answered.created_at) if t]
    if not times:
        return None  # never asked: onboarding asks first, then every 14 days
    due = max(times) + MEASURE_EVERY
    seen = state.profile.last_seen_at
    if seen is None or seen < due - SILENT_WEEK:
        return None  # silent for a week: no questions until they write again
    # Never right after they wrote (like a nudge): it would cut into what they came for.
    due = max(due, seen + NUDGE_QUIET_AFTER_MESSAGE)
    return Item("measure", _allowed(due, state.profile, rhythm), due, {"scheduled": True})


def _window_item(state: UserState, rhythm: dict[str, Any], now: datetime) -> Item | None:
    windows = [w for w in rhythm.get("windows") or [] if isinstance(w, str)]
    if not windows:
        return None
    zone, profile = _zone(state.profile), state.profile
    sent = _time(rhythm.get("window_sent"))
    starts: list[tuple[datetime, str]] = []
    for hhmm in windows:
        try:
            start = next_checkin(hhmm, zone, now - WINDOW)
            # One already sent, in a pause or in quiet hours is skipped, never moved: a
            # window's reminder only makes sense at its start. The next day's, then.
            for _ in range(8):
                if not (
                    (sent is not None and sent >= start)
                    or (profile.paused_until is not None and profile.paused_until > start)
                    or in_quiet_hours(start, zone, profile.quiet_start, profile.quiet_end)
                ):
                    break
                start = next_checkin(hhmm, zone, start)
            else:
                continue
        except ValueError:
            continue
        starts.append((start, hhmm))
    seen = profile.last_seen_at
    for start, hhmm in sorted(starts):
        if seen is None or seen < start - WINDOWS_SILENT:
            return None  # no word from them for days: the windows rest until they write
        return Item("window", start, start, {"at": hhmm})
    return None


def _items(state: UserState, now: datetime) -> list[Item]:
    # Everything below reads from READS: one round trip, whatever the history.
    records.fetch(state, READS)
    rhythm = coaching.rhythm(state)
    found = _plan_items(state, rhythm, now)
    for item in (
        _review_item(state, rhythm, now),
        _measure_item(state, rhythm),
        _window_item(state, rhythm, now),
    ):
        if item is not None:
            found.append(item)
    held = _held_until(rhythm)
    if held is not None:
        # Spaced after the last one sent; a planned step keeps its minute (they chose it).
        found = [
            i if i.what == "step" or i.skip or i.at >= held else _moved(i, held) for i in found
        ]
    return found


def _moved(item: Item, at: datetime) -> Item:
    return Item(item.what, at, item.planned, item.slots, item.record, item.skip)


def due_items(state: UserState, now: datetime) -> list[Item]:
    """What is due at `now`, first to send first (skipped ones first: they only mark)."""
    if not state.profile.onboarded:
        return []
    due = [i for i in _items(state, now) if i.at <= now]
    return sorted(due, key=lambda i: (not i.skip, _ORDER.index(i.what), i.at))


def next_at(state: UserState, now: datetime) -> datetime | None:
    """The earliest moment something may be due (UTC; may be <= now), or None."""
    if not state.profile.onboarded:
        return None
    times = [i.at for i in _items(state, now)]
    return min(times) if times else None


def mark_sent(state: UserState, item: Item, now: datetime) -> None:
    """Note that `item` was sent (or skipped) at `now`, so it is not due again."""
    stamp = now.astimezone(UTC).isoformat()
    if item.record is not None:
        key = "reminded" if item.what == "step" else "asked"
        item.record.data = {**item.record.data, key: stamp}
    elif item.what == "review":
        coaching.set_rhythm(state, now, review_sent=stamp)
    elif item.what == "measure":
        coaching.set_rhythm(state, now, measure_asked=stamp)
    elif item.what == "window":
        coaching.set_rhythm(state, now, window_sent=stamp)
    if not item.skip:
        hold(state, now)


def hold(state: UserState, now: datetime) -> None:
    """Nothing more (but a planned step) for SPACING: one was just sent, or now is the
    wrong moment (a crisis screen is open)."""
    coaching.set_rhythm(state, now, held_until=(now + SPACING).astimezone(UTC).isoformat())
