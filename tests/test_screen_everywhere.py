"""Every text a person sends is screened, wherever it arrives from Telegram.

Transcripts through the real PTB Application on the fake Bot API: an edited caption,
an edited text, a photo or file caption, words after a command, a first message before
/start, a message in a group, and a turn that fails while someone is in crisis.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

from bot.logs import quiet_libraries
from bot.telegram_app import event_from_update
from dialogs.model import Command, Text, Unsupported
from tests.fakebot import BOT_USERNAME, ChatDriver, FakeBotApi, SentMessage
from tests.telegram_harness import (
    START,
    Clock,
    Harness,
    bridges_on_fake,
    bridges_with_clock,
    onboard,
)

CRISIS = "i want to kill myself"
CRISIS_EDIT = "honestly I just want to die"
GENERAL_EMERGENCY = "112 in most of Europe, 911 in the US and Canada, 999 in the UK"
EDIT_NOTE = "I saw you edited a message"


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


def in_crisis_screen(tg: Harness, user_id: int = 1001) -> bool:
    top = tg.state(user_id).top
    return top is not None and top.dialog == "crisis"


def said(replies: list[SentMessage]) -> str:
    return "\n".join(m.plain_text for m in replies)


def nowhere(tg: Harness, words: str, user_id: int = 1001) -> None:
    """The words are in no saved frame, slot, draft or record."""
    state = tg.state(user_id)
    assert words not in repr(state.stack) + repr(state.records) + repr(state.profile)


def total_rows(tg: Harness) -> int:
    """Rows in every table the bot has (users, conversations, records...)."""
    engine = tg.bridges.store.engine
    with engine.connect() as db:
        return sum(
            int(db.execute(select(func.count()).select_from(table)).scalar_one())
            for table in SQLModel.metadata.sorted_tables
        )


# --- edits -----------------------------------------------------------------------------


async def test_an_edited_caption_with_crisis_words_gets_the_crisis_reply(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send_photo(caption="Biscuit asleep on the sofa")
    assert not in_crisis_screen(tg)

    replies = await ada.edit_last_caption(CRISIS_EDIT)
    assert replies, ada.transcript()
    assert in_crisis_screen(tg), ada.transcript()
    assert EDIT_NOTE not in said(replies)
    nowhere(tg, CRISIS_EDIT)


async def test_an_edited_file_caption_with_crisis_words_gets_the_crisis_reply(
    tg: Harness,
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send_document(caption="my notes")
    await ada.edit_last_caption(CRISIS_EDIT)
    assert in_crisis_screen(tg), ada.transcript()


async def test_an_edited_text_with_crisis_words_gets_the_crisis_reply(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    await ada.send("nobody wants to hear from me")
    replies = await ada.edit_last(CRISIS_EDIT)
    assert in_crisis_screen(tg), ada.transcript()
    assert EDIT_NOTE not in said(replies)
    nowhere(tg, CRISIS_EDIT)
    # The step they were in waits underneath, unchanged.
    assert [f.dialog for f in tg.state().stack][-2:] == ["reframe", "crisis"]


async def test_an_ordinary_edit_still_just_gets_the_short_note(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("hello")
    replies = await ada.edit_last("hello there")
    assert EDIT_NOTE in said(replies)
    assert not in_crisis_screen(tg)


# --- captions, commands, the very first message -------------------------------------------


async def test_a_crisis_first_message_before_start_gets_help(tg: Harness) -> None:
    ada = tg.chat()
    replies = await ada.send(CRISIS)
    assert replies, "the first message got no reply"
    assert in_crisis_screen(tg), ada.transcript()
    assert "emergency" in said(replies).lower() or "helpline" in said(replies).lower()
    nowhere(tg, CRISIS)


@pytest.mark.parametrize("kind", ["photo", "file"])
async def test_a_crisis_caption_as_the_first_message_gets_help(tg: Harness, kind: str) -> None:
    ada = tg.chat()
    if kind == "photo":
        replies = await ada.send_photo(caption=CRISIS)
    else:
        replies = await ada.send_document(caption=CRISIS)
    assert replies and in_crisis_screen(tg), ada.transcript()
    nowhere(tg, CRISIS)


async def test_crisis_words_after_a_command_are_screened(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send(f"/menu {CRISIS}")
    assert in_crisis_screen(tg), ada.transcript()
    # Ordinary words after a command still just open it.
    await ada.send("/menu please")
    assert tg.state().top is not None and tg.state().top.dialog == "menu"  # type: ignore[union-attr]


def test_each_kind_of_update_hands_its_words_to_the_engine() -> None:
    """The adapter's half, unit by unit: which event each update becomes."""
    from telegram import Bot, Update

    fake = FakeBotApi()
    bot = Bot("1:x")

    def event(update: dict[str, object]) -> object:
        return event_from_update(Update.de_json(update, bot))

    first = fake.make_text_update(1, "first words")
    photo = fake.make_photo_update(1, caption="on a photo")
    document = fake.make_document_update(1, caption="on a file")
    edited = fake.make_edited_text_update(1, first["message"]["message_id"], "edited words")
    recaptioned = fake.make_edited_caption_update(1, photo["message"]["message_id"], "new caption")
    assert event(first) == Text("first words", language="en")  # the app's language rides along
    assert event(photo).caption == "on a photo"  # type: ignore[attr-defined]
    assert event(document) == Unsupported("document", "on a file")
    assert event(edited) == Unsupported("edited", "edited words")
    assert event(recaptioned) == Unsupported("edited", "new caption")
    assert event(fake.make_text_update(1, "/menu")) == Command("menu", language="en")
    assert event(fake.make_text_update(1, f"/sos {CRISIS}")) == Text(f"/sos {CRISIS}", "en")
    mexico = fake.make_text_update(1, "/start", language_code="es-MX")
    assert event(mexico) == Command("start", language="es-MX")
    assert event(fake.make_text_update(1, "hola", language_code=None)) == Text("hola")


# --- groups -----------------------------------------------------------------------------


def in_group(tg: Harness, user_id: int, group: int) -> ChatDriver:
    return tg.chat(user_id, chat_type="group", chat_id=group)


async def test_a_crisis_in_a_group_gets_one_short_reply_and_nothing_is_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(START)
    caplog.set_level(logging.DEBUG)
    quiet_libraries()  # as `bridges run` sets logging up: Bridges' own logs at DEBUG
    async with bridges_with_clock(tmp_path, clock) as bot:
        tg = bot.tg
        ada, bo = in_group(tg, 1001, -4_000_000_777), in_group(tg, 1002, -4_000_000_777)
        rows_before = total_rows(tg)

        first = await ada.send("hi all, is this the coach bot?")
        assert len(first) == 1 and "private chats" in first[0].plain_text

        replies = await bo.send(CRISIS)
        assert len(replies) == 1, bo.transcript()
        reply = replies[0]
        text = reply.plain_text
        assert GENERAL_EMERGENCY in text
        assert text.count("112") == 1  # the emergency number once, not twice
        assert f'href="https://t.me/{BOT_USERNAME}"' in (reply.text or "")
        assert "private chat" in text and "haven't kept anything" in text
        assert len(text) <= 400  # short
        assert not reply.buttons

        # Not after every message: the same group, a minute later, gets nothing more...
        clock.set(START + timedelta(minutes=1))
        assert await ada.send(CRISIS_EDIT) == []
        assert await ada.send("ok") == []
        # ...until a few minutes have passed.
        clock.set(START + timedelta(minutes=6))
        again = await bo.send(CRISIS)
        assert len(again) == 1 and GENERAL_EMERGENCY in again[0].plain_text

        # Another group is its own group.
        other = in_group(tg, 1003, -4_000_000_888)
        assert len(await other.send(CRISIS)) == 1

        assert total_rows(tg) == rows_before == 0
        for user_id in (1001, 1002, 1003):
            assert tg.state(user_id).stack == []
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert CRISIS not in logged and CRISIS_EDIT not in logged and "coach bot" not in logged


async def test_a_crisis_in_a_group_caption_or_edit_is_not_ignored(tmp_path: Path) -> None:
    clock = Clock(START)
    async with bridges_with_clock(tmp_path, clock) as bot:
        tg = bot.tg
        ada = in_group(tg, 1001, -4_000_000_901)
        await ada.send("hello")
        replies = await ada.edit_last(CRISIS)
        assert len(replies) == 1 and GENERAL_EMERGENCY in replies[0].plain_text

        bo = in_group(tg, 1002, -4_000_000_902)
        replies = await bo.send_photo(caption=CRISIS)
        assert len(replies) == 1 and GENERAL_EMERGENCY in replies[0].plain_text
        assert total_rows(tg) == 0


# --- a turn that fails -------------------------------------------------------------------


async def test_when_the_database_is_down_a_crisis_still_gets_helplines(
    tg: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The update was stored, then the database failed: help at once, nothing lost."""
    ada = tg.chat(raise_errors=False)
    await onboard(ada)
    working = tg.bridges.store.run_turn

    def database_down(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT users ...", {}, ConnectionRefusedError())

    tg.bridges.store.run_turn = database_down  # type: ignore[method-assign]
    caplog.set_level(logging.DEBUG)
    quiet_libraries()

    replies = await ada.send(CRISIS)
    assert len(replies) == 1
    text = replies[0].plain_text
    assert "Something went wrong on my side" in text
    assert GENERAL_EMERGENCY in text and text.count("112") == 1
    assert "988" in text and "116 123" in text  # the general lines, rendered without state
    assert "try again in a moment" not in text

    # An ordinary message is told it will be answered: nothing to send again.
    replies = await ada.send("just saying hi")
    assert [m.plain_text for m in replies] == [
        "I got your message, but I'm having trouble on my side right now. "
        "Nothing is lost: I'll answer it as soon as I can."
    ]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "OperationalError" in logged
    assert CRISIS not in logged and "just saying hi" not in logged

    # The database is back: both messages get their real turns, in the order sent.
    seen = len(tg.fake.messages(ada.chat_id))
    tg.bridges.store.run_turn = working  # type: ignore[method-assign]
    answered = await tg.fake.wait_for(
        ada.chat_id, lambda: len(tg.fake.messages(ada.chat_id)) >= seen + 2, 15
    )
    assert answered, ada.transcript()
    later = [m.plain_text for m in tg.fake.messages(ada.chat_id)[seen:]]
    assert any("are you safe" in t.lower() for t in later), later  # the crisis turn itself


async def test_when_sending_the_crisis_reply_fails_the_helplines_still_go(tg: Harness) -> None:
    ada = tg.chat(raise_errors=False)
    await onboard(ada)
    tg.fake.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
    replies = await ada.send(CRISIS)
    texts = [r.plain_text for r in replies]
    # The refused message is replaced by the reply that needs no state, in its place:
    # help first, then the question that followed it.
    assert len(texts) == 2, ada.transcript()
    assert "Something went wrong on my side" in texts[0]
    assert GENERAL_EMERGENCY in texts[0] or "112" in texts[0]
    assert texts[1] == "Are you safe right now?"
    # The turn itself was saved: their crisis screen is there when they come back.
    assert in_crisis_screen(tg)
