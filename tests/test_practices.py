"""The short practices, end to end: the self-compassion break and one tiny truth.

Transcripts through the real Application on the fake Bot API. A person opens them from the
menu, after a hard reflection, or by typing /compassion or /truth (declared in their dialog
files, kept out of Telegram's command list); each test here types the command.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from dialogs.manager import DialogManager
from dialogs.model import Frame, Profile, Turn, UserState
from dialogs.spec import load_dialogs
from prompts import default_catalog
from tests.telegram_harness import FIXED_NOW, Harness, bridges_on_fake, onboard

PRACTICES = ("compassion", "truth")
DIALOGS = load_dialogs()
CATALOG = default_catalog()
MANAGER = DialogManager(DIALOGS, CATALOG)
SAMPLE_SLOTS = {"named": "x", "kind_words": "x", "own": "x", "example": "miss", "answer": "x"}


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


def plain(text: str) -> str:
    """A message as the person reads it: tags gone, entities back to characters."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def saved_kinds(tg: Harness) -> set[str]:
    return {kind for kind, found in tg.state().records.items() if found}


async def test_the_compassion_break_runs_to_a_warm_end_with_their_own_words(url: str) -> None:
    async with bridges_on_fake(url) as tg:
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
        assert "Thank you for taking this pause" in end
        assert tg.state().stack == []
        assert saved_kinds(tg) == before  # the kind words are shown back, never kept


async def test_the_compassion_break_can_skip_the_words_or_wait(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/compassion")
        await ada.click("I've named it")
        await ada.click("Okay")
        await ada.click("Skip")
        assert plain(ada.last_text).startswith("Thank you for taking this pause")
        assert "Your words" not in ada.last_text
        assert tg.state().stack == []
        await ada.send("/compassion")
        await ada.send("not right now")  # the button's label, typed
        assert "whenever you want it" in ada.last_text
        assert tg.state().stack == []


async def test_an_interrupted_kind_word_comes_back_as_one_short_question(url: str) -> None:
    async with bridges_on_fake(url) as tg:
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
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/truth")
        await ada.send("I <3 our Sunday calls")
        assert "“I <3 our Sunday calls”" in plain(ada.last_text)
        await ada.click("Open my reach-out list")
        assert tg.state().top.dialog == "contacts"  # type: ignore[union-attr]


async def test_not_today_is_fine(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/truth")
        await ada.click("Not today")
        assert "can wait" in ada.last_text
        assert tg.state().stack == []


async def test_words_typed_on_the_notice_step_are_its_answer_and_shown_back(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        before = saved_kinds(tg)
        await ada.send("/compassion")
        await ada.send("This is a hard moment, I miss home")
        top = tg.state().top
        assert top is not None and (top.dialog, top.step) == ("compassion", "others")
        shown = plain(ada.last_text)
        assert "“This is a hard moment, I miss home”" in shown
        assert "You're not the only one" in shown
        await ada.send("Okay")  # the button's label, typed: no side reply
        assert "say to them?" in ada.last_text
        await ada.send("You're allowed to miss home")
        assert "“You're allowed to miss home”" in plain(ada.last_text)
        assert tg.state().stack == []
        assert saved_kinds(tg) == before  # shown back, never kept


async def test_plain_yes_and_no_words_answer_the_practice_buttons(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/compassion")
        await ada.send("ok")  # named it quietly: on to step 2, no words shown back
        assert plain(ada.last_text).startswith("2. You're not the only one")
        await ada.send("sure")
        assert "say to them?" in ada.last_text
        await ada.send("/compassion")
        await ada.send("nah")
        assert "whenever you want it" in ada.last_text
        await ada.send("/truth")
        await ada.send("no")  # not a tiny truth of their own: "Not today"
        assert "can wait" in ada.last_text
        assert tg.state().stack == []


# Dialogs whose questions are answered in the person's own words (the measure's and the
# settings' questions are answered by their buttons, typed or chosen).
OWN_WORDS = (*PRACTICES, "wins", "review", "window")
INVITES = re.compile(r"\?|\b(type|write|name)\b", re.IGNORECASE)


def step_message(dialog: str, step: str, slots: dict[str, Any]) -> str:
    """One step's message as the dialog manager renders it (its enter hooks run on a fresh person)."""
    state = UserState(profile=Profile(consented=True, onboarded=True, timezone="Europe/Lisbon"))
    state.stack = [Frame(dialog, step, dict(slots))]
    turn = Turn(state)
    MANAGER._prompt(turn, DIALOGS[dialog].steps[step], FIXED_NOW)
    reply = turn.replies[0]
    return plain(CATALOG.render("en", reply.template, reply.ctx))


def test_every_prompt_that_invites_words_is_on_a_step_that_takes_them() -> None:
    """A question, or "type"/"write"/"name", on a step of buttons sends their words to a
    side reply instead of taking them as the answer."""
    for name in OWN_WORDS:
        for step in DIALOGS[name].steps.values():
            words = step_message(name, step.id, SAMPLE_SLOTS)
            if INVITES.search(words):
                assert step.input == "text", f"{name}.{step.id} invites words: {words[:90]!r}"


MINE = (*OWN_WORDS, "measure", "change_windows", "change_review")


def test_no_tap_wording_where_typing_works_too() -> None:
    """The terminal chat has no taps: our words say "choose" or "pick"."""
    root = Path(__file__).resolve().parent.parent / "prompts" / "en"
    for name in MINE:
        for path in sorted((root / name).rglob("*")):
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                found = re.search(r"\btap(s|ped|ping)?\b", text, re.IGNORECASE)
                assert found is None, f"{path.relative_to(root)}: {found.group(0) if found else ''}"
