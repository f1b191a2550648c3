"""Nudges, end to end: a follow-up on their small step, or an idea when there is none."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.sender import send_all
from dialogs.model import Due
from storage.repository import UserKey
from tests.fakebot import ChatDriver
from tests.telegram_harness import FIXED_NOW, Harness, bridges_on_fake, onboard


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


async def nudge(tg: Harness) -> None:
    """Open a nudge the way the scheduler does."""
    key = UserKey("telegram", "1001")
    messages = await asyncio.to_thread(tg.bridges.handle, key, Due("nudge"), FIXED_NOW)
    await send_all(tg.app.bot, tg.bridges.catalog, 1001, messages, None)


async def with_step(chat: ChatDriver) -> None:
    await chat.send("/needs")
    for label in ("Let's map it", "Mornings", "Done", "1", "3", "4", "1", "2", "0", "3"):
        await chat.click(label)
    await chat.click("🤝 Deepen one bond")
    await chat.click("Message one old friend")


@pytest.mark.parametrize(
    ("answer", "reply"),
    [
        ("😊 Easy", "That's great to hear!"),
        ("🙂 Okay", "Okay is a real step forward."),
        ("😣 Hard", "Thank you for trying, even though it was hard."),
        ("It didn't happen", "That's okay, there's no deadline."),
    ],
)
async def test_a_follow_up_on_their_step_meets_every_answer_kindly(
    url: str, answer: str, reply: str
) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await with_step(ada)
        await nudge(tg)
        assert (
            "The step you planned: <i>Message one old friend</i>. How did it go?" in ada.last_text
        )
        assert ada.buttons() == ["😊 Easy", "🙂 Okay", "😣 Hard", "It didn't happen"]
        await ada.click(answer)
        assert reply in ada.transcript()
        follow_ups = [r.data for r in tg.state().records["step_follow_up"]]
        slug = {"😊 Easy": "easy", "🙂 Okay": "okay", "😣 Hard": "hard"}.get(answer, "not_yet")
        assert follow_ups == [
            {"at": FIXED_NOW.isoformat(), "step": {"idea": "old_friend"}, "answer": slug}
        ]


async def test_their_own_step_is_quoted_back_escaped(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/needs")
        for label in ("Let's map it", "Mornings", "Done", "1", "3", "4", "1", "2", "0", "3"):
            await ada.click(label)
        await ada.click("🤝 Deepen one bond")
        await ada.click("✍️ My own idea")
        await ada.send("Call <Sam>")
        await nudge(tg)
        assert "The step you planned: “Call &lt;Sam&gt;”. How did it go?" in ada.last_text


async def test_without_a_step_a_nudge_offers_an_idea_and_is_no_dead_end(url: str) -> None:
    async with bridges_on_fake(url) as tg:
        ada = tg.chat()
        await onboard(ada)
        await nudge(tg)
        assert "One small idea for today" in ada.last_text
        assert ada.buttons() == ["I'll give it a go", "Not today"]
        await ada.send("hmm")  # not a button: asked again, nothing changes
        assert tg.state().top.dialog == "nudge"  # type: ignore[union-attr]
        await ada.click("Not today")
        assert "Rest counts too" in ada.transcript()
        assert "/menu" in ada.transcript().split("Rest counts too", 1)[1]
        assert len(tg.state().records["checkin_log"][0].data["shown"]) == 1
