"""The crisis reply as a person lives it: help first, "are you safe?", and their words not kept.

The real PTB Application on the fake Bot API. Crisis words typed anywhere stop the script:
the step they interrupted waits underneath, unchanged, until they tap "back". Words typed
into a step wait only in the crisis frame (so they can choose to keep them) and are gone
once they leave it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialogs.drafts import own_slots
from dialogs.hooks.crisis import read_answer
from dialogs.model import UserState
from tests.fakebot import ChatDriver
from tests.fakebot.models import SentMessage
from tests.safety_net_setup import (
    add_by_phone,
    add_person,
    fill_kit,
    fill_plan,
    labels,
    links,
    photo_of,
)
from tests.telegram_harness import Harness, bridges_on_fake, onboard

BACK = "Back to what I was doing"
BACK_TO = "Back to where we were:"
ACK = "I'm really glad you told me."
SAFE_BUTTONS = ["Yes, I'm safe", "I'm not sure", "No, I'm not safe"]
CORRECTIONS = ["That's not what I meant", "It's about someone else"]
KEEP = "📝 Keep it as my answer"
SEND_ANNA = "📤 Send Anna: “Need a quick chat?”"
CRISIS = "honestly I just want to die"


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


def nowhere(tg: Harness, words: str) -> None:
    """The words are in no saved frame, slot, draft or record."""
    state = tg.state()
    assert words not in repr(state.stack) + repr(state.records)


def only_held(tg: Harness, words: str) -> None:
    """While the crisis reply is up, the words wait in its frame alone, for them to keep."""
    state = tg.state()
    assert state.top is not None and state.top.dialog == "crisis"
    assert state.top.slots.get("pending") == words
    assert words not in repr(state.stack[:-1]) + repr(state.records)


def state_below(tg: Harness) -> UserState:
    """Their state without the dialog on top (the help they are looking at)."""
    state = tg.state()
    state.stack = state.stack[:-1]
    return state


def same_place(a: UserState, b: UserState) -> None:
    """The same dialogs, answers and records (the profile's risk memory may differ, and a
    covered dialog carries a note of when it was covered)."""

    def answers(state: UserState) -> list[tuple[str, str, dict[str, object]]]:
        return [(f.dialog, f.step, own_slots(f.slots)) for f in state.stack]

    assert (answers(a), a.records) == (answers(b), b.records)


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

    replies = await ada.send("I'm going to kill myself tonight")
    assert len(replies) == 2
    help_, ask = replies
    text = help_.plain_text
    assert text.startswith(ACK + " What you're carrying sounds very heavy")
    # Short: their people first (one tap each), the helplines, the kit and plan behind a button.
    assert "Reach out now. One tap below gets your message ready for Anna." in text
    order = [text.index(s) for s in ("Reach out now", "Helplines", "In immediate danger")]
    assert order == sorted(order)
    assert "From your safety plan" not in text and "Your kit" not in text
    assert len(text.splitlines()) < 20
    assert labels(help_) == [SEND_ANNA, "🧺 My kit and plan"]
    assert links(help_) == ["https://t.me/anna_k?text=Need%20a%20quick%20chat%3F"]
    assert ask.plain_text.startswith("Are you safe right now?")
    assert labels(ask) == [*SAFE_BUTTONS, KEEP, *CORRECTIONS]

    # The script does not carry on: the evidence table waits, exactly as it was.
    same_place(state_below(tg), before)
    only_held(tg, "I'm going to kill myself tonight")
    replies = await ada.send("Mia asked me to lunch")  # typed at the question, not the table
    # Not a clear answer: asked again, gently, with the emergency number.
    assert replies[0].plain_text.startswith("I want to be sure I understand you.")
    assert "please call 112 now" in replies[0].plain_text
    assert labels(replies[0]) == [*SAFE_BUTTONS, KEEP, *CORRECTIONS]
    same_place(state_below(tg), before)
    nowhere(tg, "Mia asked me to lunch")

    replies = await press_on(ada, help_, "My kit and plan")  # behind the button, all of it
    text = replies[0].plain_text
    assert "My reasons to keep going: my niece's wedding in May" in text
    assert "“This feeling is a wave. It passes.”" in text

    await ada.send("/sos")  # and the quick chat works on top of it all
    replies = await ada.click(BACK)
    # The kit and plan were a screen to read: not shown again. Straight back to the evidence
    # step, in one short line with its buttons.
    assert len(replies) == 1
    assert replies[0].plain_text == (
        "Back to where we were: Anything else that makes the thought seem true? "
        "Send it, or tap Done."
    )
    assert labels(replies[0]) == labels(step[-1])
    same_place(tg.state(), before)
    nowhere(tg, "kill myself")


async def press_on(chat: ChatDriver, message: SentMessage, label: str) -> list[SentMessage]:
    """Tap a button on an earlier message (crisis buttons work however old they are)."""
    found = [b for row in message.buttons for b in row if label in b.text]
    assert len(found) == 1 and found[0].callback_data, labels(message)
    return await chat.click_data(found[0].callback_data, message.message_id)


async def test_crisis_words_in_a_contact_note_are_not_kept(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/contacts")
    await ada.send("Anna")
    await ada.click("Telegram username")
    note_step = await ada.send("@anna_k")
    replies = await ada.send("tell her I want to kill myself")
    assert replies[0].plain_text.startswith(ACK)
    only_held(tg, "tell her I want to kill myself")
    await ada.click("Yes, I'm safe")
    replies = await ada.click(BACK)
    # The note question again, under the one line (it is short: no `ask` of its own).
    assert replies[-1].plain_text == f"{BACK_TO}\n\n{note_step[-1].plain_text}"
    assert labels(replies[-1]) == labels(note_step[-1])
    nowhere(tg, "kill myself")
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
    only_held(tg, "I keep thinking about ending my life")
    assert tg.state().records["contact"][0].data["note"] is None
    await ada.click("Yes, I'm safe")
    await ada.click(BACK)
    nowhere(tg, "ending my life")


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
    order = [text.index(s) for s in ("999", "You can reach Anna", "Helplines", "Samaritans")]
    assert order == sorted(order)
    assert text.count("999") == 1  # said once, at the top
    assert "https://t.me/anna_k?text=Need%20a%20quick%20chat%3F" in links(replies[0])
    assert labels(replies[0]) == [SEND_ANNA, "🧺 My kit and plan",
                                  "☎️ I've called / someone is with me",
                                  "🫁 Breathe with me while I wait", BACK]  # fmt: skip
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
        ("hmm", "I want to be sure I understand you. Are you safe right now?"),
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
    assert text.count("112") == 1
    assert "Or send Anna a message with one tap below." in text
    assert labels(replies[0]) == [SEND_ANNA, "🌿 A one-minute grounding exercise", BACK]


async def test_safe_offers_grounding_their_photos_and_the_way_back(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    photo_id = await fill_kit(ada)
    await ada.send("/needs")
    for label in ("Let's map it", "Mornings", "Done"):  # at a 0-4 question: nothing held
        await ada.click(label)
    before = tg.state()
    await ada.send(CRISIS)
    replies = await ada.click("Yes, I'm safe")
    assert labels(replies[0]) == ["🖼 See my photos (1)", "🌿 A one-minute grounding exercise",
                                  BACK]  # fmt: skip
    replies = await ada.click("See my photos")
    assert photo_of(replies[0]) == photo_id
    await ada.click("grounding")
    replies = await ada.click(BACK)
    assert replies[0].plain_text.startswith(f"{BACK_TO} How true is this for you, from 0 to 4")
    same_place(tg.state(), before)


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
    # Onboarding always comes back: one line with the short question, then the location
    # keyboard.
    assert replies[0].plain_text == (
        f"{BACK_TO} Which time zone are you in? Tap one, type your city, or share your location."
    )
    assert labels(replies[0]) == labels(zone_step[0])
    assert [m.text for m in replies[1:]] == [m.text for m in zone_step[1:]]
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


async def test_more_crisis_words_at_are_you_safe_read_as_not_safe_without_stacking(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await crisis_twice(ada)
    assert [f.dialog for f in tg.state().stack] == ["menu", "crisis"]
    assert ada.last.plain_text.startswith("Thank you for telling me. Please call 112 now.")


async def test_someone_reached_by_phone_gets_an_honest_share_button_and_their_number(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await add_person(ada, "Anna", "anna_k")
    await add_by_phone(ada, "Marie", "+33 6 12 34 56 78", first=False)
    replies = await ada.send(CRISIS)
    help_ = replies[0]
    # Telegram usernames keep their direct link; a phone number gets the share picker,
    # and the label says so.
    assert labels(help_)[:2] == [SEND_ANNA, "📤 Share “Need a quick chat?” (pick Marie)"]
    assert links(help_)[:2] == ["https://t.me/anna_k?text=Need%20a%20quick%20chat%3F",
                                "https://t.me/share/url?url=Need%20a%20quick%20chat%3F"]  # fmt: skip
    assert "📞 Marie: +33612345678" in help_.plain_text  # to call her from here
    assert "anna_k" not in help_.plain_text
    replies = await ada.click("No, I'm not safe")
    assert "📞 Marie: +33612345678" in replies[0].plain_text
    await ada.click(BACK)
    replies = await ada.send("Need a quick chat?")
    assert "📞 Marie: +33612345678" in replies[0].plain_text
    assert "📤 Share “Need a quick chat?” (pick Marie)" in labels(replies[0])


@pytest.mark.parametrize(
    ("typed", "reading"),
    [
        ("sí", "yes"),
        ("claro", "yes"),
        ("no", "no"),
        ("para nada", "no"),
        ("No sé", "unsure"),
        ("bueno, no sé", "unsure"),
        ("no estoy segura", "unsure"),  # "not sure" here, never "not safe"
        ("ayúdame por favor", "unsure"),
        ("estoy bien", "safe"),
        ("Sí, estoy a salvo ahora", "safe"),
        ("No, no estoy a salvo", "unsafe"),
        ("no me siento seguro", "unsafe"),
        ("era broma", "misread"),
        ("hablaba de una película", "misread"),
        ("es sobre mi hermana", "other"),
        ("no es sobre mí", "other"),
        ("nadie", None),
    ],
)
def test_a_typed_answer_in_spanish_is_read(typed: str, reading: str | None) -> None:
    """Whatever their settings say, a Spanish reply to "are you safe?" is understood."""
    assert read_answer(typed) == reading
