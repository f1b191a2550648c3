"""Words that come from code or data, said in Spanish: dates, numbers, zones, media, the
erase word, country names, helpline hours and languages. Conversations go through the real
Application on the fake Bot API; the data checks read the shipped files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from dialogs import helplines, places
from dialogs.hooks.review import MOOD, week_summary
from dialogs.model import Profile, Record, UserState
from prompts import Catalog, default_catalog
from tests.fakebot import ChatDriver
from tests.telegram_harness import Harness, bridges_on_fake

CATALOG = default_catalog()
ROOT = Path(__file__).parent.parent


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


async def spanish(tg: Harness, city: str = "Madrid") -> ChatDriver:
    """Someone whose Telegram is in Spanish, onboarded in Spanish, at the menu."""
    ana = tg.chat(language_code="es-ES")
    await ana.send("/start")
    await ana.click("Cuéntame más")
    await ana.click("De acuerdo, entendido")
    await ana.click("Sí, guarda mis respuestas")
    await ana.send(city)
    await ana.click("8:00")
    await ana.click("Ahora no, gracias")
    await ana.click("Quizá más tarde")
    assert tg.state().profile.locale == "es"
    return ana


# --- through the conversation ------------------------------------------------------------


async def test_a_pause_ends_on_a_spanish_day(tg: Harness) -> None:
    ana = await spanish(tg)
    paused = await ana.send("/pause")
    assert paused[-1].plain_text.startswith("¿Cuánto tiempo quieres descansar")
    done = await ana.click("Durante un día")
    # Monday 23 Nov 2026, 09:00 UTC is 10:00 in Madrid; a day on is Tuesday.
    assert "hasta el martes 24 de noviembre, a las 10:00" in done[0].plain_text
    settings = await ana.send("/settings")
    assert "• En pausa: sin saludos ni empujoncitos hasta el martes 24 de noviembre" in (
        settings[-1].plain_text
    )


async def test_settings_say_words_never_stored_values(tg: Harness) -> None:
    ana = await spanish(tg)
    text = (await ana.send("/settings"))[-1].plain_text
    assert "• Zona horaria: Europe/Madrid (UTC+01:00, ahora son las 10:00)" in text
    assert "• Saludo diario: 08:00, cada mañana" in text
    assert "• Empujoncitos: suaves (dos veces por semana como mucho)," in text
    assert "• País para las líneas de ayuda: España (según tu zona horaria)" in text
    for raw in ("gentle", "morning", " now", "Spain"):
        assert raw not in text
    await ana.click("⏰ Hora del saludo diario")
    saved = await ana.send("19:30")
    assert "cada tarde" in saved[0].plain_text and "evening" not in saved[0].plain_text


async def test_a_sticker_is_named_in_spanish(tg: Harness) -> None:
    ana = await spanish(tg)
    replies = await ana.send_sticker()
    assert replies[0].plain_text == (
        "Por ahora solo puedo leer texto y botones, así que no puedo abrir ese sticker."
    )
    voice = await ana.send_voice()
    assert voice[0].plain_text.endswith("no puedo abrir esa nota de voz.")


async def test_delete_takes_the_spanish_word(tg: Harness) -> None:
    ana = await spanish(tg)
    await ana.send("/delete")
    asked = await ana.click("Borrarlo todo")
    assert asked[0].plain_text.startswith("Para confirmarlo, escribe BORRAR.")
    kept = await ana.send("borrar no")  # anything else keeps everything
    assert tg.state().profile.onboarded
    assert kept[0].plain_text
    await ana.send("/delete")
    await ana.click("Borrarlo todo")
    await ana.send("  Borrar ")
    assert not tg.state().profile.onboarded  # erased


async def test_delete_in_english_does_not_take_the_spanish_word(tg: Harness) -> None:
    from tests.telegram_harness import onboard

    ada = tg.chat()
    await onboard(ada)
    await ada.send("/delete")
    asked = await ada.click("Erase everything")
    assert asked[0].plain_text.startswith("To be sure, type DELETE.")
    await ada.send("borrar")
    assert tg.state().profile.onboarded
    await ada.send("/delete")
    await ada.click("Erase everything")
    await ada.send("delete")
    assert not tg.state().profile.onboarded


async def test_countries_are_named_in_spanish_and_typed_in_spanish(tg: Harness) -> None:
    ana = await spanish(tg)
    await ana.send("/settings")
    await ana.click("📞 País de las líneas de ayuda")
    assert "🇪🇸 España" in ana.buttons() and "🇲🇽 México" in ana.buttons()
    saved = await ana.send("Estados Unidos")
    assert saved[0].plain_text.startswith("Guardado: Estados Unidos.")
    assert tg.state().profile.country == "US"
    # The 988 line answers in Spanish (the verified data says so); no key is named.
    assert "988 Suicide & Crisis Lifeline (atiende también en español): llama al 988" in (
        saved[0].plain_text
    )
    sos = await ana.send("/sos")
    assert "llama al 911." in sos[0].plain_text


async def test_a_reframe_draft_is_dated_in_spanish(tg: Harness) -> None:
    ana = await spanish(tg)
    await ana.send("/reframe")
    await ana.send("nadie quiere saber de mí")
    cancelled = await ana.send("/cancel")
    assert "borrador" in cancelled[0].plain_text
    offer = await ana.send("/reframe")
    assert offer[0].plain_text.startswith(
        "Tienes un registro sin terminar del 23 nov 2026 sobre “nadie quiere saber de mí”."
    )


# --- the filters and the data ------------------------------------------------------------


def test_numbers_and_dates_in_each_language() -> None:
    es, en = CATALOG.filters("es"), CATALOG.filters("en")
    assert (en["number"](3.4), es["number"](3.4), es["number"](4), es["number"](3.0)) == (
        "3.4",
        "3,4",
        "4",
        "3,0",
    )
    assert en["date"]("2025-01-03") == "3 Jan 2025"
    assert es["date"]("2025-01-03") == "3 ene 2025"
    assert es["date"](date(2026, 8, 10)) == "10 ago 2026"
    long = datetime(2026, 11, 29, 18, 5)
    assert en["date"](long, "long_time") == "Sunday 29 November, 18:05"
    assert es["date"](long, "long_time") == "domingo 29 de noviembre, a las 18:05"
    assert es["date"]("") == ""
    with pytest.raises(ValueError):
        es["date"]("not a day")
    with pytest.raises(TypeError):
        es["number"]("3.4")


def test_the_weekly_review_average_has_a_decimal_comma() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    this_week, week_before = [3, 4, 3, 4, 3], [3, 2, 3, 3, 3]  # 3.4 and 2.8
    moods = [
        Record(MOOD, {"mood": m, "at": (now - timedelta(days=back)).isoformat()})
        for back, m in [*enumerate(this_week), *enumerate(week_before, start=7)]
    ]
    state = UserState(profile=Profile(onboarded=True, timezone="UTC"), records={MOOD: moods})
    ctx = week_summary(state, now) | {"slots": {}, "profile": state.profile}
    es = CATALOG.render("es", "review/week", ctx)
    en = CATALOG.render("en", "review/week", ctx)
    assert "alrededor de <b>3,4</b> sobre 5 (la semana anterior: 2,8)" in es
    assert "<b>3.4</b> out of 5 (the week before: 2.8)" in en


def test_every_country_has_a_name_in_english_as_the_data_says() -> None:
    data = yaml.safe_load((ROOT / "dialogs" / "data" / "helplines.yaml").read_text("utf-8"))
    countries = {**data["countries"], **data["emergency_only"]}
    for code, entry in countries.items():
        assert CATALOG.label("en", f"country.{code}") == entry["name"], code
        assert CATALOG.has_label("es", f"country.{code}"), code
    assert CATALOG.label("es", "country.MX") == "México"
    assert CATALOG.label("es", "country.US") == "Estados Unidos"
    # Every name in English is the one the data knows (ours, or geonames' for the others).
    labelled = [k.split(".", 1)[1] for k in CATALOG._labels["en"] if k.startswith("country.")]
    assert {"CO", "PE", "CL", "UY"} <= set(labelled)
    for code in labelled:
        known = helplines.country(code)
        assert known is not None and CATALOG.label("en", f"country.{code}") == known.name


async def test_a_country_without_lines_is_named_in_spanish(tg: Harness) -> None:
    ana = await spanish(tg, city="Lima")
    text = (await ana.send("/settings"))[-1].plain_text
    assert "• País para las líneas de ayuda: Perú (según tu zona horaria)" in text
    sos = (await ana.send("/sos"))[0].plain_text
    assert "Perú: findahelpline.com reúne líneas de ayuda cerca de ti." in sos


def test_every_helpline_hours_text_has_spanish_words() -> None:
    hours = {
        line.hours
        for country in helplines.load().countries.values()
        for line in country.lines
        if line.hours
    }
    assert "24/7" in hours and len(hours) > 1
    for text in hours:
        line = {
            "name": "L", "audience": None, "hours": text, "call": ["1"], "option": None,
            "text": [], "chat": None, "languages": [], "caveat": None,
        }  # fmt: skip
        said = CATALOG.render("es", "common/_helplines_line", {"line": line})
        if text != "24/7":
            assert text not in said, text
        for english in ("daily", "Mon", "Fri", "paid", "free", "until"):
            assert english not in said, said


def test_the_us_988_line_is_marked_spanish_in_the_data_and_only_that() -> None:
    us = helplines.country("US")
    assert us is not None
    spanish = [line.name for line in us.lines if "es" in line.languages]
    assert spanish == ["988 Suicide & Crisis Lifeline"]


def test_every_common_zone_has_a_label_in_each_language() -> None:
    for zone in places.common_zones():
        for locale in CATALOG.locales:
            assert CATALOG.has_label(locale, f"common.zone.{zone.id}"), (locale, zone.id)
        assert CATALOG.label("en", f"common.zone.{zone.id}") == zone.label


def test_a_catalog_without_spanish_reads_every_tag_as_english(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "buttons.yaml").write_text("x: 'y'\n")
    only_english = Catalog(tmp_path)
    assert only_english.locale_for("es-MX") == "en"
    assert CATALOG.locale_for("es-MX") == "es" and CATALOG.locale_for("") == "en"
