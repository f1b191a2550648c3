"""The crisis reply that needs no database (bot/fallback.py), and the database timeouts
that make a turn fail fast enough for it to matter (storage/db.py).

The PostgreSQL tests run when TEST_DATABASE_URL is set (as in conftest.py), each in a
scratch schema of its own.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from telegram import CallbackQuery, Chat, Message, Update, User

from bot import fallback
from bot.fallback import crisis_text, crisis_text_for_update, region_of
from prompts import Catalog
from storage.db import (
    PG_STATEMENT_TIMEOUT_MS,
    lift_statement_timeout,
    make_engine,
    normalise_url,
    pg_connect_args,
)

ROOT = Path(__file__).parent.parent
CATALOG = Catalog()
CRISIS = "I can't do this anymore, I'm going to kill myself tonight"
GENERAL_EMERGENCY = "112 in most of Europe, 911 in the US and Canada, 999 in the UK"
HONEST = "I'll answer the rest of your message as soon as I can."
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
needs_postgres = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set (PostgreSQL tests run in CI)"
)


def plain(html: str) -> str:
    """The reply as Telegram shows it: tags gone, entities read."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def an_update(
    words: str | None = CRISIS,
    *,
    language_code: str | None = "en",
    caption: bool = False,
    edited: bool = False,
) -> Update:
    user = User(id=7, first_name="Ada", is_bot=False, language_code=language_code)
    chat = Chat(id=7, type=Chat.PRIVATE)
    message = Message(
        message_id=1,
        date=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        chat=chat,
        from_user=user,
        text=None if caption else words,
        caption=words if caption else None,
    )
    return Update(1, edited_message=message) if edited else Update(1, message=message)


# --- whose lines ---------------------------------------------------------------------


def test_en_gb_gets_the_uk_lines() -> None:
    text_ = plain(crisis_text(CATALOG, CRISIS, "en-GB") or "")
    assert "In immediate danger: call 999." in text_
    assert "Samaritans: call 116 123" in text_
    assert "Going by the language your Telegram is set to: United Kingdom." in text_
    assert "988" not in text_ and GENERAL_EMERGENCY not in text_
    assert "findahelpline.com" in text_  # someone abroad still has the directory
    assert text_.startswith("I'm glad you wrote to me.")  # care first, not an apology
    assert text_.endswith(HONEST)


def test_pt_br_gets_brazil() -> None:
    text_ = plain(crisis_text(CATALOG, CRISIS, "pt-br") or "")
    assert "In immediate danger: call 192." in text_
    assert "call 188" in text_ and "cvv.org.br" in text_
    assert "Brazil" in text_
    assert "999" not in text_ and "116 123" not in text_


@pytest.mark.parametrize("language_code", ["en", "de", "pt", "zh-hans", None, ""])
def test_a_language_alone_gets_the_general_lines_and_the_directory(
    language_code: str | None,
) -> None:
    text_ = plain(crisis_text(CATALOG, CRISIS, language_code) or "")
    assert GENERAL_EMERGENCY in text_
    assert "call or text 988" in text_ and "116 123" in text_
    assert "findahelpline.com lists helplines" in text_
    assert "Going by" not in text_
    assert text_.endswith(HONEST)


SPANISH_CRISIS = "ya no puedo más, me voy a matar esta noche"


def test_spanish_apps_get_spanish_and_their_country_in_spanish() -> None:
    general = plain(crisis_text(CATALOG, SPANISH_CRISIS, "es-419") or "")
    assert general.startswith("Me alegra que me hayas escrito.")
    assert "112 en casi toda Europa, 911 en EE. UU. y Canadá" in general
    assert "Según" not in general  # Latin America is an area, not a country
    spain = plain(crisis_text(CATALOG, SPANISH_CRISIS, "es-ES") or "")
    assert "Si estás en peligro ahora mismo: llama al 112." in spain
    assert "Línea 024: llama al 024 (24/7)." in spain
    assert "Según el idioma de tu Telegram: España." in spain
    mexico = plain(crisis_text(CATALOG, SPANISH_CRISIS, "es-MX") or "")
    assert "llama al 911." in mexico and "Línea de la Vida: llama al 800 911 2000" in mexico
    assert "México." in mexico and "Mexico" not in mexico
    # The 988 line's Spanish is in the verified data (which key to press is not: none named).
    usa = plain(crisis_text(CATALOG, SPANISH_CRISIS, "es-US") or "")
    assert "988 Suicide & Crisis Lifeline (atiende también en español): llama al 988" in usa
    assert "Estados Unidos." in usa


@pytest.mark.parametrize(
    ("tag", "region"),
    [
        ("en-GB", "GB"),
        ("en_gb", "GB"),
        ("pt-br", "BR"),
        ("sr-Latn-RS", "RS"),
        ("zh-yue-HK", "HK"),
        ("en-UK", "GB"),
        ("en", None),
        ("zh-hant", None),
        ("es-419", None),
        ("x-private", None),
        ("en-GB-x-" + "a" * 40, None),
        ("en--GB", None),
        ("en-GB;DROP", None),
        (None, None),
    ],
)
def test_region_of_reads_only_a_region_subtag(tag: str | None, region: str | None) -> None:
    assert region_of(tag) == region


def test_a_region_we_know_nothing_of_gets_the_general_lines() -> None:
    # Antarctica has a name but neither lines nor a confirmed emergency number.
    text_ = plain(crisis_text(CATALOG, CRISIS, "en-AQ") or "")
    assert GENERAL_EMERGENCY in text_ and "Antarctica" not in text_


def test_a_country_with_only_an_emergency_number_gets_it_and_the_directory() -> None:
    text_ = plain(crisis_text(CATALOG, CRISIS, "tr-TR") or "")
    assert "In immediate danger: call 112." in text_
    assert "Türkiye: findahelpline.com lists helplines near you." in text_


# --- what is screened ----------------------------------------------------------------


@pytest.mark.parametrize("words", ["hello, how are you?", "I finished my walk today", "", "  "])
def test_words_not_at_risk_get_none(words: str) -> None:
    assert crisis_text(CATALOG, words, "en-GB") is None


def test_a_crisis_in_an_edited_caption_is_answered_with_its_country() -> None:
    update = an_update(CRISIS, language_code="de-AT", caption=True, edited=True)
    text_ = plain(crisis_text_for_update(CATALOG, update) or "")
    assert "TelefonSeelsorge: call 142" in text_ and "Austria" in text_


def test_updates_without_words_or_risk_get_none() -> None:
    assert crisis_text_for_update(CATALOG, an_update("see you tomorrow")) is None
    assert crisis_text_for_update(CATALOG, an_update(None)) is None  # a sticker, say
    user = User(id=7, first_name="Ada", is_bot=False, language_code="en-GB")
    tap = Update(2, callback_query=CallbackQuery("q1", user, chat_instance="c", data="x"))
    assert crisis_text_for_update(CATALOG, tap) is None


@pytest.mark.parametrize(
    "update",
    [
        an_update("plain words"),
        an_update("a caption", caption=True),
        an_update("an edit", edited=True),
        an_update("an edited caption", caption=True, edited=True),
        an_update(None),
    ],
)
def test_words_are_read_as_the_adapter_reads_them(update: Update) -> None:
    # bot/fallback.py keeps its own copy so it imports nothing that reaches storage.
    from bot.telegram_app import words_in

    assert fallback.words_in(update) == words_in(update)


def test_a_screening_failure_counts_as_not_at_risk_and_logs_only_its_type(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(words: str) -> None:
        raise ValueError(f"could not read {words}")

    monkeypatch.setattr(fallback, "assess", broken)
    caplog.set_level(logging.DEBUG)
    assert crisis_text(CATALOG, CRISIS, "en-GB") is None
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ValueError" in logged and CRISIS not in logged


def test_broken_helpline_data_still_gives_the_general_lines(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreadable() -> None:
        raise OSError("helplines.yaml")

    monkeypatch.setattr(fallback.helplines, "load", unreadable)
    text_ = plain(crisis_text(CATALOG, CRISIS, "en-GB") or "")
    assert GENERAL_EMERGENCY in text_ and "116 123" in text_
    assert "OSError" in caplog.text


def test_the_crisis_reply_needs_no_database_at_all() -> None:
    # A fresh interpreter where storage, SQLAlchemy and every database driver cannot be
    # imported: the reply must still be rendered, and nothing must have tried.
    script = textwrap.dedent(
        """
        import importlib.abc, sys
        from datetime import UTC, datetime

        BLOCKED = {"storage", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "sqlite3",
                   "_sqlite3"}

        class NoDatabase(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError("no database here: " + name)
                return None

        sys.meta_path.insert(0, NoDatabase())
        from telegram import Chat, Message, Update, User
        from bot.fallback import crisis_text_for_update
        from prompts import Catalog

        user = User(id=7, first_name="Ada", is_bot=False, language_code="en-GB")
        message = Message(1, datetime.now(UTC), Chat(7, "private"), from_user=user,
                          text=sys.argv[1])
        print(crisis_text_for_update(Catalog(), Update(1, message=message)))
        print("loaded:", sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, CRISIS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "call 999" in done.stdout and "Samaritans" in done.stdout
    assert "loaded: []" in done.stdout


# --- SQLite: a write waiting on a stuck lock gives up --------------------------------


def test_sqlite_gives_up_on_a_held_write_lock_within_seconds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bridges.db"
    holder, waiter = make_engine(url), make_engine(url)
    try:
        with waiter.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        with holder.begin() as held:  # BEGIN IMMEDIATE: the write lock
            held.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            started = time.monotonic()
            with pytest.raises(OperationalError, match="locked"), waiter.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE u (x INTEGER)")
            waited = time.monotonic() - started
    finally:
        holder.dispose()
        waiter.dispose()
    assert 4.0 <= waited < 6.0, waited


# --- PostgreSQL -----------------------------------------------------------------------


def test_statement_timeout_joins_the_urls_own_options() -> None:
    url = make_url("postgresql+psycopg://u@h/db?options=-csearch_path%3Dscratch")
    args = pg_connect_args(url)
    assert args["options"] == "-c statement_timeout=5000 -csearch_path=scratch"
    assert args["connect_timeout"] == 5 and args["tcp_user_timeout"] == 5000

    twice = url.update_query_pairs([("options", "-ca=1"), ("options", "-cb=2")])
    assert pg_connect_args(twice)["options"] == "-c statement_timeout=5000 -ca=1 -cb=2"

    theirs = make_url("postgresql+psycopg://u@h/db?connect_timeout=2")
    assert pg_connect_args(theirs) == {
        "options": "-c statement_timeout=5000",
        "tcp_user_timeout": 5000,
    }  # their connect_timeout stays in the URL, where the driver reads it


def test_postgres_engine_settings_without_a_server() -> None:
    engine = make_engine("postgres://u@h/db", connect_args={"application_name": "x"})
    pool = engine.pool
    assert pool._pre_ping is False  # type: ignore[attr-defined]
    assert pool._recycle == 300  # type: ignore[attr-defined]
    assert pool._timeout == 5  # type: ignore[attr-defined]
    engine.dispose()


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh scratch schema, as bench/scratch_db.py makes."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    base = make_url(normalise_url(TEST_DATABASE_URL))
    schema = f"t_fallback_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            scoped = base.update_query_dict({"options": f"-csearch_path={schema}"})
            yield scoped.render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text("SET lock_timeout = '10s'"))
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


@needs_postgres
def test_postgres_cancels_a_hung_statement_and_keeps_the_search_path(pg_url: str) -> None:
    engine = make_engine(pg_url)
    schema = make_url(pg_url).query["options"].removeprefix("-csearch_path=")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW search_path").scalar() == schema
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "5s"
            params = conn.connection.driver_connection.info.get_parameters()  # type: ignore[union-attr]
            assert params["connect_timeout"] == "5" and params["tcp_user_timeout"] == "5000"
            started = time.monotonic()
            with pytest.raises(OperationalError, match="statement timeout"):
                conn.exec_driver_sql("SELECT pg_sleep(10)")
            waited = time.monotonic() - started
            # A cancelled statement is not a lost connection: it works again at once.
            conn.rollback()
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
    assert PG_STATEMENT_TIMEOUT_MS / 1000 - 0.5 <= waited < 6.0, waited


@needs_postgres
def test_an_explicit_statement_timeout_in_the_url_wins(pg_url: str) -> None:
    url = make_url(pg_url)
    url = url.update_query_dict({"options": url.query["options"] + " -c statement_timeout=1500"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1500ms"
    finally:
        engine.dispose()


@needs_postgres
def test_a_migration_can_lift_the_statement_timeout_for_its_transaction(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            lift_statement_timeout(conn)
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "5s"
    finally:
        engine.dispose()


@needs_postgres
def test_a_starved_pool_fails_fast(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect():
            started = time.monotonic()
            with pytest.raises(PoolTimeoutError):
                engine.connect()
            waited = time.monotonic() - started
    finally:
        engine.dispose()
    assert 4.5 <= waited < 6.0, waited


@needs_postgres
def test_a_dropped_connection_fails_one_turn_and_the_next_gets_a_fresh_one(
    pg_url: str,
) -> None:
    engine = make_engine(pg_url, pool_size=2)
    admin = create_engine(make_url(normalise_url(TEST_DATABASE_URL)), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as a, engine.connect() as b:  # two pooled connections
            pids = {c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in (a, b)}
        with admin.connect() as conn:  # the server drops them (a restart, a failover)
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as lost, engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert lost.value.connection_invalidated
        # The other stale connection is not handed out again: the pool saw a disconnect
        # and replaces every connection opened before it.
        results: list[int] = []

        def turn() -> None:
            with engine.connect() as conn:
                results.append(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

        threads = [threading.Thread(target=turn) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(results) == 2 and not pids & set(results)
    finally:
        engine.dispose()
        admin.dispose()
