"""The short practices, end to end: the self-compassion break and one tiny truth.

Transcripts through the real Application on the fake Bot API. The lead opens them from
the menu and after a hard reflection; here `open_commands` maps /compassion and /truth on
this test's engine only, so each test starts them in one message.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from tests.telegram_harness import Harness, bridges_on_fake, onboard

PRACTICES = ("compassion", "truth")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


def open_commands(tg: Harness) -> None:
    for name in PRACTICES:
        tg.bridges.engine.commands.setdefault(name, f"dialog:{name}")


def plain(text: str) -> str:
    """A message as the person reads it: tags gone, entities back to characters."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def saved_kinds(tg: Harness) -> set[str]:
    return {kind for kind, found in tg.state().records.items() if found}


async def test_the_compassion_break_runs_to_a_warm_end_with_their_own_words(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        open_commands(tg)
        ada = tg.chat()
        await onboard(ada)
        before = saved_kinds(tg)
        await ada.send("/compassion")
        assert "This is a hard moment." in plain(ada.last_text)
        await ada.click("I've named it")
        assert "You're not the only one" in plain(ada.last_text)
        await ada.click("Okay")
        assert "say to them?" in ada.last_text
        await ada.send("You're doing your best & that's enough <3")
        end = plain(ada.last_text)
        assert "“You're doing your best & that's enough <3”" in end
        assert "being kind to yourself" in end
        assert tg.state().stack == []
        assert saved_kinds(tg) == before  # the kind words are shown back, never kept


async def test_the_compassion_break_can_skip_the_words_or_wait(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        open_commands(tg)
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/compassion")
        await ada.click("I've named it")
        await ada.click("Okay")
        await ada.click("Skip")
        assert plain(ada.last_text).startswith("Thank you for pausing")
        assert "Your words" not in ada.last_text
        assert tg.state().stack == []
        await ada.send("/compassion")
        await ada.send("not right now")  # the button's label, typed
        assert "whenever you want it" in ada.last_text
        assert tg.state().stack == []


async def test_an_interrupted_kind_word_comes_back_as_one_short_question(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        open_commands(tg)
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/compassion")
        await ada.click("I've named it")
        await ada.click("Okay")
        await ada.send("/help")
        assert "Back to where we were: What would you say to a friend who felt like this?" in plain(
            ada.last_text
        )
        await ada.send("Be gentle")
        assert "“Be gentle”" in plain(ada.last_text)


async def test_a_tiny_truth_from_the_examples_runs_to_the_end(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        open_commands(tg)
        ada = tg.chat()
        await onboard(ada)
        before = saved_kinds(tg)
        await ada.send("/truth")
        assert "One tiny truth" in ada.last_text
        assert len(ada.buttons()) == 6  # five examples and "Not today"
        await ada.click("I miss our talks.")
        chosen = plain(ada.last_text)
        assert "Your tiny truth for today:\n\n“I miss our talks.”" in chosen
        assert ada.buttons() == ["👥 Open my reach-out list", "Done"]
        await ada.click("Done")
        assert "/wins" in ada.last_text
        assert tg.state().stack == []
        assert saved_kinds(tg) == before


async def test_a_tiny_truth_in_their_own_words_leads_to_the_reach_out_list(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        open_commands(tg)
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/truth")
        await ada.send("I <3 our Sunday calls")
        assert "“I <3 our Sunday calls”" in plain(ada.last_text)
        await ada.click("Open my reach-out list")
        assert tg.state().top.dialog == "contacts"  # type: ignore[union-attr]


async def test_not_today_is_fine(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        open_commands(tg)
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/truth")
        await ada.click("Not today")
        assert "can wait" in ada.last_text
        assert tg.state().stack == []
