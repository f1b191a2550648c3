"""dialogs.places: typed text and shared locations -> IANA time zones, offline."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.places import (
    CommonZone,
    ZoneMatch,
    common_zones,
    describe_zone,
    is_valid_zone,
    preload,
    resolve_zone,
    zone_from_location,
    zone_label,
    zones_for_country,
)

JANUARY = datetime(2025, 1, 15, 12, 5, tzinfo=UTC)
JULY = datetime(2025, 7, 15, 12, 5, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _index_built() -> None:
    # Pay the ~0.6 s index build once, so hypothesis examples aren't timed against it.
    preload()


# --------------------------------------------------------------------------- resolve_zone

RESOLVES = [
    # IANA names, any case
    ("europe/berlin", "Europe/Berlin"),
    ("America/New_York", "America/New_York"),
    ("AMERICA/NEW_YORK", "America/New_York"),
    ("america/new york", "America/New_York"),
    ("tz: Europe/Berlin", "Europe/Berlin"),
    # cities: case, accents, extra words, nicknames, old and new names
    ("new york", "America/New_York"),
    ("Berlin", "Europe/Berlin"),
    ("  LISBON  ", "Europe/Lisbon"),
    ("Lisbon.", "Europe/Lisbon"),
    ("I live in Lisbon", "Europe/Lisbon"),
    ("lisbon, portugal", "Europe/Lisbon"),
    ("lisbon portugal", "Europe/Lisbon"),
    ("Sao Paulo", "America/Sao_Paulo"),
    ("São Paulo", "America/Sao_Paulo"),
    ("I live in São Paulo, Brasil", "America/Sao_Paulo"),
    ("NYC", "America/New_York"),
    ("LA", "America/Los_Angeles"),
    ("I live in LA", "America/Los_Angeles"),
    ("SF", "America/Los_Angeles"),
    ("Mumbai", "Asia/Kolkata"),
    ("Bombay", "Asia/Kolkata"),
    ("Bangalore", "Asia/Kolkata"),
    ("Bengaluru", "Asia/Kolkata"),
    ("Calcutta", "Asia/Kolkata"),
    ("Kyiv", "Europe/Kyiv"),
    ("Kiev", "Europe/Kyiv"),
    ("Saint Petersburg", "Europe/Moscow"),
    ("St. Petersburg", "Europe/Moscow"),
    ("Cologne", "Europe/Berlin"),
    ("Łódź", "Europe/Warsaw"),
    ("Lodz", "Europe/Warsaw"),
    ("Zurich", "Europe/Zurich"),
    ("the hague", "Europe/Amsterdam"),
    ("Ho Chi Minh City", "Asia/Ho_Chi_Minh"),
    ("Saigon", "Asia/Ho_Chi_Minh"),
    ("Salt Lake City, Utah", "America/Denver"),
    ("washington", "America/New_York"),
    ("Moscow time", "Europe/Moscow"),
    ("<b>Berlin</b>", "Europe/Berlin"),
    ("Москва", "Europe/Moscow"),
    ("東京", "Asia/Tokyo"),
    ("القاهرة", "Africa/Cairo"),  # Cairo, right to left
    ("ירושלים", "Asia/Jerusalem"),
    # a qualifier picks among same-named cities
    ("Paris, Texas", "America/Chicago"),
    ("Portland, Maine", "America/New_York"),
    ("Portland, OR", "America/Los_Angeles"),
    ("London, Ontario", "America/Toronto"),
    ("London, UK", "Europe/London"),
    ("Springfield, Germany", "Europe/Berlin"),
    # two places: where someone lives beats where they're from
    ("I'm from Kyiv but live in Warsaw", "Europe/Warsaw"),
    ("I moved from London to Paris", "Europe/Paris"),
    ("I live in Nice", "Europe/Paris"),
    # countries and states on one clock
    ("germany", "Europe/Berlin"),
    ("japan", "Asia/Tokyo"),
    ("india", "Asia/Kolkata"),
    ("uk", "Europe/London"),
    ("united kingdom", "Europe/London"),
    ("england", "Europe/London"),
    ("I'm in the UK", "Europe/London"),
    ("france", "Europe/Paris"),
    ("italy", "Europe/Rome"),
    ("spain", "Europe/Madrid"),
    ("poland", "Europe/Warsaw"),
    ("ukraine", "Europe/Kyiv"),
    ("israel", "Asia/Jerusalem"),
    ("philippines", "Asia/Manila"),
    ("nigeria", "Africa/Lagos"),
    ("kenya", "Africa/Nairobi"),
    ("south africa", "Africa/Johannesburg"),
    ("egypt", "Africa/Cairo"),
    ("turkey", "Europe/Istanbul"),
    ("new zealand", "Pacific/Auckland"),
    ("kazakhstan", "Asia/Almaty"),  # one clock (UTC+5) since March 2024
    ("Rio, Brazil", "America/Sao_Paulo"),  # a city in a country on several clocks
    ("Manaus, Brazil", "America/Manaus"),
    ("Atlanta, Georgia", "America/New_York"),
    ("The Netherlands", "Europe/Amsterdam"),
    ("Arizona", "America/Phoenix"),  # the state, not the town in Honduras
    ("texas", "America/Chicago"),
    ("ontario", "America/Toronto"),
    # abbreviations mean the DST-aware zone, not tzdata's fixed "EST"
    ("EST", "America/New_York"),
    ("pst", "America/Los_Angeles"),
    ("CET", "Europe/Berlin"),
    ("IST", "Asia/Kolkata"),
    ("I'm on eastern time", "America/New_York"),
    # offsets; POSIX signs are inverted in Etc/GMT names
    ("UTC+2", "Etc/GMT-2"),
    ("utc -5", "Etc/GMT+5"),
    ("UTC−5", "Etc/GMT+5"),  # typographic minus
    ("+3", "Etc/GMT-3"),
    ("-3", "Etc/GMT+3"),
    ("GMT+10", "Etc/GMT-10"),
    ("UTC+14", "Etc/GMT-14"),
    ("UTC-12", "Etc/GMT+12"),
    ("UTC", "UTC"),
    ("GMT", "UTC"),
    ("utc+0", "UTC"),
    ("my timezone is UTC+3", "Etc/GMT-3"),
    ("GMT+05:30", "Asia/Kolkata"),
    ("+0530", "Asia/Kolkata"),
    ("gmt+5.30", "Asia/Kolkata"),
    ("+5.5", "Asia/Kolkata"),
    ("+05:45", "Asia/Kathmandu"),
    ("+03:30", "Asia/Tehran"),
    ("+04:30", "Asia/Kabul"),
    ("+06:30", "Asia/Yangon"),
    ("+09:30", "Australia/Darwin"),
    ("-03:30", "America/St_Johns"),
    ("-09:30", "Pacific/Marquesas"),
    ("+08:45", "Australia/Eucla"),
    ("+12:45", "Pacific/Chatham"),
    ("+10:30", "Australia/Lord_Howe"),
]


@pytest.mark.parametrize(("text", "zone"), RESOLVES)
def test_resolves(text: str, zone: str) -> None:
    match = resolve_zone(text)
    assert match is not None, text
    assert match.zone == zone
    assert match.label.strip()
    assert is_valid_zone(match.zone)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Berlin", "Berlin, DE"),
        ("bengaluru", "Bengaluru, IN"),
        ("Portland, Maine", "Portland, ME, US"),
        ("germany", "Germany"),
        ("UTC+2", "UTC+2"),
        ("utc -5", "UTC-5"),
        ("UTC+14", "UTC+14"),
        ("GMT+05:30", "UTC+5:30"),
        ("+05:45", "UTC+5:45"),
        ("-03:30", "UTC-3:30"),
        ("UTC", "UTC"),
        ("utc+0", "UTC"),
    ],
)
def test_labels_say_what_we_understood(text: str, label: str) -> None:
    match = resolve_zone(text)
    assert match is not None
    assert match.label == label


NOT_RESOLVED = [
    "",
    "   ",
    "hello",
    "asdfghjkl",
    "yes",
    "no",
    "the",
    "12345",
    "???",
    "🙂",
    "🌍🌍🌍",
    "שלום",  # "hello" in Hebrew
    "مرحبا",  # "hello" in Arabic
    "<script>alert(1)</script>",
    "nice to meet you",
    "my cat is here",
    "I don't know",
    "\x00",
    "\ud800",  # a lone surrogate
    "Berlin" * 17,  # 102 characters: a message, not an answer
    "x" * 4096,
    "Berlin " * 585,  # 4095 characters
    # places spanning several clocks: ask for a city instead of guessing
    "usa",
    "I'm from the US",
    "russia",
    "canada",
    "australia",
    "georgia",  # the country or the US state?
    "europe",
    "brazil",  # most people are on São Paulo's clock, but not all: zones_for_country asks
    "I live in Brazil",
    "mexico",
    "indonesia",
    "tennessee",
    "the states",
    "US",
    "u.s.",
    # impossible or unmapped offsets
    "UTC+15",
    "UTC-13",
    "+02:30",
    "+5:75",
]


@pytest.mark.parametrize("text", NOT_RESOLVED)
def test_does_not_resolve(text: str) -> None:
    assert resolve_zone(text) is None


def test_length_limit_is_100_characters() -> None:
    padded = "Berlin".ljust(100, ".")
    assert resolve_zone(padded) == ZoneMatch("Europe/Berlin", "Berlin, DE")
    assert resolve_zone(padded + ".") is None


@pytest.mark.parametrize("hours", range(-12, 15))
def test_whole_hour_offsets_are_fixed_all_year(hours: int) -> None:
    match = resolve_zone(f"UTC{hours:+d}")
    assert match is not None
    tz = ZoneInfo(match.zone)
    for when in (JANUARY, JULY):
        assert when.astimezone(tz).utcoffset() == timedelta(hours=hours)


@pytest.mark.parametrize(
    "text",
    ["+05:30", "+05:45", "+03:30", "+04:30", "+06:30", "+09:30", "-03:30", "-09:30",
     "+08:45", "+12:45", "+10:30"],
)  # fmt: skip
def test_fractional_offsets_map_to_a_zone_that_uses_them(text: str) -> None:
    match = resolve_zone(text)
    assert match is not None
    sign = -1 if text.startswith("-") else 1
    hours, minutes = (int(n) for n in text[1:].split(":"))
    typed = sign * timedelta(hours=hours, minutes=minutes)
    tz = ZoneInfo(match.zone)
    # St John's and Lord Howe shift for summer, so the offset must hold at least half the year.
    assert typed in {when.astimezone(tz).utcoffset() for when in (JANUARY, JULY)}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=150))
def test_never_raises_on_any_text(text: str) -> None:
    match = resolve_zone(text)
    assert match is None or (is_valid_zone(match.zone) and match.label)


WORDS = ["in", "I", "live", "the", "UTC", "+", "-", ":", "30", "5", "new", "york", "Paris",
         ",", "Texas", "from", "🙂", "São", "/", "Europe", "usa", "gmt", ".", "la"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join))
def test_never_raises_on_place_like_text(text: str) -> None:
    match = resolve_zone(text)
    assert match is None or is_valid_zone(match.zone)


# --------------------------------------------------------------------------- locations


@pytest.mark.parametrize(
    ("latitude", "longitude", "zone"),
    [
        (52.52, 13.405, "Europe/Berlin"),
        (40.7128, -74.0060, "America/New_York"),
        (-33.8688, 151.2093, "Australia/Sydney"),
        (35.6762, 139.6503, "Asia/Tokyo"),
        (19.0760, 72.8777, "Asia/Kolkata"),
    ],
)
def test_zone_from_location(latitude: float, longitude: float, zone: str) -> None:
    assert zone_from_location(latitude, longitude) == zone


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(91.0, 0.0), (-91.0, 0.0), (0.0, 181.0), (0.0, -180.5), (float("nan"), 0.0),
     (0.0, float("inf"))],
)  # fmt: skip
def test_zone_from_impossible_location(latitude: float, longitude: float) -> None:
    assert zone_from_location(latitude, longitude) is None


def test_zone_from_location_at_sea_is_a_valid_zone_or_none() -> None:
    zone = zone_from_location(0.0, -30.0)  # mid-Atlantic
    assert zone is None or is_valid_zone(zone)


# --------------------------------------------------------------------------- describe_zone


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        ("Europe/Berlin", JULY, ("Europe/Berlin", "UTC+02:00", "14:05")),
        ("Europe/Berlin", JANUARY, ("Europe/Berlin", "UTC+01:00", "13:05")),
        ("America/New_York", JULY, ("America/New_York", "UTC-04:00", "08:05")),
        ("America/New_York", JANUARY, ("America/New_York", "UTC-05:00", "07:05")),
        ("Asia/Kolkata", JANUARY, ("Asia/Kolkata", "UTC+05:30", "17:35")),
        ("America/St_Johns", JULY, ("America/St_Johns", "UTC-02:30", "09:35")),
        # offset zones show only the offset, as people write it; Etc signs are inverted
        ("Etc/GMT-2", JULY, ("UTC+2", None, "14:05")),
        ("Etc/GMT+5", JULY, ("UTC-5", None, "07:05")),
        ("Etc/GMT-14", JANUARY, ("UTC+14", None, "02:05")),
        ("Etc/GMT+12", JANUARY, ("UTC-12", None, "00:05")),
        ("UTC", JANUARY, ("UTC", None, "12:05")),
        ("Etc/UTC", JULY, ("UTC", None, "12:05")),
        ("Etc/GMT", JULY, ("UTC", None, "12:05")),
        ("GMT", JULY, ("UTC", None, "12:05")),
    ],
)
def test_describe_zone(zone: str, now: datetime, expected: tuple[str, str | None, str]) -> None:
    assert describe_zone(zone, now) == expected


def test_describe_zone_accepts_any_aware_datetime() -> None:
    berlin_noon = datetime(2025, 7, 15, 14, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    assert describe_zone("Asia/Tokyo", berlin_noon) == ("Asia/Tokyo", "UTC+09:00", "21:05")


@pytest.mark.parametrize(
    ("zone", "now"),
    [("Europe/Berlin", datetime(2025, 7, 15, 12, 5)), ("Mars/Olympus", JULY)],
)
def test_describe_zone_rejects_caller_bugs(zone: str, now: datetime) -> None:
    with pytest.raises(ValueError):
        describe_zone(zone, now)


# --------------------------------------------------------------------------- is_valid_zone


@pytest.mark.parametrize(
    ("zone", "valid"),
    [
        ("Europe/Berlin", True),
        ("America/Argentina/Buenos_Aires", True),
        ("UTC", True),
        ("Etc/GMT-14", True),
        ("europe/berlin", False),  # stored zones must be exact
        ("Etc/GMT-15", False),
        ("Mars/Olympus", False),
        ("", False),
        ("localtime", False),
        ("../../etc/passwd", False),
        ("/usr/share/zoneinfo/UTC", False),
    ],
)
def test_is_valid_zone(zone: str, valid: bool) -> None:
    assert is_valid_zone(zone) is valid


# --------------------------------------------------------------------------- common_zones


def test_common_zones_are_valid_and_plain() -> None:
    zones = common_zones()
    assert 6 <= len(zones) <= 10
    assert all(isinstance(zone, CommonZone) for zone in zones)
    assert len({zone.id for zone in zones}) == len(zones)
    for zone in zones:
        assert is_valid_zone(zone.zone), zone
        assert re.fullmatch(r"[a-z][a-z0-9_]*", zone.id), zone
        assert 0 < len(zone.label) <= 30 and zone.label == zone.label.strip(), zone
        assert not re.search(r"[<>*_`\[\]]", zone.label), zone  # no markup in button text


def test_common_zones_cover_the_usual_places() -> None:
    offered = {zone.zone for zone in common_zones()}
    assert {
        "Europe/London",
        "Europe/Berlin",
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Asia/Kolkata",
        "Australia/Sydney",
    } <= offered


def test_common_zones_returns_a_fresh_list() -> None:
    common_zones().clear()
    assert common_zones()


# --------------------------------------------------------------------------- zone_label


@pytest.mark.parametrize(
    ("zone", "label"),
    [
        ("Etc/GMT-2", "UTC+2"),
        ("Etc/GMT+5", "UTC-5"),
        ("Etc/GMT-14", "UTC+14"),
        ("Etc/GMT+12", "UTC-12"),
        ("Etc/UTC", "UTC"),
        ("UTC", "UTC"),
        ("Etc/GMT", "UTC"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("Mars/Olympus", "Mars/Olympus"),  # unknown: shown as stored, never raises
        ("", ""),
    ],
)
def test_zone_label(zone: str, label: str) -> None:
    assert zone_label(zone) == label


@pytest.mark.parametrize("hours", range(-12, 15))
def test_offset_labels_agree_with_the_clock(hours: int) -> None:
    """What resolve_zone and describe_zone say is the offset the zone really has."""
    match = resolve_zone(f"UTC{hours:+d}")
    assert match is not None
    expected = "UTC" if hours == 0 else f"UTC{hours:+d}"
    assert match.label == expected
    assert zone_label(match.zone) == expected
    assert describe_zone(match.zone, JULY).name == expected


# --------------------------------------------------------------------------- zones_for_country

SEVERAL_CLOCKS = [
    # (typed, first zone, a zone that must be offered, how many)
    ("USA", "America/New_York", "America/Los_Angeles", 7),
    ("US", "America/New_York", "America/Chicago", 7),
    ("us", "America/New_York", "America/Denver", 7),
    ("U.S.", "America/New_York", "America/Phoenix", 7),
    ("u.s.a.", "America/New_York", "Pacific/Honolulu", 7),
    ("United States", "America/New_York", "America/Anchorage", 7),
    ("the United States of America", "America/New_York", "America/Chicago", 7),
    ("America", "America/New_York", "America/Chicago", 7),
    ("I'm in the US", "America/New_York", "America/Chicago", 7),
    ("I live in the States", "America/New_York", "America/Chicago", 7),
    ("Canada", "America/Toronto", "America/Vancouver", 7),
    ("canada time please", "America/Toronto", "America/St_Johns", 7),
    ("CAN", "America/Toronto", "America/Halifax", 7),
    ("Australia", "Australia/Sydney", "Australia/Perth", 5),
    ("AUS", "Australia/Sydney", "Australia/Brisbane", 5),
    ("Russia", "Europe/Moscow", "Asia/Vladivostok", 8),
    ("Россия", "Europe/Moscow", "Asia/Yekaterinburg", 8),
    ("RU", "Europe/Moscow", "Asia/Novosibirsk", 8),
    ("Brazil", "America/Sao_Paulo", "America/Manaus", 4),
    ("Brasil!", "America/Sao_Paulo", "America/Rio_Branco", 4),
    ("Mexico", "America/Mexico_City", "America/Tijuana", 6),
    ("México", "America/Mexico_City", "America/Cancun", 6),
    ("Indonesia", "Asia/Jakarta", "Asia/Makassar", 3),
    ("ID", "Asia/Jakarta", "Asia/Jayapura", 3),
    ("DRC", "Africa/Kinshasa", "Africa/Lubumbashi", 2),
    ("Georgia", "America/New_York", "Asia/Tbilisi", 2),
    ("Tennessee", "America/Chicago", "America/New_York", 2),
    ("indiana", "America/Indiana/Indianapolis", "America/Chicago", 2),
]


@pytest.mark.parametrize(("text", "first", "offered", "count"), SEVERAL_CLOCKS)
def test_zones_for_country(text: str, first: str, offered: str, count: int) -> None:
    zones = zones_for_country(text)
    assert zones is not None, text
    assert len(zones) == count
    assert zones[0].zone == first  # most people first
    assert offered in {match.zone for match in zones}
    assert all(isinstance(match, ZoneMatch) for match in zones)
    # Whatever names the place, resolve_zone doesn't silently pick one of its zones.
    assert resolve_zone(text) is None


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("USA", ["Eastern — New York", "Central — Chicago", "Pacific — Los Angeles"]),
        ("Russia", ["UTC+3 — Moscow, St Petersburg", "UTC+5 — Yekaterinburg"]),
        ("Georgia", ["Georgia, US — Atlanta", "Georgia, the country — Tbilisi"]),
    ],
)
def test_zones_for_country_labels(text: str, labels: list[str]) -> None:
    zones = zones_for_country(text)
    assert zones is not None
    assert [match.label for match in zones][: len(labels)] == labels


NOT_SEVERAL_CLOCKS = [
    "",
    "   ",
    "Japan",  # one clock: resolve_zone's job
    "germany",
    "UK",
    "Kazakhstan",  # one clock since March 2024
    "Spain",  # the Canaries name their island
    "new zealand",
    "Berlin",
    "Rio, Brazil",  # a city: resolve_zone finds it
    "New York",
    "USA is so far from my family",  # a sentence, not a place
    "I miss the US",
    "id",  # a word in lower case, not Indonesia
    "can",
    "CA",  # Canada or California? resolve_zone's guess is none
    "hello",
    "europe",  # not a country
    "UTC+2",
    "🙂",
    "I live in the United States of America now and then lol",  # more than eight words
    "usa" * 40,
]


@pytest.mark.parametrize("text", NOT_SEVERAL_CLOCKS)
def test_zones_for_country_is_none(text: str) -> None:
    assert zones_for_country(text) is None


def test_zones_for_country_returns_a_fresh_list() -> None:
    zones = zones_for_country("USA")
    assert zones is not None
    zones.clear()
    assert zones_for_country("USA")


def _every_place() -> list[list[ZoneMatch]]:
    import yaml

    data = yaml.safe_load(
        (resources.files("dialogs") / "data" / "country_zones.yaml").read_text(encoding="utf-8")
    )
    places = []
    for place in data["places"]:
        zones = zones_for_country(place["names"][0])
        assert zones is not None, place["names"][0]
        places.append(zones)
    return places


@pytest.mark.parametrize("zones", _every_place(), ids=lambda zones: zones[0].label)
def test_country_zones_data_is_sound(zones: list[ZoneMatch]) -> None:
    assert 2 <= len(zones) <= 8
    clocks = set()
    for match in zones:
        assert is_valid_zone(match.zone), match
        assert 0 < len(match.label) <= 30 and match.label == match.label.strip(), match
        assert not re.search(r"[<>*_`\[\]]", match.label), match  # no markup in buttons
        tz = ZoneInfo(match.zone)
        clock = tuple(when.astimezone(tz).utcoffset() for when in (JANUARY, JULY))
        clocks.add(clock)
        # A label that names its offset must be right all year.
        if stated := re.match(r"UTC([+-]\d+)\b", match.label):
            assert clock == (timedelta(hours=int(stated.group(1))),) * 2, match
    assert len(clocks) == len(zones), "two buttons for the same clock"
