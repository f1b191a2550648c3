"""Plain yes and no typed at a yes/no question tap its buttons (`means:` in dialog files)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialogs.inputs import yes_or_no
from tests.telegram_harness import Harness, bridges_on_fake


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("yes", "yes"), ("Sure!", "yes"), ("ok", "yes"), ("yeah 🙂", "yes"), ("no", "no"),
     ("nah", "no"), ("Not now", "no"), ("no thanks", "no"), ("maybe", None),
     ("yes and no", None), ("I'm not sure", None), ("", None)],
)  # fmt: skip
def test_short_answers_that_plainly_mean_yes_or_no(typed: str, meant: str | None) -> None:
    assert yes_or_no(typed) == meant


async def test_words_answer_the_welcome_and_the_consent_question(tg: Harness) -> None:
    ada = tg.chat()
    await ada.send("/start")
    await ada.send("yes")  # "Shall I tell you a little about how this works?"
    assert ada.last_text is not None and "Okay, got it" in str(ada.last.buttons)
    await ada.send("ok")
    await ada.send("sure")  # consent: keep my answers
    state = tg.state()
    assert state.profile.consented
    assert state.top is not None and state.top.step == "timezone"


async def test_no_to_the_consent_question_keeps_nothing(tg: Harness) -> None:
    ada = tg.chat()
    await ada.send("/start")
    await ada.send("yes")
    await ada.send("ok")
    replies = await ada.send("no thanks")
    assert "kept nothing" in replies[0].plain_text
    assert not tg.state().profile.consented


async def test_not_now_at_the_welcome_keeps_nothing_and_says_help_still_works(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await ada.send("/start")
    replies = await ada.send("not now")
    assert "haven't kept anything" in replies[0].plain_text
    assert "/sos" in replies[0].plain_text
    assert tg.state().stack == []
