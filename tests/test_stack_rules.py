"""A stack that doesn't nag (issue 11), as a person lives it.

An interrupted dialog comes back only after a shortcut (a command, "Need a quick chat?",
help, crisis, a listening reply) that covered it a short while ago, and then in one short
line with its question. A check-in the scheduler sent, or a conversation chosen from the
menu, covers it for good: it is set aside as a draft, mentioned once when that conversation
is next opened. A screen to read (the settings card, a list, the menu) never comes back.
Onboarding always does. The real PTB Application on the fake Bot API, with time moved by
opening the bot again on the same database at a later hour.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.sender import send_all
from dialogs import drafts
from dialogs.drafts import RETURN_WINDOW
from dialogs.manager import DialogManager
from dialogs.model import Command, Due, Frame, Press, Profile, UserState
from dialogs.spec import load_dialogs
from prompts import default_catalog
from storage.repository import UserKey
from tests.fakebot import ChatDriver, FakeBotApi
from tests.fakebot.models import SentMessage
from tests.telegram_harness import FIXED_NOW, Harness, bridges_on_fake, onboard

BACK = "Back to what I was doing"
BACK_TO = "Back to where we were:"
EVIDENCE_SHORT = (
    "Back to where we were: Anything else that makes the thought seem true? Send it, or tap Done."
)
EVIDENCE_WORDS = "makes the thought seem true"
DRAFT_OFFER = "You have an unfinished entry"
GOODBYE = "I'm glad you stopped for a moment."
KEY = UserKey("telegram", "1001")


@dataclass
class Bot:
    """The same database and Telegram chat, opened again at any time (a new process)."""

    url: str
    fake: FakeBotApi

    def at(self, now: datetime) -> object:
        return bridges_on_fake(self.url, self.fake, now=now)


@pytest.fixture()
def bot(tmp_path: Path) -> Bot:
    return Bot(f"sqlite:///{tmp_path}/bridges.db", FakeBotApi())


@pytest.fixture()
async def tg(bot: Bot) -> AsyncIterator[Harness]:
    async with bridges_on_fake(bot.url, bot.fake) as harness:
        yield harness


def texts(messages: list[SentMessage]) -> list[str]:
    return [m.plain_text for m in messages]


def labels(message: SentMessage) -> list[str]:
    return [b.text for row in message.buttons for b in row]


def where(tg: Harness) -> list[tuple[str, str]]:
    return [(f.dialog, f.step) for f in tg.state().stack]


async def mid_evidence(chat: ChatDriver) -> SentMessage:
    """Onboarded, then one line into "what makes the thought seem true?"; its question."""
    await onboard(chat)
    await chat.send("/reframe")
    await chat.send("nobody wants to hear from me")
    await chat.click("75")
    await chat.click("Lonely")
    replies = await chat.send("Sam didn't answer my message")
    assert "Anything else that supports it?" in replies[-1].plain_text
    return replies[-1]


async def scheduled_checkin(tg: Harness, chat: ChatDriver, now: datetime) -> None:
    """The sweep's check-in, delivered as the sweep delivers it."""
    messages = await asyncio.to_thread(tg.bridges.handle, KEY, Due("checkin"), now)
    await send_all(tg.app.bot, tg.bridges.catalog, 1001, messages, None)
    assert tg.state().top is not None and tg.state().top.dialog == "checkin"


async def answer_checkin(chat: ChatDriver) -> list[SentMessage]:
    """Mood 3, no "how connected", then yes to the day's idea: the check-in's last replies."""
    await chat.click("3")
    await chat.click("Skip")
    return await chat.click("I'll give it a go")


# --- a shortcut a moment ago: back in one short line --------------------------------------


@pytest.mark.parametrize("how", ["Need a quick chat?", "/sos"])
async def test_a_quick_chat_mid_answer_comes_back_in_one_short_line(tg: Harness, how: str) -> None:
    ada = tg.chat()
    question = await mid_evidence(ada)
    before = tg.state()
    await ada.send(how)
    await ada.click("grounding exercise")
    replies = await ada.click(BACK)
    # One message: the line and the question in short, never the whole card; its buttons.
    assert texts(replies) == [EVIDENCE_SHORT]
    assert labels(replies[0]) == labels(question) == ["Done"]
    assert tg.state() == before  # exactly where they were, nothing changed or left behind
    # And the step takes the next words as its answer, as before.
    await ada.send("Mia cancelled on me")
    assert tg.state().top is not None
    assert tg.state().top.slots["evidence_for"] == ["Sam didn't answer my message",
                                                   "Mia cancelled on me"]  # fmt: skip


async def test_a_command_typed_mid_answer_comes_back_after_it(tg: Harness) -> None:
    ada = tg.chat()
    await mid_evidence(ada)
    replies = await ada.send("/contacts")
    assert "Who's someone you could reach out to?" in replies[-1].plain_text
    replies = await ada.click("Not now")
    assert texts(replies)[-1] == EVIDENCE_SHORT
    assert where(tg)[-1] == ("reframe", "evidence_for")


async def test_the_crisis_reply_mid_answer_comes_back_in_one_line(tg: Harness) -> None:
    ada = tg.chat()
    await mid_evidence(ada)
    replies = await ada.send("I want to kill myself")
    assert replies[0].plain_text.startswith("I'm really glad you told me.")
    await ada.click("Yes, I'm safe")
    replies = await ada.click(BACK)
    assert texts(replies) == [EVIDENCE_SHORT]


async def test_a_step_without_a_short_form_comes_back_with_its_prompt(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    await ada.send("nobody wants to hear from me")
    await ada.click("75")
    feeling = ada.last  # short already: no `ask` of its own
    await ada.send("/sos")
    replies = await ada.click(BACK)
    assert texts(replies) == [f"{BACK_TO}\n\n{feeling.plain_text}"]
    assert labels(replies[0]) == labels(feeling)


async def test_the_kept_answer_after_help_still_goes_to_the_step_even_much_later(
    bot: Bot,
) -> None:
    async with bot.at(FIXED_NOW) as tg:
        ada = tg.chat()
        await mid_evidence(ada)
        await ada.send("I feel like I want to die")  # typed as a line of evidence
    async with bot.at(FIXED_NOW + RETURN_WINDOW * 3) as tg:
        ada = tg.chat()
        replies = await ada.click("Keep it as my answer")
        # Their choice, not a return unasked: the words go to the step, whenever they tap.
        assert "kept it as your answer" in replies[0].plain_text
        top = tg.state().top
        assert top is not None and (top.dialog, top.step) == ("reframe", "evidence_for")
        assert top.slots["evidence_for"][-1] == "I feel like I want to die"


# --- walked away: set aside, mentioned once when opened again ---------------------------


async def test_after_a_scheduled_checkin_the_old_question_does_not_come_back(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await mid_evidence(ada)
    await scheduled_checkin(tg, ada, FIXED_NOW + timedelta(minutes=5))  # well within the window
    replies = await answer_checkin(ada)
    seen = "\n".join(texts(replies))
    assert EVIDENCE_WORDS not in seen and BACK_TO not in seen
    assert tg.state().stack == []  # nothing left out of sight to take their next words
    # What they had written waits as a draft, offered once when they open the table again.
    draft = drafts.find(tg.state(), "reframe")
    assert draft is not None and draft.data["step"] == "evidence_for"
    replies = await ada.send("/reframe")
    assert replies[-1].plain_text.startswith(DRAFT_OFFER)
    replies = await ada.click("Continue where I left off")
    assert "Anything else that supports it?" in replies[-1].plain_text
    top = tg.state().top
    assert top is not None and top.slots["evidence_for"] == ["Sam didn't answer my message"]
    assert drafts.find(tg.state(), "reframe") is None  # taken: never mentioned again


async def test_words_after_the_checkin_are_never_taken_by_the_hidden_question(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await mid_evidence(ada)
    await scheduled_checkin(tg, ada, FIXED_NOW + timedelta(minutes=1))
    await answer_checkin(ada)
    await ada.send("Mia cancelled on me")
    draft = drafts.find(tg.state(), "reframe")
    assert draft is not None
    assert draft.data["slots"]["evidence_for"] == ["Sam didn't answer my message"]


async def test_a_quick_chat_left_open_too_long_does_not_bring_the_question_back(
    bot: Bot,
) -> None:
    async with bot.at(FIXED_NOW) as tg:
        ada = tg.chat()
        await mid_evidence(ada)
        await ada.send("Need a quick chat?")
    async with bot.at(FIXED_NOW + RETURN_WINDOW + timedelta(minutes=1)) as tg:
        ada = tg.chat()
        replies = await ada.click(BACK)
        # A kind goodbye instead of an old question; the run waits as a draft.
        assert texts(replies)[0].startswith(GOODBYE)
        assert EVIDENCE_WORDS not in "\n".join(texts(replies))
        assert tg.state().stack == []
        replies = await ada.send("/reframe")
        assert replies[-1].plain_text.startswith(DRAFT_OFFER)
        replies = await ada.click("Start a fresh one")
        assert "harsh thought" in replies[-1].plain_text
        assert drafts.find(tg.state(), "reframe") is None
        await ada.send("/cancel")
        replies = await ada.send("/reframe")  # mentioned once: not again
        assert DRAFT_OFFER not in "\n".join(texts(replies))


async def test_within_the_window_it_still_comes_back(bot: Bot) -> None:
    async with bot.at(FIXED_NOW) as tg:
        ada = tg.chat()
        await mid_evidence(ada)
        await ada.send("Need a quick chat?")
    async with bot.at(FIXED_NOW + RETURN_WINDOW - timedelta(minutes=1)) as tg:
        ada = tg.chat()
        replies = await ada.click(BACK)
        assert texts(replies) == [EVIDENCE_SHORT]


async def test_a_conversation_chosen_from_the_menu_is_not_a_shortcut(tg: Harness) -> None:
    ada = tg.chat()
    await mid_evidence(ada)
    await ada.send("/menu")
    await ada.click("My reach-out list")  # chosen from the menu
    replies = await ada.click("Not now")
    assert EVIDENCE_WORDS not in "\n".join(texts(replies))
    assert tg.state().stack == []
    assert drafts.find(tg.state(), "reframe") is not None
    replies = await ada.send("/reframe")
    assert replies[-1].plain_text.startswith(DRAFT_OFFER)


async def test_closing_the_menu_a_moment_later_goes_back(tg: Harness) -> None:
    ada = tg.chat()
    await mid_evidence(ada)
    await ada.send("/menu")
    replies = await ada.click("Close menu")
    assert texts(replies)[-1] == EVIDENCE_SHORT


# --- screens to read never come back ----------------------------------------------------


async def test_the_settings_card_is_never_brought_back(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    replies = await ada.send("/settings")
    card = replies[-1].plain_text
    await ada.send("/sos")
    replies = await ada.click(BACK)
    assert card not in texts(replies) and not any(t.startswith(BACK_TO) for t in texts(replies))
    assert texts(replies)[0].startswith(GOODBYE)
    assert tg.state().stack == []


async def test_the_list_of_people_is_never_brought_back(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/contacts")
    await ada.send("Anna")
    await ada.click("Telegram username")
    await ada.send("anna_k")
    await ada.click("Skip")
    await ada.click("See my list")
    assert "Anna" in ada.transcript().rsplit("you:", 1)[-1]
    await ada.send("Need a quick chat?")
    replies = await ada.click(BACK)
    assert texts(replies)[0].startswith(GOODBYE)
    assert "anna_k" not in "\n".join(texts(replies))


async def test_a_screen_over_a_question_goes_back_to_the_question(tg: Harness) -> None:
    # Evidence table -> /kit (its list, a screen) -> quick chat -> back: the list is not
    # shown again, the question under it (covered a moment ago, by a command) is.
    ada = tg.chat()
    await mid_evidence(ada)
    await ada.send("/kit")
    await ada.send("Need a quick chat?")
    replies = await ada.click(BACK)
    assert texts(replies) == [EVIDENCE_SHORT]


# --- onboarding always comes back --------------------------------------------------------


async def test_onboarding_comes_back_even_after_a_long_while(bot: Bot) -> None:
    async with bot.at(FIXED_NOW) as tg:
        ada = tg.chat()
        await ada.send("/start")
        await ada.click("Tell me more")
        await ada.click("Okay, got it")
        await ada.click("Yes, keep my answers")
        await ada.send("Need a quick chat?")
    async with bot.at(FIXED_NOW + timedelta(hours=5)) as tg:
        ada = tg.chat()
        replies = await ada.click(BACK)
        assert replies[0].plain_text.startswith(BACK_TO)
        assert "time zone" in replies[0].plain_text
        assert where(tg) == [("onboarding", "timezone")]


# --- the rule itself, and rows stored before it -------------------------------------------

MANAGER = DialogManager(load_dialogs(), default_catalog())


def member(*frames: Frame) -> UserState:
    return UserState(list(frames), Profile(consented=True, onboarded=True, timezone="UTC"))


def stored(dialog: str, step: str, slots: dict[str, object]) -> Frame:
    """A frame as rows stored before the rule hold it: no mark."""
    return Frame.from_json({"dialog": dialog, "step": step, "slots": slots})


def test_rows_stored_before_the_rule_still_load_and_help_still_returns() -> None:
    # Help on top of an old row (a button of an old message brings it up the same way):
    # "Back" returns as it used to.
    state = member(stored("reframe", "balanced", {"thought": "t"}), stored("sos", "main", {}))
    back = MANAGER.step(state, Press(MANAGER.dialogs["sos"].callback("main", "back")), FIXED_NOW)
    assert [r.template for r in back.replies] == ["common/resume"]
    assert back.replies[0].ctx["question_template"] == "reframe/short/balanced"
    # Anything else on top of an old row does not bring it back: a draft is kept instead.
    state = member(stored("reframe", "balanced", {"thought": "t"}), stored("contacts", "name", {}))
    turn = MANAGER.step(state, Command("cancel"), FIXED_NOW)
    assert turn.state.stack == []
    draft = drafts.find(turn.state, "reframe")
    assert draft is not None and draft.data["slots"] == {"thought": "t"}


def test_the_mark_is_plain_json_and_never_kept_in_a_draft() -> None:
    frame = Frame("reframe", "balanced", {"thought": "t"})
    drafts.mark_paused(frame, drafts.SHORTCUT, FIXED_NOW)
    assert Frame.from_json(frame.to_json()) == frame
    assert drafts.comes_back(frame.slots[drafts.PAUSED], "sos", (), FIXED_NOW + RETURN_WINDOW)
    late = FIXED_NOW + RETURN_WINDOW + timedelta(seconds=1)
    assert not drafts.comes_back(frame.slots[drafts.PAUSED], "sos", (), late)
    assert not drafts.comes_back({"by": "due", "at": FIXED_NOW.isoformat()}, "x", (), FIXED_NOW)
    assert not drafts.comes_back({"by": "shortcut"}, "x", (), FIXED_NOW)  # unreadable: no
    # Covered again while still covered: the first time stays, and "for good" stays so.
    drafts.mark_paused(frame, drafts.SHORTCUT, late)
    assert frame.slots[drafts.PAUSED] == {"by": "shortcut", "at": FIXED_NOW.isoformat()}
    drafts.mark_paused(frame, drafts.DUE, late)
    drafts.mark_paused(frame, drafts.SHORTCUT, late)
    assert frame.slots[drafts.PAUSED] == {"by": "due", "at": FIXED_NOW.isoformat()}
    state = member()
    drafts.save(state, frame, FIXED_NOW)
    saved = drafts.find(state, "reframe")
    assert saved is not None and saved.data["slots"] == {"thought": "t"}
