"""The pure manager: table-driven turns, no Telegram, no database, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs import places
from dialogs.manager import DialogManager
from dialogs.model import (
    Command,
    Event,
    ForgetMe,
    Frame,
    Location,
    Press,
    Profile,
    Text,
    Turn,
    Unsupported,
    UserState,
)
from dialogs.spec import DialogError, load_dialogs
from prompts import default_catalog

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DIALOGS = load_dialogs()
MANAGER = DialogManager(DIALOGS, default_catalog())


def run(state: UserState, *events: Event) -> Turn:
    turn = Turn(state)
    for event in events:
        turn = MANAGER.step(turn.state, event, NOW)
    return turn


def where(state: UserState) -> tuple[str, str] | None:
    top = state.top
    return (top.dialog, top.step) if top else None


def templates(turn: Turn) -> list[str]:
    return [r.template for r in turn.replies]


def press(dialog: str, step: str, choice: str) -> Press:
    return Press(DIALOGS[dialog].callback(step, choice))


TO_TIMEZONE = (
    Command("start"),
    press("onboarding", "welcome", "more"),
    press("onboarding", "about", "ok"),
    press("onboarding", "consent", "keep"),
)


def onboarded() -> UserState:
    return UserState(
        profile=Profile(
            consented=True, onboarded=True, timezone="Europe/Berlin", checkin_time="08:00"
        )
    )


def test_onboarding_happy_path_sets_profile_and_opens_menu() -> None:
    turn = run(UserState(), *TO_TIMEZONE)
    assert where(turn.state) == ("onboarding", "timezone")
    assert turn.state.profile.consented
    first_zone = places.common_zones()[0]
    turn = run(turn.state, press("onboarding", "timezone", first_zone.id))
    assert turn.state.profile.timezone == first_zone.zone
    assert templates(turn) == ["onboarding/timezone_set", "onboarding/checkin_time"]
    assert turn.replies[0].keyboard == "remove"  # the location keyboard goes away
    turn = run(turn.state, Text("8:15 am"))
    assert turn.state.profile.checkin_time == "08:15"
    assert turn.state.profile.onboarded
    assert templates(turn) == ["onboarding/done", "onboarding/measure_offer"]
    assert where(turn.state) == ("onboarding", "measure_offer")
    # Yes goes straight to the first question: the offer was the measure's introduction.
    sure = run(turn.state, press("onboarding", "measure_offer", "sure"))
    assert where(sure.state) == ("measure", "companionship")
    assert templates(sure) == ["measure/companionship"]
    # Skipping the measure notes it was offered: the next offer comes in 14 days.
    turn = run(turn.state, press("onboarding", "measure_offer", "skip"))
    assert turn.state.records["rhythm"][0].data["measure_asked"] == NOW.isoformat()
    assert where(turn.state) == ("onboarding", "invite")
    turn = run(turn.state, press("onboarding", "invite", "later"))
    assert where(turn.state) == ("menu", "main")


def test_timezone_step_asks_for_location_with_a_keyboard() -> None:
    turn = run(UserState(), *TO_TIMEZONE)
    assert [r.keyboard for r in turn.replies][-1] == "location"


def test_location_sets_the_zone_at_the_timezone_step() -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Location(52.52, 13.405))
    assert turn.state.profile.timezone == "Europe/Berlin"


@pytest.mark.parametrize("choice", ["decline"])
def test_declining_consent_forgets_everything(choice: str) -> None:
    state = run(UserState(), *TO_TIMEZONE[:3]).state
    turn = run(state, press("onboarding", "consent", choice))
    assert any(isinstance(e, ForgetMe) for e in turn.effects)
    assert turn.state == UserState()
    assert templates(turn) == ["onboarding/declined"]


def test_not_now_at_welcome_also_keeps_nothing() -> None:
    turn = run(UserState(), Command("start"), press("onboarding", "welcome", "later"))
    assert any(isinstance(e, ForgetMe) for e in turn.effects)
    assert turn.state == UserState()


@pytest.mark.parametrize("typed", ["1", "tell me more", "  TELL ME MORE!  "])
def test_typing_a_button_number_or_label_is_understood(typed: str) -> None:
    turn = run(UserState(), Command("start"), Text(typed))
    assert where(turn.state) == ("onboarding", "about")


INVALID_AT_CHECKIN = [
    ("25:00", "common/invalid_time"),
    ("tomorrow-ish", "common/invalid_time"),
    ("9", None),  # a bare hour is a fine time
]


@pytest.mark.parametrize(("typed", "template"), INVALID_AT_CHECKIN)
def test_invalid_time_reasks_and_leaves_state_unchanged(typed: str, template: str | None) -> None:
    state = run(UserState(), *TO_TIMEZONE, Text("UTC+2")).state
    assert where(state) == ("onboarding", "checkin_time")
    turn = run(state, Text(typed))
    if template is None:
        assert turn.state.profile.checkin_time == "09:00"
        return
    assert templates(turn) == [template]
    assert turn.replies[0].buttons, "the re-ask keeps the buttons at hand"
    assert turn.state == state


def test_unknown_city_reasks_quoting_what_was_typed() -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Text("Xyzzy plover"))
    assert templates(turn) == ["common/invalid_timezone"]
    assert turn.replies[0].ctx["typed"] == "Xyzzy plover"
    assert turn.state == state


@pytest.mark.parametrize(
    "data",
    [
        "",
        "garbage",
        "c|onboarding|welcome|more",  # a real button, but from an earlier step
        "c|onboarding|timezone|mars",  # forged choice
        "c|menu|main|timezone",  # another dialog
        "c|onboarding|timezone|" + "x" * 500,
        "c|a|b|c|d",
    ],
)
def test_stale_or_forged_buttons_expire_kindly(data: str) -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Press(data))
    assert templates(turn)[0] == "common/expired"
    assert templates(turn)[1] == "onboarding/timezone"
    assert turn.state == state


def test_crisis_text_interrupts_and_back_returns_to_the_exact_step() -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Text("honestly I just want to die"))
    assert where(turn.state) == ("crisis", "ask")
    assert templates(turn) == ["crisis/help", "crisis/ask"]
    # The words that triggered it are not kept in any slot.
    assert all("die" not in str(f.slots) for f in turn.state.stack)
    turn = run(turn.state, press("crisis", "ask", "safe"))
    turn = run(turn.state, press("crisis", "safe", "back"))
    assert where(turn.state) == ("onboarding", "timezone")
    # One message: "Back to where we were" with the question (and its buttons), then the
    # location keyboard again.
    assert templates(turn) == ["common/resume", "common/location_hint"]
    assert turn.replies[0].ctx["question_template"] == "onboarding/short/timezone"
    assert turn.replies[0].buttons


def test_not_safe_leads_to_emergency_numbers() -> None:
    turn = run(onboarded(), Text("I'm going to kill myself"), press("crisis", "ask", "unsafe"))
    assert templates(turn) == ["crisis/unsafe"]


def test_crisis_in_a_photo_caption_is_caught() -> None:
    turn = run(onboarded(), Unsupported("photo", caption="goodbye forever everyone"))
    assert where(turn.state) == ("crisis", "ask")


def test_idioms_do_not_trigger_crisis() -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Text("this traffic is killing me"))
    # Not a crisis: a message, not a place, so it gets the listening reply (manager_listen.py).
    assert templates(turn) == ["listen/reply"]
    assert [f.dialog for f in turn.state.stack] == ["onboarding", "listen"]


def test_start_again_after_onboarding_keeps_everything_and_offers_the_menu() -> None:
    state = onboarded()
    turn = run(state, Command("start"))
    assert turn.state.profile == state.profile
    assert templates(turn) == ["common/welcome_back", "menu/main"]


def test_start_midway_through_onboarding_picks_up() -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Command("start"))
    assert templates(turn)[0] == "common/picking_up"
    assert where(turn.state) == ("onboarding", "timezone")


def test_menu_waits_for_onboarding() -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Command("menu"))
    assert templates(turn)[0] == "common/finish_onboarding_first"
    assert where(turn.state) == where(state)


def test_cancel_pops_the_current_dialog_and_resumes_the_one_below() -> None:
    state = run(
        onboarded(),
        Command("menu"),
        press("menu", "main", "settings"),
        press("settings", "main", "checkin"),
    ).state
    assert where(state) == ("change_checkin", "ask")
    turn = run(state, Command("cancel"))
    assert templates(turn) == ["common/cancelled"]
    assert turn.state.stack == []
    assert turn.state.profile == state.profile


@pytest.mark.parametrize(
    ("dialog", "kept"),
    [("settings", "Your settings stay as they were."), ("reframe", "Your saved thought entries")],
)
def test_cancel_says_what_the_dialog_keeps(dialog: str, kept: str) -> None:
    """Each dialog's `keeps:` names the reassurance /cancel gives (prompts common/kept/)."""
    turn = run(run(onboarded(), Command(dialog)).state, Command("cancel"))
    assert turn.replies[0].template == "common/cancelled"
    assert kept in default_catalog().render("en", "common/cancelled", turn.replies[0].ctx)


def test_a_keeps_without_its_line_is_a_load_problem() -> None:
    broken = "id: zz\nstart: a\nkeeps: bogus\nsteps:\n  a:\n    end: true\n"
    with pytest.raises(DialogError, match=r"keeps .bogus. has no line common/kept/bogus\.j2"):
        load_dialogs(catalog=default_catalog(), extra={"zz.yaml": broken})


def test_crisis_then_cancel_returns_to_the_interrupted_dialog() -> None:
    state = run(
        onboarded(),
        Command("menu"),
        press("menu", "main", "settings"),
        press("settings", "main", "checkin"),
    ).state
    turn = run(state, Text("kms"), Command("cancel"))
    assert where(turn.state) == ("change_checkin", "ask")


def test_help_shows_commands_then_the_current_step() -> None:
    state = run(UserState(), *TO_TIMEZONE).state
    turn = run(state, Command("help"))
    # The commands, then the question they were on in one message ("Back to where we were:"
    # with the step's prompt and its buttons), then the location keyboard again.
    assert templates(turn) == ["common/help", "common/resume", "common/location_hint"]
    assert turn.replies[1].ctx["question_template"] == "onboarding/short/timezone"
    assert turn.replies[1].buttons
    assert turn.state == state


@pytest.mark.parametrize(
    ("event", "template"),
    [
        (Unsupported("sticker"), "common/unsupported"),
        (Unsupported("edited", "new words"), "common/unsupported"),
        (Text("   \u200b "), "common/empty"),
        (Command("frobnicate"), "common/unknown_command"),
        (Location(10.0, 10.0), "common/location_unused"),
    ],
)
def test_odd_input_gets_a_short_reply_and_changes_nothing(event: Event, template: str) -> None:
    state = run(onboarded(), Command("menu")).state
    turn = run(state, event)
    assert templates(turn)[0] == template
    assert turn.state == state


def test_a_step_removed_by_a_newer_script_is_dropped_with_a_note() -> None:
    state = onboarded()
    state.stack.append(Frame("needs_v0", "gone"))
    turn = run(state, Text("hello"))
    assert templates(turn)[0] == "common/script_updated"
    assert all(f.dialog != "needs_v0" for f in turn.state.stack)


def test_text_when_idle_before_onboarding_answers_then_welcomes() -> None:
    turn = run(UserState(), Text("hello?"))
    assert templates(turn) == ["common/not_started", "onboarding/welcome"]
    assert turn.replies[0].ctx["words"] is True
    assert where(turn.state) == ("onboarding", "welcome")
    assert not turn.state.profile.consented


def test_change_timezone_from_the_menu() -> None:
    state = run(
        onboarded(),
        Command("menu"),
        press("menu", "main", "settings"),
        press("settings", "main", "timezone"),
    ).state
    turn = run(state, Text("Tokyo"))
    assert turn.state.profile.timezone == "Asia/Tokyo"
    assert templates(turn)[0] == "change_timezone/saved"


# --- properties: any sequence of events leaves a valid state ------------------------

ALL_PRESSES = [
    Press(spec.callback(step.id, choice.id))
    for spec in DIALOGS.dialogs.values()
    for step in spec.steps.values()
    for choice in step.choices
] + [Press(f"c|onboarding|timezone|{z.id}") for z in places.common_zones()]

EVENTS = st.one_of(
    st.sampled_from(ALL_PRESSES),
    st.sampled_from([Command(n) for n in ("start", "menu", "help", "cancel", "nope")]),
    st.builds(Text, st.text(max_size=60)),
    st.sampled_from([Text("8:30"), Text("UTC+3"), Text("Paris"), Text("1"), Text("2")]),
    st.builds(Location, st.floats(-90, 90), st.floats(-180, 180)),
    st.sampled_from([Unsupported("sticker"), Unsupported("edited", "x")]),
)


def assert_valid(state: UserState) -> None:
    for frame in state.stack:
        step = DIALOGS.step(frame.dialog, frame.step)
        assert step is not None, frame
        assert step.input != "none" or step.choices, f"resting on a passive step: {frame}"
    if state.profile.onboarded:
        assert state.profile.consented
    if state.profile.timezone is not None:
        assert places.is_valid_zone(state.profile.timezone)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENTS, max_size=25))
def test_random_event_sequences_never_crash_and_stay_valid(events: list[Event]) -> None:
    state = UserState()
    for event in events:
        turn = MANAGER.step(state, event, NOW)
        assert turn.replies, f"every event gets an answer: {event}"
        for reply in turn.replies:
            default_catalog().render("en", reply.template, reply.ctx)
        state = turn.state
        assert_valid(state)
