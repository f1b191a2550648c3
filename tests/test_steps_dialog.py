"""The ladder (/steps), its reminder and the reflection, as a person lives them: the real PTB
Application on the fake Bot API, a controlled clock, a person in Asia/Kolkata (UTC+5:30)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.sender import send_all
from dialogs import coaching, ladder
from dialogs.hooks import HookCall
from dialogs.hooks.reflect import happened_choices
from dialogs.hooks.reflect import info as reflect_info
from dialogs.hooks.steps import reminder_choices, reminder_info
from dialogs.model import Due, Frame, Profile, Turn, UserState
from dialogs.spec import ChoiceSpec
from prompts import default_catalog
from storage.repository import UserKey
from tests.fakebot import ChatDriver, FakeBotApi
from tests.telegram_harness import FIXED_NOW, Harness, bridges_on_fake, onboard

KEY = UserKey("telegram", "1001")
LABEL = default_catalog().label
# FIXED_NOW is Monday 23 Nov 2026, 09:00 UTC = 14:30 in Kolkata.
TOMORROW_18_KOLKATA = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


def idea(idea_id: str) -> str:
    return LABEL("en", f"steps.idea.{idea_id}")


def data(tg: Harness, kind: str) -> list[dict[str, Any]]:
    return [r.data for r in tg.state().records.get(kind, [])]


def the_ladder(tg: Harness) -> dict[str, Any]:
    found = coaching.ladder(tg.state())
    assert found is not None
    return found.data


async def seed(tg: Harness, change: Callable[[UserState], None]) -> None:
    """Change the stored state directly (records the test needs), in one saved turn."""

    def decide(state: UserState) -> Turn:
        change(state)
        return Turn(state)

    await asyncio.to_thread(tg.bridges.store.run_turn, KEY, decide, FIXED_NOW)


async def scratch_ladder(chat: ChatDriver, need_label: str, ratings: list[str]) -> None:
    """/steps, from scratch: the need, the proposal as it is, one rating per step."""
    await chat.send("/steps")
    await chat.click("Start from scratch")
    await chat.click(need_label)
    await chat.click("Looks good")
    for rating in ratings:
        await chat.click(rating)


async def plan(chat: ChatDriver, step: str, day: str, time: str, backup: str | None) -> None:
    await chat.click("Plan a step")
    await chat.click(step)
    await chat.click(day)
    await chat.send(time)
    if backup is None:
        await chat.click("Skip the backup")
    else:
        await chat.click("Low")
        await chat.click(backup)


async def with_a_plan(
    url: str,
    fake: FakeBotApi,
    ratings: list[str],
    step: str,
    day: str,
    time: str,
    backup: str | None,
) -> None:
    """Someone in Kolkata with the shared-activities ladder (rated `ratings`) who plans one
    step; the caller opens the bot again later, on the same database and fake Telegram."""
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ratings)
        await plan(ada, step, day, time, backup)


ACTIVITIES = ladder.propose("activities", None)  # six steps, easy to hard


# --- building ---------------------------------------------------------------------------


async def test_a_ladder_built_from_the_needs_map_edited_and_rated(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await ada.send("/steps")
        assert "Build it from my needs map" not in " ".join(ada.buttons())  # no map yet
        await ada.send("/needs")  # focus "casual" (emptiest: 4), goal widen
        for label in ("Let's map it", "Mornings", "Done", "1", "3", "1", "4", "2", "0", "3"):
            await ada.click(label)
        await ada.click("🌱 Widen my circle")
        await ada.click("Greet the barista by name")

        await ada.send("/steps")
        await ada.click("Build it from my needs map")
        proposed = ladder.propose("casual", "widen")
        shown = ada.last.plain_text
        assert "toward casual daytime conversations" in shown
        for n, step in enumerate(proposed, start=1):
            assert f"{n}. {idea(step['idea'])}" in shown
        assert shown.index(idea("two_smiles")) < shown.index(idea("barista"))

        await ada.click("Reword a step")
        await ada.click("2")
        await ada.send("Say thanks to the bus driver")
        await ada.click("Take one out")
        await ada.click("7")  # the last, hardest one
        await ada.click("Add my own")
        await ada.send("Call my <b>sister</b>")
        shown = ada.last.plain_text
        assert "2. Say thanks to the bus driver" in shown
        assert idea(proposed[6]["idea"]) not in shown
        assert "7. Call my <b>sister</b>" in shown  # their words, escaped, never markup
        await ada.click("Looks good")
        assert "Step 1 of 7" in ada.last_text
        for rating in ("2", "3", "1", "5", "6", "7", "9"):
            await ada.click(rating)
        assert "Your ladder is ready" in ada.last_text

    saved = the_ladder(tg)
    assert saved["need"] == "casual" and saved["goal"] == "widen"
    assert [s["expected"] for s in saved["steps"]] == [1, 2, 3, 5, 6, 7, 9]  # easy to hard
    ideas = [s["idea"] for s in saved["steps"]]
    assert ideas[:3] == ["barista", "two_smiles", "thank_detail"]  # ordered by their ratings
    assert saved["steps"][2]["text"] == "Say thanks to the bus driver"
    assert saved["steps"][-1] == {"id": 7, "idea": None, "text": "Call my <b>sister</b>",
                                  "expected": 9, "tries": 0, "done": 0}  # fmt: skip
    assert saved["current"] == saved["steps"][0]["id"]


async def test_at_most_eight_steps_and_at_least_one(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await ada.send("/steps")
        await ada.click("Start from scratch")
        await ada.click("Shared activities")
        await ada.click("Add my own")
        await ada.send("Ask Priya to the quiz night")
        await ada.click("Add my own")
        await ada.send("Join the Sunday run")
        assert "Add my own" not in " ".join(ada.buttons())  # eight: full
        for _ in range(7):
            await ada.click("Take one out")
            await ada.click("1")
        assert "Take one out" not in " ".join(ada.buttons())  # the last one stays
        assert "1. Join the Sunday run" in ada.last.plain_text
        await ada.click("Leave it for now")
        assert coaching.ladder(tg.state()) is None  # nothing saved until it is rated


# --- planning ---------------------------------------------------------------------------


async def test_plan_tomorrow_at_six_pm_in_kolkata_with_a_backup(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await plan(ada, "👉", "Tomorrow", "6pm", LABEL("en", "steps.portfolio.quick_text"))
        text = ada.last.plain_text
        first = idea(ACTIVITIES[0]["idea"])
        assert f"Planned: “{first}”, tomorrow at 18:00. I'll remind you then." in text
        assert "your backup is ready: “Send someone a short hello text”" in text
        assert "UTC" not in text  # they have a zone

    owner = coaching.ladder(tg.state())
    assert owner is not None
    assert data(tg, coaching.PLAN) == [
        {
            "ladder": owner.id,
            "step": owner.data["current"],
            "at": TOMORROW_18_KOLKATA.isoformat(),
            "ask_at": (TOMORROW_18_KOLKATA + timedelta(hours=3)).isoformat(),
            "reminded": None,
            "asked": None,
            "closed": False,
            "backup": {"idea": "quick_text"},
        }
    ]
    assert data(tg, coaching.PORTFOLIO) == [ladder.seed_portfolio()]  # seeded on first use


async def test_a_time_already_past_is_asked_again_and_replanning_replaces(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await ada.click("Plan a step")
        await ada.click("👉")
        await ada.click("Today")
        await ada.send("9:00")  # 14:30 in Kolkata already (no button for it any more)
        assert "09:00 has already gone by today. No harm done" in ada.last_text
        assert data(tg, coaching.PLAN) == []
        await ada.send("half past seven in the evening")
        await ada.click("Skip the backup")
        assert "today at 19:30" in ada.last_text
        first = data(tg, coaching.PLAN)[0]
        assert first["at"] == datetime(2026, 11, 23, 14, 0, tzinfo=UTC).isoformat()
        assert "backup" not in first

        await ada.send("/steps")
        await ada.click("Plan a step")
        await ada.click("👉")
        await ada.click("Another day")
        await ada.click("Sun 29")  # the weekday buttons start the day after tomorrow
        await ada.click("12:30")
        await ada.click("Skip the backup")
        assert "on Sunday 29 Nov at 12:30" in ada.last_text
    plans = data(tg, coaching.PLAN)
    assert [p["closed"] for p in plans] == [True, False]  # one open plan per step
    assert plans[1]["at"] == datetime(2026, 11, 29, 7, 0, tzinfo=UTC).isoformat()


async def test_my_backup_options_add_and_remove(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Belonging to a group", ["1", "2", "3", "4", "5", "6"])
        await ada.send("/steps")
        await ada.click("My backup options")
        shown = ada.last.plain_text
        assert "Low energy" in shown and "1. Send someone a short hello text" in shown
        await ada.click("Add my own")
        await ada.click("Plenty")
        await ada.send("Visit the community garden")
        assert "10. Visit the community garden" in ada.last.plain_text
        await ada.click("Take one out")
        await ada.click("1")
        assert "Send someone a short hello text" not in ada.last.plain_text
    folio = data(tg, coaching.PORTFOLIO)[0]
    assert folio["low"] == ladder.seed_portfolio()["low"][1:]
    assert folio["plenty"][-1] == {"text": "Visit the community garden"}


# --- reflecting ---------------------------------------------------------------------------


async def test_reflect_from_steps_expected_7_was_4_then_climb(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["7", "8", "8", "9", "9", "10"])
        await ada.send("/steps")
        assert "How did it go?" not in " ".join(ada.buttons())  # nothing has happened yet
        await plan(ada, "👉", "Tomorrow", "18:00", None)
    later = TOMORROW_18_KOLKATA + timedelta(minutes=40)
    async with bridges_on_fake(url, fake, now=later) as tg:
        ada = tg.chat()
        await ada.send("/steps")
        await ada.click("How did it go?")
        first, second = idea(ACTIVITIES[0]["idea"]), idea(ACTIVITIES[1]["idea"])
        assert f"How did it go with “{first}”? Did it happen?" in ada.last_text
        await ada.click("Yes")
        await ada.click("4")
        assert "You expected 7; it was 4. Easier than it looked" in ada.last_text
        await ada.send("The woman at the desk was friendly")
        await ada.click("Skip")
        await ada.click("Skip")
        buttons = ada.buttons()
        assert buttons[:3] == [f"✨ Climb to: {second}", "Repeat this one", "Stay here a while"]
        await ada.click("Climb to")
        assert f"You're now on “{second}”" in ada.last_text
        assert "A self-compassion break" not in " ".join(ada.buttons())  # not a hard one

    owner = coaching.ladder(tg.state())
    assert owner is not None
    step = owner.data["steps"][0]
    assert data(tg, coaching.REFLECTION) == [
        {
            "ladder": owner.id,
            "step": step["id"],
            "happened": True,
            "expected": 7,
            "actual": 4,
            "easy": "The woman at the desk was friendly",
            "hard": None,
            "adjust": None,
            "choice": "climb",
        }
    ]
    assert (step["tries"], step["done"]) == (1, 1)
    assert owner.data["current"] == owner.data["steps"][1]["id"]
    assert data(tg, coaching.PLAN)[0]["closed"] is True
    assert data(tg, coaching.WIN) == [{"text": f"Ladder step: {first}", "source": "reflection"}]


async def test_a_hard_one_is_offered_compassion_and_a_tiny_truth(url: str) -> None:
    fake = FakeBotApi()
    await with_a_plan(url, fake, ["3", "4", "5", "6", "7", "8"], "👉", "Today", "18:00", None)
    async with bridges_on_fake(url, fake, now=FIXED_NOW + timedelta(hours=5)) as tg:
        ada = tg.chat()
        await ada.send("/steps")
        await ada.click("How did it go?")
        await ada.click("Partly")
        await ada.click("8")
        assert "You expected 3; it was 8. Harder than you expected" in ada.last_text
        await ada.click("Skip")
        await ada.send("My hands were shaking")
        await ada.click("Skip")
        assert ada.buttons()[2] == "✨ Stay here a while"
        await ada.click("Stay here a while")
        assert ada.buttons()[:2] == ["🤲 A self-compassion break", "🌱 One tiny truth"]
        await ada.click("A self-compassion break")
        assert tg.state().top.dialog == "compassion"  # type: ignore[union-attr]
    reflection = data(tg, coaching.REFLECTION)[0]
    assert (reflection["hard"], reflection["choice"]) == ("My hands were shaking", "stay")
    step = the_ladder(tg)["steps"][0]
    assert (step["tries"], step["done"]) == (1, 0)  # partly: tried, not done
    assert the_ladder(tg)["current"] == step["id"]
    assert data(tg, coaching.WIN)[0]["text"].startswith("Ladder step, in part: ")


async def test_it_didnt_happen_brings_kindness_and_a_smaller_step_to_plan(url: str) -> None:
    fake = FakeBotApi()
    walking = idea("walking_group")
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await plan(ada, f"5. {walking}", "Tomorrow", "18:00", None)
    async with bridges_on_fake(url, fake, now=TOMORROW_18_KOLKATA + timedelta(hours=1)) as tg:
        ada = tg.chat()
        await ada.send("/steps")
        await ada.click("How did it go?")
        assert walking in ada.last_text
        await ada.click("It didn't happen")
        text = ada.last_text
        assert "it says nothing bad about you" in text
        smaller = idea("online_group")  # micro, not on the ladder yet, below the walking group
        # A new idea: said to be added now, never as if it had been on the ladder all along.
        assert f"I've added an easier step to your ladder, one rung before it: “{smaller}”" in text
        assert "Here's a smaller step, just below it" not in text
        assert ada.buttons() == ["📅 Plan the smaller step", "Not now"]
        steps = the_ladder(tg)["steps"]
        assert [s["idea"] for s in steps][3:6] == ["online_game", "online_group", "walking_group"]
        assert the_ladder(tg)["current"] == steps[4]["id"] == 7
        reflection = data(tg, coaching.REFLECTION)[0]
        assert (reflection["happened"], reflection["choice"]) == (False, "smaller")
        assert data(tg, coaching.PLAN)[0]["closed"] is True
        assert data(tg, coaching.WIN) == []

        await ada.click("Plan the smaller step")
        assert "Let's find a good moment for it." in ada.transcript()
        assert f"“{smaller}” has no rating yet" in ada.last_text  # rated before trying
        await ada.click("3")
        await ada.click("Today")
        await ada.click("19:30")
        await ada.click("Skip the backup")
        assert f"Planned: “{smaller}”, today at 19:30" in ada.last_text
    # Rated 3, it moves below the step rated 5: easy to hard by their ratings, and still
    # the current step (current is an id).
    ordered = the_ladder(tg)
    assert [s["expected"] for s in ordered["steps"]] == [1, 2, 3, 3, 5, 6, 8]
    assert ordered["steps"][3]["id"] == ordered["current"] == 7
    new_plan = data(tg, coaching.PLAN)[-1]
    assert (new_plan["step"], new_plan["closed"]) == (7, False)


# --- the reminder at the planned minute -------------------------------------------------------


async def remind(tg: Harness, at: datetime) -> None:
    messages = await asyncio.to_thread(tg.bridges.handle, KEY, Due("reminder"), at)
    await send_all(tg.app.bot, tg.bridges.catalog, 1001, messages, None)


async def test_the_reminder_offers_going_the_backup_or_not_today(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await plan(ada, "👉", "Tomorrow", "18:00", LABEL("en", "steps.portfolio.quick_text"))
    first = idea(ACTIVITIES[0]["idea"])
    async with bridges_on_fake(url, fake, now=TOMORROW_18_KOLKATA) as tg:
        ada = tg.chat()
        await remind(tg, TOMORROW_18_KOLKATA)
        assert f"It's time for your step: “{first}”" in ada.last_text
        assert "your backup is ready: “Send someone a short hello text”" in ada.last_text
        assert ada.buttons() == ["🚶 I'm going", "🎒 Use my backup", "Not today"]
        await ada.click("Not today")
        assert "not a failure" in ada.last_text
        await ada.click("Find another time")
        assert "Let's find another time for it." in ada.transcript()
        await ada.click("Tomorrow")
        await ada.click("9:00")
        await ada.click("Skip the backup")
        assert f"Planned: “{first}”, tomorrow at 09:00" in ada.last_text
    plans = data(tg, coaching.PLAN)
    assert plans[0]["reminded"] == TOMORROW_18_KOLKATA.isoformat()  # marked by the sweep
    assert [p["closed"] for p in plans] == [True, False]  # the new time replaced it


async def test_not_today_let_go_is_the_didnt_happen_path(url: str) -> None:
    fake = FakeBotApi()
    await with_a_plan(url, fake, ["1", "2", "3", "5", "6", "8"], "👉", "Tomorrow", "18:00", None)
    async with bridges_on_fake(url, fake, now=TOMORROW_18_KOLKATA) as tg:
        ada = tg.chat()
        await remind(tg, TOMORROW_18_KOLKATA)
        assert ada.buttons() == ["🚶 I'm going", "Not today"]  # no backup chosen
        await ada.click("Not today")
        await ada.click("Let it go for now")
        # Below the first step: a tiny one from the library, never blame.
        assert "an easier step to your ladder" in ada.last_text
        assert "📅 Plan the smaller step" in ada.buttons()
        await ada.click("Not now")
        assert "Be gentle with yourself today." in ada.last_text
    assert data(tg, coaching.REFLECTION)[0]["happened"] is False
    assert data(tg, coaching.PLAN)[0]["closed"] is True


# --- a plan that is gone ------------------------------------------------------------------


def call_with(slots: dict[str, Any], state: UserState | None = None) -> HookCall:
    state = state or UserState(profile=Profile(consented=True, onboarded=True, timezone="UTC"))
    return HookCall(state, Frame("step_reminder", "nudge", slots), None, FIXED_NOW, [])


def test_a_missing_or_closed_plan_says_nothing_harmful() -> None:
    state = UserState(profile=Profile(consented=True, onboarded=True, timezone="UTC"))
    owner = coaching.records.add(
        state, coaching.LADDER, ladder.new_ladder(None, None, ladder.propose(None, None)), FIXED_NOW
    )
    owner.id = 1
    closed = coaching.records.add(
        state, coaching.PLAN, {"ladder": 1, "step": 1, "closed": True}, FIXED_NOW
    )
    closed.id = 2
    catalog = default_catalog()
    for plan_id in (999, 2, "junk"):
        call = call_with({"plan": plan_id}, state)
        ctx = reminder_info(call)
        assert ctx == {"found": False}
        assert [c.id for c in reminder_choices(call)] == ["ok"]
        text = catalog.render("en", "step_reminder/nudge", ctx)
        assert "isn't open any more" in text
        assert reflect_info(call)["status"] == "gone"
        assert [c.id for c in happened_choices(call)] == ["ok"]
        assert "already told me" in catalog.render("en", "reflect/happened", reflect_info(call))
    nothing = call_with({})  # no ladder at all, no slots: an offer to build one
    assert reflect_info(nothing)["status"] == "none"
    assert [c.next for c in happened_choices(nothing)] == ["dialog:steps", "gone"]


# --- editing, a new ladder, no time zone ---------------------------------------------------


async def test_editing_keeps_the_ladder_and_a_new_ladder_is_another(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        top = idea(ACTIVITIES[5]["idea"])
        await plan(ada, f"6. {top}", "Tomorrow", "18:00", None)
        await ada.send("/steps")
        await ada.click("Edit")
        assert "Here's your ladder to change" in ada.last_text
        await ada.click("Take one out")
        await ada.click("6")
        await ada.click("Add my own")
        await ada.send("Quiz night with Sam")
        await ada.click("Looks good")
        assert "Step 6 of 6: “Quiz night with Sam”" in ada.last_text  # only the new one
        await ada.click("4")
        assert "Saved. Your ladder" in ada.last_text
        edited = the_ladder(tg)
        assert len(data(tg, coaching.LADDER)) == 1  # the same ladder, changed
        assert [s["expected"] for s in edited["steps"]] == [1, 2, 3, 4, 5, 6]
        assert edited["steps"][3] == {"id": 7, "idea": None, "text": "Quiz night with Sam",
                                      "expected": 4, "tries": 0, "done": 0}  # fmt: skip
        assert data(tg, coaching.PLAN)[0]["closed"] is True  # its step is gone

        await ada.send("/steps")
        await ada.click("New ladder")
        assert "This one stays in your history" in ada.last_text
        await ada.click("Yes, start a new one")
        await ada.click("Pick what I miss most")
        await ada.click("One deeper bond")
        await ada.click("Looks good")
        for rating in ("1", "2", "3", "4", "5", "6"):
            await ada.click(rating)
    assert [d["need"] for d in data(tg, coaching.LADDER)] == ["activities", "bond"]
    assert the_ladder(tg)["steps"][0]["idea"] == ladder.propose("bond", None)[0]["idea"]


async def test_without_a_time_zone_times_are_utc_and_say_so(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")

        def no_zone(state: UserState) -> None:
            state.profile.timezone = None

        await seed(tg, no_zone)
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await ada.click("Plan a step")
        await ada.click("👉")
        assert "these times are UTC" in ada.last_text
        await ada.click("Tomorrow")
        await ada.click("18:00")
        await ada.click("Skip the backup")
        assert "tomorrow at 18:00" in ada.last_text and "these times are UTC" in ada.last_text
    assert data(tg, coaching.PLAN)[0]["at"] == datetime(2026, 11, 24, 18, 0, tzinfo=UTC).isoformat()


async def test_a_run_left_half_way_is_offered_back(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await ada.click("Plan a step")
        await ada.click("👉")
        await ada.click("Tomorrow")
        await ada.send("/cancel")
        assert "kept what you wrote so far" in ada.last_text
        await ada.send("/steps")
        assert "partway through" in ada.transcript().splitlines()[-4]
        await ada.click("Carry on")
        assert "tomorrow. At what time?" in ada.last_text
        await ada.send("/cancel")
        await ada.send("/steps")
        await ada.click("Start afresh")
        assert "Your ladder" in ada.last_text and "Plan a step" in " ".join(ada.buttons())
    assert data(tg, coaching.PLAN) == []


# --- a new person's trial: backups, endings, words after a rating, times, weekdays ---------

BACKUP = "Send someone a short hello text"  # the first low-energy portfolio option


async def test_it_didnt_happen_shows_the_plans_backup(url: str) -> None:
    fake = FakeBotApi()
    await with_a_plan(url, fake, ["1", "2", "3", "5", "6", "8"], "👉", "Tomorrow", "18:00", BACKUP)
    async with bridges_on_fake(url, fake, now=TOMORROW_18_KOLKATA + timedelta(hours=4)) as tg:
        ada = tg.chat()
        await ada.send("/steps")
        await ada.click("How did it go?")
        await ada.click("It didn't happen")
        assert f"Your backup was “{BACKUP}”. It still counts" in ada.last.plain_text


async def test_not_today_shows_the_backup_once(url: str) -> None:
    fake = FakeBotApi()
    await with_a_plan(url, fake, ["1", "2", "3", "5", "6", "8"], "👉", "Tomorrow", "18:00", BACKUP)
    async with bridges_on_fake(url, fake, now=TOMORROW_18_KOLKATA) as tg:
        ada = tg.chat()
        await remind(tg, TOMORROW_18_KOLKATA)
        await ada.click("Not today")
        assert f"Your backup was “{BACKUP}”. It still counts" in ada.last.plain_text
        await ada.click("Let it go for now")
        assert "Your backup was" not in ada.last.plain_text  # said a moment ago already


async def test_no_backup_no_backup_line(url: str) -> None:
    fake = FakeBotApi()
    await with_a_plan(url, fake, ["1", "2", "3", "5", "6", "8"], "👉", "Tomorrow", "18:00", None)
    async with bridges_on_fake(url, fake, now=TOMORROW_18_KOLKATA) as tg:
        ada = tg.chat()
        await remind(tg, TOMORROW_18_KOLKATA)
        await ada.click("Not today")
        assert "backup" not in ada.last.plain_text.lower()


async def test_done_after_planning_answers(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await plan(ada, "👉", "Tomorrow", "18:00", None)
        said = await ada.click("Done")
        assert said and said[-1].plain_text.strip()
        assert tg.state().top is None  # and the dialog is closed


MY_FLOWS = ("steps", "reflect", "step_reminder")


def test_no_tap_in_my_flows_ends_in_silence() -> None:
    """A tap (or a typed answer) never leads straight to `end`: it goes to a step that says
    something (an `end: true` step with its own words), or on to another step or dialog."""
    from dialogs import hooks
    from dialogs.spec import END, load_dialogs

    dialogs = load_dialogs()
    gone = call_with({"plan": 999})
    for dialog in MY_FLOWS:
        for step in dialogs[dialog].steps.values():
            assert step.next != END, (dialog, step.id)
            assert END not in step.exits, (dialog, step.id)
            for choice in step.choices:
                assert choice.next != END, (dialog, step.id, choice.id)
            if step.end:
                ctx: dict[str, Any] = {"slots": {}}
                for name in step.enter:
                    ctx |= hooks.registry("enter")[name](gone)
                assert default_catalog().render("en", step.prompt, ctx).strip(), step.id


def test_the_gone_and_nothing_buttons_and_hooks_lead_to_words() -> None:
    from dialogs.hooks import reflect

    gone = call_with({"plan": 999})
    nothing = call_with({})
    for call in (gone, nothing):
        for hook in (reminder_choices, happened_choices, reflect.suggest_choices,
                     reflect.smaller_choices):  # fmt: skip
            assert all(c.next != "end" for c in hook(call)), hook
    for hook in (reflect.begin, reflect.save, reflect.not_happened):
        assert hook(gone) == "gone"


def reflect_call(expected: int, actual: int, happened: str, hard: str | None) -> HookCall:
    state = UserState(profile=Profile(consented=True, onboarded=True, timezone="UTC"))
    owner = coaching.records.add(
        state, coaching.LADDER, ladder.new_ladder(None, None, ladder.propose(None, None)), FIXED_NOW
    )
    owner.id = 1
    first = owner.data["steps"][0]
    first["expected"] = expected
    tip = ladder.suggest(expected, actual, True, happened == "partly")
    slots = {"ladder": 1, "step": first["id"], "plan": None, "happened": happened,
             "actual": actual, "hard": hard, "suggestion": tip, "choice": tip}  # fmt: skip
    return HookCall(state, Frame("reflect", "suggest", slots), None, FIXED_NOW, [])


EASIER = ("easier than", "more easily", "that went well", "lighter than")  # claims, not questions
HARDER = ("harder than", "more than you expected")
SAME = ("just as you", "as you expected", "as hard as you")
HEAVY = ("asked a lot", "took a lot")


@pytest.mark.parametrize("happened", ["yes", "partly"])
@pytest.mark.parametrize("hard", [None, "My hands shook"])
def test_the_words_after_a_rating_follow_the_comparison(happened: str, hard: str | None) -> None:
    from dialogs.hooks.reflect import saved_info

    catalog = default_catalog()
    for expected in range(11):
        for actual in range(11):
            call = reflect_call(expected, actual, happened, hard)
            ctx = reflect_info(call) | saved_info(call) | {"slots": call.frame.slots}
            last = "hard_offer" if actual >= 7 or hard else "saved"
            said = " ".join(
                catalog.render("en", f"reflect/{name}", ctx).lower()
                for name in ("easy", "suggest", last)
            )
            case = (expected, actual, happened, hard, said)
            if actual < expected:
                assert not any(w in said for w in HARDER + SAME), case
            elif actual == expected:
                assert not any(w in said for w in EASIER + HARDER), case
            else:
                assert not any(w in said for w in EASIER + SAME), case
            if actual < 7:
                assert not any(w in said for w in HEAVY), case


def test_today_offers_only_times_still_ahead() -> None:
    from dialogs.hooks.steps import time_choices

    at_0901 = FIXED_NOW + timedelta(minutes=1)  # 09:01 UTC, the person's zone is UTC
    call = HookCall(
        UserState(profile=Profile(consented=True, onboarded=True, timezone="UTC")),
        Frame("steps", "plan_time", {"day": at_0901.date().isoformat()}),
        None,
        at_0901,
        [],
    )
    assert [c.value for c in time_choices(call)] == ["12:30", "18:00", "19:30"]
    call.frame.slots["day"] = (at_0901 + timedelta(days=1)).date().isoformat()
    assert [c.value for c in time_choices(call)] == ["09:00", "12:30", "18:00", "19:30"]


async def test_today_buttons_in_kolkata_and_none_left_late_in_the_evening(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:  # 14:30 in Kolkata
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await ada.click("Plan a step")
        await ada.click("👉")
        await ada.click("Today")
        assert ada.buttons() == ["18:00", "19:30", "« Another day"]
    late = FIXED_NOW + timedelta(hours=6)  # 20:30 in Kolkata: every quick time has gone by
    async with bridges_on_fake(url, fake, now=late) as tg:
        ada = tg.chat()
        await ada.send("/steps")
        await ada.click("Start afresh")  # the plan left half-way above
        await ada.click("Plan a step")
        await ada.click("👉")
        await ada.click("Today")
        assert "gone by for today" in ada.last.plain_text
        assert ada.buttons() == ["Tomorrow instead", "« Another day"]
        await ada.click("Tomorrow instead")
        assert "tomorrow. At what time?" in ada.last.plain_text
        assert ada.buttons() == ["9:00", "12:30", "18:00", "19:30", "« Another day"]
        await ada.send("21:45")  # typed times work as before
        await ada.click("Skip the backup")
        assert "tomorrow at 21:45" in ada.last.plain_text


@pytest.mark.parametrize(
    ("typed", "day"),
    [("Saturday", 28), ("sat", 28), ("friday", 27), ("FRI", 27), ("Mon", 30), ("tue", 1),
     ("on Wednesday, please", 25), ("Sat 28", 28)],
)  # fmt: skip
def test_a_typed_weekday_picks_its_button(typed: str, day: int) -> None:
    from dialogs.hooks.steps import pick_weekday

    state = UserState(profile=Profile(consented=True, onboarded=True, timezone="Asia/Kolkata"))
    [button] = named_by(state, typed)  # the dialog manager taps the one button the words name
    call = HookCall(state, Frame("steps", "plan_weekday", {}), button.value, FIXED_NOW, [])
    assert pick_weekday(call) == "plan_time"
    assert int(call.frame.slots["day"][-2:]) == day


@pytest.mark.parametrize("typed", ["someday", "saturday or sunday", "satisfied", "next week"])
def test_words_without_one_clear_weekday_are_asked_again_kindly(typed: str) -> None:
    from dialogs.hooks.steps import pick_weekday

    state = UserState(profile=Profile(consented=True, onboarded=True, timezone="Asia/Kolkata"))
    assert len(named_by(state, typed)) != 1  # no button tapped: the dialog manager asks again
    stale = HookCall(state, Frame("steps", "plan_weekday", {}), "2026-01-01", FIXED_NOW, [])
    assert pick_weekday(stale) == "plan_weekday"  # a day no longer offered: asked again
    assert "day" not in stale.frame.slots


def named_by(state: UserState, typed: str) -> list[ChoiceSpec]:
    """The weekday buttons whose `words` the typed words name (the dialog manager's rule for
    ChoiceSpec.words, dialogs/manager.py `_match_choice`)."""
    from dialogs.hooks.steps import weekdays
    from dialogs.inputs import fold

    call = HookCall(state, Frame("steps", "plan_weekday", {}), None, FIXED_NOW, [])
    words = set(fold(typed).split())
    return [c for c in weekdays(call) if words & set(c.words)]


async def test_typing_a_weekday_at_another_day(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await ada.click("Plan a step")
        await ada.click("👉")
        await ada.click("Another day")
        assert "Sat 28" in ada.buttons()
        await ada.send("someday")
        assert "not sure which of these you mean" in ada.last.plain_text
        assert "Sat 28" in ada.buttons()
        await ada.send("on saturday please")
        assert "on Saturday 28 Nov. At what time?" in ada.last.plain_text
        await ada.click("« Another day")
        await ada.click("Another day")
        await ada.send("I feel so alone today")  # a feeling is listened to, not re-asked
        assert "not sure which of these" not in ada.transcript().split("I feel so alone")[-1]
        await ada.send("/steps")
        await ada.click("Carry on")  # the plan left half-way is offered back
        await ada.send("FRI")  # a short name, any case
        assert "on Friday 27 Nov. At what time?" in ada.last.plain_text
        await ada.click("« Another day")
        await ada.click("Another day")
        await ada.click("Fri 27")  # the buttons still work
        await ada.send("18:00")
        await ada.click("Skip the backup")
        assert "on Friday 27 Nov at 18:00" in ada.last.plain_text


async def test_a_plan_in_quiet_hours_says_when_the_reminder_really_comes(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["1", "2", "3", "5", "6", "8"])
        await plan(ada, "👉", "Tomorrow", "22:30", None)  # quiet hours: 21:00-08:00
        said = ada.last.plain_text
        assert "tomorrow at 22:30" in said
        assert "inside your quiet hours" in said and "I'll remind you then" not in said
        await ada.send("/steps")
        await plan(ada, "👉", "Tomorrow", "18:00", None)
        assert "I'll remind you then" in ada.last.plain_text


async def test_did_it_happen_takes_their_own_words(url: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(url, fake) as tg:
        ada = tg.chat()
        await onboard(ada, "Kolkata")
        await scratch_ladder(ada, "Shared activities", ["7", "8", "8", "9", "9", "10"])
        await plan(ada, "👉", "Tomorrow", "18:00", None)
    later = TOMORROW_18_KOLKATA + timedelta(minutes=40)
    async with bridges_on_fake(url, fake, now=later) as tg:
        ada = tg.chat()
        await ada.send("/steps")
        await ada.click("How did it go?")
        await ada.send("yes I did it!")
        assert "0 to 10" in ada.last_text or "0-10" in ada.last_text or "How hard" in ada.last_text
        await ada.send("4/10")  # as the ladder prints ratings
        assert "You expected 7; it was 4." in ada.last_text


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("I went!", "yes"),
        ("nope, skipped it", "no"),
        ("I did not go", None),  # "did" and "not": two buttons named, so neither
        ("never went in the end", None),
        ("kind of, half of it", "partly"),
    ],
)
async def test_did_it_happen_typed_in_words(url: str, typed: str, answer: str | None) -> None:
    """Typed words answer "Did it happen?" only when they name one button; a negation is
    never read as "Yes"."""
    fake = FakeBotApi()
    await with_a_plan(url, fake, ["7", "8", "8", "9", "9", "10"], "👉", "Tomorrow", "18:00", None)
    later = TOMORROW_18_KOLKATA + timedelta(minutes=40)
    async with bridges_on_fake(url, fake, now=later) as tg:
        ada = tg.chat()
        await ada.send("/steps")
        await ada.click("How did it go?")
        await ada.send(typed)
        said = ada.last_text
        if answer == "yes":
            assert said.startswith("You did it.")
        elif answer == "partly":
            assert said.startswith("Part of it counts.")
        elif answer == "no":
            assert "Yes" not in ada.buttons() and not said.startswith(("You did", "Part of"))
        else:
            # Not taken as an answer: the listening reply, with the way back to the question.
            assert "the last button takes you back" in said
            assert not any(r.get("happened") for r in data(tg, coaching.REFLECTION))
