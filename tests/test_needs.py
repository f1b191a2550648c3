"""The needs map (/needs) as a person lives it: the real PTB Application against a fake Bot API."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs import drafts
from dialogs.hooks.needs import IDEAS, KIND, KINDS, rank, weighs
from prompts import default_catalog
from tests.fakebot import ChatDriver, FakeBotApi
from tests.telegram_harness import bridges_on_fake, onboard

SCALE = ["0", "1", "2", "3", "4"]
WEIRD = "<b>night bus</b> & {{ home }}"


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


async def rate_all(chat: ChatDriver, ratings: tuple[str, ...] | list[str]) -> None:
    for rating in ratings:
        await chat.click(rating)


async def make_map(chat: ChatDriver) -> None:
    """A whole first map by taps: mornings, emotional isolation, a trusted confidant first."""
    await chat.send("/needs")
    await chat.click("Let's map it")
    await chat.click("Mornings")
    await chat.click("Done")
    await chat.click("1")
    await chat.click("3")
    await rate_all(chat, ("4", "1", "2", "0", "3"))
    await chat.click("Deepen one bond")
    await chat.click("Message one old friend")


async def test_happy_path_saves_the_record(sqlite_url: str) -> None:
    # What the person reads: tests/transcripts/needs_own_words.chat.
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/needs")
        await ada.click("Let's map it")
        await ada.click("Mornings")
        await ada.click("Late-night scrolling")
        await ada.send("Sunday afternoons")
        await ada.click("Done")
        await ada.click("3")  # few people around: quite true
        await ada.click("1")  # no one close: hardly
        await rate_all(ada, ["1", "4", "3", "2", "1"])
        await ada.click("Widen my circle")
        await ada.click("Greet the barista by name")

        state = tg.state()
        [saved] = state.records[KIND]
        assert saved.id is not None and saved.created_at == datetime(2026, 11, 23, 9, tzinfo=UTC)
        assert saved.data == {
            "made_at": "2026-11-23T09:00:00+00:00",
            "date": "2026-11-23",
            "when": ["mornings", "late_night"],
            "when_own": ["Sunday afternoons"],
            "social": 3,
            "emotional": 1,
            "weighs": "social",
            "ratings": {"confidant": 1, "casual": 4, "activities": 3, "group": 2, "bond": 1},
            "ranking": ["casual", "activities", "group", "confidant", "bond"],
            "focus": "casual",
            "goal": "widen",
            "first_step": {"idea": "barista"},
        }
        assert drafts.find(state, "needs") is None
        assert "needs" not in [f.dialog for f in state.stack]
        assert tg.fake.unanswered_callback_queries() == []


async def test_an_invalid_rating_is_asked_again_and_changes_nothing(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/needs")
        await ada.click("Let's map it")
        # Done with nothing ticked: one kind line, same buttons.
        replies = await ada.click("Done")
        assert replies[0].plain_text == "Please add at least 1 before moving on, or type one now."
        await ada.click("Weekends")
        await ada.click("Done")
        await ada.click("2")
        await ada.click("2")
        await ada.click("4")  # a trusted confidant
        assert ada.last.plain_text.startswith("2 of 5 · Casual daytime conversations")
        before = tg.state()

        for typed in ("7", "lots", "-1", "2.5"):
            replies = await ada.send(typed)
            assert [m.plain_text for m in replies] == [
                "I'm looking for a whole number from 0 to 4 here."
            ]
            assert replies[0].button_labels == SCALE
            assert tg.state() == before, f"{typed!r} changed the state"

        replies = await ada.send_sticker()
        assert replies[0].plain_text.startswith("I can only read text and button taps")
        assert replies[1].plain_text.startswith("2 of 5 · Casual daytime conversations")
        assert tg.state() == before

        replies = await ada.click_data("c|needs|rate|9")  # a forged rating button
        assert replies[0].plain_text.startswith("That button has expired")
        assert tg.state() == before

        await ada.send("3")
        assert ada.last.plain_text.startswith("3 of 5 · Shared activities")
        frame = tg.state().stack[-1]
        assert frame.slots["ratings"] == {"confidant": 4, "casual": 3}


async def test_typing_numbers_and_labels_instead_of_tapping(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/needs")
        await ada.send("let's map it")  # a button's label, typed
        await ada.send("in a crowd")  # ticks the option, emoji or not
        await ada.send("DONE")
        await ada.send("4")
        await ada.send("4")
        assert "both weigh on you about equally" in ada.messages()[-2].plain_text
        for rating in ("0", "0", "0", "0", "0"):
            await ada.send(rating)
        # All equal: they choose which comes first, here by its number in the list.
        assert ada.last.plain_text.startswith("None of these feel empty right now")
        assert ada.buttons() == [
            "A trusted confidant",
            "Casual daytime conversations",
            "Shared activities",
            "Belonging to a group",
            "One deeper bond",
        ]
        await ada.send("3")
        assert "1. shared activities · 0" in ada.messages()[-2].plain_text
        await ada.send("calm anxious thoughts about people")
        await ada.send("try a five-minute online group")
        [saved] = tg.state().records[KIND]
        assert saved.data["when"] == ["crowd"]
        assert saved.data["weighs"] == "both"
        assert saved.data["ranking"][0] == saved.data["focus"] == "activities"
        assert saved.data["goal"] == "calm"
        assert saved.data["first_step"] == {"idea": "online_group"}
        assert "First step: Try a five-minute online group" in ada.last.plain_text


async def test_cancel_midway_then_a_restart_picks_up_where_they_left_off(
    sqlite_url: str,
) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/needs")
        await ada.click("Let's map it")
        await ada.click("Lunch breaks")
        await ada.click("Done")
        await ada.click("0")
        await ada.click("4")
        await rate_all(ada, ["3", "2"])
        replies = await ada.send("/cancel")
        assert replies[0].plain_text.startswith("Okay, stopped.")
        state = tg.state()
        assert KIND not in state.records
        draft = drafts.find(state, "needs")
        assert draft is not None and draft.data["step"] == "rate"

    # A new process: new Application, same database, same chat.
    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        replies = await ada.send("/needs")
        assert replies[0].plain_text == (
            "You started a needs map on 23 Nov 2026 and stopped partway. "
            "Would you like to pick up where you left off, or start afresh?"
        )
        assert replies[0].button_labels == ["Pick up where I left off", "Start afresh"]
        replies = await ada.click("Pick up where I left off")
        assert replies[0].plain_text.startswith("3 of 5 · Shared activities")
        await rate_all(ada, ["1", "0", "1"])
        await ada.click("Widen my circle")
        await ada.send("Sit in the shared kitchen at lunch")  # typed, not one of the ideas
        state = tg.state()
        [saved] = state.records[KIND]
        assert saved.data["when"] == ["lunch"]
        assert saved.data["weighs"] == "emotional"
        assert saved.data["ratings"] == {
            "confidant": 3, "casual": 2, "activities": 1, "group": 0, "bond": 1,
        }  # fmt: skip
        assert saved.data["first_step"] == {"own": "Sit in the shared kitchen at lunch"}
        assert drafts.find(state, "needs") is None


async def test_another_command_midway_keeps_a_draft_they_can_discard(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await make_map(ada)
        await ada.send("/needs")
        await ada.click("Redo my map")
        await ada.click("Evenings at home")
        await ada.send("/menu")  # wander off mid-way
        assert ada.last.plain_text == "What would you like to do?"
        await ada.send("/needs")
        assert "stopped partway" in ada.last.plain_text
        replies = await ada.click("Start afresh")
        # Straight back to their saved map; nothing half-done is kept.
        assert replies[0].plain_text.startswith("🧭 Your needs map · 23 Nov 2026")
        state = tg.state()
        assert len(state.records[KIND]) == 1
        assert drafts.find(state, "needs") is None
        await ada.click("Close")
        assert ada.last.plain_text.startswith("Okay. Your map is saved")


async def test_needs_again_shows_the_map_in_their_time_zone_and_redo_keeps_the_old_one(
    sqlite_url: str,
) -> None:
    fake = FakeBotApi()
    first = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # already the 24th in Tokyo
    async with bridges_on_fake(sqlite_url, fake, now=first) as tg:
        ada = tg.chat()
        await onboard(ada, zone_text="Tokyo")
        await make_map(ada)

    week_later = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
    async with bridges_on_fake(sqlite_url, fake, now=week_later) as tg:
        ada = tg.chat()
        replies = await ada.send("/needs")
        summary = replies[0].plain_text
        assert summary.startswith("🧭 Your needs map · 24 Nov 2026\nLoudest: mornings\n")
        assert "Weighs more: emotional isolation (no one close)" in summary
        assert "Focus: a trusted confidant → deepen one bond" in summary
        assert "First step: Message one old friend" in summary
        assert replies[0].button_labels == ["🔄 Redo my map", "Close"]

        await ada.click("Redo my map")
        await ada.click("Weekends")
        await ada.click("Done")
        await ada.click("3")
        await ada.click("3")
        await rate_all(ada, ["0", "1", "2", "4", "3"])
        await ada.click("Widen my circle")
        await ada.click("Offer one hour as a volunteer")

        maps = tg.state().records[KIND]
        assert [m.data["date"] for m in maps] == ["2026-11-24", "2026-12-01"]
        assert [m.created_at for m in maps] == [first, week_later]
        assert [m.data["focus"] for m in maps] == ["confidant", "group"]

        replies = await ada.send("/needs")
        assert replies[0].plain_text.startswith("🧭 Your needs map · 1 Dec 2026")
        assert replies[0].button_labels == ["🔄 Redo my map", "🗂 Earlier maps", "Close"]
        replies = await ada.click("Earlier maps")
        assert replies[0].plain_text == (
            "Your earlier maps, newest first:\n"
            "1. 24 Nov 2026, 07:30 · focus: a trusted confidant\n\n"
            "Tap a number to open one."
        )
        replies = await ada.click("1")
        assert replies[0].plain_text.startswith("🧭 Your needs map · 24 Nov 2026")
        assert replies[0].plain_text.endswith("This is one of your earlier maps.")
        replies = await ada.click("My latest map")
        assert replies[0].plain_text.startswith("🧭 Your needs map · 1 Dec 2026")
        await ada.click("Close")
        assert len(tg.state().records[KIND]) == 2


async def test_own_words_come_back_exactly_as_typed(sqlite_url: str) -> None:
    fake = FakeBotApi()
    own_step = "Say hi to <i>Sam</i> & co {{ 7*7 }} {% if %}"
    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/needs")
        await ada.click("Let's map it")
        [shown] = await ada.send(WEIRD)
        assert shown.plain_text.endswith(f"Your own words:\n• {WEIRD}")
        assert shown.text is not None
        assert shown.text.endswith("• &lt;b&gt;night bus&lt;/b&gt; &amp; {{ home }}")
        await ada.click("Done")
        await ada.click("2")
        await ada.click("2")
        await rate_all(ada, ["4", "0", "0", "0", "0"])
        await ada.click("Deepen one bond")
        await ada.click("My own idea")
        await ada.click("Back to the ideas")  # changed their mind, then back again
        assert "Message one old friend" in ada.buttons()
        await ada.click("My own idea")
        saved = (await ada.send(own_step))[0]
        assert f"Loudest: “{WEIRD}”" in saved.plain_text
        assert f"First step: “{own_step}”" in saved.plain_text
        assert saved.text is not None
        assert "</b> “Say hi to &lt;i&gt;Sam&lt;/i&gt; &amp; co {{ 7*7 }} {% if %}”" in saved.text
        assert "</b> “&lt;b&gt;night bus&lt;/b&gt; &amp; {{ home }}”" in saved.text
        data = tg.state().records[KIND][0].data
        assert (data["when_own"], data["first_step"]) == ([WEIRD], {"own": own_step})

    async with bridges_on_fake(sqlite_url, fake) as tg:
        ada = tg.chat()
        replies = await ada.send("/needs")
        assert f"Loudest: “{WEIRD}”" in replies[0].plain_text
        assert f"First step: “{own_step}”" in replies[0].plain_text


async def test_own_words_that_are_too_long_are_asked_again(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/needs")
        await ada.click("Let's map it")
        before = tg.state()
        replies = await ada.send("x" * 121)
        assert replies[0].plain_text == (
            "That's a bit long for me. Could you keep it under 120 characters?"
        )
        assert tg.state() == before


async def test_not_now_closes_kindly_and_saves_nothing(sqlite_url: str) -> None:
    async with bridges_on_fake(sqlite_url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/needs")
        replies = await ada.click("Not now")
        assert replies[0].plain_text == "That's fine. Whenever you feel like it, /needs is here."
        state = tg.state()
        assert KIND not in state.records and drafts.find(state, "needs") is None


# --- the words behind the ids, and the pure rules ---------------------------------------


@pytest.mark.parametrize(
    ("social", "emotional", "expected"),
    [(3, 1, "social"), (1, 4, "emotional"), (2, 2, "both"), (4, 4, "both"),
     (1, 1, "neither"), (0, 1, "neither"), (2, 3, "emotional"), (None, None, "neither")],
)  # fmt: skip
def test_which_isolation_weighs_more(social: int, emotional: int, expected: str) -> None:
    assert weighs(social, emotional) == expected


def test_equal_ratings_keep_the_order_they_were_asked_in() -> None:
    ratings = {"confidant": 2, "casual": 3, "activities": 2, "group": 0, "bond": 3}
    assert rank(ratings) == ["casual", "bond", "confidant", "activities", "group"]


def test_every_kind_and_idea_has_a_button_and_a_summary_line() -> None:
    catalog = default_catalog()
    for kind in KINDS:
        assert catalog.has_label("en", f"needs.kind.{kind}")
        assert 2 <= len(IDEAS[kind]) <= 3
    for kind, ideas in IDEAS.items():
        for idea in ideas:
            label = catalog.label("en", f"needs.idea.{idea}")
            view = {
                "made": datetime(2026, 1, 2, tzinfo=UTC), "when": ["unsure"], "when_own": [],
                "weighs": "neither", "ranking": [{"kind": k, "rating": 0} for k in KINDS],
                "focus": kind, "goal": "calm", "first_step": {"idea": idea},
            }  # fmt: skip
            text = catalog.render("en", "needs/saved", {"map": view})
            assert f"<b>First step:</b> {label}" in text, idea
            assert "2 Jan 2026" in text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_bridges_dialogs_check_and_graph_needs() -> None:
    check = run_cli("dialogs", "check")
    assert check.returncode == 0, check.stderr
    assert "needs" in check.stdout
    graph = run_cli("dialogs", "graph", "needs")
    assert graph.returncode == 0, graph.stderr
    lines = graph.stdout.splitlines()
    assert lines[:2] == ["flowchart TD", "    start((start)) --> open"]
    for edge in (
        'when -->|"Done"| social',
        'rate -.->|"needs_save_rating"| tie',
        'first_step -->|"✍️ My own idea"| own_step',
        'resume -->|"Pick up where I…"| when',
        "saved --> end_done",
    ):
        assert f"    {edge}" in lines, edge
