"""Choosing a language in /settings: the real PTB Application, fake Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialogs.hooks import HookCall
from dialogs.hooks.language import locale_choices
from dialogs.model import Frame, UserState
from prompts import default_catalog
from tests.telegram_harness import Harness, bridges_on_fake, onboard


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


async def test_choosing_english_saves_it_and_says_so(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    settings = await ada.send("/settings")
    assert "• Language: English" in settings[-1].plain_text
    asked = await ada.click("🗣 Language")
    assert asked[-1].plain_text == (
        "Right now I speak English with you. It's the only language I know so far.\n\n"
        "I hope to learn more languages. When a new one arrives, you'll find it here."
    )
    assert ada.buttons() == ["English", "Keep it as it is"]

    assert tg.state().profile.locale == "en"  # the default, until they choose
    saved = await ada.click("English")
    assert saved[0].plain_text == "Saved: from now on I'll talk with you in English."
    assert ada.buttons() == ["⚙️ Back to settings", "👍 Done"]  # a change ends with a way back
    assert tg.state().profile.locale == "en"
    assert "Language: English" in (await ada.send("/settings"))[-1].plain_text


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
    assert ada.buttons()[-1] == "Keep it as it is"
    kept = await ada.click("Keep it as it is")
    assert kept[0].plain_text == "Okay, nothing changed: still English."
    await ada.send("/settings")
    await ada.click("🗣 Language")
    typed = await ada.send("english")
    assert typed[0].plain_text == "Saved: from now on I'll talk with you in English."


def test_every_locale_folder_is_offered() -> None:
    state = UserState()
    call = HookCall(state, Frame(dialog="change_language", step="ask"), None, None, [])  # type: ignore[arg-type]
    offered = [(c.id, c.value) for c in locale_choices(call)]
    assert offered == [(loc, loc) for loc in default_catalog().locales]
    assert ("en", "en") in offered
