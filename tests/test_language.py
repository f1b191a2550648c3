"""The language a person is answered in: their app's at /start, their choice in /settings,
--lang in the terminal. The real PTB Application on the fake Bot API, or the terminal chat."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.console import chat as console_chat
from bot.core import Bridges
from dialogs.hooks import HookCall
from dialogs.hooks.language import locale_choices
from dialogs.model import Frame, UserState
from prompts import default_catalog
from storage.repository import UserKey
from tests.fakebot import ChatDriver
from tests.telegram_harness import Harness, bridges_on_fake, onboard

ES_WELCOME = "Hola, soy Bridges 🌉"
EN_WELCOME = "Hi, I'm Bridges"


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


async def onboard_es(chat: ChatDriver) -> None:
    """Onboarding in Spanish with the usual answers, ending at the menu."""
    await chat.send("/start")
    await chat.click("Cuéntame más")
    await chat.click("De acuerdo, entendido")
    await chat.click("Sí, guarda mis respuestas")
    await chat.send("Madrid")
    await chat.click("8:00")
    await chat.click("Ahora no, gracias")  # the loneliness measure
    await chat.click("Quizá más tarde")


# --- /settings › Language ---------------------------------------------------------------


async def test_every_language_is_offered_and_choosing_spanish_switches(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    settings = await ada.send("/settings")
    assert "• Language: English" in settings[-1].plain_text
    asked = await ada.click("🗣 Language")
    assert asked[-1].plain_text == (
        "Right now I speak English with you. Which language would you like?\n\n"
        "More languages may come; each new one will appear here."
    )
    assert ada.buttons() == ["English", "Español", "Keep it as it is"]
    assert tg.state().profile.locale == "en"  # the default, until they choose

    saved = await ada.click("Español")
    assert saved[0].plain_text == "Guardado: a partir de ahora hablaré contigo en español."
    assert ada.buttons() == ["⚙️ Volver a los ajustes", "👍 Listo"]
    assert tg.state().profile.locale == "es"
    settings = await ada.send("/settings")
    assert settings[-1].plain_text.startswith("Tus ajustes:\n• Zona horaria: Europe/Lisbon")
    assert "• Idioma: Español" in settings[-1].plain_text
    # The reply keyboard speaks it too: its labels are rendered when it is sent.
    await ada.send("/start")
    assert ada.reply_keyboard() == [["¿Hablamos un momento?"], ["☰ Menú"]]

    await ada.send("/settings")
    await ada.click("🗣 Idioma")
    back = await ada.click("English")
    assert back[0].plain_text == "Saved: from now on I'll talk with you in English."
    assert tg.state().profile.locale == "en"


async def test_typing_the_name_works_and_keep_changes_nothing(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/settings")
    await ada.click("🗣 Language")
    replies = await ada.send("Klingon")  # not a button: asked again, kindly
    assert tg.state().profile.locale == "en"
    assert (
        replies[-1].plain_text
        == "I'm not sure which of these you mean. Tap one below, or type its words."
    )
    kept = await ada.click("Keep it as it is")
    assert kept[0].plain_text == "Okay, nothing changed: still English."
    await ada.send("/settings")
    await ada.click("🗣 Language")
    typed = await ada.send("español")
    assert typed[0].plain_text == "Guardado: a partir de ahora hablaré contigo en español."
    assert tg.state().profile.locale == "es"


def test_every_locale_folder_is_offered() -> None:
    state = UserState()
    call = HookCall(state, Frame(dialog="change_language", step="ask"), None, None, [])  # type: ignore[arg-type]
    offered = [(c.id, c.value) for c in locale_choices(call)]
    assert offered == [(loc, loc) for loc in default_catalog().locales]
    assert offered == [("en", "en"), ("es", "es")]


# --- the app's language at /start -------------------------------------------------------


async def test_a_spanish_app_at_start_gets_spanish_and_keeps_it(tg: Harness) -> None:
    ana = tg.chat(language_code="es-MX")
    welcome = await ana.send("/start")
    assert welcome[0].plain_text.startswith(ES_WELCOME)
    assert ana.buttons() == ["Cuéntame más", "Ahora no"]
    assert tg.state().profile.locale == "es"
    await ana.click("Cuéntame más")
    await ana.click("De acuerdo, entendido")
    await ana.click("Sí, guarda mis respuestas")
    zone = await ana.send("Ciudad de México")
    assert zone[0].plain_text.startswith("Entendido: America/Mexico_City (UTC-06:00, ahora son")
    await ana.click("8:00")
    assert tg.state().profile.onboarded and tg.state().profile.locale == "es"


@pytest.mark.parametrize(
    ("language_code", "locale"),
    [("es", "es"), ("es-419", "es"), ("es-ES", "es"), ("ES_ar", "es"), ("en-GB", "en"),
     ("de", "en"), ("pt-BR", "en"), (None, "en")],
)  # fmt: skip
async def test_which_app_languages_mean_spanish(
    tg: Harness, language_code: str | None, locale: str
) -> None:
    await tg.chat(language_code=language_code).send("/start")
    assert tg.state().profile.locale == locale


async def test_a_later_start_never_undoes_what_they_chose(tg: Harness) -> None:
    ana = tg.chat(language_code="es-419")
    await onboard_es(ana)
    await ana.send("/settings")
    await ana.click("🗣 Idioma")
    await ana.click("English")
    assert tg.state().profile.locale == "en"
    again = await ana.send("/start")  # their app still says Spanish
    assert again[0].plain_text.startswith("Welcome back!")
    assert tg.state().profile.locale == "en"


async def test_after_delete_a_new_start_follows_the_app_again(
    tg: Harness,
) -> None:
    ana = tg.chat(language_code="es-AR")
    await onboard_es(ana)
    await ana.send("/delete")
    await ana.click("Borrarlo todo")
    await ana.send("borrar")
    assert tg.state().profile.locale == "en"  # everything erased, the choice too
    assert (await ana.send("/start"))[0].plain_text.startswith(ES_WELCOME)


async def test_words_before_start_from_a_spanish_app_are_answered_in_spanish(
    tg: Harness,
) -> None:
    ana = tg.chat(language_code="es")
    replies = await ana.send("hola, me siento muy sola últimamente")
    assert replies[-1].plain_text.startswith(ES_WELCOME)
    assert tg.state().profile.locale == "es"


async def test_the_command_list_is_set_in_each_language(tg: Harness) -> None:
    spanish = {c["command"]: c["description"] for c in tg.fake.commands_for(language_code="es")}
    english = {c["command"]: c["description"] for c in tg.fake.commands_for()}
    assert spanish["start"] == "Empezar, o volver al principio"
    assert spanish["sos"] == "¿Hablamos un momento? Tu gente y líneas de ayuda"
    assert english["start"] == "Begin, or come back to the start"
    assert spanish.keys() == english.keys()


async def test_a_group_is_told_in_the_language_of_the_app(tg: Harness) -> None:
    group = tg.chat(user_id=2002, chat_type="group", language_code="es-CO")
    replies = await group.send("hola a todos", expect=1)
    assert replies[0].plain_text.startswith("¡Hola! Solo funciono en chats privados")


# --- a change of language in the middle of a dialog -------------------------------------


async def test_switching_language_mid_dialog_continues_at_the_same_step(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    asked = await ada.send("I always mess everything up")
    assert asked[-1].plain_text.startswith("Right now, how strongly do you believe it?")
    await ada.send("/settings")
    await ada.click("🗣 Language")
    await ada.click("Español")
    await ada.click("👍 Listo")
    offer = await ada.send("/reframe")
    assert offer[0].plain_text.startswith(
        "Tienes un registro sin terminar del 23 nov 2026 sobre “I always mess everything up”."
    )
    back = await ada.click("Seguir donde lo dejé")
    assert back[-1].plain_text.startswith("Ahora mismo, ¿cuánto te lo crees?")
    assert ada.buttons() == ["0", "25", "50", "75", "100"]
    frame = tg.state().top
    assert frame is not None and (frame.dialog, frame.step) == ("reframe", "belief")
    assert frame.slots["thought"] == "I always mess everything up"


# --- the terminal: bridges chat --lang es -----------------------------------------------


@pytest.fixture()
def bridges(tmp_path: Path) -> Iterator[Bridges]:
    opened = Bridges.open(f"sqlite:///{tmp_path}/bridges.db")
    yield opened
    opened.close()


def test_the_terminal_takes_lang(bridges: Bridges) -> None:
    out = io.StringIO()
    console_chat(bridges, "ana", ["/start\n", "1\n"], out, interactive=True, language="es-MX")
    said = out.getvalue()
    assert said.startswith("Bridges, aquí en tu terminal.")  # before /start: the --lang
    assert f"bridges> {ES_WELCOME}" in said
    assert "  [1] Cuéntame más\n  [2] Ahora no" in said
    assert "Primero, unas palabras sinceras" in said
    assert bridges.store.load(UserKey("console", "ana")).profile.locale == "es"


def test_the_terminal_without_lang_is_english(bridges: Bridges) -> None:
    out = io.StringIO()
    console_chat(bridges, "bob", ["/start\n"], out)
    assert f"bridges> {EN_WELCOME}" in out.getvalue()
    assert bridges.store.load(UserKey("console", "bob")).profile.locale == "en"


def test_bridges_chat_lang_on_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/bridges.db"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--user", "ana", "--lang", "es"],
        input="/start\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"bridges> {ES_WELCOME}" in result.stdout
