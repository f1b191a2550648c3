"""Database engines: an SQLite file by default, PostgreSQL by DATABASE_URL.

Every wait on the database is bounded by a few seconds. A person who wrote to the bot is
waiting on each of these waits: when the database is down, hung or locked, the turn should
fail quickly so the adapter can send the reply that needs no database (bot/fallback.py, the
crisis lines for a message that screens as crisis) and leave the update to be processed
again when the database is back, rather than hold everyone's turns for half a minute.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

DEFAULT_URL = "sqlite:///bridges.db"

# --- PostgreSQL -------------------------------------------------------------------------
# Seconds to open a connection (libpq's connect_timeout): a database that is down or
# unreachable fails the turn in this long instead of the kernel's minutes of SYN retries.
PG_CONNECT_TIMEOUT_S = 5
# Longest one statement may run on the server, lock waits included (statement_timeout):
# a turn's statements take milliseconds, so one that runs for seconds is stuck behind a
# hung database or a held lock, and is cancelled (OperationalError) rather than left
# waiting. A migration that needs longer lifts it for its own transaction
# (lift_statement_timeout).
PG_STATEMENT_TIMEOUT_MS = 5_000
# Milliseconds sent data may stay unacknowledged before the kernel drops the connection
# (libpq's tcp_user_timeout). statement_timeout is enforced by the server, so it cannot
# help when the server's host vanishes mid-query (no reply, no reset ever comes); this
# bounds that case too.
PG_TCP_USER_TIMEOUT_MS = 5_000
# Seconds a caller waits for a free pooled connection: a starved pool (every connection
# stuck on a hung database) fails it fast instead of queueing it for 30 s. With the pool
# below, the bot's own database work never waits here; a hung database holds its turns in
# bot/db_work.py's queues instead (PG_LOOP_TURNS at a time on the loop, the rest waiting
# their turn), where the intake tells people after TURN_PATIENCE.
PG_POOL_TIMEOUT_S = 5
# Threads that run PostgreSQL's longer work (bot/db_work.py: the sweep's due turns,
# maintenance, exports; turns ran here too before they moved onto the loop), and the pool
# that serves them. Each such thread and the urgent thread holds at most one connection at
# a time, so the pool keeps one per thread (PG_POOL_SIZE) and none ever waits for another, or
# opens and closes a connection per burst: SQLAlchemy's default pool (5, plus 10 opened
# and closed as needed) under the default executor's 6 threads and the urgent one opened
# 43 connections in a 40-user bench/turns.py run (4 with this pool). Three turn threads:
# on 2 cores, two let bursts queue (p99 up to 3x higher), four were no better than three.
# Turns are bound by Python's CPU and one lock (the GIL): the thread count changed CPU per
# turn within the noise, and memory little (~0.5 MB for three threads and connections).
PG_TURN_THREADS = 3
# Short work (a turn, an update stored, replies marked sent) run at once on the event
# loop's thread with psycopg (storage/pg_loop.py), each holding a connection while it
# runs. More would not go faster on 2 cores (the work is Python's CPU between round trips),
# and the bound keeps those connections within the pool: a loop waiting for a free one
# would block everything.
PG_LOOP_TURNS = 4
PG_POOL_SIZE = PG_TURN_THREADS + 1 + PG_LOOP_TURNS  # + the urgent thread's
# Connections opened beyond PG_POOL_SIZE when something outside bot/db_work.py's threads
# needs one at the same moment (the webhook's health check, a maintenance command in the
# process); they are closed when returned. The bot's own threads never need them.
PG_MAX_OVERFLOW = 2
# Seconds after which a pooled connection is replaced on its next checkout, so a
# connection a proxy or firewall silently dropped while idle is not used for long.
# No pool_pre_ping: it costs a round trip on every checkout and would itself hang on a
# hung database. A connection found dead in use raises once; SQLAlchemy then sees a
# disconnect, invalidates it and every connection opened before it, and the next turn
# gets a fresh one (the failed update is not acknowledged, so it runs again).
PG_POOL_RECYCLE_S = 300

# --- SQLite -----------------------------------------------------------------------------
# Seconds a writer waits for another connection's write lock (sqlite3's `timeout` and
# PRAGMA busy_timeout, the same wait): turns hold the lock for milliseconds, so a lock
# held for seconds means something is stuck, and the person should get the fallback reply
# rather than wait 30 s.
SQLITE_BUSY_TIMEOUT_S = 5


class MissingDriver(RuntimeError):
    """A PostgreSQL URL was given, but the packages that drive it (the 'postgres' extra:
    psycopg, greenlet) are not installed. The message says how to install them."""


class LockBusy(Exception):
    """Another connection holds SQLite's write lock, and the caller said not to wait for it
    (`sqlite_no_wait`). Nothing was run: the transaction never began."""


_no_wait = threading.local()


@contextlib.contextmanager
def sqlite_no_wait() -> Iterator[None]:
    """On this thread, the first transaction begun inside the block on an SQLite engine
    of this module does not wait for the write lock: it raises LockBusy at once if
    another connection holds it. Any later transaction in the block waits as usual
    (SQLITE_BUSY_TIMEOUT_S), since the first one may have committed by then and the
    caller could not run the block again. No effect on PostgreSQL.

    For bot/db_work.py, which runs short SQLite work on the event loop's thread only
    when it can do so without waiting, and hands it to its database thread otherwise."""
    _no_wait.first = True
    try:
        yield
    finally:
        _no_wait.first = False


# A ContextVar, not a thread-local: on PostgreSQL several greenlets share the loop's
# thread (storage/pg_loop.py), each with a context of its own and its own kept connection.
_kept: contextvars.ContextVar[tuple[Engine, Callable[[], Connection]] | None] = (
    contextvars.ContextVar("bridges_kept_connection", default=None)
)


@contextlib.contextmanager
def keeping(engine: Engine, kept: Callable[[], Connection]) -> Iterator[None]:
    """Inside, in this context (a thread's, or a greenlet's on the loop), `begin` on
    `engine` opens its transaction on the Connection `kept()` returns, rather than on one
    checked out of the pool for it. `kept` is called only when a transaction begins, so
    work that never begins one holds no connection.

    For bot/db_work.py, whose jobs never run two at once on one kept connection: it saves
    each transaction the checkout and check-in (SQLite: ~25 of the ~43 us SQLAlchemy took
    for an empty one; PostgreSQL on the loop, also the socket's registration with the
    loop's selector and its removal; issue 15)."""
    token = _kept.set((engine, kept))
    try:
        yield
    finally:
        _kept.reset(token)


def begin(engine: Engine) -> contextlib.AbstractContextManager[Connection]:
    """`engine.begin()`, on the Connection `keeping` set for this context when there is
    one for `engine` that is free (not closed, invalidated or inside a transaction)."""
    kept = _kept.get()
    if kept is None or kept[0] is not engine:
        return engine.begin()
    conn = kept[1]()
    if conn.closed or conn.invalidated or conn.in_transaction():
        return engine.begin()
    return _begin_on(conn)


@contextlib.contextmanager
def _begin_on(conn: Connection) -> Iterator[Connection]:
    with conn.begin():
        yield conn


def normalise_url(url: str) -> str:
    """`url` as SQLAlchemy wants it: postgres:// and postgresql:// get the psycopg 3 driver
    ("postgresql+psycopg://..."), anything else is returned as given (password included).
    Raises sqlalchemy.exc.ArgumentError for a string that is not a database URL."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    """Whether `url` names an SQLite database (a file, or ":memory:"). Raises
    sqlalchemy.exc.ArgumentError for a string that is not a database URL."""
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str = DEFAULT_URL, **kwargs: Any) -> Engine:
    """An engine for `url` (SQLite file or PostgreSQL) with the timeouts above.

    `kwargs` go to SQLAlchemy's create_engine and win over the defaults here; a
    `connect_args` dict is merged key by key with ours (its keys win). A new SQLite file
    is created readable by its owner only (0600), in WAL mode. Raises
    sqlalchemy.exc.ArgumentError for a malformed URL; nothing connects until first use.

    A statement's parameters (people's words among them) are left out of SQLAlchemy's
    errors and their str(), so no error logged or shown anywhere can carry them.
    """
    url = normalise_url(url)
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        return _postgres_engine(make_url(url), kwargs)
    return _sqlite_engine(url, kwargs)


def pg_connect_args(url: URL) -> dict[str, Any]:
    """The driver arguments that bound every wait on PostgreSQL, for `url`.

    `options` (server settings at connection start) carries our statement_timeout
    followed by the URL's own `options` ("-csearch_path=..."): connect_args replace a URL
    query parameter of the same name, so the two are joined here rather than one lost.
    The URL's come last, so an explicit `-c statement_timeout=...` in the URL wins.
    A connect_timeout in the URL wins too.
    """
    own = url.query.get("options", ())
    url_options = " ".join([own] if isinstance(own, str) else own)
    options = " ".join(
        filter(None, [f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS}", url_options])
    )
    args: dict[str, Any] = {
        "options": options,
        "tcp_user_timeout": PG_TCP_USER_TIMEOUT_MS,
    }
    if "connect_timeout" not in url.query:
        args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    return args


def _postgres_engine(url: URL, kwargs: dict[str, Any]) -> Engine:
    # Left at their defaults, measured: psycopg prepares a statement on a connection after
    # its 5th use (prepare_threshold), which in the bench covers ~93% of executions (the
    # same few statements per turn; a connection's ROLLBACK would discard them, but nearly
    # every transaction commits); preparing at first use (0) or never (None) cost the same
    # client CPU, and never preparing took longer (the server plans each statement each
    # time). pool_reset_on_return: SQLAlchemy skips the pool's rollback when the Connection
    # already ended its transaction, so turning it off saved nothing.
    connect_args = pg_connect_args(url) | kwargs.pop("connect_args", {})
    settings: dict[str, Any] = {
        "pool_size": PG_POOL_SIZE,
        "max_overflow": PG_MAX_OVERFLOW,
        "pool_recycle": PG_POOL_RECYCLE_S,
        "pool_timeout": PG_POOL_TIMEOUT_S,
    } | kwargs
    try:
        engine = create_engine(url, connect_args=connect_args, **settings)
        if engine.dialect.driver == "psycopg":
            from storage.pg_loop import use_loop_connections  # greenlet: PostgreSQL only

            use_loop_connections(engine)
            _LOOP_ENGINES.add(engine)
    except ModuleNotFoundError as err:
        if err.name not in ("psycopg", "greenlet"):
            raise
        raise MissingDriver(
            f"PostgreSQL needs the 'postgres' extra ({err.name} is not installed): "
            "pip install -e '.[postgres]' in the project, or 'bridges-coach[postgres]'."
        ) from None
    return engine


_LOOP_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def waits_on_loop(engine: Engine) -> bool:
    """Whether `engine`'s connections can wait for the server on the event loop
    (storage/pg_loop.py: PostgreSQL through psycopg 3, made by make_engine)."""
    return engine in _LOOP_ENGINES


def _sqlite_engine(url: str, kwargs: dict[str, Any]) -> Engine:
    connect_args = {
        "check_same_thread": False,
        "timeout": SQLITE_BUSY_TIMEOUT_S,
    } | kwargs.pop("connect_args", {})
    busy_ms = int(float(connect_args["timeout"]) * 1000)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    database = make_url(url).database
    in_file = database not in (None, "", ":memory:")
    if in_file:
        _create_private(Path(str(database)))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy own transactions, so each turn can start with BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        # The same wait as sqlite3's `timeout`, said again so it holds whatever the
        # driver does with it.
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        if in_file:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: two turns never deadlock upgrading a read lock.
        # Straight on the driver's connection: through exec_driver_sql, SQLAlchemy's
        # execution context cost ~15 us of the ~50 us a transaction's bookkeeping took
        # (issue 15); a failure is still raised as SQLAlchemy raises it (storage/hot.py).
        dbapi = conn.connection.driver_connection
        try:
            if getattr(_no_wait, "first", False):
                _no_wait.first = False
                _begin_without_waiting(dbapi, busy_ms)
            else:
                dbapi.execute("BEGIN IMMEDIATE")
        except LockBusy:
            raise
        except Exception as err:
            conn._handle_dbapi_exception(err, "BEGIN IMMEDIATE", (), None, None)

    return engine


def _begin_without_waiting(dbapi: sqlite3.Connection, busy_ms: int) -> None:
    """BEGIN IMMEDIATE with the busy wait off for this one statement; LockBusy if the
    write lock is held elsewhere."""
    dbapi.execute("PRAGMA busy_timeout=0")
    try:
        dbapi.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        if err.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise
        raise LockBusy from None
    finally:
        dbapi.execute(f"PRAGMA busy_timeout={busy_ms}")


def _create_private(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (what people wrote is in it);
    SQLite gives its -wal and -shm files the same mode. An existing file is left as its
    owner set it."""
    if path.exists() or not path.parent.is_dir():
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # created meanwhile, or not ours to create: SQLite says what is wrong
        return
    os.close(fd)


def lift_statement_timeout(conn: Connection) -> None:
    """Let the statements of `conn`'s current transaction run as long as they need.

    For migrations and other maintenance that may rewrite a large table: PostgreSQL's
    SET LOCAL lasts until the transaction ends, so the connection goes back to the pool
    with PG_STATEMENT_TIMEOUT_MS. Call inside a transaction; nothing to do on SQLite.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
