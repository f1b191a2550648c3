"""A reply Telegram took just before a crash is found in the chat, not sent twice.

The process is "killed" between Telegram's answer and the sent journal's write: the fake
has the message, the outbox still has its row, and the message log holds the attempt.
A new Probe reads the log as a restarted process would (bot/probe.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.probe import NOT_FOUND_RUN, PROBE_SPAN, Probe
from storage import outbox
from storage.message_log import MessageLog
from tests.delivery_harness import Rig, bot_on_fake

CHAT = 1001
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
REPLY = "Thanks for telling me. <b>One small step</b> for today?"
BUTTONS = [[{"label": "Yes", "data": "c|checkin|middle|try"}]]


def test_the_log_keeps_attempts_without_a_send_and_the_newest_ids(tmp_path: Path) -> None:
    log = MessageLog(tmp_path / "x.db-sent-ids")
    log.attempt(7, 55, 10)
    log.went(7, 55, 11)  # row 7 went as message 11
    log.attempt(8, 55, 11)  # row 8 began, then the crash
    log.went(0, 66, 4)  # a notice in another chat
    with open(log.path, "ab") as torn:
        torn.write(b"\x01\x02\x03")  # a record cut short
    seen = log.read()
    assert seen.attempts == {8: (55, 11)}
    assert seen.newest == {55: 11, 66: 4}
    log.rotate()
    log.attempt(9, 66, 4)
    assert MessageLog(log.path).read().attempts == {8: (55, 11), 9: (66, 4)}
    log.rotate()  # two rotations later the first generation is gone
    assert MessageLog(log.path).read().attempts == {9: (66, 4)}


async def _crash_with(rig: Rig, payload: dict[str, Any], arrange: list[str]) -> int:
    """Start a chat, leave `payload` in the outbox with an attempt logged, then lay out
    the chat after it: "bot" = the reply arrived, "user" = a message of theirs."""
    chat = rig.chat(CHAT)
    await chat.send("/start")
    with rig.bridges.store.engine.begin() as conn:
        (row,) = outbox.add(conn, CHAT, str(CHAT), "turn", [payload], rig.clock())
    probe = rig.sender.probe
    assert probe.log is not None
    newest = probe.newest(CHAT)
    assert newest is not None
    probe.log.attempt(row.id, CHAT, newest)
    probe.log = None  # the process dies: nothing more is written
    for who in arrange:
        if who == "bot":
            await rig.app.bot.send_message(
                CHAT, payload["text"], parse_mode="HTML",
                reply_markup=_markup(payload),
            )  # fmt: skip
        else:
            rig.fake.make_text_update(CHAT, "are you there?")
    return row.id


def _markup(payload: dict[str, Any]) -> Any:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    rows = payload.get("buttons") or []
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["label"], callback_data=b["data"]) for b in r] for r in rows]
    )


async def _restart(rig: Rig, log_path: Path) -> None:
    rig.sender.probe = Probe(MessageLog(log_path))
    await rig.intake.recover(takeover=True)
    await rig.sender.idle()


@pytest.mark.parametrize(
    ("payload", "arrange", "copies"),
    [
        ({"text": REPLY}, ["bot"], 1),
        ({"text": REPLY, "buttons": BUTTONS}, ["bot", "user"], 1),
        ({"text": REPLY}, ["user", "bot", "user"], 1),  # they wrote while it was on its way
        ({"text": REPLY}, [], 1),  # it never arrived: sent now
        ({"text": REPLY, "buttons": BUTTONS}, ["user", "user"], 1),
    ],
    ids=["arrived", "arrived-with-buttons", "arrived-after-their-message", "lost", "lost-2"],
)
async def test_a_reply_taken_before_the_crash_is_not_sent_again(
    tmp_path: Path, payload: dict[str, Any], arrange: list[str], copies: int
) -> None:
    async with bot_on_fake(f"sqlite:///{tmp_path}/bridges.db") as rig:
        log = rig.sender.probe.log
        assert log is not None
        await _crash_with(rig, payload, arrange)
        await _restart(rig, log.path)
        texts = [m.text for m in rig.fake.messages(CHAT)]
        assert texts.count(rig.fake.messages(CHAT)[-1].text) == copies
        assert sum(1 for m in rig.fake.messages(CHAT) if "One small step" in m.text) == copies
        assert (await rig.outbox()) == []
        assert not any(m.edited for m in rig.fake.messages(CHAT)), "nothing was changed"


async def test_without_a_known_newest_id_the_reply_is_sent_again(tmp_path: Path) -> None:
    """No attempt logged (the chat's newest id was unknown): the old behaviour, a resend."""
    async with bot_on_fake(f"sqlite:///{tmp_path}/bridges.db") as rig:
        log = rig.sender.probe.log
        assert log is not None
        row = await _crash_with(rig, {"text": REPLY}, ["bot"])
        log.path.unlink()  # as if the attempt was never written
        await _restart(rig, log.path)
        assert sum(1 for m in rig.fake.messages(CHAT) if "One small step" in m.text) == 2
        assert row not in [r["id"] for r in (await rig.outbox())]


async def test_the_look_stops_after_probe_span_ids(tmp_path: Path) -> None:
    async with bot_on_fake(f"sqlite:///{tmp_path}/bridges.db") as rig:
        log = rig.sender.probe.log
        assert log is not None
        await _crash_with(rig, {"text": REPLY}, ["user"] * (PROBE_SPAN + 1) + ["bot"])
        edits_before = len(rig.fake.calls_to("editMessageText"))
        await _restart(rig, log.path)
        assert len(rig.fake.calls_to("editMessageText")) - edits_before == PROBE_SPAN
        assert sum(1 for m in rig.fake.messages(CHAT) if "One small step" in m.text) == 2


async def test_a_newer_reply_sent_after_the_restart_is_never_edited(tmp_path: Path) -> None:
    """After the restart a newer reply went first (noted); the crashed one had not
    arrived. The look passes over the newer reply instead of editing it into the old one."""
    async with bot_on_fake(f"sqlite:///{tmp_path}/bridges.db") as rig:
        log = rig.sender.probe.log
        assert log is not None
        await _crash_with(rig, {"text": REPLY}, ["user"])
        rig.sender.probe = Probe(MessageLog(log.path))
        await rig.app.bot.send_message(CHAT, "A newer reply")
        await rig.intake.recover(takeover=True)
        await rig.sender.idle()
        texts = [m.text for m in rig.fake.messages(CHAT)]
        assert texts[-2:] == ["A newer reply", REPLY]
        assert not any(m.edited for m in rig.fake.messages(CHAT))


def test_kept_ids_only_ever_rise(tmp_path: Path) -> None:
    from storage import chat_ids
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.tables import User

    engine = make_engine(f"sqlite:///{tmp_path}/ids.db")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            User.__table__.insert(),
            [{"channel": "telegram", "external_id": "5", "created_at": NOW, "last_seen_at": NOW}],
        )
    assert chat_ids.newest(engine, "5") is None
    chat_ids.fold(engine, {"5": 40, "6": 3})  # "6" is nobody: nothing happens
    chat_ids.fold(engine, {"5": 12})  # older news never lowers it
    assert chat_ids.newest(engine, "5") == 40
    assert chat_ids.newest(engine, "6") is None


async def test_a_checkin_to_a_chat_unheard_since_the_start_can_be_looked_for(
    tmp_path: Path,
) -> None:
    """Maintenance keeps the chat's newest id in the database; a later process that never
    heard from them reads it before sending the check-in, and logs the attempt with it."""
    async with bot_on_fake(f"sqlite:///{tmp_path}/bridges.db") as rig:
        log = rig.sender.probe.log
        assert log is not None
        chat = rig.chat(CHAT)
        await chat.send("/start")
        known = rig.sender.probe.newest(CHAT)
        await rig.intake.recover()  # maintenance: the ids go to the database
        rig.sender.probe = Probe(None)  # a new process: nothing in memory, no log
        rig.sender.probe.log = MessageLog(tmp_path / "fresh-ids")
        with rig.bridges.store.engine.begin() as conn:
            (row,) = outbox.add(conn, CHAT, str(CHAT), "checkin", [{"text": REPLY}], rig.clock())
        rig.sender.enqueue([row])
        await rig.sender.idle()
        assert MessageLog(tmp_path / "fresh-ids").read().ours[CHAT] == [known + 1]
        attempts = [r for r in _raw_records(tmp_path / "fresh-ids") if r[0] == row.id]
        assert attempts == [(row.id, CHAT, known)]


def _raw_records(path: Path) -> list[tuple[int, int, int]]:
    from storage.message_log import _records

    return _records(path)


async def test_the_look_ends_past_the_chats_newest_message(tmp_path: Path) -> None:
    """Nothing after the attempt's id: a few "not found" in a row end the look early."""
    async with bot_on_fake(f"sqlite:///{tmp_path}/bridges.db") as rig:
        log = rig.sender.probe.log
        assert log is not None
        await _crash_with(rig, {"text": REPLY}, [])
        edits_before = len(rig.fake.calls_to("editMessageText"))
        await _restart(rig, log.path)
        assert len(rig.fake.calls_to("editMessageText")) - edits_before == NOT_FOUND_RUN
        assert sum(1 for m in rig.fake.messages(CHAT) if "One small step" in m.text) == 1


async def test_an_older_reply_taken_over_while_a_newer_one_waits_goes_first(
    tmp_path: Path,
) -> None:
    """A newer reply waits for an older one another process held; when the older one is
    taken over and queued here, behind it, it is still sent first."""
    import asyncio

    async with bot_on_fake(f"sqlite:///{tmp_path}/bridges.db") as rig:
        with rig.bridges.store.engine.begin() as conn:
            (older,) = outbox.add(conn, CHAT, str(CHAT), "turn", [{"text": "first"}], rig.clock())
            (newer,) = outbox.add(conn, CHAT, str(CHAT), "turn", [{"text": "second"}], rig.clock())
        assert newer.after_older == (older.id,)
        rig.sender.enqueue([newer])  # waits: the older row is not ours yet
        await asyncio.sleep(0.2)
        assert rig.fake.sent_texts(CHAT) == []
        rig.sender.enqueue([older])  # taken over: queued behind the waiting one
        await rig.sender.idle()
        assert rig.fake.sent_texts(CHAT) == ["first", "second"]
