"""The pure manager with graded risk: what the coach does with a risky message.

A small fake classifier stands in for dialogs.safety.assess, keyed on whole phrases, so
these tests pin the dialog manager's routing, not the patterns. No Telegram, no database; the
clock is passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialogs.inputs import fold
from dialogs.manager import DialogManager
from dialogs.manager_safety import RISK_MEMORY, UNSAFE_FOR
from dialogs.model import Command, Due, Event, Frame, Photo, Press, Text, Turn, UserState
from dialogs.safety import NO_RISK, Risk
from dialogs.spec import load_dialogs
from prompts import default_catalog
from tests.manager_driver import NOW, member, run_events, templates

CONCERN = "everyone would be fine without me"
CONCERN_2 = "if I died tonight would anyone even care"
CRISIS = "I want to die"
OTHER = "my friend said she wants to kill herself"
ABUSE = "my partner hit me again last night"
BOTH = "he hit me again and I want to die"

PHRASES = {
    fold(CONCERN): Risk("concern", "self", ("passive",)),
    fold(CONCERN_2): Risk("concern", "self", ("passive",)),
    fold(CRISIS): Risk("crisis", "self", ("intent",)),
    fold(OTHER): Risk("crisis", "other", ("intent",)),
    fold(ABUSE): Risk("none", "self", ("abuse",), abuse=True),
    fold(BOTH): Risk("crisis", "self", ("intent", "abuse"), abuse=True),
}
CALLS: list[tuple[str, Risk | None]] = []


def fake_assess(text: str, recent: Risk | None = None) -> Risk:
    CALLS.append((text, recent))
    risk = PHRASES.get(fold(text), NO_RISK)
    if recent is not None and risk.level == "concern" and risk.subject == "self":
        return Risk("crisis", "self", risk.families)
    return risk


DIALOGS = load_dialogs()
MANAGER = DialogManager(DIALOGS, default_catalog(), assess=fake_assess)


def run(state: UserState, *events: Event, now: datetime = NOW) -> Turn:
    return run_events(MANAGER, state, *events, now=now)


def press(dialog: str, step: str, choice: str) -> Press:
    return Press(DIALOGS[dialog].callback(step, choice))


def where(state: UserState) -> tuple[str, str] | None:
    return (state.top.dialog, state.top.step) if state.top else None


def at_thought() -> UserState:
    """Mid evidence table, at "what's the thought?" (free text)."""
    return member(Frame("reframe", "thought"))


def labels(turn: Turn, index: int = -1) -> list[str]:
    return [b.label for row in turn.replies[index].buttons for b in row]


def rendered(turn: Turn) -> str:
    catalog = default_catalog()
    return "\n".join(catalog.render("en", r.template, r.ctx) for r in turn.replies)


# --- the classifier is injectable, and every message goes through it ---------------------


def test_every_text_and_caption_is_assessed() -> None:
    CALLS.clear()
    run(member(Frame("menu", "main")), Text("hello"), Photo("f1", "a caption"))
    assert [text for text, _ in CALLS] == ["hello", "a caption"]


def test_the_old_crisis_check_still_works() -> None:
    manager = DialogManager(DIALOGS, default_catalog(), crisis_check=lambda text: text == "boom")
    turn = manager.step(member(Frame("menu", "main")), Text("boom"), NOW)
    assert templates(turn) == ["crisis/help", "crisis/ask"]


# --- concern: one direct question in the same turn ---------------------------------------


def test_a_concern_asks_directly_and_holds_their_words() -> None:
    turn = run(at_thought(), Text(CONCERN))
    assert templates(turn) == ["crisis/concern"]
    assert labels(turn) == ["crisis.concern.yes", "crisis.help.unsure", "crisis.concern.no",
                            "crisis.other"]  # fmt: skip
    assert where(turn.state) == ("crisis", "concern")
    assert turn.state.top is not None and turn.state.top.slots["pending"] == CONCERN
    # Remembered as a level and a time, never as words.
    assert (turn.state.profile.risk_level, turn.state.profile.risk_at) == ("concern", NOW)
    assert "Are you thinking of ending your life" in rendered(turn)


@pytest.mark.parametrize("answer", [press("crisis", "concern", "yes"),
                                    press("crisis", "concern", "unsure"),
                                    Text("yes"), Text("I don't know")])  # fmt: skip
def test_yes_or_not_sure_to_the_concern_opens_the_crisis_reply(answer: Event) -> None:
    turn = run(at_thought(), Text(CONCERN), answer)
    assert templates(turn) == ["crisis/help", "crisis/ask"]
    assert where(turn.state) == ("crisis", "ask")
    # Their words still wait, and can still be kept.
    assert "crisis.keep" in labels(turn)


@pytest.mark.parametrize("answer", [press("crisis", "concern", "no"), Text("no"),
                                    Text("no, not like that"), Text("I'm okay")])  # fmt: skip
def test_no_to_the_concern_goes_back_with_their_words_as_the_answer(answer: Event) -> None:
    turn = run(at_thought(), Text(CONCERN), answer)
    assert templates(turn) == ["crisis/cleared", "reframe/belief"]
    assert turn.state.stack[-1] == Frame("reframe", "belief", {"thought": CONCERN})
    assert "I've kept what you wrote as your answer" in rendered(turn)
    # Still remembered (a level and a time): a second concern soon after is a crisis.
    assert (turn.state.profile.risk_level, turn.state.profile.risk_at) == ("concern", NOW)


def test_no_to_the_concern_with_nothing_to_keep_just_goes_back() -> None:
    # A number step cannot take words: nothing held, the question simply comes back.
    turn = run(member(Frame("needs", "social")), Text(CONCERN), press("crisis", "concern", "no"))
    assert templates(turn) == ["crisis/cleared", "common/resume"]
    assert turn.state.stack == [Frame("needs", "social")]
    # The menu is a screen to read: it is not brought back after the question.
    turn = run(member(Frame("menu", "main")), Text(CONCERN), press("crisis", "concern", "no"))
    assert templates(turn) == ["crisis/cleared"]
    assert turn.state.stack == []


def test_an_unclear_answer_to_the_concern_is_asked_again_gently() -> None:
    turn = run(at_thought(), Text(CONCERN), Text("what do you mean"))
    assert templates(turn) == ["crisis/concern"]
    assert "Sorry, I didn't quite follow" in rendered(turn)


def test_a_second_concern_within_half_an_hour_is_a_crisis() -> None:
    first = run(member(Frame("menu", "main")), Text(CONCERN), press("crisis", "concern", "other"))
    # "It's about someone else" forgets it; a fresh concern then asks again.
    assert templates(run(first.state, Text(CONCERN))) == ["crisis/concern"]
    state = member(Frame("menu", "main"))
    state.profile.risk_level, state.profile.risk_at = "concern", NOW
    CALLS.clear()
    turn = run(state, Text(CONCERN_2), now=NOW + RISK_MEMORY - timedelta(minutes=1))
    assert CALLS[0][1] == Risk("concern")  # the memory is passed to the classifier
    assert templates(turn) == ["crisis/help", "crisis/ask"]
    later = run(state, Text(CONCERN_2), now=NOW + RISK_MEMORY + timedelta(minutes=1))
    assert templates(later) == ["crisis/concern"]


# --- crisis: corrections and typed answers -----------------------------------------------


def test_a_crisis_mid_answer_offers_to_keep_the_words() -> None:
    turn = run(at_thought(), Text(CRISIS))
    assert templates(turn) == ["crisis/help", "crisis/ask"]
    assert labels(turn) == ["crisis.help.safe", "crisis.help.unsure", "crisis.help.unsafe",
                            "crisis.keep", "crisis.misread", "crisis.other"]  # fmt: skip
    turn = run(turn.state, press("crisis", "ask", "keep"))
    assert templates(turn) == ["crisis/kept", "reframe/belief"]
    assert turn.state.top == Frame("reframe", "belief", {"thought": CRISIS})


def test_the_same_words_again_right_away_are_taken_as_the_answer() -> None:
    turn = run(at_thought(), Text(CRISIS), Text(CRISIS.upper() + "!"))
    assert templates(turn) == ["crisis/kept", "reframe/belief"]
    assert turn.state.top == Frame("reframe", "belief", {"thought": CRISIS})


def test_not_what_i_meant_offers_to_keep_then_goes_back() -> None:
    state = run(at_thought(), Text(CRISIS)).state
    turn = run(state, press("crisis", "ask", "misread"))
    assert templates(turn) == ["crisis/misread_keep"]
    assert labels(turn) == ["crisis.keep", "crisis.misread_keep.drop"]
    kept = run(turn.state, press("crisis", "misread_keep", "keep"))
    assert kept.state.top == Frame("reframe", "belief", {"thought": CRISIS})
    dropped = run(turn.state, press("crisis", "misread_keep", "drop"))
    assert templates(dropped) == ["crisis/cleared", "common/resume"]
    assert dropped.replies[-1].ctx["question_template"] == "reframe/short/thought"
    assert dropped.state.stack == [Frame("reframe", "thought")]


@pytest.mark.parametrize(
    ("typed", "step"),
    [
        ("yes", "safe"), ("I'm safe now", "safe"), ("yeah I'm ok", "safe"),
        ("no", "unsafe"), ("nope, not really", "unsafe"), ("I'm not safe", "unsafe"),
        ("I don't know", "unsure"), ("idk", "unsure"), ("not sure", "unsure"),
        ("help me", "unsure"), ("yes I am", "safe"), ("not really no", "unsafe"),
        ("no, I was talking about a documentary", "cleared"), ("no I meant the film", "cleared"),
        ("it's about my friend", "other"),
        ("hmm", "unclear"), ("Mia asked me to lunch", "unclear"), ("x" * 4096, "unclear"),
    ],
)  # fmt: skip
def test_a_typed_answer_counts_only_when_it_is_clear(typed: str, step: str) -> None:
    state = run(member(Frame("menu", "main")), Text(CRISIS)).state
    turn = run(state, Text(typed))
    first = turn.replies[0].template
    assert first == f"crisis/{step}"
    assert typed not in repr(turn.state.stack)
    if step == "unclear":  # asked again, gently, with the emergency number
        assert "please call" in rendered(turn) and "crisis.help.unsafe" in labels(turn)
        assert where(turn.state) == ("crisis", "unclear")


def test_risky_words_in_answer_to_are_you_safe_mean_not_safe() -> None:
    state = run(member(Frame("menu", "main")), Text(CRISIS)).state
    turn = run(state, Text(CRISIS))
    assert templates(turn)[0] == "crisis/unsafe"
    assert turn.state.profile.unsafe_at == NOW


# --- someone else; abuse ---------------------------------------------------------------


def test_someone_else_at_risk_gets_a_reply_for_the_helper() -> None:
    turn = run(member(Frame("menu", "main")), Text(OTHER))
    assert templates(turn) == ["crisis/other"]
    text = rendered(turn)
    assert "Are you safe right now?" not in text
    assert "Ask them straight out" in text and "Don't promise to keep it secret" in text
    assert text.count("112") <= 1 or "Lines to pass on" in text
    assert labels(turn) == ["crisis.other.me", "crisis.back"]
    assert turn.state.profile.risk_level is None  # not their own risk
    turn = run(turn.state, press("crisis", "other", "me"))
    assert templates(turn) == ["crisis/help", "crisis/ask"]


def test_it_is_about_someone_else_from_the_crisis_reply() -> None:
    state = run(member(Frame("menu", "main")), Text(CRISIS)).state
    turn = run(state, press("crisis", "ask", "other"))
    assert templates(turn) == ["crisis/other"]
    assert turn.state.profile.risk_level is None


def test_abuse_is_acknowledged_and_not_kept_as_a_thought() -> None:
    turn = run(at_thought(), Text(ABUSE))
    assert templates(turn) == ["crisis/abuse"]
    assert "not your fault" in rendered(turn)
    assert labels(turn) == ["crisis.keep", "crisis.misread", "crisis.back"]
    back = run(turn.state, press("crisis", "abuse", "back"))
    assert back.state.stack == [Frame("reframe", "thought")]
    kept = run(turn.state, press("crisis", "abuse", "keep"))
    assert kept.state.top == Frame("reframe", "belief", {"thought": ABUSE})


# --- buttons never go stale; words on buttons get a warm reply ---------------------------


def test_an_old_crisis_button_works_from_another_dialog() -> None:
    state = run(member(Frame("menu", "main")), Text(CRISIS), press("crisis", "ask", "safe"),
                press("crisis", "safe", "back"), Command("reframe")).state  # fmt: skip
    # The menu was a screen to read: not brought back after the crisis reply.
    assert [f.dialog for f in state.stack] == ["reframe"]
    turn = run(state, press("crisis", "ask", "unsafe"))
    assert templates(turn) == ["crisis/unsafe"]
    assert [f.dialog for f in turn.state.stack] == ["reframe", "crisis"]
    back = run(turn.state, press("crisis", "unsafe", "back"))
    assert where(back.state) == ("reframe", "thought")


def test_an_old_button_that_no_longer_exists_still_expires_without_change() -> None:
    state = member(Frame("menu", "main"))
    turn = run(state, press("crisis", "ask", "keep"))  # nothing was held
    assert templates(turn)[0] == "common/expired"
    assert turn.state == state


@pytest.mark.parametrize("frame", [Frame("sos", "main"), Frame("crisis", "safe"),
                                   Frame("crisis", "unsafe"), Frame("sos", "ground")])  # fmt: skip
@pytest.mark.parametrize("typed", ["help me", "please",
                                   "I don't want to call anyone, I just want to talk"])  # fmt: skip
def test_words_on_a_screen_of_buttons_get_a_warm_reply(frame: Frame, typed: str) -> None:
    turn = run(member(Frame("menu", "main"), frame), Text(typed))
    assert templates(turn)[0] == "crisis/listen"
    assert "common/invalid_choice" not in templates(turn)
    assert "you don't have to call anyone to be heard" in rendered(turn)


def test_a_button_label_typed_on_those_screens_still_works() -> None:
    turn = run(member(Frame("sos", "main")), Text("Back to what I was doing"))
    assert templates(turn) == ["sos/bye"]


# --- "not safe": the number on every screen, and the follow-up ---------------------------


def unsafe_state(now: datetime = NOW) -> UserState:
    return run(member(Frame("menu", "main")), Text(CRISIS), press("crisis", "ask", "unsafe"),
               now=now).state  # fmt: skip


def test_not_safe_keeps_the_emergency_number_on_every_screen() -> None:
    state = unsafe_state()
    assert state.profile.unsafe_at == NOW
    assert state.profile.followup_at == NOW + timedelta(hours=1)
    for event in (Command("needs"), Command("help"), Due("checkin"), Text("hello")):
        turn = run(state, event, now=NOW + timedelta(minutes=5))
        text = rendered(turn)
        assert text.count("112") == 1, (event, text)
        assert "crisis.called" in [b.label for r in turn.replies for row in r.buttons for b in row]
        state = turn.state
    # "I've called / someone is with me" ends it.
    turn = run(state, press("crisis", "banner", "called"))
    assert templates(turn)[0] == "crisis/called"
    assert turn.state.profile.unsafe_at is None
    assert "112" not in rendered(run(turn.state, Command("menu")))


def test_i_still_need_help_opens_the_not_safe_screen_again() -> None:
    state = run(unsafe_state(), Command("needs")).state
    turn = run(state, press("crisis", "banner", "more"))
    assert templates(turn) == ["crisis/unsafe"]
    assert rendered(turn).count("112") == 1


def test_the_emergency_banner_lapses_after_a_while() -> None:
    state = unsafe_state()
    turn = run(state, Command("menu"), now=NOW + UNSAFE_FOR + timedelta(minutes=1))
    assert "crisis/banner" not in templates(turn)
    assert turn.state.profile.unsafe_at is None


def test_the_follow_up_after_not_safe_comes_in_an_hour_even_at_night() -> None:
    night = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # quiet hours 21:00-08:00, UTC
    state = unsafe_state(night)
    assert state.profile.followup_at == night + timedelta(hours=1)
    turn = run(state, Due("followup"), now=night + timedelta(hours=1))
    assert templates(turn) == ["crisis/followup"]
    assert turn.state.profile.followup_at is None
    assert "If you're in danger, please call your local emergency number" in rendered(turn)
    assert labels(turn) == ["crisis.followup.okay", "crisis.followup.hard",
                            "crisis.called", "crisis.more"]  # fmt: skip
    hard = run(turn.state, press("crisis", "followup", "hard"))
    assert templates(hard)[:2] == ["crisis/help", "crisis/ask"]


def test_after_a_crisis_reply_the_follow_up_waits_for_the_morning() -> None:
    night = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    state = run(member(Frame("menu", "main")), Text(CRISIS), now=night).state
    assert state.profile.followup_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    day = run(member(Frame("menu", "main")), Text(CRISIS)).state
    assert day.profile.followup_at == NOW + timedelta(hours=2)
    turn = run(day, Due("followup"), now=NOW + timedelta(hours=2))
    assert templates(turn) == ["crisis/followup"] and turn.state.profile.followup_at is None
    okay = run(turn.state, press("crisis", "followup", "okay"))
    assert templates(okay)[0] == "crisis/okay"


def test_a_crisis_caption_is_not_held_as_an_answer() -> None:
    turn = run(at_thought(), Photo("f1", CRISIS))
    assert templates(turn) == ["crisis/help", "crisis/ask"]
    assert turn.state.top is not None and "pending" not in turn.state.top.slots


def test_after_yes_im_safe_their_words_can_still_be_kept() -> None:
    state = run(at_thought(), Text(CRISIS), press("crisis", "ask", "safe")).state
    turn = run(state, press("crisis", "safe", "keep"))
    assert turn.state.top == Frame("reframe", "belief", {"thought": CRISIS})


@pytest.mark.parametrize(("typed", "kept"), [("yes", True), ("no", False)])
def test_shall_i_keep_it_can_be_answered_in_words(typed: str, kept: bool) -> None:
    state = run(at_thought(), Text(CRISIS), press("crisis", "ask", "misread")).state
    turn = run(state, Text(typed))
    thought = turn.state.stack[-1].slots.get("thought")
    assert thought == (CRISIS if kept else None)
    unclear = run(state, Text("hmm"))
    assert templates(unclear) == ["crisis/misread_keep"]


@pytest.mark.parametrize(("typed", "first"), [("I'm okay", "crisis/okay"), ("ok", "crisis/okay"),
                                              ("not really", "crisis/help"),
                                              ("I just want to talk", "crisis/listen")])  # fmt: skip
def test_the_follow_up_can_be_answered_in_words(typed: str, first: str) -> None:
    state = run(member(Frame("menu", "main")), Due("followup")).state
    turn = run(state, Text(typed))
    assert templates(turn)[0] == first


def test_abuse_with_a_crisis_gets_the_crisis_reply_with_the_abuse_lines() -> None:
    turn = run(member(Frame("menu", "main")), Text(BOTH))
    assert templates(turn) == ["crisis/help", "crisis/ask"]
    text = rendered(turn)
    assert "If someone is hurting you" in text
    assert text.count("In immediate danger") == 1


def test_a_crisis_below_quick_chat_is_brought_up_not_stacked_twice() -> None:
    state = run(member(Frame("menu", "main")), Text(CRISIS), Command("sos")).state
    assert [f.dialog for f in state.stack] == ["menu", "crisis", "sos"]
    turn = run(state, Text(CRISIS))
    assert [f.dialog for f in turn.state.stack] == ["menu", "sos", "crisis"]
    assert templates(turn) == ["crisis/help", "crisis/ask"]


def test_words_typed_on_the_helper_reply_get_a_reply_for_the_helper() -> None:
    state = run(member(Frame("menu", "main")), Text(OTHER)).state
    turn = run(state, Text("she isn't answering her phone"))
    assert templates(turn)[0] == "crisis/listen"
    assert "advice to people worried about someone" in rendered(turn)


def test_a_screen_edited_in_place_gets_no_second_banner() -> None:
    state = unsafe_state()
    state.stack.append(Frame("needs", "when"))
    turn = run(state, press("needs", "when", "weekends"))
    assert [r.edit for r in turn.replies] == [True]


def test_an_old_quick_chat_button_works_after_it_was_closed() -> None:
    state = run(member(Frame("menu", "main")), Command("sos"), press("sos", "main", "back"),
                Command("reframe")).state  # fmt: skip
    assert [f.dialog for f in state.stack] == ["reframe"]  # the menu is not brought back
    turn = run(state, press("sos", "main", "ground"))
    assert templates(turn) == ["sos/ground"]
    back = run(turn.state, press("sos", "ground", "back"))
    assert [f.dialog for f in back.state.stack] == ["reframe"]


def test_an_old_crisis_screen_left_below_is_replaced_and_new_words_are_held() -> None:
    # They walked away from a crisis screen (it stays lower in the stack), later open the
    # evidence table and write risky words there: a fresh screen holds these words.
    state = run(member(Frame("menu", "main")), Text(CRISIS), Command("reframe")).state
    assert [f.dialog for f in state.stack] == ["menu", "crisis", "reframe"]
    turn = run(state, Text(CRISIS), now=NOW + RISK_MEMORY * 2)
    assert [f.dialog for f in turn.state.stack] == ["menu", "reframe", "crisis"]
    assert "crisis.keep" in labels(turn)
    turn = run(turn.state, press("crisis", "ask", "keep"), now=NOW + RISK_MEMORY * 2)
    assert turn.state.top == Frame("reframe", "belief", {"thought": CRISIS})


# --- after "not safe": words no step can take, and the banner's labels typed -------------


@pytest.mark.parametrize("frame", [Frame("menu", "main"), Frame("needs", "open")])
def test_after_not_safe_words_a_step_cannot_take_get_the_warm_reply(frame: Frame) -> None:
    state = run(unsafe_state(), press("crisis", "unsafe", "back")).state
    state.stack = [Frame("menu", "main"), frame] if frame.dialog != "menu" else [frame]
    turn = run(state, Text("help me"), now=NOW + timedelta(minutes=5))
    assert templates(turn)[0] == "crisis/listen"
    assert "common/invalid_choice" not in templates(turn)
    text = rendered(turn)
    assert "which of these you mean" not in text.lower()
    assert text.count("112") == 1 and "crisis.called" in labels(turn)
    back = run(turn.state, press("crisis", "listen", "back"), now=NOW + timedelta(minutes=6))
    # Screens to read are never brought back: the kind goodbye instead of silence.
    assert where(back.state) is None and templates(back)[0] == "sos/bye"
    # Without "not safe", the same words get the everyday listening reply (manager_listen.py),
    # never "please tap one of the buttons".
    calm = member(Frame("menu", "main"), frame) if frame.dialog != "menu" else member(frame)
    assert templates(run(calm, Text("help me")))[0] == "listen/reply"


@pytest.mark.parametrize(
    "typed", ["I still need help", "🆘 I still need help", "i still need help!"]
)
def test_after_not_safe_i_still_need_help_typed_works_like_the_button(typed: str) -> None:
    state = run(unsafe_state(), press("crisis", "unsafe", "back"), Command("needs")).state
    turn = run(state, Text(typed), now=NOW + timedelta(minutes=5))
    assert templates(turn) == ["crisis/unsafe"]


@pytest.mark.parametrize("typed", ["I've called", "someone is with me", "ive called",
                                   "☎️ I've called / someone is with me"])  # fmt: skip
def test_after_not_safe_ive_called_typed_works_like_the_button(typed: str) -> None:
    state = run(unsafe_state(), press("crisis", "unsafe", "back"), Command("reframe")).state
    turn = run(state, Text(typed), now=NOW + timedelta(minutes=5))
    assert templates(turn) == ["crisis/called"]
    assert turn.state.profile.unsafe_at is None
    # No way straight back into coaching: they tap "Back" when they are ready.
    assert where(turn.state) == ("crisis", "called")
    turn = run(turn.state, press("crisis", "called", "back"), now=NOW + timedelta(minutes=6))
    assert where(turn.state) == ("reframe", "thought")


# --- a recent act: the emergency number first ---------------------------------------------

ACT = "I took all my pills an hour ago"
PHRASES[fold(ACT)] = Risk("crisis", "self", ("means_now",))
PHRASES[fold("I swallowed everything in the cupboard")] = Risk("crisis", "self", ("means_now",))
PHRASES[fold("I've taken an overdose")] = Risk("concern", "self", ())  # act words, no family


@pytest.mark.parametrize("typed", [ACT, "I swallowed everything in the cupboard",
                                   "I've taken an overdose"])  # fmt: skip
def test_a_recent_act_puts_the_emergency_number_first(typed: str) -> None:
    turn = run(member(Frame("menu", "main")), Text(typed))
    assert templates(turn) == ["crisis/help", "crisis/ask"]
    assert turn.state.top is not None and turn.state.top.slots.get("urgent") is True
    text = default_catalog().render("en", turn.replies[0].template, turn.replies[0].ctx)
    # No country known here: the common numbers, once, at the very top.
    assert text.startswith("<b>Please call your local emergency number (112 in most"), text
    assert text.count("112") == 1  # the helplines leave theirs out


def test_safe_after_a_recent_act_still_says_to_get_checked() -> None:
    """ "I'm safe" after an overdose is not the end of it: the reply says a doctor may still
    be needed, with the emergency number; after a crisis without an act it does not."""
    after_act = run(
        run(member(Frame("menu", "main")), Text(ACT)).state, press("crisis", "ask", "safe")
    )
    assert templates(after_act)[0] == "crisis/safe"
    text = rendered(after_act)
    assert text.startswith("<b>Even if you feel okay now,") and "112" in text, text
    plain = run(
        run(member(Frame("menu", "main")), Text(CRISIS)).state, press("crisis", "ask", "safe")
    )
    assert templates(plain)[0] == "crisis/safe"
    assert rendered(plain).startswith("I'm glad you're safe right now."), rendered(plain)


def test_a_crisis_without_an_act_is_not_urgent() -> None:
    turn = run(member(Frame("menu", "main")), Text(CRISIS))
    assert turn.state.top is not None and "urgent" not in turn.state.top.slots
    text = rendered(turn)
    assert text.startswith("I'm really glad you told me.") and text.count("112") == 1


def test_urgent_is_for_the_message_that_had_it() -> None:
    state = run(member(Frame("menu", "main")), Text(ACT)).state
    turn = run(state, Due("followup"), now=NOW + timedelta(hours=2))
    assert turn.state.top is not None and "urgent" not in turn.state.top.slots


def test_the_settings_hint_is_only_for_people_who_can_reach_settings() -> None:
    hint = "Tell me your country in /menu › Settings"
    stranger = run(UserState(), Text(CRISIS))  # before /start: /menu would lead nowhere
    assert hint not in rendered(stranger) and "findahelpline.com" in rendered(stranger)
    assert hint in rendered(run(member(Frame("menu", "main")), Text(CRISIS)))


def test_not_safe_before_start_is_kept_after_leaving_the_screen() -> None:
    turn = run(UserState(), Text(CRISIS), press("crisis", "ask", "unsafe"),
               press("crisis", "unsafe", "back"))  # fmt: skip
    assert turn.state.stack == [] and turn.state.profile.unsafe_at == NOW
    later = run(turn.state, Text("hello"), now=NOW + timedelta(minutes=10))
    assert templates(later)[0] == "crisis/listen"  # not "send /start" to someone not safe
    assert rendered(later).count("112") == 1 and "crisis.called" in labels(later)


# --- a risky message while already "not safe" ---------------------------------------------


@pytest.mark.parametrize("typed", [CRISIS, CONCERN, ACT])
def test_a_risky_message_after_not_safe_goes_straight_to_the_not_safe_screen(typed: str) -> None:
    state = run(unsafe_state(), press("crisis", "unsafe", "back")).state
    later = NOW + RISK_MEMORY * 2  # the risk memory has lapsed; "not safe" has not
    turn = run(state, Text(typed), now=later)
    assert templates(turn) == ["crisis/unsafe"]
    assert "Are you safe right now?" not in rendered(turn)
    assert rendered(turn).count("112") == 1
    # Opened by their message, so it can be put right like every crisis reply.
    assert labels(turn)[-3:] == ["crisis.misread", "crisis.other", "crisis.back"]
    assert turn.state.profile.unsafe_at == later
    fixed = run(turn.state, press("crisis", "unsafe", "misread"), now=later)
    assert templates(fixed)[0] == "crisis/cleared"


def test_the_not_safe_screen_reached_by_an_answer_has_no_corrections() -> None:
    turn = run(member(Frame("menu", "main")), Text(CRISIS), press("crisis", "ask", "unsafe"))
    assert labels(turn) == ["crisis.called", "crisis.unsafe.breathe", "crisis.back"]


def test_words_held_at_the_not_safe_screen_can_still_be_kept() -> None:
    turn = run(at_thought(), Text(CRISIS), Text(BOTH))  # more risky words at "are you safe?"
    assert templates(turn)[0] == "crisis/unsafe"
    assert "crisis.keep" in labels(turn)
    kept = run(turn.state, press("crisis", "unsafe", "keep"))
    assert kept.state.top == Frame("reframe", "belief", {"thought": CRISIS})


# --- the warm reply: not word for word the same, and honest about texting -----------------


@pytest.mark.parametrize("frame", [Frame("crisis", "safe"), Frame("sos", "main")])
def test_the_warm_reply_turns_its_words(frame: Frame) -> None:
    state = member(Frame("menu", "main"), frame)
    firsts = []
    for _ in range(4):
        turn = run(state, Text("help me"))
        assert templates(turn)[0] == "crisis/listen"
        firsts.append(rendered(turn).split(".")[0])
        state = turn.state
    assert len(set(firsts[:3])) == 3 and firsts[3] == firsts[0]


def test_the_warm_reply_names_texting_only_as_the_lines_shown_offer_it() -> None:
    general = rendered(run(member(Frame("crisis", "safe")), Text("help me")))
    assert "988 takes texts in the US and Canada" in general  # the general list's own line
    assert "the directory below also lists lines you can text" not in general
    us = member(Frame("crisis", "safe"))
    us.profile.country = "US"
    text = rendered(run(us, Text("help me")))
    assert "text" in text.split("Or we can")[0].split("written message")[1]  # a line says so
    fr = member(Frame("crisis", "safe"))
    fr.profile.country = "FR"
    text = rendered(run(fr, Text("help me")))
    assert "The lines I have for you take calls; the directory below lists more" in text
    assert "marked “text” or “chat”" not in text  # France's line here takes calls only


# --- a correction fits what it corrects ---------------------------------------------------


def test_not_what_i_meant_after_the_abuse_reply_speaks_of_abuse_not_suicide() -> None:
    turn = run(member(Frame("menu", "main")), Text(ABUSE), press("crisis", "abuse", "misread"))
    assert templates(turn)[0] == "crisis/cleared"
    text = rendered(turn)
    assert "feel that heavy" not in text
    assert "If anyone ever does hurt you" in text
    # With words to keep: asked first, then the same fitting words.
    state = run(at_thought(), Text(ABUSE), press("crisis", "abuse", "misread")).state
    dropped = run(state, press("crisis", "misread_keep", "drop"))
    assert "If anyone ever does hurt you" in rendered(dropped)
    # After a risk to life, the words about that stay.
    risk = run(member(Frame("menu", "main")), Text(CRISIS), press("crisis", "ask", "misread"))
    assert "If things ever do feel that heavy" in rendered(risk)


@pytest.mark.parametrize("no", [press("crisis", "concern", "no"), Text("no")])
def test_a_second_concern_soon_after_a_concern_answered_no_is_a_crisis(no: Event) -> None:
    state = run(member(Frame("menu", "main")), Text(CONCERN), no).state
    assert where(state) is None  # the menu is a screen to read: not brought back
    turn = run(state, Text(CONCERN_2), now=NOW + timedelta(minutes=1))
    assert templates(turn) == ["crisis/help", "crisis/ask"]  # not the question again
    later = run(state, Text(CONCERN_2), now=NOW + RISK_MEMORY + timedelta(minutes=1))
    assert templates(later) == ["crisis/concern"]


# --- kept words sent again in a step that collects lines ---------------------------------


def at_warning_signs() -> UserState:
    return member(Frame("plan", "warning_signs", {"mode": "guided"}))


def test_kept_words_sent_again_in_the_same_step_do_not_set_off_the_crisis_again() -> None:
    turn = run(at_warning_signs(), Text(CRISIS), press("crisis", "ask", "keep"))
    assert where(turn.state) == ("plan", "warning_signs")  # "anything else?"
    assert turn.state.top is not None and turn.state.top.slots["warning_signs"] == [CRISIS]
    CALLS.clear()
    again = run(turn.state, Text(CRISIS + "!"))
    assert "crisis/help" not in templates(again)
    assert where(again.state) == ("plan", "warning_signs")
    assert templates(again) == ["crisis/kept", "plan/warning_signs"]
    assert again.state.top is not None and again.state.top.slots["warning_signs"] == [CRISIS]
    assert CALLS == []  # exactly those words, once: not screened again
    # Only once, and only those words: anything else is screened as always.
    assert templates(run(again.state, Text(CRISIS)))[0] == "crisis/help"
    assert templates(run(turn.state, Text(OTHER)))[0] == "crisis/other"


@pytest.mark.parametrize(
    ("text", "families", "act"),
    [
        ("I took all my pills an hour ago", (), True),
        ("i just took 30 sleeping pills", (), True),
        ("I've taken an overdose", (), True),
        ("I overdosed", (), True),
        ("cut deeper than I meant and it won't stop bleeding", (), True),
        ("I'm on the roof", ("means_now",), True),  # the classifier's family is enough
        ("I cut again last night", ("self_harm_act",), True),
        ("I want to die", ("active_ideation",), False),
        ("what amount of paracetamol is fatal", ("lethal_question",), False),
        ("it took all day and I want to disappear", ("passive",), False),
        ("me tomé veinte pastillas hace una hora", ("model_es",), True),
        ("me eché un montón de pastillas hace rato", (), True),
        ("me bebí un bote de lejía", (), True),
        ("tomé cloro, me arde la garganta", (), True),
        ("me corté y no para de sangrar", (), True),
        ("me quiero morir", ("active_ideation",), False),
        ("cuántas pastillas hacen falta para no despertar", ("lethal_question",), False),
    ],
)  # fmt: skip
def test_what_counts_as_a_recent_act(text: str, families: tuple[str, ...], act: bool) -> None:
    from dialogs.hooks.crisis import is_act

    assert is_act(text, families) is act
