"""Free words in every state (issue 11): understood where they can be, else answered.

Two halves. The pure engine (fast, exact about frames and slots): the rules of
dialogs/manager_listen.py one by one. Then transcripts through the real Application on the
fake Bot API: more than forty free-text messages typed at the menu, with nothing open, at
the check-in, at the time zone and time steps, at button steps, before /start and after
declining consent. Each must be answered warmly (never a re-ask like "Please tap one of
the buttons") with the right offers; the assertions name offers by their label keys
(prompts/en/listen/buttons.yaml), never the reply's exact words.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from dialogs import intents, places
from dialogs.hooks import listen as listen_hooks
from dialogs.manager import DialogManager
from dialogs.model import Command, Frame, Press, Profile, Record, Text, Turn, UserState
from dialogs.spec import DIALOG_PREFIX, load_dialogs
from prompts import default_catalog
from storage.tables import User
from tests.fakebot import SentMessage
from tests.telegram_harness import Harness, bridges_on_fake, onboard

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DIALOGS = load_dialogs()
CATALOG = default_catalog()
MANAGER = DialogManager(DIALOGS, CATALOG)

# Words the old replies used where words were not understood: none may come back.
RE_ASKS = ("which of these you mean", "whole number from", "didn't catch a time",
           "couldn't find", "send /start and we'll begin")  # fmt: skip


def label(key: str, **ctx: object) -> str:
    return CATALOG.label("en", key, ctx)


def offer(name: str) -> str:
    """The button label of an offer id ("breathe") or an offer label key's tail."""
    return label(f"listen.offer.{name}")


def back_to(where: str) -> str:
    return label("listen.back", where=where)


# --- the pure engine ----------------------------------------------------------------------


def run(state: UserState, *events: object, now: datetime = NOW) -> Turn:
    turn = Turn(state)
    for event in events:
        turn = MANAGER.step(turn.state, event, now)  # type: ignore[arg-type]
    return turn


def press(dialog: str, step: str, choice: str) -> Press:
    return Press(DIALOGS[dialog].callback(step, choice))


def member() -> UserState:
    return UserState(
        profile=Profile(
            consented=True, onboarded=True, timezone="Europe/Berlin", checkin_time="08:00"
        )
    )


def where(state: UserState) -> list[tuple[str, str]]:
    return [(f.dialog, f.step) for f in state.stack]


def templates(turn: Turn) -> list[str]:
    return [r.template for r in turn.replies]


def labels(turn: Turn) -> list[str]:
    return [label(b.label, **dict(b.ctx)) for r in turn.replies for row in r.buttons for b in row]


def text_of(turn: Turn) -> str:
    return "\n".join(CATALOG.render("en", r.template, r.ctx) for r in turn.replies)


def at_checkin() -> UserState:
    return run(member(), Command("checkin")).state


def at_menu() -> UserState:
    return run(member(), Command("menu")).state


TO_TIMEZONE = (
    Command("start"),
    press("onboarding", "welcome", "more"),
    press("onboarding", "about", "ok"),
    press("onboarding", "consent", "keep"),
)


def test_every_offer_leads_somewhere_real() -> None:
    listen = DIALOGS[listen_hooks.DIALOG]
    for name, target in listen_hooks.OFFERS.items():
        assert CATALOG.has_label("en", f"listen.offer.{name}") or name == "person", name
        if target is None:
            continue
        if target.startswith(DIALOG_PREFIX):
            assert target.removeprefix(DIALOG_PREFIX) in DIALOGS, name
        else:
            assert target in listen.steps, name
    # Every offer an intent names is one the listen dialog can show.
    for intent in intents.all_intents().values():
        assert set(intent.offers) <= set(listen_hooks.OFFERS), intent.id


@pytest.mark.parametrize("intent_id", list(intents.all_intents()))
def test_every_intent_reply_renders_in_both_places(intent_id: str) -> None:
    """The listen reply and the line before /start include each intent's template."""
    intent = intents.all_intents()[intent_id]
    state = at_menu()
    state.stack.append(Frame("listen", "reply", {"reply": intent.reply, "heard": 1}))
    turn = Turn(state)
    MANAGER._enter(turn, NOW)  # render the screen as the engine would
    own = CATALOG.render("en", intent.reply, {})
    assert own and own in text_of(turn)
    line = CATALOG.render("en", "common/not_started",
                          {"words": True, "reply": intent.reply, "intent": intent.id})  # fmt: skip
    assert line


@pytest.mark.parametrize(
    ("state", "typed", "template"),
    [
        ("checkin", "7", "common/invalid_number"),  # an attempt at the scale
        ("checkin", "-2", "common/invalid_number"),
        ("checkin", "lots", "common/invalid_number"),
        ("timezone", "Narnia", "common/invalid_timezone"),
        ("timezone", "Xyzzy plover", "common/invalid_timezone"),
        ("checkin_time", "25:00", "common/invalid_time"),
        ("checkin_time", "tomorrow-ish", "common/invalid_time"),
        ("menu", "🫥", "common/invalid_choice"),  # no letter, no intent
        ("menu", "42", "common/invalid_choice"),
    ],
)
def test_a_short_attempt_is_still_asked_again_briefly(
    state: str, typed: str, template: str
) -> None:
    start = {
        "checkin": at_checkin,
        "menu": at_menu,
        "timezone": lambda: run(UserState(), *TO_TIMEZONE).state,
        "checkin_time": lambda: run(UserState(), *TO_TIMEZONE, Text("UTC+2")).state,
    }[state]()
    turn = run(start, Text(typed))
    assert templates(turn) == [template]
    assert turn.state == start


@pytest.mark.parametrize(
    "typed",
    ["I feel so alone today", "can we talk?", "whatever", "my cat is asleep on my keyboard",
     "I got the job!!", "stop messaging me"],
)  # fmt: skip
def test_words_at_the_menu_get_the_listening_reply(typed: str) -> None:
    menu = at_menu()
    turn = run(menu, Text(typed))
    assert where(turn.state) == [("menu", "main"), ("listen", "reply")]
    assert templates(turn) == ["listen/reply"]
    shown = labels(turn)
    assert shown[-1] == back_to("menu")
    assert 2 <= len(shown) - 1 <= 3
    assert offer("menu") not in shown  # the way back is the menu already
    assert turn.state.top is not None and typed not in str(turn.state.top.slots)  # words not kept
    back = run(turn.state, press("listen", "reply", "back"))
    assert where(back.state) == [("menu", "main")]


def test_the_offers_follow_the_intent() -> None:
    lonely = run(at_menu(), Text("I feel so alone today"))
    assert labels(lonely)[:3] == [offer("add_person"), offer("step"), offer("sos")]
    anxious = run(at_menu(), Text("I'm really anxious about tomorrow"))
    assert labels(anxious)[0] == offer("breathe")
    general = run(at_menu(), Text("my cat is asleep on my keyboard"))
    assert labels(general)[:3] == [offer("add_person"), offer("breathe"), offer("help")]


def test_stop_offers_a_pause_and_settings_without_guilt() -> None:
    turn = run(at_menu(), Text("stop messaging me"))
    shown = labels(turn)
    assert shown[:2] == [offer("pause"), offer("settings")]
    paused = run(turn.state, press("listen", "reply", "pause"))
    assert where(paused.state)[-1] == ("pause", "ask")
    settings = run(turn.state, press("listen", "reply", "settings"))
    assert where(settings.state)[-1][0] == "settings"
    # In Settings already, "Settings" is not offered again: the way back goes there.
    at_settings = run(member(), Command("settings")).state
    there = run(at_settings, Text("I just want fewer messages"))
    assert offer("settings") not in labels(there) and offer("pause") in labels(there)


def test_a_person_on_the_list_is_one_tap_away() -> None:
    state = at_menu()
    state.records["contact"] = [Record("contact", {"name": "Ana", "reach": "telegram",
                                                   "handle": "ana_b", "note": None,
                                                   "message": None}, id=7)]  # fmt: skip
    turn = run(state, Text("I feel so alone today"))
    button = turn.replies[-1].buttons[0][0]
    assert button.url is not None and "ana_b" in button.url
    assert label(button.label, **dict(button.ctx)) == label("listen.offer.send", name="Ana")


def test_a_mood_in_words_is_confirmed_with_one_tap() -> None:
    turn = run(at_checkin(), Text("pretty bad"))
    assert where(turn.state) == [("checkin", "mood"), ("listen", "confirm")]
    assert labels(turn) == [label("listen.confirm.yes", value=2), label("listen.confirm.pick")]
    assert "2" in text_of(turn)
    yes = run(turn.state, press("listen", "confirm", "yes"))
    assert where(yes.state) == [("checkin", "connected")]
    assert yes.state.records["mood"][-1].data["mood"] == 2
    typed_yes = run(turn.state, Text("yes"))
    assert where(typed_yes.state) == [("checkin", "connected")]
    pick = run(turn.state, press("listen", "confirm", "pick"))
    assert where(pick.state) == [("checkin", "mood")] and "mood" not in pick.state.records
    other = run(turn.state, Text("4"))  # a number instead: the check-in takes it
    assert other.state.records["mood"][-1].data["mood"] == 4


def test_a_number_in_words_is_taken_as_it_is() -> None:
    turn = run(at_checkin(), Text("three"))
    assert where(turn.state) == [("checkin", "connected")]
    assert turn.state.records["mood"][-1].data["mood"] == 3


def test_a_feeling_at_the_check_in_is_heard_and_the_scale_waits_underneath() -> None:
    checkin = at_checkin()
    first = run(checkin, Text("I had an awful day and I feel so alone"))
    assert where(first.state) == [("checkin", "mood"), ("listen", "reply")]
    assert labels(first)[-1] == back_to("checkin")
    # More words: another reply, not the same text again.
    second = run(first.state, Text("nobody ever texts me back"))
    third = run(second.state, Text("it has been like this for weeks now"))
    replies = [text_of(t) for t in (first, second, third)]
    assert len(set(replies)) == 3
    assert where(third.state) == [("checkin", "mood"), ("listen", "reply")]
    # A number now is the check-in's answer: the listening reply steps aside.
    answered = run(third.state, Text("2"))
    assert where(answered.state) == [("checkin", "connected")]
    assert answered.state.records["mood"][-1].data["mood"] == 2
    # "Back to the check-in" shows the question again.
    back = run(first.state, press("listen", "reply", "back"))
    assert where(back.state) == [("checkin", "mood")]
    assert labels(back)[:5] == ["1", "2", "3", "4", "5"]  # the question, with its scale


def test_a_long_message_that_names_a_feeling_is_not_turned_into_a_number() -> None:
    turn = run(at_checkin(), Text("I'm so lonely it hurts"))
    assert where(turn.state)[-1] == ("listen", "reply")


def test_breathing_and_a_small_step_then_back_to_the_step() -> None:
    turn = run(at_checkin(), Text("I'm too tired for this today"))
    assert offer("breathe") in labels(turn) and offer("pause") in labels(turn)
    breathe = run(turn.state, press("listen", "reply", "breathe"))
    assert templates(breathe) == ["listen/breathe"]
    assert labels(breathe) == [label("listen.breathe.again"), back_to("checkin")]
    step_state = run(at_checkin(), Text("I feel so alone today")).state
    idea = run(step_state, press("listen", "reply", "step"))
    another = run(idea.state, press("listen", "step", "again"))
    assert text_of(idea) != text_of(another)
    back = run(another.state, press("listen", "step", "back"))
    assert where(back.state) == [("checkin", "mood")]


def test_a_country_with_several_zones_offers_them() -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Text("USA"))
    assert where(turn.state) == [("onboarding", "timezone"), ("listen", "zones")]
    zones = places.zones_for_country("USA")
    assert zones is not None
    assert labels(turn)[: len(zones)] == [z.label for z in zones]
    picked = run(turn.state, press("listen", "zones", "z2"))
    assert picked.state.profile.timezone == zones[2].zone
    assert where(picked.state) == [("onboarding", "checkin_time")]
    other = run(turn.state, press("listen", "zones", "other"))
    assert where(other.state) == [("onboarding", "timezone")]
    typed = run(turn.state, Text("Tokyo"))  # a city instead: the time zone step takes it
    assert typed.state.profile.timezone == "Asia/Tokyo"


def test_a_time_in_words_is_taken() -> None:
    state = run(UserState(), *TO_TIMEZONE, Text("UTC+2")).state
    turn = run(state, Text("8 in the evening"))
    assert turn.state.profile.checkin_time == "20:00"


def test_while_setting_up_only_offers_that_need_no_profile() -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Text("I feel so alone and I don't know what to do"))
    shown = labels(turn)
    assert shown[-1] == back_to("onboarding")
    assert len(shown) >= 3
    for name in listen_hooks.NEEDS_PROFILE - {"person"}:
        assert offer(name) not in shown
    assert offer("add_person") not in shown


def test_words_with_nothing_open_get_the_reply_and_the_menu() -> None:
    turn = run(member(), Text("I miss my friends"))
    assert where(turn.state) == [("listen", "reply")]
    assert labels(turn)[-1] == offer("menu")
    menu = run(turn.state, press("listen", "reply", "menu"))
    assert where(menu.state) == [("menu", "main")]


def test_before_start_a_warm_line_then_the_welcome() -> None:
    turn = run(UserState(), Text("I'm so lonely it hurts"))
    assert templates(turn) == ["common/not_started", "onboarding/welcome"]
    lonely = intents.match("I'm so lonely it hurts")
    assert lonely is not None and turn.replies[0].ctx["reply"] == lonely.reply
    assert CATALOG.render("en", lonely.reply, {}) in text_of(turn)
    assert where(turn.state) == [("onboarding", "welcome")]
    stop = run(UserState(), Text("stop messaging me"))
    assert templates(stop) == ["common/not_started"] and stop.state == UserState()


def test_crisis_screening_still_comes_first() -> None:
    for state in (at_menu(), at_checkin(), UserState()):
        turn = run(state, Text("I want to die, I feel so alone"))
        assert where(turn.state)[-1][0] == "crisis"
        assert "listen" not in [d for d, _ in where(turn.state)]


def test_a_shortcut_typed_over_the_reply_replaces_it() -> None:
    turn = run(at_checkin(), Text("I feel so alone today"))
    sos = run(turn.state, Text(label("keyboard.sos")))
    assert [d for d, _ in where(sos.state)] == ["checkin", "sos"]


# --- transcripts through Telegram -----------------------------------------------------------

# At the menu: (typed, offers that must be among the buttons).
AT_MENU: list[tuple[str, tuple[str, ...]]] = [
    ("I feel so alone today", ("add_person", "step", "sos")),
    ("can we talk?", ("sos",)),
    ("I'm so sad", ("add_person", "breathe")),
    ("I'm really anxious about tomorrow", ("breathe",)),
    ("I'm so angry at my brother", ("breathe", "reframe")),
    ("I'm exhausted", ("breathe", "pause")),
    ("who are you?", ("about",)),
    ("what can you do?", ("help",)),
    ("I got the job!!", ("step",)),
    ("thank you", ("step",)),
    ("hello", ("step",)),
    ("stop messaging me", ("pause", "settings")),
    ("please stop the messages", ("pause", "settings")),
    ("the weather is grey here", ("add_person", "breathe", "help")),
    ("whatever", ("add_person", "breathe", "help")),
    ("nobody ever texts me back", ("add_person",)),
    ("my cat is asleep on my keyboard", ("add_person", "breathe")),
]
# Before /start, and again after "No, thanks": each answered, then the welcome.
BEFORE_START = ["I'm so lonely it hurts", "hi", "who are you?", "can we talk?", "asdf qwerty",
                "I miss having someone to eat dinner with"]  # fmt: skip
AFTER_DECLINE = ["ok then", "I feel so alone", "thanks", "is this a real person?"]
# Counted by test_at_least_forty_free_text_messages (the scripted tests below add theirs).
SCRIPTED = {"check-in": 12, "time steps": 8, "button steps": 5, "nothing open": 2, "stop": 1}


def assert_warm(replies: Iterable[SentMessage]) -> None:
    said = " ".join(m.plain_text for m in replies)
    assert said.strip(), "the bot said nothing"
    for words in RE_ASKS:
        assert words not in said, f"a re-ask instead of a reply: {said!r}"


def buttons_of(replies: list[SentMessage]) -> list[str]:
    return [b for m in replies for b in m.button_labels]


def top(tg: Harness, user: int = 1001) -> tuple[str, str] | None:
    frame = tg.state(user).top
    return (frame.dialog, frame.step) if frame else None


@pytest.fixture()
async def tg(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


def test_at_least_forty_free_text_messages() -> None:
    total = len(AT_MENU) + len(BEFORE_START) + len(AFTER_DECLINE) + sum(SCRIPTED.values())
    assert total >= 40


async def test_transcript_words_at_the_menu(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/menu")
    for typed, wanted in AT_MENU:
        replies = await ada.send(typed)
        assert_warm(replies)
        shown = buttons_of(replies)
        for name in wanted:
            assert offer(name) in shown, f"{typed!r}: no {name} offer in {shown}"
        assert shown[-1] == back_to("menu"), typed
        assert top(tg) == ("listen", "reply"), typed
        back = await ada.click(back_to("menu"))
        assert label("settings.menu") in buttons_of(back), typed
        assert top(tg) == ("menu", "main")


async def test_transcript_words_with_nothing_open(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/menu")
    await ada.click(label("menu.main.close"))
    assert tg.state().top is None
    replies = await ada.send("I miss my friends")
    assert_warm(replies)
    assert offer("add_person") in buttons_of(replies) and offer("menu") in buttons_of(replies)
    again = await ada.send("it's been a long week, honestly, and nobody noticed")
    assert_warm(again)
    assert replies[-1].plain_text != again[-1].plain_text  # not the same words twice
    menu = await ada.click(offer("menu"))
    assert label("settings.menu") in buttons_of(menu)


async def test_transcript_words_at_the_check_in(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    moods = lambda: [r.data["mood"] for r in tg.state().records.get("mood", [])]  # noqa: E731

    await ada.send("/checkin")
    replies = await ada.send("pretty bad")  # 1
    assert_warm(replies)
    assert buttons_of(replies) == [label("listen.confirm.yes", value=2),
                                   label("listen.confirm.pick")]  # fmt: skip
    await ada.click(label("listen.confirm.yes", value=2))
    assert moods() == [2] and top(tg) == ("checkin", "connected")

    await ada.send("/checkin")
    await ada.send("not great")  # 2
    await ada.send("yes")  # 3: confirmed in words
    assert moods() == [2, 2]

    await ada.send("/checkin")
    replies = await ada.send("ok")  # 4
    assert label("listen.confirm.yes", value=3) in buttons_of(replies)
    await ada.click(label("listen.confirm.pick"))
    assert top(tg) == ("checkin", "mood")
    await ada.send("three")  # 5: a number in words is taken at once
    assert moods()[-1] == 3 and top(tg) == ("checkin", "connected")

    await ada.send("/checkin")
    first = await ada.send("I had an awful day and I feel so alone")  # 6
    assert_warm(first)
    assert offer("add_person") in buttons_of(first) and back_to("checkin") in buttons_of(first)
    second = await ada.send("I just want someone to notice")  # 7
    assert_warm(second)
    assert offer("sos") in buttons_of(second) and back_to("checkin") in buttons_of(second)
    assert first[-1].plain_text != second[-1].plain_text
    await ada.send("2")  # 8: the check-in underneath takes the number
    assert moods()[-1] == 2 and top(tg) == ("checkin", "connected")

    await ada.send("/checkin")
    replies = await ada.send("7")  # 9: an attempt: the short re-ask, as before
    assert "whole number from 1 to 5" in replies[0].plain_text

    replies = await ada.send("I'm too tired for this today")  # 10
    assert_warm(replies)
    assert {offer("breathe"), offer("pause"), back_to("checkin")} <= set(buttons_of(replies))
    breathe = await ada.click(offer("breathe"))
    assert back_to("checkin") in buttons_of(breathe)
    await ada.click(back_to("checkin"))
    assert top(tg) == ("checkin", "mood")
    assert ada.buttons()[:5] == ["1", "2", "3", "4", "5"]

    replies = await ada.send("stop sending me these check-ins")  # 11
    assert_warm(replies)
    assert {offer("pause"), offer("settings")} <= set(buttons_of(replies))
    await ada.click(offer("settings"))
    assert top(tg) is not None and top(tg)[0] == "settings"  # type: ignore[index]

    await ada.send("/checkin")
    await ada.click("4")
    replies = await ada.send("why are you asking me this?")  # 12: at "how connected"
    assert_warm(replies)
    assert back_to("checkin") in buttons_of(replies)


async def test_transcript_words_at_time_steps(tg: Harness) -> None:
    ada = tg.chat()
    await ada.send("/start")
    await ada.click("Tell me more")
    await ada.click("Okay, got it")
    await ada.click("Yes, keep my answers")

    replies = await ada.send("I'm new here and honestly quite nervous")  # 1
    assert_warm(replies)
    assert {offer("breathe"), back_to("onboarding")} <= set(buttons_of(replies))
    replies = await ada.send("Canada")  # 2: the step underneath understands a country
    canada = places.zones_for_country("Canada")
    assert canada is not None
    assert [z.label for z in canada] == buttons_of(replies)[: len(canada)]
    await ada.click(label("listen.zones.other"))
    assert top(tg) == ("onboarding", "timezone")
    replies = await ada.send("Narnia")  # 3: an attempt: asked again
    assert "couldn't find" in replies[0].plain_text
    replies = await ada.send("USA")  # 4
    usa = places.zones_for_country("USA")
    assert usa is not None and buttons_of(replies)[0] == usa[0].label
    await ada.click(usa[0].label)
    assert tg.state().profile.timezone == usa[0].zone
    assert top(tg) == ("onboarding", "checkin_time")

    replies = await ada.send("25:00")  # 5: an attempt
    assert "didn't catch a time" in replies[0].plain_text
    replies = await ada.send("whenever, I don't really sleep much")  # 6
    assert_warm(replies)
    assert back_to("onboarding") in buttons_of(replies)
    await ada.send("8 in the evening")  # 7: taken by the time step underneath
    assert tg.state().profile.checkin_time == "20:00"

    # After onboarding, a time step in Settings.
    await ada.click("Skip for now")
    await ada.click("Maybe later")
    await ada.send("/settings")
    await ada.click(label("menu.settings.checkin"))
    replies = await ada.send("I don't want any check-ins honestly")  # 8
    assert_warm(replies)
    assert offer("pause") in buttons_of(replies)


async def test_transcript_words_at_button_steps(tg: Harness) -> None:
    ada = tg.chat()
    await ada.send("/start")
    replies = await ada.send("I'm not sure about any of this")  # 1: at the welcome
    assert_warm(replies)
    assert back_to("onboarding") in buttons_of(replies)
    await ada.click(back_to("onboarding"))
    await ada.send("tell me more")  # 2: a label typed is still a tap
    assert top(tg) == ("onboarding", "about")
    await ada.click("Okay, got it")
    replies = await ada.send("what do you keep about me?")  # 3: at consent
    assert_warm(replies)
    assert {offer("help"), back_to("onboarding")} <= set(buttons_of(replies))
    await ada.click(back_to("onboarding"))
    await ada.click("Yes, keep my answers")
    await ada.send("Lisbon")
    await ada.click("8:00")
    await ada.click("Skip for now")
    await ada.click("Maybe later")

    await ada.send("/pause")
    replies = await ada.send("I need a break from everything")  # 4: at the pause question
    assert_warm(replies)
    assert offer("breathe") in buttons_of(replies) and offer("pause") not in buttons_of(replies)
    assert back_to("pause") in buttons_of(replies)
    await ada.send("/settings")
    replies = await ada.send("I just want fewer messages")  # 5: at Settings
    assert_warm(replies)
    assert offer("pause") in buttons_of(replies) and back_to("settings") in buttons_of(replies)


async def test_transcript_before_start(tg: Harness) -> None:
    for n, typed in enumerate(BEFORE_START):
        chat = tg.chat(user_id=2000 + n)
        replies = await chat.send(typed)
        assert_warm(replies)
        assert len(replies) == 2, typed  # the answer, then the welcome
        assert buttons_of(replies) == [label("onboarding.welcome.more"),
                                       label("onboarding.welcome.later")]  # fmt: skip
        assert top(tg, 2000 + n) == ("onboarding", "welcome")
        assert not tg.state(2000 + n).profile.consented
    stop = tg.chat(user_id=2100)
    replies = await stop.send("stop messaging me")  # no welcome after that
    assert_warm(replies)
    assert len(replies) == 1 and not replies[0].button_labels
    assert tg.state(2100) == UserState()


def user_rows(tg: Harness) -> int:
    with Session(tg.bridges.store.engine) as session:
        return int(session.exec(select(func.count()).select_from(User)).one()[0])


async def test_transcript_after_declining_consent(tg: Harness) -> None:
    ada = tg.chat()
    await ada.send("/start")
    await ada.click("Tell me more")
    await ada.click("Okay, got it")
    declined = await ada.click("No, thanks")
    said = declined[-1].plain_text
    assert "kept nothing" in said and "/sos" in said and "/start" in said
    assert user_rows(tg) == 0

    # "Need a quick chat?" and the helplines really work for someone with no profile.
    sos = await ada.send(label("keyboard.sos"))
    text = " ".join(m.plain_text for m in sos)
    assert "Helplines" in text and ("http" in text or any(c.isdigit() for c in text))
    ground = await ada.click(label("sos.main.ground"))
    assert ground and ground[-1].plain_text
    await ada.click(label("crisis.back"))
    assert tg.state().top is None and not tg.state().profile.consented
    assert user_rows(tg) == 0  # nothing kept once it is over
    sos = await ada.send("/sos")
    assert "Helplines" in " ".join(m.plain_text for m in sos)
    await ada.click(label("crisis.back"))

    for typed in AFTER_DECLINE:
        replies = await ada.send(typed)
        assert_warm(replies)
        assert label("onboarding.welcome.more") in buttons_of(replies), typed
        await ada.click(label("onboarding.welcome.later"))  # and they leave again
        assert user_rows(tg) == 0
