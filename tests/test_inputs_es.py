"""dialogs.inputs in Spanish (issue 14): yes and no, numbers, moods, times and days typed as
people in Spain and Latin America type them, and the dialog manager reading them for a person
whose locale is "es". English readings are in tests/test_inputs_words.py and must not move.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs import places
from dialogs.inputs import (
    base_locale,
    locale_words,
    mood_from_words,
    mood_phrases,
    parse_number_words,
    parse_time,
    read_day,
    word_locales,
    yes_or_no,
)
from dialogs.manager import DialogManager
from dialogs.model import Command, Press, Profile, Text, Turn, UserState
from dialogs.spec import load_dialogs
from prompts import default_catalog

# --------------------------------------------------------------------------- yes and no

YES_NO = [
    ("sí", "yes"), ("Si", "yes"), ("SI!", "yes"), ("¡Claro!", "yes"), ("claro que sí", "yes"),
    ("vale", "yes"), ("Vale 👍", "yes"), ("dale", "yes"), ("ok", "yes"), ("okey", "yes"),
    ("por supuesto", "yes"), ("de una", "yes"), ("sale", "yes"), ("venga", "yes"),
    ("de acuerdo", "yes"), ("sí, por favor", "yes"), ("sip", "yes"), ("obvio", "yes"),
    ("no", "no"), ("No.", "no"), ("nop", "no"), ("para nada", "no"), ("mejor no", "no"),
    ("no, gracias", "no"), ("ahora no", "no"), ("hoy no", "no"), ("nel", "no"),
    ("otro día", "no"), ("más tarde", "no"), ("paso", "no"),
    # not plainly yes or no
    ("no sé", None), ("no se", None), ("sí y no", None), ("quizás", None), ("tal vez", None),
    ("no estoy seguro", None), ("sí, no sé", None), ("", None), ("bien", None),
    ("no sé qué decir", None),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "meant"), YES_NO)
def test_yes_or_no_in_spanish(typed: str, meant: str | None) -> None:
    assert yes_or_no(typed, "es") == meant


def test_each_language_keeps_its_own_words() -> None:
    assert yes_or_no("vale") is None  # English default: "vale" is no English answer
    assert yes_or_no("sí") is None
    assert yes_or_no("yes") == "yes" and yes_or_no("yes", "es") == "yes"
    assert yes_or_no("nah", "es") == "no" and yes_or_no("sure", "es") is None
    assert yes_or_no("sí", "es-MX") == "yes"  # a region reads its language
    assert yes_or_no("sí", "fr") is None and yes_or_no("yes", "fr") == "yes"  # no file: English


# --------------------------------------------------------------------------- numbers

NUMBERS = [
    ("siete", 0, 10, 7), ("Siete.", 0, 10, 7), ("un 6", 0, 10, 6), ("como un 4", 1, 5, 4),
    ("unos 3", 1, 5, 3), ("más o menos un 5", 0, 10, 5), ("yo diría que un 7", 0, 10, 7),
    ("creo que 3", 1, 5, 3), ("un siete", 0, 10, 7), ("diez", 0, 10, 10), ("cero", 0, 10, 0),
    ("uno", 1, 5, 1), ("un", 1, 5, 1), ("una", 1, 5, 1), ("veintitrés", 0, 100, 23),
    ("veintitres", 0, 100, 23), ("treinta y dos", 0, 100, 32), ("cien", 0, 100, 100),
    ("noventa y nueve", 0, 100, 99), ("dieciséis", 0, 100, 16), ("siete de diez", 0, 10, 7),
    ("un 7 sobre 10", 0, 10, 7), ("3/5", 1, 5, 3), ("tres de cinco", 1, 5, 3),
    ("50 por ciento", 0, 100, 50), ("un 4 🙂", 1, 5, 4), ("¿un 3?", 1, 5, 3),
    ("ninguno", 0, 10, 0),
    # not one number on our scale
    ("3 o 4", 1, 5, None), ("tres o cuatro", 1, 5, None), ("entre 3 y 4", 1, 5, None),
    ("menos de 3", 1, 5, None), ("más de 3", 1, 5, None), ("2,5", 1, 5, None),
    ("siete de diez", 1, 5, None), ("seis", 1, 5, None), ("no sé", 1, 5, None),
    ("fatal", 1, 5, None), ("once", 1, 5, None), ("", 1, 5, None),
    ("creo que fueron como tres veces esta semana", 0, 10, None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "low", "high", "expected"), NUMBERS)
def test_parse_number_words_in_spanish(
    text: str, low: int, high: int, expected: int | None
) -> None:
    assert parse_number_words(text, low, high, "es") == expected


def test_number_words_belong_to_their_language() -> None:
    assert parse_number_words("once", 0, 20) is None  # English: "once" is not 11
    assert parse_number_words("once", 0, 20, "es") == 11
    assert parse_number_words("seven", 0, 10, "es") is None
    assert parse_number_words("siete", 0, 10) is None


# --------------------------------------------------------------------------- moods

MOODS = [
    ("fatal", 1), ("Fatal!!", 1), ("muy mal", 1), ("malísimo", 1), ("de pena", 1),
    ("estoy fatal", 1), ("mal", 2), ("no muy bien", 2), ("no me siento muy bien", 2),
    ("nada bien", 2), ("hecho polvo", 2), ("hecha polvo", 2), ("bajón", 2), ("de bajón", 2),
    ("cansada", 2), ("un poco triste", 2), ("me siento sola", 2), ("agobiado", 2),
    ("regular", 3), ("más o menos", 3), ("mas o menos", 3), ("tirando", 3),
    ("ni bien ni mal", 3), ("no tan mal", 3), ("normal", 3), ("pues regular", 3),
    ("medio bien", 3), ("cansado pero bien", 4), ("bien", 4), ("bien, gracias", 4),
    ("bien y tú?", 4), ("hola, bien", 4), ("todo bien", 4), ("no estoy nada mal", 4),
    ("tranqui", 4), ("muy bien", 5), ("Súper bien", 5), ("re bien", 5), ("genial!!", 5),
    ("de maravilla", 5), ("mejor que nunca", 5), ("😢", 2), ("🙂", 4),
    # not an answer we read
    ("¿estás bien?", None), ("7", None), ("un 3", None), ("fatal, genial", None),
    ("no sé", None), ("la verdad es que hoy no ha sido un día fácil para mí", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), MOODS)
def test_mood_from_words_in_spanish(text: str, expected: int | None) -> None:
    assert mood_from_words(text, "es") == expected


@pytest.mark.parametrize(("phrase", "score"), sorted(mood_phrases("es").items()))
def test_every_spanish_mood_phrase_alone_gets_its_score(
    phrase: tuple[str, ...], score: int
) -> None:
    assert mood_from_words(" ".join(phrase), "es") == score


def test_mood_words_belong_to_their_language() -> None:
    assert mood_from_words("fatal") is None  # not an English mood word
    assert mood_from_words("awful", "es") is None
    assert mood_from_words("😞", "es") == mood_from_words("😞")  # faces are shared


# --------------------------------------------------------------------------- times

TIMES = [
    ("a las 7", "07:00"), ("A las 7.", "07:00"), ("las 7", "07:00"), ("7 y media", "07:30"),
    ("siete y media", "07:30"), ("las ocho menos cuarto", "07:45"), ("8 menos cuarto", "07:45"),
    ("las 7 y 20", "07:20"), ("siete y veinte", "07:20"), ("ocho y cuarto", "08:15"),
    ("ocho menos cinco", "07:55"), ("8 menos 10", "07:50"), ("ocho con diez", "08:10"),
    ("cuarto para las 8", "07:45"), ("diez para las nueve", "08:50"), ("19:30", "19:30"),
    ("a las 19:30", "19:30"), ("19h30", "19:30"), ("7 de la tarde", "19:00"),
    ("a las 8 de la tarde", "20:00"), ("9 de la mañana", "09:00"),
    ("9 de la manana", "09:00"), ("a las 10 de la noche", "22:00"),
    ("las doce de la noche", "00:00"), ("3 de la madrugada", "03:00"),
    ("a la una", "01:00"), ("la una y media", "01:30"), ("a la una de la tarde", "13:00"),
    ("mediodía", "12:00"), ("a mediodía", "12:00"), ("las 12 del mediodía", "12:00"),
    ("medianoche", "00:00"), ("8 pm", "20:00"), ("8 p. m.", "20:00"), ("8am", "08:00"),
    ("a las 20", "20:00"), ("20 horas", "20:00"), ("a las 8 en punto", "08:00"),
    ("sobre las 9", "09:00"), ("a eso de las 9", "09:00"), ("como a las 8", "08:00"),
    ("8 y pico", "08:00"), ("siete treinta", "07:30"), ("por la tarde a las 6", "18:00"),
    ("8 y cuarto de la tarde", "20:15"), ("las nueve y media de la noche", "21:30"),
    ("mañana a las 8", "08:00"), ("mañana por la mañana a las 9", "09:00"),
    ("todos los días a las 9", "09:00"), ("para las 8", "08:00"), ("¿a las 8?", "08:00"),
    # never guess
    ("por la mañana", None), ("mañana", None), ("esta noche", None), ("tarde", None),
    ("8 o 9", None), ("7 y 8", None), ("entre las 8 y las 9", None), ("las 7 30", None),
    ("20 de la mañana", None), ("12 de la mañana", None), ("8 menos 5", None),
    ("25:00", None), ("fatal", None), ("me levanto a las 8 normalmente", None), ("", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_parse_time_in_spanish(text: str, expected: str | None) -> None:
    assert parse_time(text, "es") == expected


def test_time_words_belong_to_their_language() -> None:
    assert parse_time("7 y media") is None  # English reads no Spanish
    assert parse_time("half past seven", "es") is None
    assert parse_time("19:30", "es") == parse_time("19:30") == "19:30"  # digits: everyone


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_spanish_readers_never_raise(text: str) -> None:
    hhmm = parse_time(text, "es")
    assert hhmm is None or (0 <= int(hhmm[:2]) <= 23 and 0 <= int(hhmm[3:]) <= 59)
    number = parse_number_words(text, 1, 5, "es")
    assert number is None or 1 <= number <= 5
    mood = mood_from_words(text, "es")
    assert mood is None or 1 <= mood <= 5
    assert yes_or_no(text, "es") in (None, "yes", "no")
    assert read_day(text, "es") is None or read_day(text, "es") is not None


# --------------------------------------------------------------------------- days

DAYS = [
    ("hoy", ("in", 0)), ("mañana", ("in", 1)), ("Mañana!", ("in", 1)), ("manana", ("in", 1)),
    ("pasado mañana", ("in", 2)), ("mañana por la tarde", ("in", 1)),
    ("mañana por la mañana", ("in", 1)), ("esta noche", ("in", 0)),
    ("el sábado", ("weekday", 5)), ("sábado", ("weekday", 5)), ("sabado", ("weekday", 5)),
    ("el lunes que viene", ("weekday", 0)), ("el próximo viernes", ("weekday", 4)),
    ("mié", ("weekday", 2)), ("miercoles", ("weekday", 2)), ("domingo por la noche", ("weekday", 6)),
    # not one day
    ("por la mañana", None), ("de la tarde", None), ("mañana a las 8", None),
    ("hoy o mañana", None), ("el finde", None), ("sábado o domingo", None), ("", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), DAYS)
def test_read_day_in_spanish(text: str, expected: tuple[str, int] | None) -> None:
    assert read_day(text, "es") == expected


def test_read_day_in_english() -> None:
    assert read_day("tomorrow") == ("in", 1)
    assert read_day("on saturday") == ("weekday", 5)
    assert read_day("tomorrow morning") == ("in", 1)
    assert read_day("in the morning") is None
    assert read_day("mañana") is None  # English


# --------------------------------------------------------------------------- the data


def test_locales_and_their_files() -> None:
    assert word_locales()[0] == "en" and "es" in word_locales()
    assert base_locale("es-MX") == base_locale("es_419") == base_locale("ES") == "es"
    assert base_locale(None) == base_locale("") == base_locale("x-1") == "en"
    assert locale_words("es-AR") == locale_words("es")
    spanish = locale_words("es")
    assert len(spanish.weekdays) >= 14 and set(spanish.weekdays.values()) == set(range(7))
    assert not spanish.yes & spanish.no
    assert "no se" not in spanish.no  # "no sé" is not a no


# --------------------------------------------------------------------------- places


PLACES = [
    ("Nueva York", "America/New_York"), ("Ciudad de México", "America/Mexico_City"),
    ("vivo en la ciudad de méxico", "America/Mexico_City"), ("Londres", "Europe/London"),
    ("Bogotá", "America/Bogota"), ("España", "Europe/Madrid"), ("vivo en España", "Europe/Madrid"),
    ("estoy en gijon", "Europe/Madrid"), ("desde oviedo", "Europe/Madrid"),
    ("Córdoba, España", "Europe/Madrid"), ("Valencia, España", "Europe/Madrid"),
    ("Cádiz", "Europe/Madrid"), ("Islas Canarias", "Atlantic/Canary"),
    ("Alemania", "Europe/Berlin"), ("Reino Unido", "Europe/London"),
    ("República Dominicana", "America/Santo_Domingo"), ("Guinea Ecuatorial", "Africa/Malabo"),
    ("Nueva Jersey", "America/New_York"), ("hora del centro", "America/Mexico_City"),
    ("La Paz", "America/La_Paz"), ("vivo en Los Ángeles", "America/Los_Angeles"),
    ("hola", None), ("tarde", None), ("casa", None), ("en la capital", None),
    ("la verdad no sé", None), ("mañana", None),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "zone"), PLACES)
def test_resolve_zone_in_spanish(typed: str, zone: str | None) -> None:
    found = places.resolve_zone(typed, "es")
    assert (found.zone if found else None) == zone


def test_countries_on_several_clocks_in_spanish() -> None:
    for typed in ("estoy en México", "vivo en EEUU", "Estados Unidos", "Rusia", "Brasil"):
        zones = places.zones_for_country(typed, "es")
        assert zones is not None and len(zones) >= 2, typed
    assert places.zones_for_country("estoy en México") is None  # English framing only


# --------------------------------------------------------------------------- the dialog manager

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DIALOGS = load_dialogs()
MANAGER = DialogManager(DIALOGS, default_catalog())


def _run(state: UserState, *events: object) -> Turn:
    turn = Turn(state)
    for event in events:
        turn = MANAGER.step(turn.state, event, NOW)  # type: ignore[arg-type]
    return turn


def _press(dialog: str, step: str, choice: str) -> Press:
    return Press(DIALOGS[dialog].callback(step, choice))


def _member(locale: str) -> UserState:
    return UserState(
        profile=Profile(
            consented=True, onboarded=True, timezone="Europe/Madrid", checkin_time="08:00",
            locale=locale,
        )
    )  # fmt: skip


def _where(state: UserState) -> list[tuple[str, str]]:
    return [(f.dialog, f.step) for f in state.stack]


def test_a_spanish_speaker_answers_onboarding_in_words() -> None:
    state = UserState(profile=Profile(locale="es"))
    turn = _run(state, Command("start"), Text("vale"), _press("onboarding", "about", "ok"))
    assert _where(turn.state)[-1] == ("onboarding", "consent")
    turn = _run(turn.state, Text("¡Sí, claro!"))
    assert turn.state.profile.consented
    turn = _run(turn.state, Text("vivo en Gijón"))
    assert turn.state.profile.timezone == "Europe/Madrid"
    turn = _run(turn.state, Text("a las 8 y media de la mañana"))
    assert turn.state.profile.checkin_time == "08:30"


def test_the_same_words_mean_nothing_to_an_english_profile() -> None:
    state = UserState(profile=Profile(locale="en"))
    turn = _run(state, Command("start"), Text("vale"))
    assert _where(turn.state)[-1] == ("onboarding", "welcome")


def test_a_spanish_number_and_mood_at_the_check_in() -> None:
    turn = _run(_member("es"), Command("checkin"), Text("un 4"))
    assert _where(turn.state)[-1] == ("checkin", "connected")
    assert turn.state.stack[-1].slots.get("mood") == 4
    fatal = _run(_member("es"), Command("checkin"), Text("fatal"))
    assert _where(fatal.state)[-1] == ("listen", "confirm")
    assert fatal.state.stack[-1].slots.get("value") == 1
