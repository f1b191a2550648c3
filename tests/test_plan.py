"""The safety plan (/plan) as a person lives it: seven gentle parts, skippable, changeable later.

The real PTB Application on the fake Bot API. The plan is one "safety_plan" record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakebot import ChatDriver
from tests.fakebot.transcript import render
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


def mark(chat: ChatDriver) -> int:
    return len(chat.fake.history(chat.chat_id))


def since(chat: ChatDriver, start: int) -> str:
    return render(chat.fake.history(chat.chat_id, since=start))


FIRST_PARTS = """\
you: /plan
bot: A safety plan is a short note from you, to you, for a moment when things feel too much. You write it on a calmer day, so the hard day doesn't have to find the words.
     
     It has seven small parts. Skip any you like, and change any of it later. <b>Need a quick chat?</b> shows it whenever you need it.
bot: Shall we start with the first part? It takes a few minutes, and you can stop whenever you want.
     [🌱 Let's start]
     [Not now]
you: [🌱 Let's start]
bot: <b>1 of 7 · My warning signs</b>
     
     What tells you a hard patch might be starting? It could be a thought, a feeling, or something you notice yourself doing. For example “I stop answering messages” or “I lie awake going over things”.
     
     Send one at a time, as many as you like. If nothing comes to mind, you can skip it and come back another day.
     [Skip for now ›]
you: I stop answering messages
bot: <b>1 of 7 · My warning signs</b>
     
     <b>So far:</b>
     • I stop answering messages
     
     Send another, or tap <b>Next part</b> when this feels like enough.
     [Next part ›]
     [🗑 Take a line out]
you: [Next part ›]
bot: <b>2 of 7 · Things I can do on my own to feel a bit better</b>
     
     What helps you a little, even for ten minutes, without needing anyone else? A shower, a walk round the block, a favourite song, something warm to drink.
     
     Send one at a time, as many as you like. If nothing comes to mind, you can skip it and come back another day.
     [Skip for now ›]
you: a hot shower
bot: <b>2 of 7 · Things I can do on my own to feel a bit better</b>
     
     <b>So far:</b>
     • a hot shower
     
     Send another, or tap <b>Next part</b> when this feels like enough.
     [Next part ›]
     [🗑 Take a line out]
you: [Next part ›]
bot: <b>3 of 7 · People and places that take my mind off things</b>
     
     Where could you go, or who could you be around, to feel a bit less alone, without having to talk about how you feel? A café, a library, a park bench, a friend's kitchen, a game night.
     
     Send one at a time, as many as you like. If nothing comes to mind, you can skip it and come back another day.
     [Skip for now ›]
you: [Skip for now ›]
bot: <b>4 of 7 · People I can ask for help</b>
     
     These are the people on your reach-out list. They're part of your plan already, and <b>Need a quick chat?</b> gives you their one-tap links.
     
     1. <b>Anna</b>: @anna_k
         ✉️ “Need a quick chat?”
     
     You can change the list any time with /contacts.
     [Next part ›]
     [👥 Change my list]"""

DONE = """\
you: my niece's wedding in May
bot: <b>7 of 7 · My reasons to keep going</b>
     
     <b>So far:</b>
     • my niece&#39;s wedding in May
     
     Send another, or tap <b>Save</b> when this feels like enough.
     [✅ Save]
     [🗑 Take a line out]
you: [✅ Save]
bot: That's your plan, in your own words. 🌱 Thank you for making it; these aren't easy things to think about.
     
     <b>My warning signs</b>
     • I stop answering messages
     
     <b>Things I can do on my own to feel a bit better</b>
     • a hot shower
     
     <b>People and places that take my mind off things</b>
     <i>nothing here yet</i>
     
     <b>People I can ask for help</b>
     Anna
     
     <b>Professionals and helplines</b>
     • Dr Mendes, 555 0134
     
     <b>Making my space safer</b>
     <i>nothing here yet</i>
     
     <b>My reasons to keep going</b>
     • my niece&#39;s wedding in May
     
     /plan brings it back whenever you want it, and <b>Need a quick chat?</b> shows it on a hard day.
     [✏️ Change a part]
     [👍 Done]
you: [👍 Done]
bot: Your plan is saved. /plan brings it back, and <b>Need a quick chat?</b> shows it when you need it."""


async def test_a_first_plan_goes_part_by_part_and_skipped_parts_stay_empty(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await add_person(ada, "Anna", "anna_k")
    start = mark(ada)
    await fill_plan(ada)
    seen = since(ada, start)
    assert seen.startswith(FIRST_PARTS + "\n")
    # The last part says "Save"; after "Done" nothing follows: the menu it covered is a
    # screen to read, never brought back.
    assert seen.endswith("\n" + DONE)
    assert plan(tg) == {
        "warning_signs": ["I stop answering messages"],
        "coping": ["a hot shower"],
        "distractions": [],
        "professionals": ["Dr Mendes, 555 0134"],
        "safe_space": [],
        "reasons": ["my niece's wedding in May"],
    }


EDITED = """\
you: [✅ On my own]
bot: <b>Things I can do on my own to feel a bit better</b>
     
     <b>So far:</b>
     • a hot shower
     
     Send another, or tap <b>Save</b> when this feels like enough.
     [✅ Save]
     [🗑 Take a line out]
you: walk to the river
bot: <b>Things I can do on my own to feel a bit better</b>
     
     <b>So far:</b>
     • a hot shower
     • walk to the river
     
     Send another, or tap <b>Save</b> when this feels like enough.
     [✅ Save]
     [🗑 Take a line out]
you: [🗑 Take a line out]
bot: Which line shall I take out of <b>Things I can do on my own to feel a bit better</b>? It goes when you save this part.
     [🗑 a hot shower]
     [🗑 walk to the river]
     [« Keep them all]
you: [🗑 a hot shower]
bot: <b>Things I can do on my own to feel a bit better</b>
     
     <b>So far:</b>
     • walk to the river
     
     Send another, or tap <b>Save</b> when this feels like enough.
     [✅ Save]
     [🗑 Take a line out]
you: [✅ Save]
bot: Saved: <b>Things I can do on my own to feel a bit better</b>. It holds 1 line now.
bot: Which part would you like to look at or change?
     [✅ Warning signs] [✅ On my own]
     [✏️ People and places] [✅ People to ask]
     [✅ Professionals] [✏️ A safer space]
     [✅ Reasons to keep going] [👍 Done]"""


async def test_parts_are_changed_later_from_the_overview(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await add_person(ada, "Anna", "anna_k")
    await fill_plan(ada)
    replies = await ada.send("/plan")
    assert replies[0].plain_text.startswith("Your safety plan 🌱\n\nMy warning signs\n")
    assert replies[1].plain_text == "Which part would you like to look at or change?"
    start = mark(ada)
    await ada.click("On my own")
    await ada.send("walk to the river")
    await ada.click("Take a line out")
    await ada.click("a hot shower")
    await ada.click("Save")
    assert since(ada, start) == EDITED
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
