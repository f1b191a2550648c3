"""Pure scheduling math for check-ins and nudges.

Nothing here reads the clock or does I/O: every function takes the current instant
(`now`, `after`, `at`) as a time-zone-aware datetime and returns aware UTC datetimes.
Zones are IANA names resolved with `zoneinfo`, so results follow each zone's DST rules.

Wall-clock rules (used by check-ins and by the end of quiet hours):

* A local time that exists once on a date is used as is.
* A local time that falls twice (fall-back day) is used once, at its first occurrence
  (`fold=0`).
* A local time that does not exist (spring-forward day) is replaced by the first valid
  instant after the gap: the transition itself, e.g. 02:30 in Europe/Berlin on the
  last Sunday of March becomes 03:00 local (01:00 UTC). If that instant would land on
  another local date (a gap spanning midnight, which no zone has had since 2011), the
  date gets no occurrence rather than two on the next date.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "CHECKIN_GRACE",
    "NUDGE_FREQUENCIES",
    "NUDGE_QUIET_AFTER_MESSAGE",
    "after_quiet_hours",
    "in_quiet_hours",
    "is_stale",
    "next_checkin",
    "next_nudge",
    "next_weekly",
    "nudge_interval",
    "parse_local_time",
    "plan_missed_checkin",
]

CHECKIN_GRACE = timedelta(hours=2)
"""A check-in missed by less than this (downtime) is still sent; older ones are skipped."""

NUDGE_QUIET_AFTER_MESSAGE = timedelta(hours=3)
"""No nudge within this long after the person last wrote to the bot."""

NUDGE_FREQUENCIES = ("off", "gentle", "daily")

_BASE_INTERVAL = {"gentle": timedelta(days=3, hours=12), "daily": timedelta(days=1)}
_MAX_INTERVAL = timedelta(days=7)

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


# --- small helpers ---------------------------------------------------------------


def parse_local_time(value: str) -> time:
    """ "HH:MM" (24-hour, "8:30" accepted) as a `time`; ValueError otherwise."""
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"expected a local time as HH:MM, got {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be time-zone aware")
    return value


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def _local_wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive wall-clock reading in `tz` at `instant`."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _first_at_or_after_wall(lo: datetime, hi: datetime, wall: datetime, tz: ZoneInfo) -> datetime:
    """Smallest whole-second instant in (lo, hi] whose wall reading is >= `wall`.

    Requires the wall reading to be below `wall` at `lo`, at or above it at `hi`, and
    monotone in between (true inside a spring-forward gap).
    """
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _local_wall(datetime.fromtimestamp(mid, UTC), tz) >= wall:
            hi_s = mid
        else:
            lo_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def _wall_instants(day: date, at: time, tz: ZoneInfo) -> list[datetime]:
    """Every UTC instant at which the clock in `tz` reads `at` on `day`, ascending.

    One instant normally, two on a fall-back day (first is `fold=0`), and for a time
    inside a spring-forward gap the end of the gap (or none if that is another date).
    """
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if _local_wall(first, tz) == wall:
        return [first] if first == second else sorted({first, second})
    # Nonexistent: fold=1 applies the later (larger) offset, so `second` < `first`
    # and the transition lies in (second, first].
    end_of_gap = _first_at_or_after_wall(second, first, wall, tz)
    return [end_of_gap] if _local_wall(end_of_gap, tz).date() == day else []


def _transitions(tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """UTC instants in (start, end] at which the zone's UTC offset changes."""
    found: list[datetime] = []
    step = timedelta(hours=1)
    t = start
    offset = t.astimezone(tz).utcoffset()
    while t < end:
        nxt = min(t + step, end)
        nxt_offset = nxt.astimezone(tz).utcoffset()
        if nxt_offset != offset:
            lo_s, hi_s = int(t.timestamp()), int(nxt.timestamp())
            if datetime.fromtimestamp(lo_s, UTC) < t:
                lo_s += 1
            while hi_s - lo_s > 1:
                mid = (lo_s + hi_s) // 2
                if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == offset:
                    lo_s = mid
                else:
                    hi_s = mid
            found.append(datetime.fromtimestamp(hi_s, UTC))
        t, offset = nxt, nxt_offset
    return found


# --- check-ins -------------------------------------------------------------------


def next_checkin(local_time: str, zone: str | ZoneInfo, after: datetime) -> datetime:
    """The next UTC instant strictly after `after` when the clock in `zone` shows `local_time`.

    Follows the wall-clock rules of this module: a 08:30 check-in stays at 08:30 local
    across DST changes; a nonexistent time is sent at the end of the gap, once; an
    ambiguous time is sent at its first occurrence only. Walking with `after` set to
    the previous result gives exactly one check-in per local date.

    Raises ValueError for a malformed `local_time` or a naive `after`, and
    zoneinfo.ZoneInfoNotFoundError (a KeyError) for an unknown zone name.
    """
    at = parse_local_time(local_time)
    tz = _zone(zone)
    after = _aware(after, "after").astimezone(UTC)
    start = after.astimezone(tz).date()
    for days in range(-1, 4):
        instants = _wall_instants(start + timedelta(days=days), at, tz)
        if instants and instants[0] > after:
            return instants[0]
    raise ValueError(f"{local_time} never occurs in {tz.key} within 3 days of {after}")


def next_weekly(local_time: str, weekday: int, zone: str | ZoneInfo, after: datetime) -> datetime:
    """The next UTC instant strictly after `after` when the clock in `zone` shows `local_time`
    on `weekday` (0 = Monday), with the wall-clock rules of this module (the weekly review).
    Raises ValueError for a malformed time or weekday or a naive `after`, and
    zoneinfo.ZoneInfoNotFoundError (a KeyError) for an unknown zone name.
    """
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday must be 0-6, got {weekday!r}")
    at = parse_local_time(local_time)
    tz = _zone(zone)
    after = _aware(after, "after").astimezone(UTC)
    start = after.astimezone(tz).date()
    first = start + timedelta(days=(weekday - start.weekday()) % 7)
    for weeks in range(3):
        instants = _wall_instants(first + timedelta(weeks=weeks), at, tz)
        if instants and instants[0] > after:
            return instants[0]
    raise ValueError(f"{local_time} on weekday {weekday} never occurs in {tz.key} after {after}")


def is_stale(due: datetime, now: datetime, grace: timedelta = CHECKIN_GRACE) -> bool:
    """Whether a check-in due at `due` was missed by `grace` or more at `now` (skip it).

    A check-in missed by less than `grace` (e.g. after one hour of downtime) is still
    sent; one missed by 2 hours or more is dropped. A check-in not yet due is not stale.
    """
    return _aware(now, "now") - _aware(due, "due") >= grace


def plan_missed_checkin(
    due: datetime,
    now: datetime,
    local_time: str,
    zone: str | ZoneInfo,
    grace: timedelta = CHECKIN_GRACE,
) -> tuple[bool, datetime]:
    """For a check-in found due at `now`: (send it now?, the next due instant).

    The next due instant is always computed from `now`, so a long downtime yields at
    most one (fresh) check-in and never a burst of the ones missed meanwhile.
    """
    send = not is_stale(due, now, grace)
    return send, next_checkin(local_time, zone, max(_aware(due, "due"), _aware(now, "now")))


# --- quiet hours -----------------------------------------------------------------


def _in_window(wall: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


def in_quiet_hours(
    at: datetime, zone: str | ZoneInfo, start: str = "21:00", end: str = "08:00"
) -> bool:
    """Whether the local clock in `zone` at `at` lies in [start, end).

    The window wraps midnight when start > end (the default 21:00–08:00); start == end
    means no quiet hours. Raises ValueError for a naive `at` or a malformed "HH:MM".
    """
    wall = _aware(at, "at").astimezone(_zone(zone)).time()
    return _in_window(wall, parse_local_time(start), parse_local_time(end))


def after_quiet_hours(
    at: datetime, zone: str | ZoneInfo, start: str = "21:00", end: str = "08:00"
) -> datetime:
    """The first instant >= `at` outside the quiet window (`at` itself if already outside).

    The window is left when the local clock reaches `end` (the end of the gap if `end`
    does not exist that day) or, rarely, when a DST change jumps the clock out of it.
    Returns aware UTC. Raises ValueError for a naive `at` or a malformed "HH:MM".
    """
    tz = _zone(zone)
    start_t, end_t = parse_local_time(start), parse_local_time(end)
    at = _aware(at, "at").astimezone(UTC)
    if not _in_window(at.astimezone(tz).time(), start_t, end_t):
        return at
    horizon = at + timedelta(days=2)
    today = at.astimezone(tz).date()
    candidates: list[datetime] = []
    for days in range(-1, 4):
        candidates.extend(_wall_instants(today + timedelta(days=days), end_t, tz))
    candidates.extend(_transitions(tz, at, horizon))
    for candidate in sorted(c for c in candidates if c >= at):
        if not _in_window(candidate.astimezone(tz).time(), start_t, end_t):
            return candidate
    raise ValueError(f"no time outside quiet hours in {tz.key} within 2 days of {at}")


# --- nudges ----------------------------------------------------------------------


def nudge_interval(frequency: str, unanswered: int) -> timedelta | None:
    """Time between nudges for a frequency, backed off by unanswered nudges/check-ins.

    Rule: the base interval (gentle 3.5 days — at most 2 a week —, daily 1 day) doubles
    for every 2 unanswered in a row, capped at 7 days:
    gentle 0–1 → 3.5 d, 2+ → 7 d; daily 0–1 → 1 d, 2–3 → 2 d, 4–5 → 4 d, 6+ → 7 d.
    "off" → None. Raises ValueError for an unknown frequency or a negative count.
    """
    if frequency not in NUDGE_FREQUENCIES:
        raise ValueError(f"frequency must be one of {NUDGE_FREQUENCIES}, got {frequency!r}")
    if unanswered < 0:
        raise ValueError("unanswered must be >= 0")
    if frequency == "off":
        return None
    base = _BASE_INTERVAL[frequency]
    doublings = min(unanswered // 2, 8)  # 2**8 days is far past the cap already
    factor: int = 2**doublings  # int ** int is typed Any (a negative power gives a float)
    return min(base * factor, _MAX_INTERVAL)


def next_nudge(
    now: datetime,
    zone: str | ZoneInfo,
    frequency: str,
    quiet_start: str = "21:00",
    quiet_end: str = "08:00",
    last_user_message_at: datetime | None = None,
    paused_until: datetime | None = None,
    unanswered: int = 0,
) -> datetime | None:
    """When the next nudge is due, or None when nudges are off.

    Call it when a nudge is sent (with `now` the sending time) and whenever an input
    changes; since `now` is never before the last nudge sent, consecutive nudges are at
    least one interval apart. The result is the latest of:

    * `now` + `nudge_interval(frequency, unanswered)` (see there for the back-off rule),
    * `last_user_message_at` + 3 hours (no nudge right after the person wrote),
    * `paused_until` (while `/pause` is on),

    moved forward out of quiet hours [quiet_start, quiet_end) local, so the nudge lands
    at a reasonable local hour. Moving only ever delays, so every rule still holds.
    Aware UTC. Raises ValueError as nudge_interval does, or for a naive datetime.
    """
    interval = nudge_interval(frequency, unanswered)
    if interval is None:
        return None
    due = _aware(now, "now").astimezone(UTC) + interval
    if last_user_message_at is not None:
        last = _aware(last_user_message_at, "last_user_message_at")
        due = max(due, last + NUDGE_QUIET_AFTER_MESSAGE)
    if paused_until is not None:
        due = max(due, _aware(paused_until, "paused_until"))
    return after_quiet_hours(due.astimezone(UTC), zone, quiet_start, quiet_end)


SOFT_AFTER_UNANSWERED = 3  # check-ins in a row without a reply before we step back


def checkin_gap_days(unanswered: int) -> int:
    """Days between check-ins: every day, then fewer once several go unanswered.

    0-2 unanswered: daily. 3: every 2nd day. 4: every 4th day. 5 or more: weekly.
    Any message from the person resets the count, and with it the daily rhythm.
    """
    if unanswered < SOFT_AFTER_UNANSWERED:
        return 1
    gap: int = 2 ** (unanswered - SOFT_AFTER_UNANSWERED + 1)  # the power is >= 1: an int
    return min(gap, 7)
