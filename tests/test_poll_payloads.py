"""Polling stores each update's JSON as Telegram sent it, with no second serialisation."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.request import HTTPXRequest

from bot.telegram_app import RawUpdates, poll
from storage import inbox
from storage.inbox import Incoming
from tests.fakebot import ChatDriver
from tests.telegram_harness import bridges_on_fake


def test_raw_updates_keeps_the_last_answer_once() -> None:
    request = HTTPXRequest()
    raw = RawUpdates(request)
    update = {"update_id": 7, "message": {"message_id": 1, "text": "hi"}}
    data = request.parse_json_payload(json.dumps({"ok": True, "result": [update]}).encode())
    assert data["result"] == [update]
    assert raw.take() == {7: update}
    assert raw.take() == {}, "an answer is handed over once"
    request.parse_json_payload(b'{"ok": false, "error_code": 409, "description": "x"}')
    assert raw.take() == {}


async def test_polling_stores_the_json_telegram_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored: list[Incoming] = []
    record = inbox.record

    def spy(engine: Any, batch: list[Incoming], now: Any) -> Any:
        stored.extend(batch)
        return record(engine, batch, now)

    def no_second_serialisation(self: Update, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the update was serialised again")

    monkeypatch.setattr(inbox, "record", spy)
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        monkeypatch.setattr(Update, "to_dict", no_second_serialisation)
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(harness.app, harness.app.bot_data["adapter"].take, stop))
        chat = ChatDriver(harness.app, harness.fake, mode="http")
        replies = await chat.send("/start")
        stop.set()
        await polling
        monkeypatch.undo()
    assert replies, "the update was taken and answered"
    (entry,) = [e for e in stored if not e.done]
    assert entry.payload["message"]["text"] == "/start"
    assert entry.payload["update_id"] == entry.update_id


async def test_allowed_updates_is_said_until_a_poll_is_answered(tmp_path: Path) -> None:
    """Telegram keeps the last allowed_updates it was given: said on each getUpdates until
    one is answered (the first failed here), then left out."""
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        harness.fake.fail_next("getUpdates", error_code=502)
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(harness.app, harness.app.bot_data["adapter"].take, stop))
        chat = ChatDriver(harness.app, harness.fake, mode="http")
        assert await chat.send("/start"), "answered after the failed poll"
        assert await chat.send("hello"), "and after the answered one"
        stop.set()
        await polling
    polls = [call for call in harness.fake.calls if call.method == "getUpdates"]
    said = [call.params.get("allowed_updates") for call in polls]
    answered = next(i for i, call in enumerate(polls) if call.error_code is None)
    assert answered >= 1, "the first poll failed"
    assert all(names == list(Update.ALL_TYPES) for names in said[: answered + 1]), said
    assert len(said) > answered + 1 and not any(said[answered + 1 :]), said
