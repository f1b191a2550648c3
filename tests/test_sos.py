"""“Need a quick chat?” as a person lives it: one reply from anywhere, and back to the exact step.

The real PTB Application on the fake Bot API; every message is checked as the person sees it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs.drafts import own_slots
from dialogs.model import Frame, Record, Turn, UserState
from storage.repository import UserKey
from tests.fakebot import ChatDriver, FakeBotApi
from tests.fakebot.models import SentMessage
from tests.fakebot.transcript import render
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
CALM = "I'm here. Let's slow down together for a moment"


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


# --- from anywhere, and back to exactly where they were ----------------------------


async def mid_needs_map(chat: ChatDriver) -> str:
    await onboard(chat)
    await chat.send("/needs")
    await chat.click("Let's map it")
    await chat.click("Weekends")
    await chat.click("Done")
    await chat.click("2")
    await chat.click("3")
    return "How empty does this feel in your life lately?"  # the rating step


async def mid_evidence_table(chat: ChatDriver) -> str:
    await onboard(chat)
    await chat.send("/reframe")
    await chat.send("nobody wants to hear from me")
    await chat.click("50")
    await chat.click("Lonely")
    await chat.send("Sam didn't answer my message")
    return "Anything else that supports it?"  # evidence for, one line in


async def mid_contact_edit(chat: ChatDriver) -> str:
    await onboard(chat)
    await add_person(chat, "Anna", "anna_k")
    await chat.send("/contacts")
    await chat.click("Change, move or remove someone")
    await chat.click("Anna")
    await chat.click("Note")
    return "Send a short note about Anna"


async def idle(chat: ChatDriver) -> str:
    await onboard(chat)
    await chat.click("Close menu")
    return ""


async def mid_onboarding(chat: ChatDriver) -> str:
    await chat.send("/start")
    await chat.click("Tell me more")
    await chat.click("Okay, got it")
    await chat.click("Yes, keep my answers")
    return "which time zone are you in?"


# What the way back says of each step: one line with the question (short where the step
# has a short form, its prompt where the prompt is short already).
BACK_LINES = {
    "mid needs map (rating)": "Back to where we were: A trusted confidant: how empty does this "
    "feel in your life lately? 0 = fine, 4 = very empty.",
    "mid evidence table (evidence for)": "Back to where we were: Anything else that makes the "
    "thought seem true? Send it, or tap Done.",
    "mid contact edit (note)": "Back to where we were:\n\nSend a short note about Anna",
    "during onboarding (time zone)": "Back to where we were: Which time zone are you in? Tap "
    "one, type your city, or share your location.",
}

STATES: dict[str, Callable[[ChatDriver], Awaitable[str]]] = {
    "mid needs map (rating)": mid_needs_map,
    "mid evidence table (evidence for)": mid_evidence_table,
    "mid contact edit (note)": mid_contact_edit,
    "idle": idle,
    "during onboarding (time zone)": mid_onboarding,
}


def answers(stack: list[Frame]) -> list[tuple[str, str, dict[str, object]]]:
    """Where they are and what they said (without the note of when a dialog was covered)."""
    return [(f.dialog, f.step, own_slots(f.slots)) for f in stack]


def with_text(messages: list[SentMessage], part: str) -> SentMessage:
    found = [m for m in messages if part in m.plain_text]
    assert found, f"no message with {part!r}"
    return found[-1]


@pytest.mark.parametrize("where", list(STATES))
@pytest.mark.parametrize("how", ["Need a quick chat?", "/sos", "need a quick chat"])
async def test_one_reply_from_anywhere_and_back_to_the_exact_step(
    tg: Harness, where: str, how: str
) -> None:
    ada = tg.chat()
    marker = await STATES[where](ada)
    before = tg.state()
    step_prompt = with_text(ada.messages(), marker) if marker else None

    replies = await ada.send(how)
    assert len(replies) == 1, "one message, in the same turn"
    text = replies[0].plain_text
    assert text.startswith(CALM)
    assert "Helplines" in text and "112" in text  # Lisbon: Portugal's emergency number
    assert labels(replies[0])[-2:] == ["🌿 A one-minute grounding exercise", BACK]
    # Nothing they were doing is lost or changed while the help is on top.
    assert answers(tg.state().stack[:-1]) == answers(before.stack)
    assert tg.state().top is not None and tg.state().top.dialog == "sos"

    replies = await ada.click(BACK)
    assert tg.state().top == before.top
    assert tg.state() == before
    if step_prompt is None:  # idle: nothing to go back to, so a kind word instead
        assert [m.plain_text for m in replies] == [
            "I'm glad you stopped for a moment. Whenever you need it, Need a quick chat? is one "
            "tap away, and /menu has everything else."
        ]
        return
    # One message: a short line with the question, and the step's buttons.
    assert replies[0].plain_text.startswith(BACK_LINES[where])
    assert replies[0].buttons == step_prompt.buttons
    assert not replies[0].plain_text.startswith(step_prompt.plain_text)


@pytest.mark.parametrize(
    "typed",
    ["need a quick chat", "NEED A QUICK CHAT", "Need a quick chat?!", "  need a QUICK chat? "],
)
async def test_typing_it_in_any_case_opens_it_even_in_a_free_text_step(
    tg: Harness, typed: str
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")  # "what's the thought?": free text
    replies = await ada.send(typed)
    assert replies[0].plain_text.startswith(CALM)
    below = tg.state().stack[-2]
    assert (below.dialog, below.step, own_slots(below.slots)) == ("reframe", "thought", {})


async def test_tapping_it_again_mid_exercise_shows_the_whole_reply_again(tg: Harness) -> None:
    ada = tg.chat()
    marker = await mid_evidence_table(ada)
    before = tg.state()
    await ada.send("Need a quick chat?")
    await ada.click("grounding exercise")
    replies = await ada.send("Need a quick chat?")
    assert len(replies) == 1 and replies[0].plain_text.startswith(CALM)
    assert [f.dialog for f in tg.state().stack] == ["menu", "reframe", "sos"]  # not stacked twice
    replies = await ada.click(BACK)
    assert marker and replies[-1].plain_text.startswith(
        BACK_LINES["mid evidence table (evidence for)"]
    )
    assert tg.state() == before


# --- an empty reach-out list --------------------------------------------------------


async def test_an_empty_list_still_helps_and_invites_one_person(tg: Harness) -> None:
    # What the person reads: tests/transcripts/sos.chat and sos_breathing.chat.
    ada = tg.chat()
    await onboard(ada)
    start = len(ada.fake.history(ada.chat_id))
    await ada.send("Need a quick chat?")
    await ada.click("grounding exercise")
    await ada.click("Slow breathing instead")
    seen = render(ada.fake.history(ada.chat_id, since=start))
    assert seen.count("• <b>In immediate danger:</b> call 112.") == 1
    assert "people on your list" not in seen and "your people" not in seen.lower()
    # The invitation works at once: the reach-out list opens, asking for a name.
    await ada.send("Need a quick chat?")
    replies = await ada.click("Add someone to my list")
    assert tg.state().top is not None and tg.state().top.dialog == "contacts"
    assert "Who's someone you could reach out to?" in replies[-1].plain_text


# --- everything they prepared, in one message ----------------------------------------


async def test_their_people_come_first_and_the_kit_and_plan_are_one_tap_away(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await add_person(ada, "Anna", "anna_k")
    photo_id = await fill_kit(ada)
    await fill_plan(ada)
    before = tg.state()

    replies = await ada.send("Need a quick chat?")
    assert len(replies) == 1
    sos = replies[0]
    text = sos.plain_text
    # Short: their people (one tap each, the ready message on the button), then helplines.
    assert "Your people: one tap below gets your message ready for Anna." in text
    assert text.index("Your people") < text.index("Helplines")
    assert len(text.splitlines()) < 20
    assert "From your safety plan" not in text and "Your kit" not in text
    assert labels(sos) == [
        "📤 Send Anna: “Need a quick chat?”", "🧺 My kit and plan",
        "🌿 A one-minute grounding exercise", BACK,
    ]  # fmt: skip
    assert links(sos) == ["https://t.me/anna_k?text=Need%20a%20quick%20chat%3F"]

    replies = await ada.click("My kit and plan")
    text = replies[0].plain_text
    # Their kit: words and link inline, the photo behind a button.
    assert "• “This feeling is a wave. It passes.”" in text
    assert '🔗 <a href="https://youtu.be/calm-song">the song from our trip</a>' in replies[0].text
    assert "🖼 1 photo: tap See my photos below." in text
    # The filled parts of their plan, compactly; skipped ones are left out.
    assert "My warning signs: I stop answering messages" in text
    assert "Things I can do on my own to feel a bit better: a hot shower" in text
    assert "Professionals and helplines: Dr Mendes, 555 0134" in text
    assert "My reasons to keep going: my niece's wedding in May" in text
    assert "Making my space safer" not in text and "take my mind off things" not in text
    assert labels(replies[0]) == ["🖼 See my photos (1)", "🌿 A one-minute grounding exercise",
                                  BACK]  # fmt: skip

    replies = await ada.click("See my photos")
    assert [photo_of(m) for m in replies] == [photo_id, None]
    assert replies[0].plain_text == "Biscuit asleep"
    assert labels(replies[1]) == ["🌿 A one-minute grounding exercise", BACK]
    await ada.click(BACK)
    assert tg.state() == before


async def test_a_custom_message_and_a_phone_number_get_their_own_one_tap_button(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await add_by_phone(ada, "Dad", "+44 20 7946 0958")
    replies = await ada.send("Need a quick chat?")
    # A share link opens Telegram's chat picker, not Dad: the label says so, and his
    # number is in the message so it can be called from here.
    assert labels(replies[0])[0] == "📤 Share “Need a quick chat?” (pick Dad)"
    assert links(replies[0]) == ["https://t.me/share/url?url=Need%20a%20quick%20chat%3F"]
    assert "📞 Dad: +442079460958" in replies[0].plain_text


async def test_never_sent_into_a_group_chat(tg: Harness) -> None:
    group = tg.chat(user_id=2002, chat_type="group", chat_id=-100123)
    replies = await group.send("Need a quick chat?")
    replies += await group.send("/sos")
    assert [m.plain_text for m in replies] == [
        "Hi! I work only in private chats, to keep things personal. Please message me directly. "
        "I haven't kept anything from this group."
    ]
    assert all(CALM not in m.plain_text for m in tg.fake.messages(group.chat_id))
    assert tg.state(2002) == UserState()


# --- the fullest net still fits one Telegram message ---------------------------------


def _fullest(state: UserState) -> Turn:
    """Everything at its longest: five people, a full kit and a full plan."""
    now = datetime(2026, 11, 23, tzinfo=UTC)
    long = "x" * 100
    for i in range(5):
        data = {"name": f"Person {i} " + "n" * 30, "reach": "other", "handle": "h" * 100,
                "note": long, "message": "m" * 200}  # fmt: skip
        state.records.setdefault("contact", []).append(Record("contact", data, created_at=now))
    for i in range(12):
        data = {"type": "text", "text": f"{i} " + "k" * 198}
        state.records.setdefault("kit_item", []).append(Record("kit_item", data, created_at=now))
    parts = ("warning_signs", "coping", "distractions", "professionals", "safe_space", "reasons")
    plan = {part: [f"{i} " + "p" * 98 for i in range(5)] for part in parts}
    state.records["safety_plan"] = [Record("safety_plan", plan, created_at=now)]
    return Turn(state)


async def test_the_fullest_safety_net_still_fits_one_message(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    key = UserKey("telegram", str(ada.user_id))
    tg.bridges.store.run_turn(key, _fullest, datetime(2026, 11, 23, tzinfo=UTC))
    # The fake Bot API refuses a message over 4096 characters, as Telegram does.
    replies = await ada.send("Need a quick chat?")
    assert len(replies) == 1 and len(replies[0].plain_text) <= 4096
    assert "Person 4" in replies[0].plain_text
    assert len(labels(replies[0])) == 8  # five people, kit and plan, grounding, back
    replies = await ada.click("My kit and plan")
    assert len(replies) == 1 and len(replies[0].plain_text) <= 4096
    assert "…" in replies[0].plain_text
    replies = await ada.send("I want to end it all")  # the crisis reply names them all too
    assert "Person 4" in replies[0].plain_text
    assert replies[-1].plain_text.startswith("Are you safe right now?")


async def test_after_a_restart_back_still_returns_to_the_exact_step(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bridges.db"
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        marker = await mid_needs_map(ada)
        before = tg.state()
        await ada.send("Need a quick chat?")
    # A new process: new Application, same database, same Telegram chat.
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        replies = await ada.click(BACK)
        assert marker and replies[-1].plain_text == BACK_LINES["mid needs map (rating)"]
        assert tg.state() == before
