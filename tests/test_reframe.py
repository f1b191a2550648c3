"""The evidence table (/reframe) as a person lives it: real PTB Application, fake Telegram."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.drafts import own_slots
from dialogs.model import UserState
from tests.fakebot import ChatDriver, FakeBotApi
from tests.telegram_harness import Harness, bridges_on_fake, onboard


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


@pytest.fixture()
async def tg(sqlite_url: str):  # type: ignore[no-untyped-def]
    async with bridges_on_fake(sqlite_url) as harness:
        yield harness


def frame_slots(state: UserState, dialog: str = "reframe") -> dict[str, object]:
    frame = next((f for f in state.stack if f.dialog == dialog), None)
    assert frame is not None, f"{dialog} is not open: {state.stack}"
    return frame.slots


def entries(state: UserState) -> list[dict[str, object]]:
    return [r.data for r in state.records.get("thought", [])]


async def test_happy_path_builds_the_table_and_saves_it(tg: Harness) -> None:
    # What the person reads: tests/transcripts/reframe_three_thanks.chat.
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    await ada.send("nobody wants to hear from me")
    await ada.click("75")
    await ada.click("Lonely")
    await ada.send("Sam didn't answer my message")
    await ada.click("Done")
    await ada.send("Mia asked me to lunch last week")
    await ada.click("Another question")
    await ada.send("Sam may just be busy this week")
    await ada.click("Done")
    await ada.send("Some people are busy, and some are glad to hear from me")
    await ada.click("25")
    await ada.click("Three small thanks")
    await ada.send("warm tea in the morning")
    await ada.send("a neighbour waved")
    await ada.send("the bus was on time")
    # Finishing ends there: the menu they came from is a screen to read, never brought back.
    assert ada.last_text.startswith("That's three.")

    state = tg.state()
    assert entries(state) == [
        {
            "thought": "nobody wants to hear from me",
            "belief_before": 75,
            "feeling": "lonely",
            "evidence_for": ["Sam didn't answer my message"],
            "evidence_against": [
                "Mia asked me to lunch last week",
                "Sam may just be busy this week",
            ],
            "balanced": "Some people are busy, and some are glad to hear from me",
            "belief_after": 25,
            "date": "2026-11-23",
        }
    ]
    (entry,) = state.records["thought"]
    (thanks,) = state.records["gratitude"]
    assert thanks.data == {
        "lines": ["warm tea in the morning", "a neighbour waved", "the bus was on time"],
        "date": "2026-11-23",
        "entry": entry.id,
    }
    assert all(f.dialog != "reframe" for f in state.stack)
    assert "draft" not in state.records
    assert tg.fake.unanswered_callback_queries() == []


async def test_the_date_is_the_persons_own_calendar_day(tg: Harness) -> None:
    # 09:00 UTC on 23 November is still 23:00 on the 22nd in Honolulu.
    ada = tg.chat()
    await onboard(ada, zone_text="Honolulu")
    await write_entry(ada, "I always say the wrong thing")
    assert entries(tg.state())[0]["date"] == "2026-11-22"


async def write_entry(
    chat: ChatDriver, thought: str, before: str = "80", after: str = "40"
) -> None:
    """A whole entry, typed quickly; ends by declining the thanks."""
    await chat.send("/reframe")
    await chat.send(thought)
    await chat.send(before)
    await chat.send("sad")
    await chat.send("a reason it seems true")
    await chat.click("Done")
    await chat.send("a moment that doesn't fit")
    await chat.click("Done")
    await chat.send("a fairer way to say it")
    await chat.send(after)
    await chat.click("Not today")


# --- detours ------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["150", "lots", "-5", "75.5"])
async def test_an_invalid_rating_is_asked_again_and_changes_nothing(
    tg: Harness, typed: str
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    await ada.send("I'm too much for people")
    before = tg.state()
    replies = await ada.send(typed)
    assert [m.plain_text for m in replies] == ["I'm looking for a whole number from 0 to 100 here."]
    assert replies[0].button_labels == ["0", "25", "50", "75", "100"]
    assert tg.state() == before
    await ada.send("60")  # and a good answer right after is taken
    assert frame_slots(tg.state())["belief_before"] == 60
    assert "what do you feel" in ada.last_text


async def test_an_invalid_re_rating_is_asked_again_too(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    for typed in ("nobody likes me", "90", "lonely", "x"):
        await ada.send(typed)
    await ada.click("Done")
    await ada.click("Done")
    await ada.send("a few people do")
    before = tg.state()
    for typed in ("101", "not much"):
        replies = await ada.send(typed)
        assert replies[0].plain_text == "I'm looking for a whole number from 0 to 100 here."
        assert tg.state() == before
    assert "thought" not in tg.state().records


async def test_typing_a_number_or_a_label_works_like_tapping(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    await ada.send("I'm boring to be around")
    await ada.send("75")
    await ada.send("ANXIOUS")  # a button's label, typed
    await ada.send("people left early")
    await ada.send("done")
    await ada.send("a friend laughed at my story")
    await ada.send("Done")
    await ada.send("some evenings go well, some don't")
    await ada.send("50%")
    await ada.send("not today")
    (entry,) = entries(tg.state())
    assert (entry["belief_before"], entry["feeling"], entry["belief_after"]) == (75, "anxious", 50)
    assert entry["evidence_for"] == ["people left early"]
    assert entry["evidence_against"] == ["a friend laughed at my story"]


async def test_their_own_word_for_the_feeling_is_kept(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    await ada.send("they only invite me to be polite")
    await ada.click("50")
    await ada.send("left out, a bit heavy")
    assert frame_slots(tg.state())["feeling"] == "left out, a bit heavy"
    assert "What makes the thought seem true?" in ada.last_text


async def test_empty_evidence_is_accepted_kindly(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    await ada.send("everyone is tired of me")
    await ada.click("100")
    await ada.click("Numb")
    replies = await ada.click("Done")  # nothing for it
    assert replies[0].plain_text.startswith(
        "Nothing came to mind for it? That's worth noticing: a thought can feel true with "
        "very little behind it."
    )
    assert "If a friend told you this" in replies[0].plain_text
    replies = await ada.click("Done")  # nothing against it either: still allowed on
    assert replies[0].plain_text.startswith(
        "That's okay; some days nothing comes to mind against it."
    )
    await ada.send("I'm exhausted, and that colours how I see people")
    replies = await ada.click("75")
    table = replies[0].plain_text
    assert "For\n• nothing came to mind\nAgainst\n• nothing this time" in table
    (entry,) = entries(tg.state())
    assert (entry["evidence_for"], entry["evidence_against"]) == ([], [])


async def test_gentle_questions_rotate_one_at_a_time(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    for typed in ("I ruin every chat", "70", "ashamed", "I went quiet on Friday"):
        await ada.send(typed)
    await ada.click("Done")
    asked = [ada.last.plain_text]
    for _ in range(3):
        await ada.click("Another question")
        asked.append(ada.last.plain_text)
    questions = [text.split("\n\n")[1] for text in asked]
    assert questions == [
        "If a friend told you this about themselves, what would you say to them?",
        "Can you remember a moment, even a small one, that doesn't fit the thought?",
        "Is there another way to explain what happened?",
        "If a friend told you this about themselves, what would you say to them?",
    ]


async def test_thanks_are_optional_and_each_line_is_saved_at_once(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await write_entry(ada, "I'm always the one who reaches out")
    assert "gratitude" not in tg.state().records  # "Not today" saves no thanks
    await ada.send("/reframe")
    for typed in ("nobody notices me", "60", "lonely", "no one asked about my day"):
        await ada.send(typed)
    await ada.click("Done")
    await ada.click("Done")
    await ada.send("my colleague noticed my haircut")
    await ada.send("30")
    await ada.click("Three small thanks")
    await ada.send("a good coffee")
    await ada.click("I'm done")
    assert "Everything is saved" in ada.last_text
    state = tg.state()
    second = state.records["thought"][-1]
    assert [g.data["lines"] for g in state.records["gratitude"]] == [["a good coffee"]]
    assert state.records["gratitude"][0].data["entry"] == second.id


async def test_thanks_stop_at_three_and_too_long_is_asked_again(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    for typed in ("I'm a burden", "90", "sad", "I asked for help twice"):
        await ada.send(typed)
    await ada.click("Done")
    await ada.click("Done")
    await ada.send("helping friends never feels like a burden to me")
    await ada.send("40")
    await ada.click("Three small thanks")
    before = tg.state()
    replies = await ada.send("x" * 151)
    assert (
        replies[0].plain_text == "That's a bit long for me. Could you keep it under 150 characters?"
    )
    assert tg.state() == before


# --- leaving midway -----------------------------------------------------------------------


async def start_an_entry(ada: ChatDriver) -> None:
    await ada.send("/reframe")
    await ada.send("nobody wants to hear from me")
    await ada.click("75")
    await ada.click("Lonely")
    await ada.send("Sam didn't answer")


async def test_cancel_midway_keeps_a_draft_to_continue_after_a_restart(sqlite_url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        await start_an_entry(ada)
        replies = await ada.send("/cancel")
        assert replies[0].plain_text.startswith(
            "Okay, stopped. Your saved thought entries are all still here. I've kept what you "
            "wrote so far as a draft"
        )
        kept = tg.state()
        assert all(f.dialog != "reframe" for f in kept.stack)
        (draft,) = kept.records["draft"]
        assert draft.data["step"] == "evidence_for"
    # A new process: same database, same chat.
    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        replies = await ada.send("/reframe")
        assert replies[0].plain_text == (
            "You have an unfinished entry from 23 Nov 2026 about “nobody wants to hear from me”."
            "\n\nShall we carry on where you left off, or start a fresh one? "
            "(Starting fresh lets the old draft go.)"
        )
        assert replies[0].button_labels == ["Continue where I left off", "Start a fresh one"]
        replies = await ada.click("Continue where I left off")
        assert replies[0].plain_text.startswith("Noted (1). Anything else that supports it?")
        assert frame_slots(tg.state()) == {
            "thought": "nobody wants to hear from me",
            "belief_before": 75,
            "feeling": "lonely",
            "evidence_for": ["Sam didn't answer"],
        }
        assert "draft" not in tg.state().records
        await ada.click("Done")
        await ada.send("Mia wrote yesterday")
        await ada.click("Done")
        await ada.send("some people are slow to reply")
        await ada.click("50")
        (entry,) = entries(tg.state())
        assert entry["thought"] == "nobody wants to hear from me"
        assert entry["evidence_for"] == ["Sam didn't answer"]
        assert (entry["belief_before"], entry["belief_after"]) == (75, 50)


async def test_a_draft_can_be_discarded_to_start_fresh(sqlite_url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        await start_an_entry(ada)
        await ada.send("/cancel")
    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        await ada.send("/reframe")
        replies = await ada.click("Start a fresh one")
        assert replies[0].plain_text.startswith("Let's look at one harsh thought together.")
        state = tg.state()
        assert state.top is not None and (state.top.step, state.top.slots) == ("thought", {})
        assert "draft" not in state.records
        # Next time there is nothing to offer back.
        await ada.send("/cancel")
        assert "draft" not in ada.last_text
        replies = await ada.send("/reframe")
        assert replies[0].plain_text.startswith("Let's look at one harsh thought together.")


async def test_another_command_midway_keeps_the_draft_too(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await start_an_entry(ada)
    await ada.send("/menu")
    await ada.click("Close menu")
    replies = await ada.send("/reframe")
    assert replies[0].plain_text.startswith("You have an unfinished entry from 23 Nov 2026")
    await ada.click("Continue")
    assert frame_slots(tg.state())["evidence_for"] == ["Sam didn't answer"]


async def test_leaving_after_saving_keeps_no_draft(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    for typed in ("I'm forgettable", "80", "sad", "no one called on my birthday"):
        await ada.send(typed)
    await ada.click("Done")
    await ada.click("Done")
    await ada.send("two friends texted instead")
    await ada.send("45")
    await ada.click("Three small thanks")
    await ada.send("a sunny walk")
    replies = await ada.send("/cancel")
    assert "draft" not in replies[0].plain_text
    state = tg.state()
    assert "draft" not in state.records
    assert len(state.records["thought"]) == 1
    assert state.records["gratitude"][0].data["lines"] == ["a sunny walk"]


async def test_reframe_again_right_after_saving_starts_a_fresh_entry(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    for typed in ("I'm hard to like", "70", "sad", "a date went badly"):
        await ada.send(typed)
    await ada.click("Done")
    await ada.click("Done")
    await ada.send("one evening is not the whole of me")
    await ada.send("35")
    # Still on the "three small thanks?" question: the entry is saved, nothing is unfinished.
    replies = await ada.send("/reframe")
    assert replies[0].plain_text.startswith("Let's look at one harsh thought together.")
    state = tg.state()
    assert len(state.records["thought"]) == 1 and "draft" not in state.records


# --- safety and the person's own words ----------------------------------------------------


async def test_a_crisis_typed_as_the_thought_shows_help_and_is_not_stored(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    replies = await ada.send("I want to kill myself")
    assert replies[0].plain_text.startswith("I'm really glad you told me.")
    state = tg.state()
    assert state.top is not None and state.top.dialog == "crisis"
    assert own_slots(frame_slots(state)) == {}  # (but the note of when it was covered)
    # The words wait only in the crisis frame (to be kept or dropped), never in the step
    # below or in a record.
    assert "kill myself" not in repr(state.stack[:-1]) + repr(state.records)
    # The way back leads to the same, still empty, step.
    await ada.click("Yes, I'm safe")
    replies = await ada.click("Back to what I was doing")
    assert replies[-1].plain_text.startswith("Back to where we were: What's the harsh thought?")
    assert "kill myself" not in repr(tg.state())


async def test_their_words_come_back_exactly_as_typed(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    thought = "<b>nobody</b> & {{ 7*7 }} wants me"
    await ada.send("/reframe")
    await ada.send(thought)
    await ada.click("50")
    await ada.send("{% if %} <i>lonely</i>")
    await ada.send("Tom & Ann <script>left</script>")
    await ada.click("Done")
    await ada.send("{{ friends }} wrote")
    await ada.click("Done")
    await ada.send("<u>some</u> & {{ many }}")
    replies = await ada.click("25")
    shown = replies[0]
    assert "“<b>nobody</b> & {{ 7*7 }} wants me”" in shown.plain_text
    assert "Feeling: {% if %} <i>lonely</i>" in shown.plain_text
    assert "• Tom & Ann <script>left</script>" in shown.plain_text
    assert "• {{ friends }} wrote" in shown.plain_text
    assert "“<u>some</u> & {{ many }}”" in shown.plain_text
    assert "&lt;b&gt;nobody&lt;/b&gt; &amp; {{ 7*7 }} wants me" in shown.text
    assert "&lt;script&gt;" in shown.text and "49" not in shown.text
    (entry,) = entries(tg.state())
    assert entry["thought"] == thought
    assert entry["evidence_for"] == ["Tom & Ann <script>left</script>"]
