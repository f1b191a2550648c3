"""The safety plan (/plan) as a person lives it: seven gentle parts, skippable, changeable later.

The real PTB Application on the fake Bot API. The plan is one "safety_plan" record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.safety_net_setup import add_person, fill_plan, labels
from tests.telegram_harness import Harness, bridges_on_fake, onboard

WRITTEN = ("warning_signs", "coping", "distractions", "professionals", "safe_space", "reasons")


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


def plan(tg: Harness) -> dict[str, list[str]] | None:
    found = tg.state().records.get("safety_plan", [])
    assert len(found) <= 1, "one plan, not one per visit"
    return found[0].data if found else None


async def test_a_first_plan_goes_part_by_part_and_skipped_parts_stay_empty(tg: Harness) -> None:
    # What the person reads: tests/transcripts/plan_with_a_person.chat.
    ada = tg.chat()
    await onboard(ada)
    await add_person(ada, "Anna", "anna_k")
    await fill_plan(ada)
    assert plan(tg) == {
        "warning_signs": ["I stop answering messages"],
        "coping": ["a hot shower"],
        "distractions": [],
        "professionals": ["Dr Mendes, 555 0134"],
        "safe_space": [],
        "reasons": ["my niece's wedding in May"],
    }


async def test_parts_are_changed_later_from_the_overview(tg: Harness) -> None:
    # What the person reads: tests/transcripts/plan_change_a_part.chat.
    ada = tg.chat()
    await onboard(ada)
    await add_person(ada, "Anna", "anna_k")
    await fill_plan(ada)
    replies = await ada.send("/plan")
    assert replies[0].plain_text.startswith("Your safety plan 🌱\n\nMy warning signs\n")
    assert replies[1].plain_text == "Which part would you like to look at or change?"
    await ada.click("On my own")
    await ada.send("walk to the river")
    await ada.click("Take a line out")
    await ada.click("a hot shower")
    await ada.click("Save")
    assert plan(tg)["coping"] == ["walk to the river"]  # type: ignore[index]

    # A skipped part, filled in later; and "Keep them all" leaves a part as it was.
    await ada.click("A safer space")
    await ada.send("ask Anna to keep my spare keys")
    await ada.click("Take a line out")
    replies = await ada.click("Keep them all")
    assert "• ask Anna to keep my spare keys" in replies[0].plain_text
    await ada.click("Save")
    assert plan(tg)["safe_space"] == ["ask Anna to keep my spare keys"]  # type: ignore[index]
    # Opening a part and saving it unchanged keeps it; the other parts are untouched.
    await ada.click("Warning signs")
    await ada.click("Save")
    assert plan(tg) == {
        "warning_signs": ["I stop answering messages"],
        "coping": ["walk to the river"],
        "distractions": [],
        "professionals": ["Dr Mendes, 555 0134"],
        "safe_space": ["ask Anna to keep my spare keys"],
        "reasons": ["my niece's wedding in May"],
    }
    replies = await ada.click("Done")
    assert replies[0].plain_text.startswith("Your plan is saved.")


async def test_the_people_part_is_the_reach_out_list(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/plan")
    await ada.click("Let's start")
    for _ in range(3):
        await ada.click("Skip for now")
    assert "Your reach-out list is empty for now." in ada.last.plain_text
    assert labels(ada.last) == ["Next part ›", "➕ Add someone now"]
    replies = await ada.click("Add someone now")
    assert "Who's someone you could reach out to?" in replies[-1].plain_text
    assert plan(tg) is not None  # what they wrote so far is kept
    await ada.send("Anna")
    await ada.click("Telegram username")
    await ada.send("anna_k")
    await ada.click("Skip")
    await ada.click("Done for now")
    replies = await ada.send("/plan")
    assert "People I can ask for help\nAnna" in replies[0].plain_text
    await ada.click("People to ask")
    assert "1. Anna: @anna_k" in ada.last.plain_text
    assert labels(ada.last) == ["« Back to my plan", "👥 Change my list"]
    replies = await ada.click("Back to my plan")
    assert replies[0].plain_text == "Which part would you like to look at or change?"


async def test_not_now_keeps_nothing(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/plan")
    replies = await ada.click("Not now")
    assert replies[0].plain_text.startswith("That's okay. Whenever you feel like it, /plan is here")
    assert plan(tg) is None
    replies = await ada.send("/plan")
    assert replies[0].plain_text.startswith("A safety plan is a short note from you, to you")


async def test_leaving_half_way_keeps_a_draft_to_carry_on_from(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/plan")
    await ada.click("Let's start")
    await ada.click("Skip for now")
    replies = await ada.send("x" * 101)
    assert (
        replies[0].plain_text == "That's a bit long for me. Could you keep it under 100 characters?"
    )
    await ada.send("a hot shower")
    replies = await ada.send("/cancel")
    assert "I've kept what you wrote so far as a draft" in replies[0].plain_text
    replies = await ada.send("/plan")
    assert replies[-1].plain_text == (
        "You were part-way through your plan, at Things I can do on my own to feel a bit "
        "better. Shall we carry on from there, or look at the plan as it is?"
    )
    replies = await ada.click("Carry on where I was")
    assert "• a hot shower" in replies[-1].plain_text
    await ada.click("Next part")
    assert plan(tg)["coping"] == ["a hot shower"]  # type: ignore[index]


async def test_a_warning_sign_with_crisis_words_brings_help_once_then_is_kept(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/plan")
    await ada.click("Let's start")
    await ada.send("I stop answering messages")
    sign = "when I start thinking about ending it"
    replies = await ada.send(sign)
    assert replies[0].plain_text.startswith("I'm really glad you told me.")
    assert plan(tg) is None or sign not in repr(plan(tg))  # not kept until they say so
    assert "📝 Keep it as my answer" in labels(replies[-1])
    replies = await ada.click("Keep it as my answer")
    assert replies[0].plain_text.startswith("I've kept it as your answer.")
    assert "• I stop answering messages\n• when I start thinking about ending it" in (
        replies[-1].plain_text
    )
    await ada.click("Next part")
    assert plan(tg)["warning_signs"] == ["I stop answering messages", sign]  # type: ignore[index]


async def test_crisis_words_in_a_part_are_not_kept_unless_they_choose(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/plan")
    await ada.click("Let's start")
    await ada.send("I stop answering messages")
    await ada.send("I keep thinking about ending my life")
    await ada.click("Yes, I'm safe")
    replies = await ada.click("Back to what I was doing")
    assert "• I stop answering messages" in replies[-1].plain_text
    assert "ending my life" not in repr(tg.state())


async def test_the_longest_plan_moves_on_by_itself_and_still_fits(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/plan")
    await ada.click("Let's start")
    for part in WRITTEN:
        if part == "professionals":
            await ada.click("Next part")  # the people part
        for i in range(5):  # the fifth line moves on by itself
            await ada.send(f"{part} {i} " + "w" * (97 - len(part)))
    assert ada.last.plain_text.startswith("That's your plan, in your own words.")
    saved = plan(tg)
    assert saved is not None and all(len(saved[part]) == 5 for part in WRITTEN)
    assert all(len(line) == 100 for part in WRITTEN for line in saved[part])
    # The whole plan in one message (the fake Bot API refuses more than 4096 characters).
    replies = await ada.send("/plan")
    assert len(replies[0].plain_text) <= 4096
    await ada.send("Need a quick chat?")
    replies = await ada.click("My kit and plan")
    assert len(replies[0].plain_text) <= 4096
    assert "From your safety plan" in replies[0].plain_text
