"""The crisis reply as a person lives it: help first, "are you safe?", and their words not kept.

The real PTB Application on the fake Bot API. Crisis words typed anywhere stop the script:
the step they interrupted waits underneath, unchanged, until they tap "back".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakebot import ChatDriver
from tests.safety_net_setup import add_person, fill_kit, fill_plan, labels, links, photo_of
from tests.telegram_harness import Harness, bridges_on_fake, onboard

BACK = "Back to what I was doing"
ACK = "I'm really glad you told me."
SAFE_BUTTONS = ["Yes, I'm safe", "I'm not sure", "No, I'm not safe"]
CRISIS = "honestly I just want to die"


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


def nowhere(tg: Harness, words: str) -> None:
    """The words are in no saved frame, slot, draft or record."""
    state = tg.state()
    assert words not in repr(state.stack) + repr(state.records)


# --- typed inside a free-text step ----------------------------------------------------


async def test_crisis_words_in_the_evidence_table_bring_help_first_and_are_not_kept(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await add_person(ada, "Anna", "anna_k")
    await fill_plan(ada)
    await fill_kit(ada)
    await ada.send("/reframe")
    await ada.send("nobody wants to hear from me")
    await ada.click("75")
    await ada.click("Lonely")
    step = await ada.send("Sam didn't answer my message")
    before = tg.state()

    replies = await ada.send("they'd all be better off without me")
    assert len(replies) == 2
    help_, ask = replies
    text = help_.plain_text
    assert text.startswith(ACK + " What you're carrying sounds very heavy")
    assert "Please reach out now, to a helpline or to someone you trust." in text
    # Helplines, their people with one-tap links, their plan and their kit, in that order.
    order = [text.index(s) for s in ("Helplines", "1. Anna: @anna_k", "From your safety plan",
                                     "My reasons to keep going: my niece's wedding in May",
                                     "Your kit", "“This feeling is a wave. It passes.”")]  # fmt: skip
    assert order[:3] == sorted(order[:3]) and order[4] < order[5]
    assert "https://t.me/anna_k" in links(help_)
    assert ask.plain_text == "Are you safe right now?" and labels(ask) == SAFE_BUTTONS

    # The script does not carry on: the evidence table waits, exactly as it was.
    assert tg.state().stack[:-1] == before.stack and tg.state().records == before.records
    nowhere(tg, "better off without me")
    replies = await ada.send("Mia asked me to lunch")  # typed at the question, not the table
    # Read as "not sure": the gentler follow-up, still with the emergency number in it.
    assert replies[0].plain_text.startswith("Thank you for being honest; not knowing is okay.")
    assert tg.state().stack[:-1] == before.stack
    nowhere(tg, "Mia asked me to lunch")

    await ada.send("/sos")  # and the quick chat works on top of it all
    await ada.click(BACK)
    replies = await ada.click(BACK)
    assert replies[0].plain_text == "Back to where we were:"
    assert replies[1].text == step[-1].text  # the evidence step, with its one line
    assert tg.state() == before
    nowhere(tg, "better off without me")


async def test_crisis_words_in_a_contact_note_are_not_kept(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/contacts")
    await ada.send("Anna")
    await ada.click("Telegram username")
    note_step = await ada.send("@anna_k")
    replies = await ada.send("tell her I want to kill myself")
    assert replies[0].plain_text.startswith(ACK)
    nowhere(tg, "kill myself")
    await ada.click("Yes, I'm safe")
    replies = await ada.click(BACK)
    assert replies[-1].text == note_step[-1].text  # the note question again
    await ada.click("Skip")
    await ada.click("Done for now")
    anna = tg.state().records["contact"][0].data
    assert (anna["name"], anna["handle"], anna["note"]) == ("Anna", "anna_k", None)

    # Changing the note later: the old note stays as it was.
    await ada.send("/contacts")
    await ada.click("Change, move or remove someone")
    await ada.click("Anna")
    await ada.click("Note")
    await ada.send("I keep thinking about ending my life")
    nowhere(tg, "ending my life")
    assert tg.state().records["contact"][0].data["note"] is None


# --- "are you safe right now?" -----------------------------------------------------


async def test_no_puts_the_emergency_number_first_then_everything_else(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada, zone_text="London")
    await add_person(ada, "Anna", "anna_k")
    await fill_plan(ada)
    await ada.send(CRISIS)
    replies = await ada.click("No, I'm not safe")
    assert len(replies) == 1
    text = replies[0].plain_text
    assert text.startswith("Thank you for telling me. Please call 999 now.")
    assert "<b>Please call 999 now.</b>" in replies[0].text
    order = [text.index(s) for s in ("999", "Helplines", "Samaritans", "1. Anna: @anna_k",
                                     "From your safety plan")]  # fmt: skip
    assert order == sorted(order)
    assert "https://t.me/anna_k" in links(replies[0])
    assert labels(replies[0])[-2:] == ["🫁 Breathe with me while I wait", BACK]
    replies = await ada.click("Breathe with me")
    assert "Breathe in through your nose" in replies[0].plain_text


async def test_no_without_a_known_country_names_the_common_emergency_numbers(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada, zone_text="UTC+2")
    await ada.send(CRISIS)
    replies = await ada.click("No, I'm not safe")
    assert replies[0].plain_text.startswith(
        "Thank you for telling me. Please call your local emergency number (112 in most of "
        "Europe, 911 in the US and Canada, 999 in the UK) now."
    )


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("no", "Thank you for telling me. Please call 112 now."),
        ("nope, not really", "Thank you for telling me. Please call 112 now."),
        ("I don't know", "Thank you for being honest; not knowing is okay."),
        ("hmm", "Thank you for being honest; not knowing is okay."),
        ("yes", "I'm glad you're safe right now."),
        ("I'm safe now", "I'm glad you're safe right now."),
    ],
)
async def test_the_answer_can_be_typed(tg: Harness, typed: str, answer: str) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send(CRISIS)
    replies = await ada.send(typed)
    assert replies[0].plain_text.startswith(answer)
    nowhere(tg, typed)


async def test_not_sure_gives_the_emergency_number_helplines_and_their_people(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await add_person(ada, "Anna", "anna_k")
    await ada.send(CRISIS)
    replies = await ada.click("I'm not sure")
    text = replies[0].plain_text
    assert "please call 112 straight away" in text and "Helplines" not in text
    assert "Or send one of your people a message with the buttons below." in text
    assert labels(replies[0]) == ["💬 Open chat with Anna", "📤 Send Anna your message",
                                  "🌿 A one-minute grounding exercise", BACK]  # fmt: skip


async def test_safe_offers_grounding_their_photos_and_the_way_back(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    photo_id = await fill_kit(ada)
    await ada.send("/needs")
    before = tg.state()
    await ada.send(CRISIS)
    replies = await ada.click("Yes, I'm safe")
    assert labels(replies[0]) == ["🖼 See my photos (1)", "🌿 A one-minute grounding exercise",
                                  BACK]  # fmt: skip
    replies = await ada.click("See my photos")
    assert photo_of(replies[0]) == photo_id
    await ada.click("grounding")
    replies = await ada.click(BACK)
    assert replies[0].plain_text == "Back to where we were:"
    assert tg.state() == before


# --- anywhere, in any state -----------------------------------------------------------


async def test_during_onboarding_it_helps_and_returns_to_the_time_zone(tg: Harness) -> None:
    ada = tg.chat()
    await ada.send("/start")
    await ada.click("Tell me more")
    await ada.click("Okay, got it")
    zone_step = await ada.click("Yes, keep my answers")
    replies = await ada.send("I want to kill myself")
    assert replies[0].plain_text.startswith(ACK)
    await ada.click("I'm not sure")
    replies = await ada.click(BACK)
    assert [m.text for m in replies[1:]] == [m.text for m in zone_step]
    nowhere(tg, "kill myself")


async def test_a_crisis_caption_on_a_photo_brings_help(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    replies = await ada.send_photo(caption="goodbye forever everyone")
    assert replies[0].plain_text.startswith(ACK)
    assert replies[-1].plain_text == "Are you safe right now?"


async def test_back_with_nothing_underneath_says_a_kind_word(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.click("Close menu")
    await ada.send(CRISIS)
    await ada.click("Yes, I'm safe")
    replies = await ada.click(BACK)
    assert replies[0].plain_text.startswith("I'm glad you stopped for a moment.")
    assert tg.state().stack == []


async def crisis_twice(chat: ChatDriver) -> None:
    await chat.send(CRISIS)
    await chat.send("I mean it, I want to end it all")


async def test_more_crisis_words_show_help_again_without_stacking(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await crisis_twice(ada)
    assert [f.dialog for f in tg.state().stack] == ["menu", "crisis"]
    assert ada.last.plain_text == "Are you safe right now?"
