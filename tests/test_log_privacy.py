"""Nothing a person tells Bridges, and never the bot token, reaches the logs.

Logging is set up the way `bridges run` sets it up (LOG_LEVEL=DEBUG: the root logger
at DEBUG, libraries quietened, the token redacted), then a whole life in the bot is
played through the real Application: in process, over real HTTP with long polling,
and as the real `bridges run` subprocess. Every record is formatted with its
traceback and stack, and none may quote the person or show the token.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core import Bridges
from bot.logs import RedactToken, quiet_libraries
from bot.scheduler import Sweeper
from bot.telegram_app import build_application
from storage.tables import User
from tests.fakebot import FAKE_TOKEN, ChatDriver, FakeBotApi, LoopbackBotApiServer, running
from tests.run_process import start_bridges_run
from tests.telegram_harness import bridges_on_fake, onboard

# What a person might tell the bot, each easy to spot in a log.
SECRETS = [
    "Zebulon Quixote",
    "zq_unique_handle",
    "7700 900123",
    "7700900123",
    "ZQNOTE",
    "ZQTHOUGHT",
    "nobody calls",
    "ZQCRISIS",
    "want to die",
    "ZQKIT",
    "ZQERROR",
    "ZQFIRST",
    "ZQLAST",
    "ZQEDIT",
    "ZQGROUP",
    "ZQDOWN",
    "zq_tg_username",
    FAKE_TOKEN,
    FAKE_TOKEN.split(":")[1],  # the secret half alone
]
LIBRARIES = ["telegram", "httpx", "httpcore", "apscheduler", "alembic"]


class Everything(logging.Handler):
    """Keeps each record as a configured handler would print it, traceback and stack too."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture()
def logs() -> Iterator[Everything]:
    """The root logger at DEBUG, set up like bot.logs.configure("DEBUG", token)."""
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in LIBRARIES}
    handler = Everything()
    handler.addFilter(RedactToken(FAKE_TOKEN))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet_libraries()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s.lower() in text.lower()]


async def live_a_little(chat: ChatDriver) -> None:
    """Onboarding, a contact, a reframe, a crisis message and a kit text."""
    await onboard(chat)
    await chat.send("/contacts")
    await chat.send("Zebulon Quixote")
    await chat.click("Telegram username")
    await chat.send("@zq_unique_handle")
    await chat.send("note ZQNOTE")
    await chat.click("Add someone else")
    await chat.send("Ben")
    await chat.click("Phone number")
    await chat.send("+44 7700 900123")
    await chat.click("Skip")
    await chat.send("/reframe")
    await chat.send("ZQTHOUGHT nobody calls")
    await chat.send("75")
    await chat.send("/menu")
    await chat.send("I want to die ZQCRISIS")
    await chat.send("/menu")
    await chat.send("/kit")
    await chat.click("Add a few words")
    await chat.send("ZQKIT breathe slowly")
    await chat.send("/menu")


def next_checkin(bridges: Bridges, user_id: int) -> datetime:
    users = User.__table__
    with bridges.store.engine.connect() as db:
        at = db.execute(
            select(users.c.next_checkin_at).where(users.c.external_id == str(user_id))
        ).scalar_one()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def a_checkin_and_a_failure(chat: ChatDriver, bridges: Bridges, app: object) -> None:
    """The sweeper's morning check-in, answered; then a turn that fails, quoting them."""
    due = next_checkin(bridges, chat.user_id)
    assert await Sweeper(bridges, lambda: due).sweep(app) == 1
    await chat.send("2")
    await chat.send("1")

    def broken(*args: object) -> None:
        raise RuntimeError(repr(args))  # the error quotes the person's state and words

    bridges.engine.step = broken  # type: ignore[method-assign]
    replies = await chat.send("ZQERROR my secret")
    assert "Sorry, something went wrong" in replies[0].plain_text


async def test_nothing_personal_is_logged_in_process(tmp_path: Path, logs: Everything) -> None:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as tg:
        ada = tg.chat(raise_errors=False, first_name="ZQFIRST")
        await live_a_little(ada)
        assert [r.data["name"] for r in tg.state().records["contact"]] == ["Zebulon Quixote", "Ben"]
        await a_checkin_and_a_failure(ada, tg.bridges, tg.app)
    text = "\n".join(logs.lines)
    assert "RuntimeError" in text, "the failure itself is logged"
    assert "Traceback" in text or "line " in text
    assert leaks(text) == [], text


async def test_nothing_personal_is_logged_over_http(tmp_path: Path, logs: Everything) -> None:
    fake = FakeBotApi()
    bridges = Bridges.open(f"sqlite:///{tmp_path}/bridges.db")
    async with LoopbackBotApiServer(fake) as server:
        app = build_application(bridges, FAKE_TOKEN, base_url=server.base_url, rate_limit=True)
        async with running(app, polling=True):
            ada = ChatDriver(
                app, fake, user_id=1001, mode="http", raise_errors=False,
                first_name="ZQFIRST", last_name="ZQLAST", username="zq_tg_username",
            )  # fmt: skip
            await live_a_little(ada)
            await a_checkin_and_a_failure(ada, bridges, app)
    bridges.close()
    assert "Zebulon Quixote" in ada.transcript(), "the session really happened"
    assert fake.calls_to("getUpdates")
    text = "\n".join(logs.lines)
    assert "RuntimeError" in text
    assert leaks(text) == [], text


async def test_nothing_personal_is_logged_on_the_safety_paths(
    tmp_path: Path, logs: Everything
) -> None:
    """Edited captions, a crisis in a group, a follow-up, and a crisis turn that fails."""
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as tg:
        ada = tg.chat(raise_errors=False, first_name="ZQFIRST")
        await onboard(ada)
        await ada.send_photo(caption="a photo")
        await ada.edit_last_caption("ZQEDIT I want to die")
        group = tg.chat(2002, chat_type="group", raise_errors=False, first_name="ZQFIRST")
        replies = await group.send("ZQGROUP I want to die")
        assert len(replies) == 1, "the group crisis reply went out"

        users = User.__table__
        due = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
        with tg.bridges.store.engine.begin() as db:
            db.execute(users.update().values(followup_at=due))
        await Sweeper(tg.bridges, lambda: due).sweep(tg.app)  # whatever the engine says

        def database_down(*args: object, **_kwargs: object) -> None:
            raise RuntimeError(repr(args))  # the error quotes the person's words

        tg.bridges.store.run_turn = database_down  # type: ignore[method-assign]
        replies = await ada.send("ZQDOWN I want to die")
        assert "Something went wrong" in replies[0].plain_text
    text = "\n".join(logs.lines)
    assert "RuntimeError" in text
    assert leaks(text) == [], text


async def test_bridges_run_at_debug_prints_nothing_personal(tmp_path: Path) -> None:
    fake = FakeBotApi()
    async with LoopbackBotApiServer(fake) as server:
        proc = await start_bridges_run(tmp_path, server.base_url, LOG_LEVEL="DEBUG")
        try:
            said = [
                "/start",
                "I want to die ZQCRISIS",
                "ZQTHOUGHT nobody calls",
                "Zebulon Quixote @zq_unique_handle +44 7700 900123 note ZQNOTE",
            ]
            for n, text in enumerate(said, start=1):
                fake.push_update(fake.make_text_update(1001, text))
                await fake.wait_for_messages(1001, n, timeout=30)
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    printed = (out + err).decode()
    assert proc.returncode == 0, printed
    assert "Bridges is starting" in printed, "the logs were really captured"
    assert leaks(printed) == [], printed
