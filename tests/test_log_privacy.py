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
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from bot.core import Bridges
from bot.logs import RedactToken, install_record_factory, quiet_libraries
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
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.records.append(record)


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

    bridges.manager.step = broken  # type: ignore[method-assign]
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


# --- the token filter itself ----------------------------------------------------------------

TOKEN_FORMS = [
    FAKE_TOKEN,
    FAKE_TOKEN.replace(":", "%3A"),
    FAKE_TOKEN.replace(":", "%3a"),
    FAKE_TOKEN.replace(":", "%253A"),
    FAKE_TOKEN.split(":")[1],
]
URL = f"https://api.telegram.org/bot{FAKE_TOKEN}/getUpdates"


def token_leaks(text: str) -> list[str]:
    return [form for form in TOKEN_FORMS if form.lower() in text.lower()]


class TokenError(Exception):
    """Stands in for PTB's InvalidToken, whose message quotes the token."""


def raise_with_the_token() -> None:
    try:
        raise ValueError(quote(URL, safe=""))  # a chained cause, URL-encoded
    except ValueError as cause:
        raise TokenError(f"The token `{FAKE_TOKEN}` was rejected by the server.") from cause


@pytest.fixture()
def factory() -> Iterator[None]:
    """The record factory as bot.logs.configure installs it."""
    undo = install_record_factory(FAKE_TOKEN)
    try:
        yield
    finally:
        undo()


def test_the_token_never_reaches_a_handler(logs: Everything, factory: None) -> None:
    """msg, args, extras, exception text, chained traceback and stack, on every logger,
    including a library logger that does not propagate and has an unfiltered handler of
    its own, added after logging was configured."""
    own = Everything()  # no RedactToken on this one: only the record factory protects it
    own.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    tornado = logging.getLogger("tornado.application.zq")
    tornado.addHandler(own)
    tornado.propagate = False
    try:
        logging.getLogger("bridges.zq").warning(f"in the message {URL}")
        logging.getLogger("bridges.zq").warning("in the args %s and %r", URL, [FAKE_TOKEN])
        logging.getLogger("telegram.ext.Updater").error("encoded %s", quote(URL, safe=""))
        logging.getLogger("httpx").warning('HTTP Request: POST %s "HTTP/1.1 409"', URL)
        logging.getLogger("telegram.ext.Application").info(FAKE_TOKEN.replace(":", "%3a"))
        try:
            raise_with_the_token()
        except TokenError:
            logging.getLogger("telegram.ext.Application").exception("ZQFAIL %s", "initialize")
            logging.getLogger("bridges.zq").error("ZQSTACK", exc_info=True, stack_info=True)
        tornado.error("ZQTORNADO %s", URL, exc_info=TokenError(URL), extra={"where": "-"})
        # `extra=` fields are set after the factory ran: the root handlers' filter scrubs them.
        logging.getLogger("httpx").warning("ZQEXTRA", extra={"where": URL})
        a_record = logging.LogRecord("bridges.zq", logging.ERROR, __file__, 1, URL, None, None)
        a_record.stack_info = f"Stack (most recent call last):\n  {URL}"
        logging.getLogger("bridges.zq").handle(a_record)  # made without the factory
    finally:
        tornado.removeHandler(own)
        tornado.propagate = True
    text = "\n".join(logs.lines)
    for marker in [
        "in the message https://api.telegram.org/bot<token>/getUpdates",
        "encoded",
        "HTTP Request",
        "ZQFAIL initialize",
        "TokenError: The token `<token>`",
        "ValueError: https%3A%2F%2F",
        "ZQSTACK",
        "Stack (most recent call last)",
    ]:
        assert marker in text, (marker, text)  # fmt: skip
    assert "<token>" in text and token_leaks(text) == [], text
    [extra] = [r for r in logs.records if r.msg == "ZQEXTRA"]
    assert extra.where == "https://api.telegram.org/bot<token>/getUpdates"  # type: ignore[attr-defined]
    own_text = "\n".join(own.lines)
    assert "ZQTORNADO" in own_text and "TokenError: https://api.telegram.org/bot<token>" in own_text
    assert token_leaks(own_text) == [], own_text


def test_records_without_the_token_are_left_alone(logs: Everything, factory: None) -> None:
    """Redaction does not flatten ordinary records: their args stay for any handler."""
    seen: list[logging.LogRecord] = []
    keep = logging.Handler()
    keep.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(keep)
    try:
        logging.getLogger("bridges.zq").info("turn took %d ms", 12)
    finally:
        logging.getLogger().removeHandler(keep)
    assert [(r.msg, r.args) for r in seen] == [("turn took %d ms", (12,))]


CONFIGURED = f"""
import logging, sys, threading
from bot import logs

logs.configure("DEBUG", {FAKE_TOKEN!r})
url = {URL!r}
# A library that sets up its own logger and handler later, not propagating.
late = logging.getLogger("apscheduler.zq")
late.propagate = False
late.addHandler(logging.StreamHandler(sys.stderr))
late.warning("ZQLATE %s", url)
logging.getLogger("telegram.zq").warning("ZQTELEGRAM %s", url.replace(":", "%3A"))
logging.getLogger("bridges").info("ZQBRIDGES " + url)
thread = threading.Thread(target=lambda: (_ for _ in ()).throw(RuntimeError("ZQTHREAD " + url)))
thread.start()
thread.join()
raise RuntimeError("ZQUNCAUGHT The token `{FAKE_TOKEN}` was rejected by the server.")
"""


def test_configure_redacts_everything_a_process_prints() -> None:
    """bot.logs.configure in a fresh interpreter, uncaught exceptions included."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", CONFIGURED], cwd=root, capture_output=True, text=True, timeout=60
    )
    printed = done.stdout + done.stderr
    assert done.returncode == 1, printed
    for marker in ["ZQLATE", "ZQTELEGRAM", "ZQBRIDGES", "ZQTHREAD", "ZQUNCAUGHT", "Traceback"]:
        assert marker in printed, (marker, printed)
    assert printed.count("<token>") >= 5, printed
    assert token_leaks(printed) == [], printed
