"""A person's own data, end to end: /export a file, /delete everything, /privacy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from bot.console import person_id
from storage.tables import User
from tests.fakebot import ChatDriver
from tests.safety_net_setup import add_person
from tests.telegram_harness import Harness, bridges_on_fake, onboard

ANN, BOB = 1001, 2002


@pytest.fixture
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


async def write_thought(chat: ChatDriver, thought: str) -> None:
    await chat.send("/reframe")
    await chat.send(thought)
    await chat.send("80")
    await chat.send("sad")
    await chat.send("a reason it seems true")
    await chat.click("Done")
    await chat.send("a moment that doesn't fit")
    await chat.click("Done")
    await chat.send("a fairer way to say it")
    await chat.send("40")
    await chat.click("Not today")


async def check_in(chat: ChatDriver) -> None:
    await chat.send("/checkin")
    await chat.click("4")
    await chat.click("2")
    await chat.click("Skip")


async def fill_up(chat: ChatDriver) -> None:
    await onboard(chat)
    await add_person(chat, "Mia", "mia_rose")
    await write_thought(chat, "nobody wants to hear from me")
    await check_in(chat)


def exported(tg: Harness) -> tuple[str, dict[str, Any]]:
    sent = tg.fake.calls_to("sendDocument")
    assert len(sent) == 1
    messages = [m for m in _all_sent(tg) if m.document is not None]
    assert len(messages) == 1
    document = messages[0].document
    assert document is not None
    return document.filename, json.loads(document.content.decode("utf-8"))


def _all_sent(tg: Harness) -> list[Any]:
    return [m for user in (ANN, BOB) for m in tg.chat(user).messages()]


def rows_of(tg: Harness, user_id: int) -> int:
    """Rows that belong to this user id, in every table there is."""
    total = 0
    with Session(tg.bridges.store.engine) as session:
        for table in SQLModel.metadata.sorted_tables:
            column = table.c.get("user_id")
            if column is None and table.name == User.__tablename__:
                column = table.c.id
            if column is not None:
                query = select(func.count()).select_from(table).where(column == user_id)
                total += session.execute(query).scalar_one()
    return total


def user_id(tg: Harness, telegram_id: int) -> int:
    with Session(tg.bridges.store.engine) as session:
        query = select(User.id).where(User.external_id == str(telegram_id))
        found = session.execute(query).scalar_one()
    assert isinstance(found, int)
    return found


# --- /export ------------------------------------------------------------------------------


async def test_export_holds_what_they_saved(tg: Harness) -> None:
    ann = tg.chat(ANN)
    await fill_up(ann)
    await ann.send("/export")
    assert "Here is everything I keep about you" in ann.transcript()
    name, data = exported(tg)
    assert name == "bridges-export-2026-11-23.json"
    assert data["format_version"] == 2
    assert data["exported_at"].startswith("2026-11-23T09:00")
    assert data["profile"]["timezone"] == "Europe/Lisbon"
    assert data["profile"]["checkin_time"] == "08:00"
    records = data["records"]
    assert [c["name"] for c in records["contacts"]] == ["Mia"]
    assert "nobody wants to hear from me" in json.dumps(records["thought_entries"])
    assert [m["mood"] for m in records["check_ins"]] == [4]
    assert all(r["saved_at"].startswith("2026-11-23") for r in records["contacts"])


async def test_export_of_a_fresh_profile(tg: Harness) -> None:
    ann = tg.chat(ANN)
    await onboard(ann)
    await ann.send("/export")
    assert "So far it's just your settings" in ann.transcript()
    _, data = exported(tg)
    # Only settings: when the loneliness measure was last offered (onboarding's end).
    assert list(data["records"]) == ["review_and_windows"]
    assert [set(r) for r in data["records"]["review_and_windows"]] == [
        {"saved_at", "measure_asked"}
    ]
    assert data["profile"]["onboarded"] is True
    assert data["safety"] == {
        "last_worrying_message": {"level": None, "at": None},
        "said_not_safe_at": None,
        "follow_up_message_planned_at": None,
    }


# --- /delete ------------------------------------------------------------------------------


async def test_delete_erases_every_row_of_theirs_and_only_theirs(tg: Harness) -> None:
    ann, bob = tg.chat(ANN), tg.chat(BOB)
    await fill_up(ann)
    await onboard(bob)
    await add_person(bob, "Tom", "tom_b")
    ann_id, bob_id = user_id(tg, ANN), user_id(tg, BOB)
    assert rows_of(tg, ann_id) > 3
    bob_rows = rows_of(tg, bob_id)

    await ann.send("/delete")
    assert "This erases everything I keep about you" in ann.last.plain_text
    await ann.click("Erase everything")
    assert "type DELETE" in ann.last.plain_text
    await ann.send("delete")
    assert "Everything I kept about you is erased" in ann.last_text
    assert ann.last.reply_keyboard_remove, "the persistent keyboard goes too"

    assert rows_of(tg, ann_id) == 0
    assert rows_of(tg, bob_id) == bob_rows
    assert tg.state(ANN).records == {}
    assert not tg.state(ANN).profile.onboarded
    assert [r.data["name"] for r in tg.state(BOB).records["contact"]] == ["Tom"]
    # They can begin again from nothing.
    await ann.send("/start")
    assert "Hi, I'm Bridges" in ann.transcript()


@pytest.mark.parametrize("where", ["button", "typed"])
async def test_cancelling_a_delete_keeps_everything(tg: Harness, where: str) -> None:
    ann = tg.chat(ANN)
    await fill_up(ann)
    before = tg.state(ANN)
    rows = rows_of(tg, user_id(tg, ANN))
    await ann.send("/delete")
    if where == "button":
        await ann.click("Keep my data")
    else:
        await ann.click("Erase everything")
        await ann.send("no, wait")
    assert "nothing was erased" in ann.transcript()
    assert rows_of(tg, user_id(tg, ANN)) == rows
    after = tg.state(ANN)
    assert after.profile == before.profile
    assert {k: [r.data for r in v] for k, v in after.records.items()} == {
        k: [r.data for r in v] for k, v in before.records.items()
    }


# --- /privacy -----------------------------------------------------------------------------


async def test_privacy_says_what_where_how_long_and_who(tg: Harness) -> None:
    ann = tg.chat(ANN)
    await onboard(ann)
    await ann.send("/privacy")
    text = ann.transcript()
    assert "Your privacy, in short" in text
    assert "database of the Bridges server" in text
    assert "until you delete it" in text
    assert "The person who runs the server can" in text
    assert "/export" in text and "/delete" in text


# --- the terminal -------------------------------------------------------------------------


def test_export_in_the_terminal_writes_the_file(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/bridges.db"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    typed = "/start\n1\nokay, got it\n1\nLisbon\n8:15\nmaybe later\n/export\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--user", "ann"],
        input=typed, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    files = list(tmp_path.glob("bridges-export-*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text(encoding="utf-8"))
    assert data["profile"]["timezone"] == "Europe/Lisbon"
    # Named per person (a short id, never the name) and by their own calendar day.
    day = datetime.fromisoformat(data["exported_at"]).astimezone(ZoneInfo("Europe/Lisbon"))
    assert files[0].name == f"bridges-export-{person_id('ann')}-{day.date().isoformat()}.json"
    assert (
        f"bridges> I saved your file here: {files[0]}\n"
        "It holds what you keep with me, so store it somewhere private.\n"
    ) in result.stdout
    assert data["format_version"] == 2
