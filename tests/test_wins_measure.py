"""The victory log (/wins) and the loneliness measure (/measure), end to end.

Transcripts through the real Application on the fake Bot API.
"""

from __future__ import annotations

import asyncio
import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dialogs import coaching, records
from dialogs.hooks import HookCall
from dialogs.hooks.measure import measure_intro, ucla_trend
from dialogs.hooks.wins import PAGE, past_win
from dialogs.model import Frame, Profile, Record, Turn, UserState
from prompts import default_catalog
from storage.repository import UserKey
from tests.fakebot import ChatDriver, FakeBotApi
from tests.telegram_harness import FIXED_NOW, Harness, bridges_on_fake, onboard

ADA = UserKey("telegram", "1001")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


async def seed(tg: Harness, kind: str, data: dict[str, Any], at: datetime) -> None:
    """Save one record for Ada as if made at `at` (a check-in's win, a contact...)."""

    def decide(state: UserState) -> Turn:
        records.add(state, kind, data, at)
        return Turn(state)

    await asyncio.to_thread(tg.bridges.store.run_turn, ADA, decide, at)


def wins_in(text: str) -> list[str]:
    """The win lines of a /wins screen, top to bottom, without their dates."""
    return [
        line[2:].split(" (", 1)[0] for line in plain(text).splitlines() if line.startswith("• ")
    ]


def plain(text: str) -> str:
    """A message as the person reads it: tags gone, entities back to characters."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


# --- the victory log ---------------------------------------------------------------------


async def test_an_empty_log_invites_a_first_win(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/wins")
        assert "Nothing here yet" in ada.last_text
        assert ada.buttons() == ["✍️ Add a win", "Close"]
        await ada.click("Close")
        assert "Your wins are kept here" in ada.last_text
        assert tg.state().stack == []


async def test_wins_are_listed_newest_first_including_a_typed_one(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        await onboard(tg.chat())
        await seed(tg, coaching.WIN, {"text": "Said hi to Sam", "source": "checkin"}, FIXED_NOW)
        day2 = FIXED_NOW + timedelta(days=1)
        await seed(tg, coaching.WIN, {"text": "Went to the class", "source": "reflection"}, day2)
    async with bridges_on_fake(url, fake, now=FIXED_NOW + timedelta(days=2)) as tg:
        ada = tg.chat()
        await ada.send("/wins")
        assert wins_in(ada.last_text) == ["Went to the class", "Said hi to Sam"]
        assert "(24 Nov, after a step)" in ada.last_text
        assert "(23 Nov, from a check-in)" in ada.last_text
        assert "Small wins count" in ada.last_text
        await ada.click("Add a win")
        assert tg.state().top.step == "add"  # type: ignore[union-attr]
        await ada.send("x" * 301)
        assert tg.state().records.get(coaching.WIN, []).__len__() == 2  # too long: not kept
        await ada.send("Called my brother <3")
        assert "Noted 💛" in ada.last_text
        assert wins_in(ada.last_text) == [
            "Called my brother <3",
            "Went to the class",
            "Said hi to Sam",
        ]
        await ada.click("Close")
    saved = tg.state().records[coaching.WIN]
    assert saved[-1].data == {"text": "Called my brother <3", "source": "typed"}
    assert saved[-1].created_at == FIXED_NOW + timedelta(days=2)


async def test_more_than_a_page_of_wins_pages_on_to_older_ones(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        for n in range(PAGE + 2):  # win 0 is the oldest
            at = FIXED_NOW - timedelta(days=PAGE + 2 - n)
            await seed(tg, coaching.WIN, {"text": f"Win {n}", "source": "typed"}, at)
        await ada.send("/wins")
        newest = [f"Win {n}" for n in range(PAGE + 1, 1, -1)]
        assert wins_in(ada.last_text) == newest
        assert "2 more further back" in ada.last_text
        await ada.click("Show older")
        assert wins_in(ada.last_text) == ["Win 1", "Win 0"]
        assert "Show older" not in " ".join(ada.buttons())
        await ada.click("Back to the newest")
        assert wins_in(ada.last_text) == newest


def test_past_win_is_an_old_win_chosen_by_the_date_and_none_without_one() -> None:
    now = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    state = UserState(profile=Profile(timezone="Europe/Lisbon"))
    assert past_win(state, now) is None
    fresh = Record(
        coaching.WIN, {"text": "This morning", "source": "typed"}, 1, now - timedelta(hours=3)
    )
    state.records[coaching.WIN] = [fresh]
    assert past_win(state, now) is None  # a win from today is not a memory yet
    old = [
        Record(
            coaching.WIN,
            {"text": f"Old {n}", "source": "typed"},
            n + 2,
            now - timedelta(days=n + 2),
        )
        for n in range(6)
    ]
    state.records[coaching.WIN] = [*old, fresh]
    picked = past_win(state, now)
    assert picked in {r.data["text"] for r in old}
    assert past_win(state, now + timedelta(hours=10)) == picked  # same local date, same win
    across_a_month = {past_win(state, now + timedelta(days=d)) for d in range(30)}
    assert len(across_a_month) > 1  # it does change from day to day


# --- the loneliness measure ----------------------------------------------------------------


async def measure(chat: ChatDriver, answers: tuple[str, str, str], typed: bool = False) -> str:
    """/measure, yes, three answers (tapped, or typed when `typed`); the result, as read."""
    await chat.send("/measure")
    await chat.click("Let's do it")
    for answer in answers:
        await (chat.send(answer) if typed else chat.click(answer))
    return plain(chat.last_text)


async def test_three_measures_on_three_dates_show_the_trend(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        first = await measure(ada, ("Often", "Often", "Often"))
        assert "Today's score: 9" in first
        assert "→" not in first and "starting point" in first
        assert "👥 Add someone to my reach-out list" in ada.buttons()
        await ada.click("Done")
    async with bridges_on_fake(url, fake, now=FIXED_NOW + timedelta(days=14)) as tg:
        ada = tg.chat()
        second = await measure(ada, ("3", "some of the time", "2"), typed=True)
        assert "Today's score: 7" in second and "9 (23 Nov) → 7 (today)" in second
        assert "lower than last time" in second
    async with bridges_on_fake(url, fake, now=FIXED_NOW + timedelta(days=28)) as tg:
        ada = tg.chat()
        third = await measure(ada, ("Hardly ever", "Some of the time", "Some of the time"))
        assert "Your scores so far: 9 (23 Nov) → 7 (7 Dec) → 5 (today)" in third
        assert "lower than last time" in third
        await ada.click("Done")
        assert tg.state().stack == []
    saved = [r.data for r in tg.state().records[coaching.UCLA]]
    assert saved == [
        {"items": [3, 3, 3], "total": 9},
        {"items": [3, 2, 2], "total": 7},
        {"items": [1, 2, 2], "total": 5},
    ]
    days = [FIXED_NOW + timedelta(days=d) for d in (0, 14, 28)]
    assert ucla_trend(tg.state()) == list(zip(days, [9, 7, 5], strict=True))


async def test_a_higher_score_gets_kind_words_and_no_reach_out_button_with_a_list(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        await measure(ada, ("Hardly ever", "Hardly ever", "Hardly ever"))
        await ada.click("👥 Add someone to my reach-out list")
        assert tg.state().top.dialog == "contacts"  # type: ignore[union-attr]
        await seed(tg, "contact", {"name": "Sam", "reach": "other"}, FIXED_NOW)
    async with bridges_on_fake(url, fake, now=FIXED_NOW + timedelta(days=14)) as tg:
        ada = tg.chat()
        result = await measure(ada, ("Often", "Hardly ever", "Hardly ever"))
        assert "3 (23 Nov) → 5 (today)" in result and "higher than last time" in result
        assert "not your fault" in result
        assert ada.buttons() == ["Done"]


async def test_skipping_saves_nothing(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/measure")
        assert "you can skip it" in ada.last_text
        await ada.click("Skip for now")
        assert "another time" in ada.last_text
        await ada.send("/measure")
        await ada.send("not now")  # "means: no" takes plain words too
        assert "another time" in ada.last_text
        await ada.send("/measure")
        await ada.click("Let's do it")
        await ada.click("Often")
        await ada.send("/cancel")  # stopped half-way: nothing half-saved either
        assert tg.state().stack == []
    assert tg.state().records.get(coaching.UCLA, []) == []


def test_the_scheduled_intro_says_it_has_been_two_weeks() -> None:
    """The scheduler opens the measure with slots {"scheduled": true} (lead's contract)."""
    state = UserState(profile=Profile(timezone="Europe/Lisbon"))
    state.records[coaching.UCLA] = [
        Record(coaching.UCLA, {"items": [2, 2, 2], "total": 6}, 1, FIXED_NOW)
    ]
    catalog = default_catalog()

    def intro(slots: dict[str, Any]) -> str:
        frame = Frame("measure", "intro", slots)
        call = HookCall(state, frame, None, FIXED_NOW + timedelta(days=14), [])
        return catalog.render("en", "measure/intro", {"slots": slots, **measure_intro(call)})

    assert "about two weeks since" in intro({"scheduled": True})
    assert "(23 Nov)" in intro({"scheduled": True})
    assert "two weeks" not in intro({})
    state.records[coaching.UCLA] = []
    assert "couple of weeks" in intro({"scheduled": True})


async def test_two_measures_on_one_day_read_right(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        await measure(ada, ("Often", "Often", "Some of the time"))
        await ada.click("Done")
        second = await measure(ada, ("Some of the time", "Hardly ever", "Some of the time"))
        assert "Your scores so far: 8 (earlier today) → 5 (today)" in second
        assert "23 Nov" not in second  # no "23 Nov · 23 Nov" line
    async with bridges_on_fake(url, fake, now=FIXED_NOW + timedelta(days=14)) as tg:
        ada = tg.chat()
        third = await measure(ada, ("Often", "Hardly ever", "Hardly ever"))
        assert "Your scores so far: 8 (23 Nov) → 5 (same day) → 5 (today)" in third
        assert "About the same as last time" in third


async def test_words_typed_on_the_log_are_answered_never_noted_as_a_win(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/wins")
        assert "Add a win" in ada.last_text  # the empty log says how to note one
        await ada.send("I feel so alone today")  # a feeling, not a win
        assert "Noted" not in ada.last_text
        assert coaching.WIN not in tg.state().records
        await ada.send("/wins")
        await ada.click("Add a win")
        await ada.send("I feel so alone today")  # typed where a win is asked: asked first
        assert "might be heavy" in ada.last_text and "Noted" not in ada.last_text
        assert "💬 Need a quick chat?" in ada.buttons()
        await ada.click("Back to my wins")  # not a win: forgotten
        assert coaching.WIN not in tg.state().records
        assert "alone" not in str(tg.state().top)
        await ada.click("Add a win")
        await ada.send("Went to the pottery class alone")  # reads alike, but a win
        await ada.click("Yes, it's a win")
        assert wins_in(ada.last_text) == ["Went to the pottery class alone"]
        await ada.click("Add a win")
        await ada.send("Chatted with the baker")
        assert "Noted 💛" in ada.last_text
        assert wins_in(ada.last_text)[0] == "Chatted with the baker"
    saved = [r.data for r in tg.state().records[coaching.WIN]]
    assert saved == [
        {"text": "Went to the pottery class alone", "source": "typed"},
        {"text": "Chatted with the baker", "source": "typed"},
    ]
