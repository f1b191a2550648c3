"""Scheduling math: check-ins across zones and DST, quiet hours, downtime, nudges.

Every instant is passed in explicitly; nothing here reads the clock.
"""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.schedule import (
    after_quiet_hours,
    in_quiet_hours,
    is_stale,
    next_checkin,
    next_nudge,
    next_weekly,
    nudge_interval,
    parse_local_time,
    plan_missed_checkin,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    """An aware datetime in `zone` (for building inputs and expectations)."""
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold)


def hhmm(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%H:%M")


# --- check-ins in several zones -----------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local_time", "after", "expected"),
    [
        # Half-hour and 45-minute zones.
        ("Asia/Kolkata", "08:30", utc(2026, 6, 1, 0, 0), utc(2026, 6, 1, 3, 0)),
        ("Asia/Kolkata", "08:30", utc(2026, 6, 1, 3, 0), utc(2026, 6, 2, 3, 0)),  # strictly after
        ("Asia/Kathmandu", "08:30", utc(2026, 6, 1, 0, 0), utc(2026, 6, 1, 2, 45)),
        (
            "Australia/Adelaide",
            "08:30",
            utc(2026, 1, 10, 12, 0),
            utc(2026, 1, 10, 22, 0),
        ),  # ACDT +10:30
        (
            "Australia/Adelaide",
            "08:30",
            utc(2026, 7, 10, 12, 0),
            utc(2026, 7, 10, 23, 0),
        ),  # ACST +9:30
        ("America/St_Johns", "08:30", utc(2026, 1, 10, 0, 0), utc(2026, 1, 10, 12, 0)),  # -3:30
        ("Pacific/Chatham", "08:30", utc(2026, 7, 10, 0, 0), utc(2026, 7, 10, 19, 45)),  # +12:45
        # Whole-hour zones, including one that is "tomorrow" relative to UTC.
        ("Europe/Berlin", "08:30", utc(2026, 6, 1, 0, 0), utc(2026, 6, 1, 6, 30)),
        ("America/Los_Angeles", "08:30", utc(2026, 6, 1, 0, 0), utc(2026, 6, 1, 15, 30)),
        ("Asia/Tokyo", "07:00", utc(2026, 6, 1, 0, 0), utc(2026, 6, 1, 22, 0)),
        ("Pacific/Kiritimati", "08:30", utc(2026, 6, 1, 0, 0), utc(2026, 6, 1, 18, 30)),  # +14
        ("UTC", "00:00", utc(2026, 12, 31, 23, 59), utc(2027, 1, 1, 0, 0)),
        ("Asia/Kolkata", "23:59", utc(2028, 2, 28, 18, 30), utc(2028, 2, 29, 18, 29)),  # leap day
    ],
)
def test_next_checkin_in_many_zones(zone, local_time, after, expected):
    got = next_checkin(local_time, zone, after)
    assert got == expected
    assert got.utcoffset() == timedelta(0)
    assert hhmm(got, zone) == local_time


def test_next_checkin_accepts_non_utc_after_and_zoneinfo():
    after = local("Asia/Kolkata", 2026, 6, 1, 8, 29)
    assert next_checkin("08:30", ZoneInfo("Asia/Kolkata"), after) == utc(2026, 6, 1, 3, 0)


@pytest.mark.parametrize(
    ("local_time", "zone", "after"),
    [
        ("24:00", "UTC", utc(2026, 1, 1)),
        ("08:60", "UTC", utc(2026, 1, 1)),
        ("0830", "UTC", utc(2026, 1, 1)),
        ("08:30", "UTC", datetime(2026, 1, 1)),  # naive
    ],
)
def test_next_checkin_rejects_bad_input(local_time, zone, after):
    with pytest.raises(ValueError):
        next_checkin(local_time, zone, after)


def test_unknown_zone_raises():
    with pytest.raises(KeyError):  # ZoneInfoNotFoundError is a KeyError
        next_checkin("08:30", "Mars/Olympus_Mons", utc(2026, 1, 1))


def test_parse_local_time():
    assert parse_local_time("8:05") == time(8, 5)
    assert parse_local_time("23:59") == time(23, 59)


# --- DST: walk day by day across each change ---------------------------------------------

# Change days in 2026. Europe: last Sundays of March/October (Berlin 02:00→03:00 and
# 03:00→02:00; London 01:00→02:00 and 02:00→01:00). US: second Sunday of March
# (02:00→03:00) and first Sunday of November (02:00→01:00).
EU_SPRING, EU_FALL = date(2026, 3, 29), date(2026, 10, 25)
US_SPRING, US_FALL = date(2026, 3, 8), date(2026, 11, 1)


@pytest.mark.parametrize(
    ("zone", "change_day", "local_time", "expected_on_change_day", "expected_utc_on_change_day"),
    [
        # 08:30 stays 08:30 local on both sides of every change.
        ("Europe/Berlin", EU_SPRING, "08:30", "08:30", utc(2026, 3, 29, 6, 30)),
        ("Europe/Berlin", EU_FALL, "08:30", "08:30", utc(2026, 10, 25, 7, 30)),
        ("Europe/London", EU_SPRING, "08:30", "08:30", utc(2026, 3, 29, 7, 30)),
        ("Europe/London", EU_FALL, "08:30", "08:30", utc(2026, 10, 25, 8, 30)),
        ("America/New_York", US_SPRING, "08:30", "08:30", utc(2026, 3, 8, 12, 30)),
        ("America/New_York", US_FALL, "08:30", "08:30", utc(2026, 11, 1, 13, 30)),
        ("America/Los_Angeles", US_SPRING, "08:30", "08:30", utc(2026, 3, 8, 15, 30)),
        ("America/Los_Angeles", US_FALL, "08:30", "08:30", utc(2026, 11, 1, 16, 30)),
        # Nonexistent on the spring-forward day: sent once, at the end of the gap.
        ("Europe/Berlin", EU_SPRING, "02:30", "03:00", utc(2026, 3, 29, 1, 0)),
        ("Europe/London", EU_SPRING, "01:30", "02:00", utc(2026, 3, 29, 1, 0)),
        ("America/New_York", US_SPRING, "02:30", "03:00", utc(2026, 3, 8, 7, 0)),
        ("America/Los_Angeles", US_SPRING, "02:30", "03:00", utc(2026, 3, 8, 10, 0)),
        # ...while the neighbouring time that does exist is untouched.
        ("Europe/London", EU_SPRING, "02:30", "02:30", utc(2026, 3, 29, 1, 30)),
        ("Europe/Berlin", EU_SPRING, "01:30", "01:30", utc(2026, 3, 29, 0, 30)),
        # Ambiguous on the fall-back day: sent once, at the first (summer-time) occurrence.
        ("Europe/Berlin", EU_FALL, "02:30", "02:30", utc(2026, 10, 25, 0, 30)),
        ("Europe/London", EU_FALL, "01:30", "01:30", utc(2026, 10, 25, 0, 30)),
        ("America/New_York", US_FALL, "01:30", "01:30", utc(2026, 11, 1, 5, 30)),
        ("America/Los_Angeles", US_FALL, "01:30", "01:30", utc(2026, 11, 1, 8, 30)),
        # The same wall times on the "other" change day are ordinary.
        ("America/New_York", US_FALL, "02:30", "02:30", utc(2026, 11, 1, 7, 30)),
        ("America/New_York", US_SPRING, "01:30", "01:30", utc(2026, 3, 8, 6, 30)),
        # Southern hemisphere half-hour zone: Adelaide springs forward on 4 Oct 2026 and
        # falls back on 5 Apr 2026 (02:00→03:00, 03:00→02:00).
        ("Australia/Adelaide", date(2026, 10, 4), "02:30", "03:00", utc(2026, 10, 3, 16, 30)),
        ("Australia/Adelaide", date(2026, 4, 5), "02:30", "02:30", utc(2026, 4, 4, 16, 0)),
        ("Australia/Adelaide", date(2026, 4, 5), "08:30", "08:30", utc(2026, 4, 4, 23, 0)),
    ],
)
def test_walk_across_dst_change(
    zone, change_day, local_time, expected_on_change_day, expected_utc_on_change_day
):
    tz = ZoneInfo(zone)
    after = datetime.combine(change_day - timedelta(days=4), time(12, 0), tz).astimezone(UTC)
    sent: list[datetime] = []
    for _ in range(8):
        after = next_checkin(local_time, zone, after)
        sent.append(after)

    dates = [s.astimezone(tz).date() for s in sent]
    # Exactly one check-in per local date, no date skipped or doubled.
    assert dates == [change_day - timedelta(days=3) + timedelta(days=i) for i in range(8)]
    assert all(b > a for a, b in itertools.pairwise(sent))
    for instant, day in zip(sent, dates, strict=True):
        if day == change_day:
            assert hhmm(instant, zone) == expected_on_change_day
            assert instant == expected_utc_on_change_day
        else:
            assert hhmm(instant, zone) == local_time


@pytest.mark.parametrize(
    ("zone", "local_time", "after", "expected"),
    [
        # `after` inside the second pass of the repeated hour: that date already had its
        # check-in at the first pass, so the next one is the following day.
        (
            "America/New_York",
            "01:30",
            local("America/New_York", 2026, 11, 1, 1, 45, fold=1),
            utc(2026, 11, 2, 6, 30),
        ),
        (
            "Europe/Berlin",
            "02:30",
            local("Europe/Berlin", 2026, 10, 25, 2, 10, fold=1),
            utc(2026, 10, 26, 1, 30),
        ),
        # `after` between the two passes' 01:30: still nothing more that date.
        ("America/New_York", "01:30", utc(2026, 11, 1, 5, 31), utc(2026, 11, 2, 6, 30)),
        # `after` is the end-of-gap send itself: next is tomorrow's 02:30.
        ("Europe/Berlin", "02:30", utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)),
        # `after` just before the gap: the gap end that same day.
        (
            "America/New_York",
            "02:30",
            local("America/New_York", 2026, 3, 8, 1, 59),
            utc(2026, 3, 8, 7, 0),
        ),
    ],
)
def test_no_double_send_around_changes(zone, local_time, after, expected):
    assert next_checkin(local_time, zone, after) == expected


# --- property: any zone, any time, any instant 2020–2030 -----------------------------------


@functools.cache
def _loadable_zones() -> list[str]:
    zones = []
    for name in sorted(available_timezones()):
        try:
            ZoneInfo(name)
        except Exception:  # some listed names fail to load on some systems
            continue
        zones.append(name)
    return zones


def _oracle(local_time: str, tz: ZoneInfo, after: datetime) -> datetime:
    """Independent brute force: scan UTC minutes after `after`.

    A minute qualifies when the clock reads local_time there for the first time
    (fold 0), or when the clock jumps over local_time of that date at that minute.
    (Every transition between 2020 and 2030 falls on a whole UTC minute.)
    """
    target = parse_local_time(local_time)
    m = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    prev = m - timedelta(minutes=1)
    for _ in range(60 * 60):
        cur_local = m.astimezone(tz)
        cur = cur_local.replace(tzinfo=None)
        prev_wall = _wall(prev, tz)
        if cur.time() == target and cur_local.fold == 0:
            return m
        wanted = datetime.combine(cur.date(), target)
        if cur - prev_wall > timedelta(minutes=1) and prev_wall < wanted < cur:
            return m
        prev, m = m, m + timedelta(minutes=1)
    raise AssertionError("oracle found nothing within 60 hours")


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _exists(day: date, at: time, tz: ZoneInfo) -> bool:
    wall = datetime.combine(day, at)
    return _wall(wall.replace(tzinfo=tz).astimezone(UTC), tz) == wall


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(_loadable_zones()),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    after=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
)
def test_next_checkin_property(zone, hour, minute, after):
    tz = ZoneInfo(zone)
    local_time = f"{hour:02d}:{minute:02d}"
    got = next_checkin(local_time, zone, after)
    got_local = got.astimezone(tz)

    assert got > after
    # Bound: the wall clock advances at most 24 h to the next same HH:MM; a backward
    # offset change inside that stretch adds its size in real time (at most 2 h, e.g.
    # Antarctica/Troll +02→+00), so 26 h. A date without any valid occurrence (a gap
    # spanning midnight) could add a day, but no zone has one in 2020–2030.
    assert got - after <= timedelta(hours=26)
    if _exists(got_local.date(), time(hour, minute), tz):
        assert got_local.strftime("%H:%M") == local_time
        assert got_local.fold == 0  # first occurrence of an ambiguous time
    else:
        # Sent at the end of the gap: the offset changes exactly here, and the clock
        # reads later than asked for, on the same date.
        assert (got - timedelta(seconds=1)).astimezone(tz).utcoffset() != got_local.utcoffset()
        assert got_local.time() > time(hour, minute)
    assert got == _oracle(local_time, tz, after)


@functools.cache
def _zone_changes(zone: str) -> tuple[datetime, ...]:
    """Instants in 2020–2030 at which `zone`'s UTC offset changes (found by scanning)."""
    tz = ZoneInfo(zone)
    found = []
    t = utc(2020, 1, 1)
    offset = t.astimezone(tz).utcoffset()
    while t < utc(2031, 1, 1):
        nxt = t + timedelta(hours=6)
        if nxt.astimezone(tz).utcoffset() != offset:
            lo, hi = t, nxt
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == offset:
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(second=0, microsecond=0))
            offset = nxt.astimezone(tz).utcoffset()
        t = nxt
    return tuple(found)


_CHANGING_ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Pacific/Chatham",
    "America/Santiago",
    "America/Havana",
    "Asia/Gaza",
    "Antarctica/Troll",
    "Africa/Casablanca",
    "Europe/Volgograd",
    "Pacific/Apia",
]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_next_checkin_property_near_dst_changes(data):
    """The same property, with `after` within a day and a half of a real offset change."""
    zone = data.draw(st.sampled_from(_CHANGING_ZONES))
    changes = _zone_changes(zone)
    change = data.draw(st.sampled_from(changes))
    after = change + timedelta(
        seconds=data.draw(st.integers(-36 * 3600, 36 * 3600)),
        microseconds=data.draw(st.integers(0, 999_999)),
    )
    # Favour wall times near the change (where gaps and repeats are).
    wall = change.astimezone(ZoneInfo(zone)) + timedelta(minutes=data.draw(st.integers(-90, 90)))
    local_time = data.draw(st.sampled_from([wall.strftime("%H:%M"), "08:30", "02:30", "01:30"]))
    tz = ZoneInfo(zone)
    got = next_checkin(local_time, zone, after)
    assert after < got <= after + timedelta(hours=26)
    assert got == _oracle(local_time, tz, after)
    # Walking on never gives a local date twice.
    following = next_checkin(local_time, zone, got)
    assert following.astimezone(tz).date() > got.astimezone(tz).date()


# --- quiet hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "zone", "start", "end", "expected"),
    [
        # Default window 21:00–08:00 wraps midnight.
        (local("Asia/Kolkata", 2026, 6, 1, 20, 59), "Asia/Kolkata", "21:00", "08:00", False),
        (local("Asia/Kolkata", 2026, 6, 1, 21, 0), "Asia/Kolkata", "21:00", "08:00", True),
        (local("Asia/Kolkata", 2026, 6, 1, 23, 59), "Asia/Kolkata", "21:00", "08:00", True),
        (local("Asia/Kolkata", 2026, 6, 2, 0, 0), "Asia/Kolkata", "21:00", "08:00", True),
        (local("Asia/Kolkata", 2026, 6, 2, 7, 59), "Asia/Kolkata", "21:00", "08:00", True),
        (local("Asia/Kolkata", 2026, 6, 2, 8, 0), "Asia/Kolkata", "21:00", "08:00", False),
        (local("Asia/Kolkata", 2026, 6, 2, 12, 0), "Asia/Kolkata", "21:00", "08:00", False),
        # Same UTC instant, different zones.
        (utc(2026, 6, 1, 22, 0), "UTC", "21:00", "08:00", True),
        (utc(2026, 6, 1, 22, 0), "Asia/Tokyo", "21:00", "08:00", True),  # 07:00
        (utc(2026, 6, 1, 22, 0), "America/New_York", "21:00", "08:00", False),  # 18:00
        # Non-wrapping window and an empty one.
        (local("Europe/Berlin", 2026, 6, 1, 14, 0), "Europe/Berlin", "13:00", "15:00", True),
        (local("Europe/Berlin", 2026, 6, 1, 15, 0), "Europe/Berlin", "13:00", "15:00", False),
        (local("Europe/Berlin", 2026, 6, 1, 3, 0), "Europe/Berlin", "13:00", "15:00", False),
        (local("Europe/Berlin", 2026, 6, 1, 3, 0), "Europe/Berlin", "08:00", "08:00", False),
        # Custom wrapping window.
        (local("Asia/Kathmandu", 2026, 6, 1, 22, 30), "Asia/Kathmandu", "23:00", "06:30", False),
        (local("Asia/Kathmandu", 2026, 6, 2, 6, 29), "Asia/Kathmandu", "23:00", "06:30", True),
    ],
)
def test_in_quiet_hours(at, zone, start, end, expected):
    assert in_quiet_hours(at, zone, start, end) is expected


@pytest.mark.parametrize(
    ("at", "zone", "start", "end", "expected"),
    [
        # Outside already: unchanged.
        (utc(2026, 6, 1, 12, 0), "UTC", "21:00", "08:00", utc(2026, 6, 1, 12, 0)),
        # Evening side of a wrapping window: next morning.
        (
            local("Asia/Kolkata", 2026, 6, 1, 22, 0),
            "Asia/Kolkata",
            "21:00",
            "08:00",
            utc(2026, 6, 2, 2, 30),
        ),
        (
            local("Asia/Kolkata", 2026, 6, 1, 21, 0),
            "Asia/Kolkata",
            "21:00",
            "08:00",
            utc(2026, 6, 2, 2, 30),
        ),
        # Morning side: same day.
        (
            local("Asia/Kolkata", 2026, 6, 2, 3, 0),
            "Asia/Kolkata",
            "21:00",
            "08:00",
            utc(2026, 6, 2, 2, 30),
        ),
        (
            local("America/Los_Angeles", 2026, 6, 1, 23, 30),
            "America/Los_Angeles",
            "21:00",
            "08:00",
            utc(2026, 6, 2, 15, 0),
        ),
        # Quiet night across spring-forward: 08:00 local is one hour earlier in UTC.
        (
            local("Europe/Berlin", 2026, 3, 28, 22, 0),
            "Europe/Berlin",
            "21:00",
            "08:00",
            utc(2026, 3, 29, 6, 0),
        ),
        # ...and across fall-back.
        (
            local("America/New_York", 2026, 10, 31, 22, 0),
            "America/New_York",
            "21:00",
            "08:00",
            utc(2026, 11, 1, 13, 0),
        ),
        # Window ending at a nonexistent time: leaves at the end of the gap.
        (
            local("Europe/Berlin", 2026, 3, 29, 1, 0),
            "Europe/Berlin",
            "23:00",
            "02:30",
            utc(2026, 3, 29, 1, 0),
        ),
        # The fall-back jump takes the clock from 01:59 EDT back to 01:00 EST, outside a
        # 01:30–08:00 window, so the window is first left at the change itself.
        (
            local("America/New_York", 2026, 11, 1, 1, 45),
            "America/New_York",
            "01:30",
            "08:00",
            utc(2026, 11, 1, 6, 0),
        ),
        # Non-wrapping window.
        (
            local("Europe/Berlin", 2026, 6, 1, 14, 0),
            "Europe/Berlin",
            "13:00",
            "15:00",
            utc(2026, 6, 1, 13, 0),
        ),
    ],
)
def test_after_quiet_hours(at, zone, start, end, expected):
    got = after_quiet_hours(at, zone, start, end)
    assert got == expected
    assert got >= at
    assert not in_quiet_hours(got, zone, start, end)
    # Nothing earlier (checked minute by minute) is outside the window.
    t = at
    while t < got - timedelta(minutes=1):
        t += timedelta(minutes=1)
        assert in_quiet_hours(t, zone, start, end) or t >= got


# --- downtime --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("downtime", "stale"),
    [
        (timedelta(0), False),
        (timedelta(hours=1), False),
        (timedelta(hours=1, minutes=59), False),
        (timedelta(hours=2), True),
        (timedelta(hours=5), True),
        (timedelta(days=3), True),
        (-timedelta(hours=1), False),  # not due yet
    ],
)
def test_is_stale(downtime, stale):
    due = utc(2026, 6, 1, 3, 0)
    assert is_stale(due, due + downtime) is stale


def test_is_stale_custom_grace():
    due = utc(2026, 6, 1, 3, 0)
    assert is_stale(due, due + timedelta(minutes=40), grace=timedelta(minutes=30))
    assert not is_stale(due, due + timedelta(minutes=20), grace=timedelta(minutes=30))


@pytest.mark.parametrize(
    ("zone", "downtime", "send", "next_due"),
    [
        # Kolkata 08:30 = 03:00 UTC.
        ("Asia/Kolkata", timedelta(hours=1), True, utc(2026, 6, 2, 3, 0)),
        ("Asia/Kolkata", timedelta(hours=5), False, utc(2026, 6, 2, 3, 0)),
        # Down for three days: the old row is skipped and the next is tomorrow — one
        # decision, no burst of the three missed check-ins.
        ("Asia/Kolkata", timedelta(days=3, hours=5), False, utc(2026, 6, 5, 3, 0)),
        ("America/New_York", timedelta(hours=1), True, utc(2026, 6, 2, 12, 30)),
        ("America/New_York", timedelta(hours=5), False, utc(2026, 6, 2, 12, 30)),
    ],
)
def test_plan_missed_checkin(zone, downtime, send, next_due):
    due = next_checkin("08:30", zone, utc(2026, 6, 1, 0, 0))
    now = due + downtime
    got_send, got_next = plan_missed_checkin(due, now, "08:30", zone)
    assert got_send is send
    assert got_next == next_due
    assert got_next > now


# --- nudges -----------------------------------------------------------------------------------


def _simulate(zone: str, frequency: str, start: datetime, days: int = 30) -> list[datetime]:
    """Send every nudge exactly when due, recomputing from the sending time."""
    sent: list[datetime] = []
    now = start
    while True:
        due = next_nudge(now, zone, frequency, "21:00", "08:00", None, None, 0)
        if due is None or due > start + timedelta(days=days):
            return sent
        assert due > now
        sent.append(due)
        now = due


ZONES = [
    "Asia/Kolkata",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Adelaide",
    "Asia/Kathmandu",
]
# Starts include months with DST changes (March, October/November).
STARTS = [utc(2026, 3, 1, 9, 17), utc(2026, 10, 15, 17, 3), utc(2026, 6, 1, 0, 0)]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("start", STARTS)
def test_nudges_off(zone, start):
    assert next_nudge(start, zone, "off", "21:00", "08:00", None, None, 0) is None
    assert _simulate(zone, "off", start) == []


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("start", STARTS)
def test_gentle_nudges_at_most_two_a_week(zone, start):
    sent = _simulate(zone, "gentle", start)
    assert 7 <= len(sent) <= 9  # about two a week over a month
    # Any 7-day window [t, t + 7 d) holds at most two: every third is >= 7 days later.
    for first, third in zip(sent, sent[2:], strict=False):
        assert third - first >= timedelta(days=7)
    for instant in sent:
        window = [s for s in sent if instant <= s < instant + timedelta(days=7)]
        assert len(window) <= 2
        assert not in_quiet_hours(instant, zone)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("start", STARTS)
def test_daily_nudges_once_a_day(zone, start):
    sent = _simulate(zone, "daily", start)
    assert 27 <= len(sent) <= 30
    tz = ZoneInfo(zone)
    dates = [s.astimezone(tz).date() for s in sent]
    assert len(set(dates)) == len(dates)  # never two on one local date
    for a, b in itertools.pairwise(sent):
        assert b - a >= timedelta(days=1)
    assert not any(in_quiet_hours(s, zone) for s in sent)


@pytest.mark.parametrize(
    ("frequency", "unanswered", "interval"),
    [
        ("off", 0, None),
        ("off", 5, None),
        ("gentle", 0, timedelta(days=3, hours=12)),
        ("gentle", 1, timedelta(days=3, hours=12)),
        ("gentle", 2, timedelta(days=7)),
        ("gentle", 9, timedelta(days=7)),
        ("daily", 0, timedelta(days=1)),
        ("daily", 1, timedelta(days=1)),
        ("daily", 2, timedelta(days=2)),
        ("daily", 3, timedelta(days=2)),
        ("daily", 4, timedelta(days=4)),
        ("daily", 5, timedelta(days=4)),
        ("daily", 6, timedelta(days=7)),
        ("daily", 1000, timedelta(days=7)),
    ],
)
def test_back_off(frequency, unanswered, interval):
    assert nudge_interval(frequency, unanswered) == interval
    # 08:30 local in Kolkata: both +n days and +n.5 days land outside quiet hours, so
    # the nudge comes exactly one interval later.
    now = local("Asia/Kolkata", 2026, 6, 1, 8, 30)
    got = next_nudge(now, "Asia/Kolkata", frequency, "21:00", "08:00", None, None, unanswered)
    assert got == (None if interval is None else now + interval)


def test_back_off_never_shrinks():
    for frequency in ("gentle", "daily"):
        intervals = [nudge_interval(frequency, n) for n in range(20)]
        assert intervals == sorted(intervals)


@pytest.mark.parametrize(("frequency", "unanswered"), [("weekly", 0), ("daily", -1)])
def test_nudge_bad_input(frequency, unanswered):
    with pytest.raises(ValueError):
        nudge_interval(frequency, unanswered)


@pytest.mark.parametrize(
    ("case", "now", "last_message", "paused_until", "frequency", "expected"),
    [
        # Daily from 08:30 → 08:30 next day; person wrote at 07:00 next day → 10:00.
        (
            "3-hour rule",
            local("Asia/Kolkata", 2026, 6, 1, 8, 30),
            local("Asia/Kolkata", 2026, 6, 2, 7, 0),
            None,
            "daily",
            local("Asia/Kolkata", 2026, 6, 2, 10, 0),
        ),
        # Wrote long ago: no effect.
        (
            "old message",
            local("Asia/Kolkata", 2026, 6, 1, 8, 30),
            local("Asia/Kolkata", 2026, 6, 1, 7, 0),
            None,
            "daily",
            local("Asia/Kolkata", 2026, 6, 2, 8, 30),
        ),
        # Wrote at 19:00 the next day, +3 h = 22:00 is quiet → 08:00 the day after.
        (
            "3-hour rule into quiet hours",
            local("Europe/Berlin", 2026, 6, 1, 8, 30),
            local("Europe/Berlin", 2026, 6, 2, 19, 0),
            None,
            "daily",
            local("Europe/Berlin", 2026, 6, 3, 8, 0),
        ),
        # Paused for a week.
        (
            "pause",
            local("America/New_York", 2026, 6, 1, 8, 30),
            None,
            local("America/New_York", 2026, 6, 8, 12, 0),
            "daily",
            local("America/New_York", 2026, 6, 8, 12, 0),
        ),
        # Pause ends at night: first nudge at the end of quiet hours.
        (
            "pause ends in quiet hours",
            local("America/New_York", 2026, 6, 1, 8, 30),
            None,
            local("America/New_York", 2026, 6, 7, 23, 0),
            "gentle",
            local("America/New_York", 2026, 6, 8, 8, 0),
        ),
        (
            "pause ends at night, daily",
            local("America/New_York", 2026, 6, 1, 8, 30),
            None,
            local("America/New_York", 2026, 6, 2, 23, 0),
            "daily",
            local("America/New_York", 2026, 6, 3, 8, 0),
        ),
        # Pause already over: no effect.
        (
            "expired pause",
            local("Asia/Kathmandu", 2026, 6, 1, 8, 30),
            None,
            local("Asia/Kathmandu", 2026, 5, 30, 8, 0),
            "daily",
            local("Asia/Kathmandu", 2026, 6, 2, 8, 30),
        ),
        # Pause does not turn nudges on.
        (
            "pause with off",
            local("Asia/Kathmandu", 2026, 6, 1, 8, 30),
            None,
            local("Asia/Kathmandu", 2026, 6, 8, 8, 0),
            "off",
            None,
        ),
        # Interval lands at 20:30 + 12 h = quiet → pushed to 08:00.
        (
            "gentle into quiet hours",
            local("Australia/Adelaide", 2026, 6, 1, 10, 0),
            None,
            None,
            "gentle",
            local("Australia/Adelaide", 2026, 6, 5, 8, 0),
        ),
    ],
)
def test_nudge_rules(case, now, last_message, paused_until, frequency, expected):
    zone = now.tzinfo.key
    got = next_nudge(now, zone, frequency, "21:00", "08:00", last_message, paused_until, 0)
    assert got == expected, case
    if got is not None:
        assert got.utcoffset() == timedelta(0)
        assert not in_quiet_hours(got, zone)
        if last_message is not None:
            assert got >= last_message + timedelta(hours=3)
        if paused_until is not None:
            assert got >= paused_until


@pytest.mark.parametrize(
    ("quiet_start", "quiet_end", "expected"),
    [
        ("21:00", "08:00", local("Europe/London", 2026, 6, 3, 8, 0)),
        ("22:30", "07:15", local("Europe/London", 2026, 6, 3, 7, 15)),
        ("08:00", "08:00", local("Europe/London", 2026, 6, 3, 2, 0)),  # no quiet hours
    ],
)
def test_nudge_respects_custom_quiet_hours(quiet_start, quiet_end, expected):
    now = local("Europe/London", 2026, 6, 2, 2, 0)
    assert (
        next_nudge(now, "Europe/London", "daily", quiet_start, quiet_end, None, None, 0) == expected
    )


def test_next_weekly_is_that_weekday_and_wall_time_strictly_after() -> None:
    # Sunday 18:00 in Berlin; Monday 23 Nov 2026 09:00 UTC is the moment asked from.
    sunday = utc(2026, 11, 29, 17, 0)
    assert next_weekly("18:00", 6, "Europe/Berlin", utc(2026, 11, 23, 9, 0)) == sunday
    assert next_weekly("18:00", 6, "Europe/Berlin", sunday) == sunday + timedelta(days=7)
    assert next_weekly("18:00", 6, "Europe/Berlin", sunday - timedelta(seconds=1)) == sunday
    # Across the autumn change (25 Oct 2026): still 18:00 local, one hour later in UTC.
    assert next_weekly("18:00", 6, "Europe/Berlin", utc(2026, 10, 19, 0, 0)) == utc(
        2026, 10, 25, 17, 0
    )
    assert next_weekly("18:00", 5, "Europe/Berlin", utc(2026, 10, 19, 0, 0)) == utc(
        2026, 10, 24, 16, 0
    )
    # Spring gap: 02:30 on 29 Mar 2026 is the end of the gap, 03:00 local (01:00 UTC).
    assert next_weekly("02:30", 6, "Europe/Berlin", utc(2026, 3, 23, 0, 0)) == utc(
        2026, 3, 29, 1, 0
    )
    with pytest.raises(ValueError):
        next_weekly("18:00", 7, "Europe/Berlin", sunday)
