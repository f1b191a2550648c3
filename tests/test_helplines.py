"""Helplines by country: the data file, the country from a time zone or a setting,
the `_helplines.j2` partial, the Settings dialog that changes the country, and storage."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic import command
from sqlalchemy import Engine, inspect

from dialogs import helplines
from dialogs.hooks import HookCall, registry
from dialogs.model import Frame, Profile, Turn, UserState
from prompts import Catalog
from storage.db import make_engine
from storage.migrate import alembic_config, upgrade
from storage.repository import StateStore, UserKey
from tests.telegram_harness import Harness, bridges_on_fake, onboard

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DATA_TEXT = helplines.DATA_FILE.read_text("utf-8")
DATA = yaml.safe_load(DATA_TEXT)
NUMBER_CHARS = re.compile(r"^[0-9 +-]+$")


# --- the country of a time zone -----------------------------------------------------

ZONES = [
    ("Europe/London", "GB"),
    ("Europe/Dublin", "IE"),
    ("America/New_York", "US"),
    ("America/Los_Angeles", "US"),
    ("America/Toronto", "CA"),
    ("America/Vancouver", "CA"),
    ("Australia/Sydney", "AU"),
    ("Pacific/Auckland", "NZ"),
    ("Asia/Kolkata", "IN"),
    ("Europe/Berlin", "DE"),
    ("Europe/Lisbon", "PT"),
    ("Europe/Amsterdam", "NL"),
    ("Europe/Oslo", "NO"),
    ("Asia/Tokyo", "JP"),
    ("America/Sao_Paulo", "BR"),
    # old names still in use, placed through the zone they link to
    ("Asia/Calcutta", "IN"),
    ("US/Eastern", "US"),
    ("Europe/Kiev", "UA"),
    # no country
    ("Etc/GMT-2", None),
    ("Etc/GMT+5", None),
    ("UTC", None),
    ("Etc/UTC", None),
    ("Mars/Olympus_Mons", None),
    ("../../etc/passwd", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("zone", "country"), ZONES)
def test_the_country_of_a_time_zone(zone: str | None, country: str | None) -> None:
    assert helplines.country_for_zone(zone) == country


def test_the_chosen_country_wins_over_the_time_zone() -> None:
    assert helplines.country_of(Profile(timezone="Europe/London", country="NZ")) == ("NZ", False)
    assert helplines.country_of(Profile(timezone="Europe/London")) == ("GB", True)
    assert helplines.country_of(Profile(timezone="UTC")) == (None, False)
    assert helplines.country_of(Profile()) == (None, False)


TYPED = [
    ("NZ", "NZ"),
    ("nz", "NZ"),
    ("New Zealand", "NZ"),
    ("  new zealand!  ", "NZ"),
    ("UK", "GB"),
    ("England", "GB"),
    ("United Kingdom", "GB"),
    ("usa", "US"),
    ("The Netherlands", "NL"),
    ("Deutschland", "DE"),
    ("NO", "NO"),
    ("Norway", "NO"),
    ("Auckland", "NZ"),  # a city: its time zone's country
    ("no", None),  # a word, not Norway
    ("in", None),
    ("Narnia", None),
    ("", None),
    ("x" * 200, None),
]


@pytest.mark.parametrize(("typed", "country"), TYPED)
def test_typed_country_names(typed: str, country: str | None) -> None:
    assert helplines.parse_country(typed) == country


# --- the data file --------------------------------------------------------------------


def _blocks(section: str) -> dict[str, str]:
    """The raw text of each country's entry in a section, comments included."""
    body = DATA_TEXT.split(f"\n{section}:\n", 1)[1]
    body = re.split(r"\n(?=[a-z_]+:)", body, maxsplit=1)[0]  # up to the next top-level key
    parts = re.split(r'^  "?([A-Z]{2})"?:', body, flags=re.MULTILINE)
    return {code: text for code, text in zip(parts[1::2], parts[2::2], strict=True)}


def test_every_country_with_lines_names_its_sources_in_a_comment() -> None:
    blocks = _blocks("countries")
    assert set(blocks) == set(DATA["countries"])
    assert len(blocks) >= 20
    for code, text in blocks.items():
        sources = re.findall(r"^\s+# source: (\S.+)$", text, flags=re.MULTILINE)
        assert sources, f"{code} has no '# source:' comment"


def test_the_emergency_only_countries_name_their_source() -> None:
    body = DATA_TEXT.split("\nemergency_only:\n", 1)[1]
    assert re.search(r"^\s+# source: \S", body, flags=re.MULTILINE)
    assert set(_blocks("emergency_only")) == set(DATA["emergency_only"])


@pytest.mark.parametrize("code", sorted(DATA["countries"]))
def test_every_helpline_entry_is_complete(code: str) -> None:
    entry = DATA["countries"][code]
    assert isinstance(entry["name"], str) and entry["name"]
    assert isinstance(entry["emergency"], str) and NUMBER_CHARS.match(entry["emergency"])
    assert entry["lines"], f"{code} has no lines"
    for line in entry["lines"]:
        assert line["name"] and isinstance(line["number"], str)
        assert NUMBER_CHARS.match(line["number"]), f"{code}: {line['number']!r}"
        assert re.search(r"\d", line["number"])
        assert line["how"] and set(line["how"]) <= {"call", "text"}


def test_the_loaded_data_matches_the_file_and_the_well_known_numbers() -> None:
    data = helplines.load()
    assert set(data.countries) == set(DATA["countries"]) | set(DATA["emergency_only"])
    assert "NO" in data.countries  # quoted in the file: a bare NO is YAML for false

    def numbers(code: str) -> set[str]:
        return {line.number for line in data.countries[code].lines}

    assert "988" in numbers("US") and "988" in numbers("CA")
    assert "116 123" in numbers("GB") and "116 123" in numbers("IE")
    assert "13 11 14" in numbers("AU")
    assert {"1737", "0800 543 354"} <= numbers("NZ")
    emergency = {code: c.emergency for code, c in data.countries.items()}
    assert (emergency["US"], emergency["GB"], emergency["AU"], emergency["NZ"]) == (
        "911", "999", "000", "111",
    )  # fmt: skip
    assert data.directory.url == "https://findahelpline.com"
    assert all(code in DATA["countries"] for code in data.offered)


def test_a_bare_no_in_the_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "helplines.yaml"
    broken.write_text(DATA_TEXT.replace('  "NO":', "  NO:"), "utf-8")
    monkeypatch.setattr(helplines, "DATA_FILE", broken)
    helplines.load.cache_clear()
    try:
        with pytest.raises(ValueError, match="country code"):
            helplines.load()
    finally:
        monkeypatch.undo()
        helplines.load.cache_clear()


# --- the partial ----------------------------------------------------------------------

CATALOG = Catalog()


def render(profile: Profile | None) -> str:
    """`common/_helplines.j2` as the crisis reply renders it: with the hook, or without."""
    ctx: dict[str, Any] = {}
    if profile is not None:
        state = UserState(profile=profile)
        call = HookCall(state, Frame("sos", "main"), None, NOW, [])
        ctx = registry("enter")["helplines"](call)
    return CATALOG.render("en", "common/_helplines", ctx)


def test_united_states() -> None:
    assert render(Profile(country="US")) == (
        "• <b>In immediate danger:</b> call 911.\n"
        "• <b>988 Suicide &amp; Crisis Lifeline</b>: call or text 988, 24/7.\n"
        "• <b>Crisis Text Line</b>: text HOME to 741741, 24/7.\n"
        '• <b>Elsewhere:</b> <a href="https://findahelpline.com">findahelpline.com</a>'
        " lists free, confidential lines."
    )


def test_united_kingdom_from_the_time_zone_says_so() -> None:
    assert render(Profile(timezone="Europe/London")) == (
        "• <b>In immediate danger:</b> call 999.\n"
        "• <b>Samaritans</b>: call 116 123, 24/7.\n"
        "• <b>Shout</b>: text SHOUT to 85258, 24/7.\n"
        '• <b>Elsewhere:</b> <a href="https://findahelpline.com">findahelpline.com</a>'
        " lists free, confidential lines.\n"
        "\n"
        "<i>Going by your time zone: United Kingdom. Somewhere else? Change it in"
        " /menu › Settings.</i>"
    )


def test_one_service_with_several_numbers_is_one_line() -> None:
    assert "• <b>Tele-MANAS</b>: call 14416 or 1-800-891-4416, 24/7." in render(
        Profile(country="IN")
    )
    assert (
        "• <b>Kids Help Phone</b> (for young people): call 1-800-668-6868"
        " or text CONNECT to 686868, 24/7."
    ) in render(Profile(country="CA"))


def test_a_country_with_only_an_emergency_number_gets_it_and_the_directory() -> None:
    assert render(Profile(country="PT")) == (
        "• <b>In immediate danger:</b> call 112.\n"
        '• <b>Portugal:</b> <a href="https://findahelpline.com">findahelpline.com</a>'
        " lists free, confidential lines near you."
    )


def test_an_unknown_country_falls_back_to_the_directory_and_local_emergency_number() -> None:
    assert render(Profile(country="JP")) == (
        "• <b>In immediate danger:</b> call your local emergency number.\n"
        '• <b>Japan:</b> <a href="https://findahelpline.com">findahelpline.com</a>'
        " lists free, confidential lines near you."
    )


GENERIC = (
    "• <b>In immediate danger:</b> call your local emergency number (112 in most of Europe,"
    " 911 in the US and Canada, 999 in the UK).\n"
    "• <b>US and Canada:</b> call or text 988.\n"
    "• <b>UK and Ireland:</b> Samaritans, 116 123.\n"
    "• <b>Elsewhere:</b> findahelpline.com lists free, confidential lines."
)


def test_no_country_shows_the_general_list_and_how_to_set_one() -> None:
    assert render(Profile(timezone="Etc/GMT-2")) == (
        GENERIC
        + "\n\n<i>Tell me your country in /menu › Settings, and I'll show its own lines.</i>"
    )


def test_without_the_hook_the_partial_is_the_general_list() -> None:
    assert render(None) == GENERIC


def test_the_hook_gives_the_emergency_number_for_an_unsafe_answer() -> None:
    def hook(profile: Profile) -> dict[str, Any]:
        call = HookCall(UserState(profile=profile), Frame("crisis", "unsafe"), None, NOW, [])
        return registry("enter")["helplines"](call)

    assert hook(Profile(country="NZ"))["emergency"] == "111"
    assert hook(Profile(timezone="Australia/Sydney"))["emergency"] == "000"
    assert hook(Profile(timezone="Europe/Lisbon"))["emergency"] == "112"
    assert hook(Profile(country="JP"))["emergency"] is None
    assert hook(Profile())["emergency"] is None


# --- through the real Application -----------------------------------------------------


@pytest.fixture()
async def tg(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


SOS_NEEDS_THE_HOOK = "the sos step should list the `helplines` enter hook (dialogs/flows/sos.yaml)"


async def test_choosing_new_zealand_in_settings_then_need_a_quick_chat(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)  # Lisbon
    await ada.click("Settings")
    assert "Country for helplines: Portugal (from your time zone)" in ada.last.plain_text
    await ada.click("Country for helplines")
    assert ada.last.plain_text == (
        "I show helplines for Portugal, going by your time zone.\n"
        "\n"
        "Which country should I use? Tap one, or type its name."
    )
    assert ada.buttons()[:3] == ["🇺🇸 United States", "🇬🇧 United Kingdom", "🇨🇦 Canada"]
    assert ada.buttons()[-2:] == ["🕒 Go by my time zone", "Keep it as it is"]
    replies = await ada.click("New Zealand")
    assert tg.state().profile.country == "NZ"
    assert replies[0].plain_text == (
        "Saved: New Zealand. Here's what Need a quick chat? will show you:\n"
        "\n"
        "• In immediate danger: call 111.\n"
        "• 1737 Need to talk: call or text 1737, 24/7.\n"
        "• Lifeline Aotearoa: call 0800 543 354, 24/7.\n"
        "• Suicide Crisis Helpline: call 0508 828 865, 24/7.\n"
        "• Elsewhere: findahelpline.com lists free, confidential lines."
    )
    replies = await ada.send("/sos")
    text = replies[0].plain_text
    assert "1737" in text, SOS_NEEDS_THE_HOOK
    assert "call 111" in text and "0800 543 354" in text
    assert "116 123" not in text and "Going by your time zone" not in text


async def test_dublin_time_zone_without_a_setting_shows_samaritans(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada, zone_text="Dublin")
    assert tg.state().profile.timezone == "Europe/Dublin"
    assert tg.state().profile.country is None
    replies = await ada.send("/sos")
    text = replies[0].plain_text
    assert "Samaritans: call 116 123, 24/7." in text, SOS_NEEDS_THE_HOOK
    assert "call 112" in text and "Pieta: call 1800 247 247" in text
    assert "Going by your time zone: Ireland." in text


async def test_a_typed_country_an_unknown_one_and_back_to_the_time_zone(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/menu")
    await ada.click("Settings")
    await ada.click("Country for helplines")
    replies = await ada.send("Narnia")
    assert replies[0].plain_text == (
        "I couldn't find a country called “Narnia”. Tap one below, or type its name or its"
        " two-letter code (for example NZ for New Zealand)."
    )
    assert "🇳🇿 New Zealand" in ada.buttons()  # the same buttons again
    assert tg.state().profile.country is None
    assert "country_typed" not in tg.state().top.slots  # type: ignore[union-attr]
    replies = await ada.send("Norway")
    assert replies[0].plain_text.startswith("Saved: Norway.")
    assert "call 113" in replies[0].plain_text
    assert tg.state().profile.country == "NO"
    assert tg.state().stack == []
    await ada.send("/menu")
    await ada.click("Settings")
    assert "Country for helplines: Norway\n" in ada.last.plain_text
    await ada.click("Country for helplines")
    replies = await ada.click("Go by my time zone")
    assert tg.state().profile.country is None
    assert replies[0].plain_text.startswith(
        "Saved: Portugal, going by your time zone. Here's what Need a quick chat? will show you:"
    )


async def test_keeping_the_country_changes_nothing(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada, zone_text="Sydney")
    await ada.send("/menu")
    await ada.click("Settings")
    await ada.click("Country for helplines")
    replies = await ada.click("Keep it as it is")
    assert replies[0].plain_text == "Okay, nothing changed: still Australia."
    assert tg.state().profile.country is None
    assert tg.state().stack == []


# --- storage ----------------------------------------------------------------------------


def test_the_country_round_trips(store: StateStore) -> None:
    key = UserKey("telegram", "4242")
    for country in ("NZ", "GB", None):
        state = UserState(
            profile=Profile(consented=True, timezone="Europe/Lisbon", country=country)
        )
        store.run_turn(key, lambda _current, state=state: Turn(state.copy()), NOW)
        assert store.load(key).profile.country == country


def _columns(engine: Engine) -> dict[str, Any]:
    return {c["name"]: c for c in inspect(engine).get_columns("users")}


def test_the_migration_adds_and_removes_the_column(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0002")
        assert "country" not in _columns(engine)
        upgrade(engine)
        assert _columns(engine)["country"]["nullable"]
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0002")
        assert "country" not in _columns(engine)
    finally:
        engine.dispose()
