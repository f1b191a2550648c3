"""Helplines by country: the data file, the country from a time zone or a setting,
the `_helplines.j2` partial, the Settings dialog that changes the country, and storage."""

from __future__ import annotations

import importlib.util
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
    ("Turkey", "TR"),
    ("Türkiye", "TR"),
    ("South Korea", "KR"),
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

SHOWN_STATUSES = {"CONFIRMED", "SECONDARY"}


def _all_lines() -> list[tuple[str, dict[str, Any]]]:
    return [
        (code, line)
        for section in ("countries", "emergency_only")
        for code, entry in DATA[section].items()
        for line in [*(entry.get("lines") or []), *(entry.get("abuse_lines") or [])]
    ]


def test_every_line_in_the_file_is_confirmed_or_secondary_and_names_its_source() -> None:
    lines = _all_lines()
    assert len(lines) >= 80
    for code, line in lines:
        assert line["status"] in SHOWN_STATUSES, (code, line)
        assert isinstance(line["source"], str) and len(line["source"]) > 10, (code, line)


def test_every_emergency_number_is_confirmed_with_its_sources() -> None:
    for section in ("countries", "emergency_only"):
        for code, entry in DATA[section].items():
            assert entry["emergency_status"] == "CONFIRMED", code
            assert entry["emergency_source"] and all(entry["emergency_source"]), code


@pytest.mark.parametrize("code", sorted(DATA["countries"]))
def test_every_helpline_entry_is_complete(code: str) -> None:
    entry = DATA["countries"][code]
    assert isinstance(entry["name"], str) and entry["name"]
    assert isinstance(entry["emergency"], str) and NUMBER_CHARS.match(entry["emergency"])
    assert entry["lines"], f"{code} has no lines"
    for line in entry["lines"]:
        numbers = [*line.get("call", []), *(t["number"] for t in line.get("text", []))]
        assert numbers, f"{code}: {line}"
        for number in numbers:
            assert isinstance(number, str) and NUMBER_CHARS.match(number), f"{code}: {number!r}"
            assert re.search(r"\d", number)


def test_the_loaded_data_matches_the_file_and_the_well_known_numbers() -> None:
    data = helplines.load()
    assert set(data.countries) == set(DATA["countries"]) | set(DATA["emergency_only"])
    assert len(data.countries) == 53  # the verified file's 51 checked countries, TR and RU
    assert "NO" in data.countries  # quoted in the file: a bare NO is YAML for false

    def numbers(code: str) -> set[str]:
        return {n for line in data.countries[code].lines for n in line.call}

    assert "988" in numbers("US") and "988" in numbers("CA")
    assert "116 123" in numbers("GB") and "116 123" in numbers("IE")
    assert "13 11 14" in numbers("AU")
    assert {"1737", "0800 543 354"} <= numbers("NZ")
    emergency = {code: c.emergency for code, c in data.countries.items()}
    assert (emergency["US"], emergency["GB"], emergency["AU"], emergency["NZ"]) == (
        "911", "999", "000", "111",
    )  # fmt: skip
    assert data.directory.url == "https://findahelpline.com"
    assert all(data.countries[code].lines for code in data.offered)
    assert len(data.offered) % 2 == 0  # two buttons a row


def test_a_bare_no_in_the_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "helplines.yaml"
    assert "\n  'NO':\n" in DATA_TEXT
    broken.write_text(DATA_TEXT.replace("\n  'NO':\n", "\n  NO:\n"), "utf-8")
    monkeypatch.setattr(helplines, "DATA_FILE", broken)
    helplines.load.cache_clear()
    try:
        with pytest.raises(ValueError, match="country code"):
            helplines.load()
    finally:
        monkeypatch.undo()
        helplines.load.cache_clear()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("status: CONFIRMED\n", "status: NOT FOUND\n"),
        ("status: SECONDARY\n", "status: CONFLICT\n"),
        ("    emergency_status: CONFIRMED\n", "    emergency_status: SECONDARY\n"),
    ],
)
def test_a_line_or_number_not_confirmed_in_the_file_is_refused(
    old: str, new: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "helplines.yaml"
    assert old in DATA_TEXT
    broken.write_text(DATA_TEXT.replace(old, new, 1), "utf-8")
    monkeypatch.setattr(helplines, "DATA_FILE", broken)
    helplines.load.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"bad line|not confirmed"):
            helplines.load()
    finally:
        monkeypatch.undo()
        helplines.load.cache_clear()


# --- the converter ----------------------------------------------------------------------


def _converter() -> Any:
    path = Path(__file__).parent.parent / "scripts" / "build_helplines.py"
    spec = importlib.util.spec_from_file_location("build_helplines", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _converter()


@pytest.mark.skipif(
    not BUILD.DEFAULT_VERIFIED.exists(), reason="the verified data lives outside the repository"
)
def test_the_committed_file_is_what_the_converter_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    verified = yaml.safe_load(BUILD.DEFAULT_VERIFIED.read_text("utf-8"))
    assert BUILD.dump(BUILD.convert(verified, BUILD.Report())) == DATA_TEXT
    assert BUILD.main(["--check"]) == 0
    stale = tmp_path / "helplines.yaml"
    stale.write_text(DATA_TEXT.replace("0800 32 123", "0800 32 124"), "utf-8")
    assert BUILD.main(["--check", "--out", str(stale)]) == 1
    out = capsys.readouterr().out
    assert "CONFLICT dropped 1" in out and "NOT FOUND dropped 2" in out
    assert "SECONDARY kept 8" in out and "CONFIRMED kept 79" in out


def _verified(*lines: dict[str, Any], **country: Any) -> dict[str, Any]:
    """A verified file of one made-up country (the shape of helplines_verified.yaml)."""
    entry = {
        "name": "Testland", "emergency": "112", "emergency_status": "CONFIRMED",
        "emergency_source": ["https://example.org/112"], "lines": list(lines), **country,
    }  # fmt: skip
    return {"meta": {"generated": "2026-11-30"}, "countries": {"US": {**entry}}}


def _raw(**fields: Any) -> dict[str, Any]:
    return {"name": "A line", "phone": "0800 123", "hours": "24/7", "status": "CONFIRMED",
            "source_url": "https://example.org", **fields}  # fmt: skip


def _converted(*lines: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    report = BUILD.Report()
    # US so that the converter's one-tap list is satisfied; the lines are made up.
    out = BUILD.convert(_verified(*lines), report) if lines else {}
    kept = out["countries"]["US"]["lines"] if "US" in out.get("countries", {}) else []
    return kept, report.rows


def _offered_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BUILD, "OFFERED", ["US"])


def test_the_converter_keeps_confirmed_and_secondary_and_drops_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _offered_ok(monkeypatch)
    kept, rows = _converted(
        _raw(name="Sure"),
        _raw(name="News only", status="SECONDARY"),
        _raw(name="Disputed", status="CONFLICT"),
        _raw(name="Missing", phone=None, status="NOT FOUND"),
    )
    assert [(line["name"], line["status"]) for line in kept] == [
        ("Sure", "CONFIRMED"), ("News only", "SECONDARY"),
    ]  # fmt: skip
    assert all(line["source"] == "https://example.org" for line in kept)
    assert "US: Disputed: CONFLICT (left out): dropped" in rows
    assert "US: Missing: NOT FOUND (no number): dropped" in rows


def test_the_converter_shows_hours_only_when_confirmed_and_worded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _offered_ok(monkeypatch)
    kept, rows = _converted(
        _raw(name="A"),
        _raw(name="B", hours_status="SECONDARY"),
        _raw(name="C", hours="NOT FOUND", hours_status="NOT FOUND"),
        _raw(name="D", hours="24/7 in some cities"),
        _raw(name="E", hours="daily 16:00-24:00 (2021)", hours_status="CONFIRMED (Wikipedia)"),
    )
    assert [line.get("hours") for line in kept] == ["24/7", None, None, None, "daily 16:00–24:00"]
    assert any("D: hours '24/7 in some cities' not in a known wording" in row for row in rows)


def test_the_converter_reads_text_and_chat_and_leaves_out_the_unclear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _offered_ok(monkeypatch)
    kept, rows = _converted(
        _raw(name="Both", phone="988", text="text 988; chat at 988lifeline.org"),
        _raw(name="Keyword (text)", phone=None, text="text HOME to 741741"),
        _raw(name="Unclear", text="SMS 31393 (counsellor calls back); chat at x.be (evenings)"),
        _raw(name="No number", phone="135 (city); 011 5275-1135 elsewhere", text=None),
    )
    assert kept[0]["call"] == ["988"] and kept[0]["text"] == [{"number": "988"}]
    assert kept[0]["chat"] == "988lifeline.org"
    assert kept[1]["name"] == "Keyword"  # a trailing description is not part of the name
    assert kept[1]["text"] == [{"number": "741741", "keyword": "HOME"}] and "call" not in kept[1]
    assert "text" not in kept[2] and "chat" not in kept[2]
    assert len(kept) == 3 and any("No number: CONFIRMED but no number" in row for row in rows)


# --- the partial ----------------------------------------------------------------------

CATALOG = Catalog()


def hook(profile: Profile) -> dict[str, Any]:
    call = HookCall(UserState(profile=profile), Frame("sos", "main"), None, NOW, [])
    return registry("enter")["helplines"](call)


def render(profile: Profile | None, name: str = "common/_helplines") -> str:
    """A partial as the crisis reply renders it: with the hook, or without."""
    return CATALOG.render("en", name, hook(profile) if profile is not None else {})


ELSEWHERE = (
    '• <b>Elsewhere:</b> <a href="https://findahelpline.com">findahelpline.com</a> lists helplines.'
)


def test_united_states() -> None:
    assert render(Profile(country="US")) == (
        "• <b>In immediate danger:</b> call 911.\n"
        "• <b>988 Suicide &amp; Crisis Lifeline</b>: call 988 (24/7), text 988,"
        " or chat at 988lifeline.org.\n"
        "• <b>Crisis Text Line</b>: text HOME to 741741 (24/7).\n" + ELSEWHERE
    )


def test_united_kingdom_from_the_time_zone_says_so() -> None:
    assert render(Profile(timezone="Europe/London")) == (
        "• <b>In immediate danger:</b> call 999.\n"
        "• <b>Samaritans</b>: call 116 123 (24/7).\n"
        "• <b>Shout 85258</b>: text SHOUT to 85258 (24/7).\n" + ELSEWHERE + "\n"
        "\n"
        "<i>Going by your time zone: United Kingdom. Somewhere else? Change it in"
        " /menu › Settings.</i>"
    )


def test_one_service_with_several_numbers_is_one_line() -> None:
    assert "• <b>Tele-MANAS</b>: call 14416 or 1-800-891-4416 (24/7)." in render(
        Profile(country="IN")
    )
    assert (
        "• <b>TelefonSeelsorge</b>: call 0800 111 0 111, 0800 111 0 222 or 116 123 (24/7),"
        " or chat at online.telefonseelsorge.de."
    ) in render(Profile(country="DE"))


def test_a_secondary_line_carries_its_caveat_and_a_confirmed_one_does_not() -> None:
    text = render(Profile(country="CA"))
    assert "• <b>Kids Help Phone</b> (for young people): text CONNECT to 686868 (24/7).\n" in text
    assert (
        "• <b>Kids Help Phone</b> (for young people): call 1-800-668-6868 (24/7)."
        " <i>(Not confirmed by the organisation.)</i>\n"
    ) in text
    assert "• <b>9-8-8: Suicide Crisis Helpline</b>: call 988 (24/7), or text 988.\n" in text


CAVEAT = " <i>(Not confirmed by the organisation.)</i>"


@pytest.mark.parametrize("code", sorted(helplines.load().countries))
def test_every_shown_line_is_confirmed_or_carries_its_caveat(code: str) -> None:
    """Each bullet is one service: all its numbers appear, with the caveat exactly when
    the data says SECONDARY, and with hours only when the data has them."""
    text = render(Profile(country=code))
    bullets = [b for b in text.split("\n") if b.startswith("• <b>")][1:]  # not the emergency
    lines = helplines.load().countries[code].lines
    if not lines:
        assert text.count("\n") == 1 and "findahelpline.com" in text
        return
    assert bullets[-1] == ELSEWHERE
    bullets = bullets[:-1]
    for line in lines:
        numbers = [*line.call, *(t.number for t in line.text)]
        found = [b for b in bullets if all(n in b for n in numbers)]
        assert found, (code, line)
        secondary = line.status == "SECONDARY"
        assert any(b.endswith(CAVEAT) == secondary for b in found), (code, line)
        if line.hours is None:
            assert any("(24/7)" not in b for b in found), (code, line)
        else:
            assert any(f"({line.hours})" in b for b in found), (code, line)
    for bullet in bullets:
        assert bullet.endswith((".", CAVEAT))


def test_hours_other_than_all_day_are_shown_and_unknown_hours_are_not_said() -> None:
    assert (
        "• <b>Nummer gegen Kummer</b> (for young people): call 116 111 (Mon–Sat 14:00–20:00),"
        " or chat at nummergegenkummer.de."
    ) in render(Profile(country="DE"))
    assert "• <b>Livslinien</b>: call 70 201 201 (daily 11:00–04:00).\n" in render(
        Profile(country="DK")
    )
    # The data says 24/7 only as a news report (SECONDARY hours): nothing said.
    assert "• <b>Lifeline Ukraine</b>: call 7333.\n" in render(Profile(country="UA"))
    # Hours not found, for the line in a country without 24/7 anywhere in the data.
    assert "24/7" not in render(Profile(country="ZA"))


def test_south_africa_emergency_is_10177_or_112_from_a_mobile_not_the_police() -> None:
    assert render(Profile(country="ZA")) == (
        "• <b>In immediate danger:</b> call 10177, or 112 from a mobile.\n"
        "• <b>SADAG Suicide Crisis Helpline</b>: call 0800 567 567.\n" + ELSEWHERE
    )
    assert hook(Profile(country="ZA"))["emergency"] == "10177"
    assert CATALOG.render("en", "crisis/_emergency", hook(Profile(country="ZA"))) == (
        "10177, or 112 from a mobile"
    )
    assert hook(Profile(country="ZA"))["helplines"]["emergency_number"] == "10177"
    za = DATA["countries"]["ZA"]
    assert (za["emergency"], za["emergency_mobile"]) == ("10177", "112")
    assert "10111" not in render(Profile(country="ZA"))  # the police, which the old file had


def test_belgium_has_its_dutch_and_french_language_lines() -> None:
    assert render(Profile(country="BE")) == (
        "• <b>In immediate danger:</b> call 112.\n"
        "• <b>Zelfmoordlijn 1813</b>: call 1813 (24/7).\n"
        "• <b>Centre de Prévention du Suicide – ligne de crise</b>: call 0800 32 123 (24/7).\n"
        + ELSEWHERE
    )


WERE_112_ONLY = ["BG", "HR", "CY", "CZ", "EE", "GR", "HU", "IT", "LV", "LT", "LU", "MT", "PT",
                 "RO", "SK", "SI"]  # fmt: skip


@pytest.mark.parametrize("code", WERE_112_ONLY)
def test_the_eu_countries_that_showed_only_112_now_have_lines(code: str) -> None:
    text = render(Profile(country=code))
    assert text.startswith("• <b>In immediate danger:</b> call 112.\n• <b>")
    assert re.search(r"call [0-9]", text.split("\n")[1])
    assert text.endswith(ELSEWHERE)


def test_portugal_and_a_line_without_a_name() -> None:
    assert render(Profile(country="PT")) == (
        "• <b>In immediate danger:</b> call 112.\n"
        "• <b>Linha Nacional de Prevenção do Suicídio</b>: call 1411 (24/7).\n"
        "• <b>SNS 24 – Aconselhamento psicológico</b>: call 808 24 24 24, option 4 (24/7).\n"
        "• <b>SOS Voz Amiga</b>: call 213 544 545." + CAVEAT + "\n" + ELSEWHERE
    )
    assert "• <b>Crisis line</b>: call 116 123.\n" in render(Profile(country="EE"))


def test_the_new_countries_have_their_lines() -> None:
    assert "• <b>Yorisoi Hotline</b>: call 0120-279-338 (24/7)." in render(Profile(country="JP"))
    assert "call 119." in render(Profile(country="JP"))
    assert "• <b>Línea de la Vida</b>: call 800 911 2000 (24/7)." in render(Profile(country="MX"))
    assert "call 109 (24/7)" in render(Profile(country="KR"))


def test_a_country_with_only_an_emergency_number_gets_it_and_the_directory() -> None:
    assert render(Profile(country="TR")) == (
        "• <b>In immediate danger:</b> call 112.\n"
        '• <b>Türkiye:</b> <a href="https://findahelpline.com">findahelpline.com</a>'
        " lists helplines near you."
    )


def test_an_unknown_country_falls_back_to_the_directory_and_local_emergency_number() -> None:
    assert render(Profile(country="VN")) == (
        "• <b>In immediate danger:</b> call your local emergency number.\n"
        '• <b>Vietnam:</b> <a href="https://findahelpline.com">findahelpline.com</a>'
        " lists helplines near you."
    )


GENERIC = (
    "• <b>In immediate danger:</b> call your local emergency number (112 in most of Europe,"
    " 911 in the US and Canada, 999 in the UK).\n"
    "• <b>US and Canada:</b> call or text 988.\n"
    "• <b>UK and Ireland:</b> Samaritans, 116 123.\n"
    "• <b>Elsewhere:</b> findahelpline.com lists helplines."
)


def test_no_country_shows_the_general_list_and_how_to_set_one() -> None:
    # The engine gives every template the profile; Settings exist once onboarded.
    profile = Profile(timezone="Etc/GMT-2", onboarded=True)
    ctx = hook(profile) | {"profile": profile}
    assert CATALOG.render("en", "common/_helplines", ctx) == (
        GENERIC
        + "\n\n<i>Tell me your country in /menu › Settings, and I'll show its own lines.</i>"
    )
    # Before /start there is no Settings to send them to: the general list only.
    newcomer = Profile(timezone="Etc/GMT-2")
    assert CATALOG.render("en", "common/_helplines", hook(newcomer) | {"profile": newcomer}) == (
        GENERIC
    )


def test_without_the_hook_the_partial_is_the_general_list() -> None:
    assert render(None) == GENERIC


def _included(source: str, profile: Profile | None) -> str:
    """A made-up template of another dialog, including a partial the way theirs do."""
    template = CATALOG._env("en").from_string(source)
    return template.render(hook(profile) if profile is not None else {})


@pytest.mark.parametrize("profile", [Profile(country="ZA"), Profile(country="TR"), None])
def test_a_template_that_says_the_emergency_number_can_leave_it_out_of_the_list(
    profile: Profile | None,
) -> None:
    once = _included(
        "Call {% include 'crisis/_emergency.j2' %} now.\n"
        "{% set show_emergency = false %}{% include 'common/_helplines.j2' %}",
        profile,
    )
    assert "In immediate danger" not in once
    assert once.startswith("Call ")
    number = "10177" if profile and profile.country == "ZA" else "112" if profile else "911"
    assert once.count(number) == 1, once
    default = _included("{% include 'common/_helplines.j2' %}", profile)
    assert default.startswith("• <b>In immediate danger:</b> call ")


def test_the_hook_gives_the_emergency_number_for_an_unsafe_answer() -> None:
    def emergency(profile: Profile) -> Any:
        call = HookCall(UserState(profile=profile), Frame("crisis", "unsafe"), None, NOW, [])
        ctx = registry("enter")["helplines"](call)
        assert ctx["emergency"] == ctx["helplines"]["emergency"]
        return ctx["emergency"]

    assert emergency(Profile(country="NZ")) == "111"
    assert emergency(Profile(timezone="Australia/Sydney")) == "000"
    assert emergency(Profile(timezone="Europe/Lisbon")) == "112"
    assert emergency(Profile(country="VN")) is None
    assert emergency(Profile()) is None
    assert CATALOG.render("en", "crisis/_emergency", hook(Profile(country="NO"))) == "113"


# --- domestic abuse -----------------------------------------------------------------------


def test_abuse_lines_fall_back_to_the_directory_while_the_data_has_none() -> None:
    assert all(not c.abuse_lines for c in helplines.load().countries.values())
    assert render(Profile(country="ZA"), "common/_abuse_lines") == (
        "• <b>In immediate danger:</b> call 10177, or 112 from a mobile.\n"
        '• <b>Support with what is happening:</b> <a href="https://findahelpline.com">'
        "findahelpline.com</a> lists helplines in South Africa and elsewhere."
    )
    assert render(None, "common/_abuse_lines").endswith(
        "• <b>Support with what is happening:</b> findahelpline.com lists helplines."
    )
    once = _included(
        "{% set show_emergency = false %}{% include 'common/_abuse_lines.j2' %}",
        Profile(country="GB"),
    )
    assert "999" not in once and "United Kingdom and elsewhere" in once


def test_abuse_lines_in_the_data_are_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = (
        "    abuse_lines:\n"
        "    - name: Made-up Abuse Line\n"
        "      call:\n"
        "      - 0800 000 000\n"
        "      hours: 24/7\n"
        "      status: SECONDARY\n"
        "      source: https://example.org/made-up\n"
    )
    marker = "  GB:\n    name: United Kingdom\n"
    assert marker in DATA_TEXT
    patched = tmp_path / "helplines.yaml"
    patched.write_text(DATA_TEXT.replace(marker, marker + extra), "utf-8")
    monkeypatch.setattr(helplines, "DATA_FILE", patched)
    helplines.load.cache_clear()
    try:
        assert render(Profile(country="GB"), "common/_abuse_lines") == (
            "• <b>In immediate danger:</b> call 999.\n"
            "• <b>Made-up Abuse Line</b>: call 0800 000 000 (24/7)." + CAVEAT + "\n" + ELSEWHERE
        )
    finally:
        monkeypatch.undo()
        helplines.load.cache_clear()


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
    # countries that have lines since the verified data, offered too
    assert {"🇮🇹 Italy", "🇧🇷 Brazil", "🇲🇽 Mexico", "🇵🇭 Philippines"} <= set(ada.buttons())
    replies = await ada.click("New Zealand")
    assert tg.state().profile.country == "NZ"
    assert replies[0].plain_text == (
        "Saved: New Zealand. Here's what Need a quick chat? will show you:\n"
        "\n"
        "• In immediate danger: call 111.\n"
        "• 1737 Need to talk: call 1737 (24/7), or text 1737.\n"
        "• Lifeline Aotearoa: call 0800 543 354. (Not confirmed by the organisation.)\n"
        "• Suicide Crisis Helpline: call 0508 828 865 (24/7).\n"
        "• Elsewhere: findahelpline.com lists helplines."
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
    assert "Samaritans Ireland: call 116 123 (24/7)." in text, SOS_NEEDS_THE_HOOK
    assert "call 112" in text
    assert "Pieta: call 1800 247 247 (24/7), or text HELP to 51444." in text
    assert "Text About It: text HELLO to 50808 (24/7)." in text
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
    # Only the end screen is open ("Back to settings" / "Done"): no question waits.
    assert [f.dialog for f in tg.state().stack] == ["change_country"]
    assert tg.state().top.step != "ask"  # type: ignore[union-attr]
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
    assert [f.dialog for f in tg.state().stack] == ["change_country"]
    assert tg.state().top.step != "ask"  # type: ignore[union-attr]


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


def test_japans_paid_line_says_so_and_gives_the_free_number() -> None:
    # The verified data: 0570-783-556 is a toll number; 0120-783-556 is free, 16:00-21:00.
    shown = render(Profile(country="JP"))
    assert "call 0570-783-556 (daily 10:00–22:00, a paid call; free on 0120-783-556" in shown
