"""What the coach does with a risky message, as a person lives it (issue 9).

The real PTB Application on the fake Bot API, with the real screen (dialogs.safety.assess):
each phrase below is one whose level the issue makes clear. A concern is asked about
directly; someone else at risk gets a reply for the helper; abuse is acknowledged; a false
alarm can be put right; old crisis buttons still work; "not safe" keeps the emergency
number in view.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakebot import ChatDriver
from tests.fakebot.models import SentMessage
from tests.safety_net_setup import add_person, labels
from tests.telegram_harness import Harness, bridges_on_fake, onboard

CONCERN = "everyone would be fine without me"
CRISIS = "honestly I just want to die"
OTHER = "my friend said she wants to kill herself"
ABUSE = "my partner hit me again last night"
ASK_CONCERN = "Are you thinking of ending your life, or of hurting yourself?"
ACK = "I'm really glad you told me."
BACK = "Back to what I was doing"
BACK_TO = "Back to where we were:"
SHORT_THOUGHT = "What's the harsh thought? Write it just as it sounds in your head."
SAFE_BUTTONS = ["Yes, I'm safe", "I'm not sure", "No, I'm not safe"]
CALLED = "☎️ I've called / someone is with me"
MORE = "🆘 I still need help"


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


async def at_the_thought(chat: ChatDriver) -> list[SentMessage]:
    """Onboarded, then "what's the thought?" in the evidence table (free text)."""
    await onboard(chat)
    return await chat.send("/reframe")


async def press_on(chat: ChatDriver, message: SentMessage, label: str) -> list[SentMessage]:
    """Tap a button on an earlier message, as a person scrolling back up would."""
    found = [b for row in message.buttons for b in row if label in b.text]
    assert len(found) == 1 and found[0].callback_data, labels(message)
    return await chat.click_data(found[0].callback_data, message.message_id)


def texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.plain_text for m in messages)


# --- concern: asked directly, in the same turn ---------------------------------------------


async def test_concern_then_yes_opens_the_crisis_reply(tg: Harness) -> None:
    ada = tg.chat()
    await at_the_thought(ada)
    replies = await ada.send(CONCERN)
    assert len(replies) == 1
    assert ASK_CONCERN in replies[0].plain_text
    assert labels(replies[0]) == ["Yes", "I'm not sure", "No, that's not what I meant",
                                  "It's about someone else"]  # fmt: skip
    replies = await ada.click("Yes")
    assert replies[0].plain_text.startswith(ACK)
    assert replies[-1].plain_text.startswith("Are you safe right now?")
    assert labels(replies[-1])[:3] == SAFE_BUTTONS
    # Their words wait only in the crisis frame, for them to keep if they like.
    state = tg.state()
    assert CONCERN not in repr(state.stack[:-1]) + repr(state.records)


async def test_concern_then_no_goes_back_to_the_step_with_their_words_kept(tg: Harness) -> None:
    ada = tg.chat()
    await at_the_thought(ada)
    await ada.send(CONCERN)
    replies = await ada.click("No, that's not what I meant")
    assert replies[0].plain_text.startswith(
        "Thank you for telling me, and sorry for jumping in. I've kept what you wrote as your "
        "answer."
    )
    assert "how strongly do you believe it?" in texts(replies[1:])
    top = tg.state().top
    assert top is not None and (top.dialog, top.step) == ("reframe", "belief")
    assert top.slots["thought"] == CONCERN
    # A typed "no" works the same.
    bob = tg.chat(user_id=1002)
    await at_the_thought(bob)
    await bob.send(CONCERN)
    await bob.send("no")
    assert tg.state(1002).top.slots["thought"] == CONCERN  # type: ignore[union-attr]


# --- corrections ---------------------------------------------------------------------------


async def test_a_false_alarm_can_be_put_right_in_words_or_with_a_tap(tg: Harness) -> None:
    ada = tg.chat()
    thought = await at_the_thought(ada)
    await ada.send(CRISIS)
    replies = await ada.send("no, I was talking about a documentary")  # not "not safe"
    assert replies[0].plain_text == (
        "Sorry, I got that wrong, and thank you for putting me right. Shall I keep what you "
        "wrote as your answer?"
    )
    assert "Please call" not in texts(replies)
    assert tg.state().profile.unsafe_at is None
    replies = await ada.click("No, leave it out")
    assert replies[0].plain_text.startswith("Thank you for telling me, and sorry for jumping in.")
    assert replies[-1].plain_text == f"{BACK_TO} {SHORT_THOUGHT}"  # the same question, short
    assert thought  # (its whole card was shown once, at the start)
    assert CRISIS not in repr(tg.state())

    # From the menu, with a tap: straight back, nothing to keep.
    await ada.send("/menu")
    await ada.send(CRISIS)
    replies = await ada.click("That's not what I meant")
    assert replies[0].plain_text.startswith("Thank you for telling me, and sorry for jumping in.")
    # The menu is a screen to read: never brought back (the thought under it, opened a
    # moment ago and covered by a command, is).
    assert "menu" not in [f.dialog for f in tg.state().stack]
    assert tg.state().profile.risk_level is None  # the false alarm does not count later


# --- someone else at risk; abuse ----------------------------------------------------------


async def test_someone_else_at_risk_gets_a_reply_for_the_helper(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada, zone_text="London")
    replies = await ada.send(OTHER)
    assert len(replies) == 1
    text = replies[0].plain_text
    assert text.startswith("Thank you for looking out for them.")
    for advice in ("Ask them straight out", "Stay with them", "help put away what they could",
                   "Don't promise to keep it secret"):  # fmt: skip
        assert advice in text
    assert "If they're in danger now, call 999" in text and text.count("999") == 1
    assert "Lines to pass on" in text and "Samaritans" in text
    assert "Are you safe right now?" not in text
    assert labels(replies[0]) == ["It's actually about me", BACK]
    replies = await ada.click("It's actually about me")
    assert replies[0].plain_text.startswith(ACK)
    assert replies[-1].plain_text.startswith("Are you safe right now?")


async def test_abuse_is_acknowledged_with_the_emergency_number_and_not_kept(tg: Harness) -> None:
    ada = tg.chat()
    thought = await at_the_thought(ada)
    replies = await ada.send(ABUSE)
    assert len(replies) == 1
    text = replies[0].plain_text
    assert text.startswith("Thank you for telling me. What you're describing is not okay, and it "
                           "is not your fault.")  # fmt: skip
    assert "If you're in danger right now, please call 112." in text and text.count("112") == 1
    assert "Support with what is happening" in text or "Elsewhere" in text
    assert "haven't kept it as your answer" in text
    assert labels(replies[0]) == ["📝 Keep it as my answer", "That's not what I meant", BACK]
    replies = await ada.click(BACK)
    assert replies[-1].plain_text == f"{BACK_TO} {SHORT_THOUGHT}"  # the thought, still empty
    assert labels(replies[-1]) == labels(thought[-1])
    assert ABUSE not in repr(tg.state())


# --- old buttons still work; words on buttons get a warm reply ------------------------------


async def test_a_stale_crisis_button_pressed_from_another_dialog_still_helps(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    replies = await ada.send(CRISIS)
    question = replies[-1]
    await ada.click("Yes, I'm safe")
    await ada.click(BACK)
    await ada.send("/needs")
    await ada.click("Let's map it")
    replies = await press_on(ada, question, "No, I'm not safe")
    assert replies[0].plain_text.startswith("Thank you for telling me. Please call 112 now.")
    assert "expired" not in texts(replies)
    replies = await ada.click(BACK)
    # One message: the line and the map's question in short, with its buttons (then the
    # emergency banner, as on every screen after "not safe").
    assert replies[0].plain_text.startswith("Back to where we were: When or where does")
    assert "🌅 Mornings" in labels(replies[0])
    top = tg.state().top
    assert top is not None and top.dialog == "needs"


async def test_free_text_on_a_crisis_screen_is_answered_warmly(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await add_person(ada, "Anna", "anna_k")
    await ada.send(CRISIS)
    await ada.click("Yes, I'm safe")
    openings = ["I'm here, and I'm glad you wrote.", "I'm still here, and I read every word.",
                "You're not a bother, and I'm not going anywhere."]  # fmt: skip
    for typed, opening in zip(("help me", "please",
                               "I don't want to call anyone, I just want to talk"),
                              openings, strict=True):  # fmt: skip
        replies = await ada.send(typed)
        text = texts(replies)
        assert text.startswith(opening)  # not word for word the same each time
        assert "The lines I have for you take calls" in text  # Portugal: calls only
        assert "Or send Anna a message with one tap below" in text
        assert "which of these you mean" not in text.lower()
        assert labels(replies[0])[0] == "📤 Send Anna: “Need a quick chat?”"
        assert "🌿 A one-minute grounding exercise" in labels(replies[0])
    replies = await ada.click("grounding")
    assert "Notice 5 things you can see." in replies[0].plain_text


async def test_a_4096_character_answer_to_are_you_safe_is_taken_and_asked_again_gently(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send(CRISIS)
    long = ("it has been a long week and I keep going round in circles about work " * 80)[:4096]
    assert len(long) == 4096
    replies = await ada.send(long)
    assert len(replies) == 1
    text = replies[0].plain_text
    assert text.startswith("I want to be sure I understand you. Are you safe right now?")
    assert "please call 112 now" in text and "too long" not in text
    assert labels(replies[0])[:3] == SAFE_BUTTONS
    assert long[:60] not in repr(tg.state())


# --- "not safe": the emergency number stays in view --------------------------------------


async def test_not_safe_keeps_the_emergency_number_on_every_following_screen(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send(CRISIS)
    await ada.click("No, I'm not safe")
    screens = []
    screens.append(await ada.send("/needs"))
    screens.append(await press_on(ada, screens[-1][0], "Let's map it"))
    screens.append(await ada.send("/menu"))
    screens.append(await ada.send("hello"))
    screens.append(await ada.send("Need a quick chat?"))
    for replies in screens:
        text = texts(replies)
        assert text.count("112") == 1, text  # once per screen, never twice
        assert CALLED in [label for m in replies for label in labels(m)]
        assert MORE in [label for m in replies for label in labels(m)]
    replies = await ada.click(MORE)
    assert replies[0].plain_text.startswith("Thank you for telling me. Please call 112 now.")
    replies = await ada.click(CALLED)
    assert replies[0].plain_text.startswith("I'm so glad you're not on your own with it now.")
    replies = await ada.send("/menu")
    assert "112" not in texts(replies)
    assert tg.state().profile.unsafe_at is None


async def test_after_not_safe_words_at_a_screen_of_buttons_get_the_warm_reply(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send(CRISIS)
    await ada.click("No, I'm not safe")
    await ada.send("/needs")
    replies = await ada.send("help me")
    text = texts(replies)
    # They said they are not safe: the call comes first, and nothing says they needn't call.
    assert text.startswith(
        "Thank you for writing. You told me you're not safe, so please call 112 now."
    )
    assert "don't have to call" not in text and "grounding" not in text
    assert "which of these you mean" not in text.lower() and text.count("112") == 1
    assert CALLED in labels(replies[-1]) and MORE in labels(replies[-1])
    replies = await ada.send("I still need help")  # the banner's words, typed
    assert replies[0].plain_text.startswith("Thank you for telling me. Please call 112 now.")
    replies = await ada.send("someone is with me")
    assert replies[0].plain_text.startswith("I'm so glad you're not on your own with it now.")
    assert "keep the packets or bottles to show the ambulance crew" in replies[0].plain_text
    assert labels(replies[-1]) == [BACK]  # no way straight back into coaching
    assert tg.state().profile.unsafe_at is None


@pytest.mark.parametrize("typed", ["I took all my pills an hour ago",
                                   "cut deeper than I meant and it won't stop bleeding"])  # fmt: skip
async def test_a_recent_act_says_call_the_emergency_number_first(tg: Harness, typed: str) -> None:
    ada = tg.chat()
    await onboard(ada)
    replies = await ada.send(typed)
    text = replies[0].plain_text
    assert text.startswith("Please call 112 now."), text
    assert "<b>Please call 112 now.</b>" in replies[0].text
    assert text.count("112") == 1
    assert replies[-1].plain_text.startswith("Are you safe right now?")


async def test_a_crisis_message_after_not_safe_does_not_ask_are_you_safe_again(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send(CRISIS)
    await ada.click("No, I'm not safe")
    await ada.click(BACK)
    replies = await ada.send("I want to die")
    assert len(replies) == 1
    text = replies[0].plain_text
    assert text.startswith("Thank you for telling me. Please call 112 now.")
    assert "Are you safe right now?" not in text and text.count("112") == 1
    assert labels(replies[0])[-3:] == ["That's not what I meant", "It's about someone else", BACK]


async def test_a_kept_warning_sign_sent_again_does_not_loop_into_help(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/plan")
    await ada.click("Let's start")
    sign = "I want to die"
    await ada.send(sign)
    await ada.click("Keep it as my answer")
    replies = await ada.send(sign)  # the same line again, at "anything else?"
    assert not texts(replies).startswith(ACK)
    assert replies[0].plain_text.startswith("I've kept it as your answer.")
    assert replies[-1].plain_text.count("• I want to die") == 1  # kept once, not twice
    replies = await ada.send("when it all feels pointless and I want to die")  # new words
    assert replies[0].plain_text.startswith(ACK)


async def test_not_safe_before_start_stays_in_view_after_leaving_the_screen(tg: Harness) -> None:
    ada = tg.chat()
    replies = await ada.send(CRISIS)  # the very first message, before /start
    assert "Tell me your country in /menu" not in texts(replies)  # no Settings to go to yet
    await ada.click("No, I'm not safe")
    await ada.click(BACK)
    assert tg.state().stack == [] and tg.state().profile.unsafe_at is not None
    replies = await ada.send("hello")
    text = texts(replies)
    assert text.startswith("Thank you for writing. You told me you're not safe, so please call")
    assert text.count("112") == 1 and "Tell me your country in /menu" not in text
    assert CALLED in [label for m in replies for label in labels(m)]
    assert CRISIS not in repr(tg.state())  # a level and times only, never their words
