"""Odd input gets a short, clear reply and leaves the saved state unchanged and valid."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.logs import quiet_libraries
from dialogs.drafts import PAUSED
from dialogs.model import Text, UserState
from tests.fakebot import ChatDriver
from tests.telegram_harness import Harness, bridges_on_fake, onboard

Action = Callable[[ChatDriver], Awaitable[object]]

LONG = "a" * 4096


async def edit_a_caption(chat: ChatDriver) -> object:
    await chat.send_photo(caption="our dog")
    return await chat.edit_last_caption("our dog, asleep")


BAD_INPUT: list[tuple[str, Action]] = [
    ("sticker", lambda c: c.send_sticker()),
    ("photo", lambda c: c.send_photo()),
    ("photo with caption", lambda c: c.send_photo(caption="look at this")),
    ("voice", lambda c: c.send_voice()),
    ("file", lambda c: c.send_document()),
    ("edited message", lambda c: c.edit_last("I meant something else")),
    ("edited caption", edit_a_caption),
    ("4096 characters", lambda c: c.send(LONG)),
    ("whitespace only", lambda c: c.send("   \n\t ")),
    ("zero-width space", lambda c: c.send("\u200b")),
    ("emoji only", lambda c: c.send("🫠🙃💙")),
    ("right-to-left text", lambda c: c.send("שלום לכולם, מה שלומכם")),
    ("html", lambda c: c.send("<b>bold</b> <script>x</script> & &amp;")),
    ("markdown", lambda c: c.send("*stars* _under_ `code` [link](http://x)")),
    ("jinja braces", lambda c: c.send("{{ 7*7 }} {% if %}")),
    ("unknown command", lambda c: c.send("/frobnicate now")),
    ("stale button", lambda c: c.click_data("c|onboarding|welcome|more")),
    ("forged button", lambda c: c.click_data("c|menu|main|../../etc/passwd")),
    ("garbage button", lambda c: c.click_data("\x00\x01💥")),
]


async def at_timezone_step(chat: ChatDriver) -> None:
    await chat.send("/start")
    await chat.click("Tell me more")
    await chat.click("Okay, got it")
    await chat.click("Yes, keep my answers")


STATES: dict[str, Callable[[ChatDriver], Awaitable[None]]] = {
    "mid-onboarding": at_timezone_step,
    "main menu": onboard,
}


def without_listening(state: UserState) -> UserState:
    """Words may get the listening reply (dialogs/manager_listen.py): its frame on top, and
    the mark it leaves on the step it covers, are taken away; nothing else may change."""
    if state.top is not None and state.top.dialog == "listen":
        state.stack.pop()
        if state.top is not None:
            state.top.slots.pop(PAUSED, None)
    return state


@pytest.fixture()
async def tg(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


@pytest.mark.parametrize("where", list(STATES))
@pytest.mark.parametrize(("name", "action"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
async def test_bad_input_gets_a_short_reply_and_changes_nothing(
    tg: Harness, where: str, name: str, action: Action, caplog: pytest.LogCaptureFixture
) -> None:
    ada = tg.chat()
    await STATES[where](ada)
    before = tg.state()
    caplog.set_level(logging.DEBUG)
    replies = await action(ada)
    assert isinstance(replies, list) and replies, f"{name}: the bot said nothing"
    first = replies[0].plain_text
    assert 0 < len(first) <= 300, f"{name}: reply is not short: {first!r}"
    assert "Traceback" not in first and "Error" not in first
    assert without_listening(tg.state()) == before, f"{name}: the saved state changed"
    assert tg.fake.unanswered_callback_queries() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_location_outside_onboarding_is_not_kept(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    before = tg.state()
    replies = await ada.send_location(48.85, 2.35)
    assert "only use a location to set your time zone" in replies[0].plain_text
    assert tg.state() == before


async def test_html_typed_as_a_city_comes_back_escaped(tg: Harness) -> None:
    ada = tg.chat()
    await at_timezone_step(ada)
    replies = await ada.send("<b>Nowhere</b> & co")
    assert replies[0].text.startswith("I couldn't find “&lt;b&gt;Nowhere&lt;/b&gt; &amp; co”")
    assert replies[0].plain_text.startswith("I couldn't find “<b>Nowhere</b> & co”")


async def test_a_failure_inside_a_turn_says_sorry_and_saves_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as tg:
        ada = tg.chat(raise_errors=False)
        await at_timezone_step(ada)
        before = tg.state()

        def broken(_state: object, event: Text, _now: object) -> None:
            raise RuntimeError(event.text)  # an error message that quotes the user

        tg.bridges.manager.step = broken  # type: ignore[method-assign]
        caplog.set_level(logging.DEBUG)
        quiet_libraries()
        replies = await ada.send("my secret city")
        assert [m.plain_text for m in replies] == [
            "Sorry, something went wrong on my side. Nothing you saved is lost; "
            "please try again in a moment."
        ]
        assert tg.state() == before
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "RuntimeError" in logged
        assert "my secret city" not in logged
