"""Short PostgreSQL work on the event loop's thread (storage/pg_loop.py, bot/db_work.py):
it never blocks the loop while it waits for the server, it ends even when its caller gives
up, and the same engine still blocks as usual on a thread."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, exc, text

from bot.db_work import DbWork
from storage.db import PG_LOOP_TURNS, begin, make_engine
from tests.conftest import TEST_DATABASE_URL
from tests.test_db_work import breaks_its_connection

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")

WAIT_S = 10.0  # a bound for a test that would otherwise hang, never a measurement
PAUSE_S = 0.3  # what each statement below waits on the server


@pytest.fixture()
def engine() -> Iterator[Engine]:
    engine = make_engine(TEST_DATABASE_URL)
    table = f"pg_loop_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (note TEXT)"))
    engine.info_table = table  # type: ignore[attr-defined]
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {table}"))
        engine.dispose()


def _pause_and_note(engine: Engine, note: str) -> str:
    """A transaction that waits PAUSE_S on the server, then writes `note`."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_sleep(:s)"), {"s": PAUSE_S})
        conn.execute(text(f"INSERT INTO {engine.info_table} VALUES (:n)"), {"n": note})  # type: ignore[attr-defined]
    return threading.current_thread().name


def _notes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT note FROM {engine.info_table} ORDER BY note"))  # type: ignore[attr-defined]
        return [row[0] for row in rows]


async def _ticks_while(work: asyncio.Future[object]) -> int:
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_loop_work_waits_for_the_server_without_blocking_the_loop(engine: Engine) -> None:
    db = DbWork(engine)
    here = threading.current_thread().name
    started = time.monotonic()
    both = asyncio.ensure_future(
        asyncio.gather(
            db.run(_pause_and_note, engine, "a", inline=True),
            db.run(_pause_and_note, engine, "b", inline=True),
        )
    )
    ticks = await _ticks_while(both)
    took = time.monotonic() - started
    assert await both == [here, here], "ran on the loop's own thread"
    assert took < 2 * PAUSE_S, f"the two waits went one after the other ({took:.2f} s)"
    assert ticks >= 10, f"the loop ran only {ticks} times while the server was waited for"
    assert _notes(engine) == ["a", "b"]


async def test_the_same_engine_blocks_as_usual_on_a_thread(engine: Engine) -> None:
    db = DbWork(engine)
    name = await db.run(_pause_and_note, engine, "threaded")
    assert name.startswith("bridges-db")
    assert _pause_and_note(engine, "here, no loop work") == threading.current_thread().name
    assert _notes(engine) == ["here, no loop work", "threaded"]


async def test_loop_work_ends_even_when_its_caller_is_cancelled(engine: Engine) -> None:
    db = DbWork(engine)
    work = asyncio.ensure_future(db.run(_pause_and_note, engine, "kept", inline=True))
    await asyncio.sleep(PAUSE_S / 3)
    work.cancel()
    with pytest.raises(asyncio.CancelledError):
        await work
    for _ in range(int(WAIT_S / 0.05)):  # committed once the server's wait is over
        if _notes(engine) == ["kept"]:
            break
        await asyncio.sleep(0.05)
    assert _notes(engine) == ["kept"]


async def test_a_failed_statement_reaches_the_caller_and_the_next_work_runs(
    engine: Engine,
) -> None:
    db = DbWork(engine)

    def fails() -> None:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1 / 0"))

    with pytest.raises(exc.DataError):
        await db.run(fails, inline=True)
    assert await db.run(_pause_and_note, engine, "after", inline=True)
    assert _notes(engine) == ["after"]


async def test_loop_work_holds_at_most_its_share_of_connections(engine: Engine) -> None:
    """Many turns at once: PG_LOOP_TURNS run, the rest wait on the loop (a loop waiting
    for a free pooled connection would block everything), and each socket is unwatched
    when its connection goes back to the pool."""
    engine.dispose()
    opened: list[object] = []
    event.listen(engine, "connect", lambda dbapi_conn, _record: opened.append(dbapi_conn))
    db = DbWork(engine)
    work = [
        db.run(_pause_and_note, engine, f"n{i:02d}", inline=True)
        for i in range(PG_LOOP_TURNS * 2 + 1)
    ]
    await asyncio.wait_for(asyncio.gather(*work), WAIT_S)
    assert len(opened) == PG_LOOP_TURNS
    assert len(_notes(engine)) == PG_LOOP_TURNS * 2 + 1
    assert all(conn._watched_by is None for conn in opened)  # type: ignore[attr-defined]


async def test_work_waiting_for_a_lock_holds_neither_the_loop_nor_other_work(
    engine: Engine,
) -> None:
    """Another connection holds a row lock (a stuck maintenance job, another replica): the
    work that needs the row waits on the server; the loop and other people's work go on."""
    table = engine.info_table  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} VALUES ('held'), ('free')"))
    db = DbWork(engine)

    def change(note: str) -> str:
        with engine.begin() as conn:
            conn.execute(
                text(f"UPDATE {table} SET note = note || '!' WHERE note = :n"), {"n": note}
            )
        return note

    holder = engine.connect()
    try:
        holder.execute(text(f"SELECT note FROM {table} WHERE note = 'held' FOR UPDATE"))
        stuck = asyncio.ensure_future(db.run(change, "held", inline=True))
        other = await asyncio.wait_for(db.run(change, "free", inline=True), WAIT_S)
        assert other == "free" and not stuck.done()
        ticks = 0
        for _ in range(10):
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 10 and not stuck.done()
    finally:
        holder.rollback()
        holder.close()
    assert await asyncio.wait_for(stuck, WAIT_S) == "held"
    assert _notes(engine) == ["free!", "held!"]


async def test_a_connection_killed_by_the_server_is_replaced_and_unwatched(engine: Engine) -> None:
    """The server ends a pooled connection (a restart, an idle timeout): loop work using it
    fails once as a disconnect, the pool replaces it, the next work runs, and the dead
    socket is no longer watched by the loop (its number may be reused)."""
    db = DbWork(engine)

    def backend() -> tuple[int, int]:
        with engine.begin() as conn:
            socket = conn.connection.driver_connection.pgconn.socket  # type: ignore[union-attr]
            return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one()), socket

    first, first_socket = await db.run(backend, inline=True)
    other = make_engine(TEST_DATABASE_URL)  # not a connection of the pool under test
    with other.begin() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
    other.dispose()
    outcome: list[object] = []
    for _ in range(2):
        try:
            outcome.append((await db.run(backend, inline=True))[0])
        except exc.OperationalError as err:
            assert err.connection_invalidated
            outcome.append("disconnect")
    assert outcome[0] == "disconnect" and isinstance(outcome[1], int)
    assert outcome[1] != first
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    assert first_socket not in {key.fd for key in selector.get_map().values()}


async def test_loop_work_keeps_its_connections_and_replaces_a_broken_one(engine: Engine) -> None:
    """Work on the loop begins its transactions (storage/db.py `begin`) on connections kept
    between jobs: one checkout for many jobs, the socket left registered with the loop in
    between; a nested transaction gets a pooled one; an invalidated one is replaced; work
    with no transaction takes none; `close` gives them back."""
    engine.dispose()
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *args: checkouts.append(args[0]))
    table = engine.info_table  # type: ignore[attr-defined]
    db = DbWork(engine)

    def note(words: str) -> int:
        with begin(engine) as conn:
            conn.execute(text(f"INSERT INTO {table} VALUES (:n)"), {"n": words})
            return id(conn.connection.dbapi_connection)

    def nested() -> tuple[int, int]:
        with begin(engine) as outer:
            outer.execute(text(f"INSERT INTO {table} VALUES ('outer')"))
            with begin(engine) as inner:  # the kept one is inside a transaction: not it
                inner.execute(text(f"INSERT INTO {table} VALUES ('inner')"))
                return id(outer), id(inner)

    broken = breaks_its_connection(engine)
    try:
        first = await db.run(note, "a", inline=True)
        again = await db.run(note, "b", inline=True)
        assert first == again and len(checkouts) == 1, "each job checked out its own"
        kept = checkouts[0]
        assert kept._watched_by is asyncio.get_running_loop()  # type: ignore[attr-defined]
        outer, inner = await db.run(nested, inline=True)
        assert outer != inner and len(checkouts) == 2
        await db.run(lambda: None, inline=True)
        assert len(checkouts) == 2, "work with no transaction took a connection"
        with pytest.raises(RuntimeError):
            await db.run(broken, inline=True)
        assert await db.run(note, "c", inline=True) != first, "the broken one was kept"
        assert len(checkouts) == 3  # the replacement (the pool hands out the nested one's)
    finally:
        db.close()
    assert engine.pool.checkedout() == 0, "close left a kept connection out"
    assert _notes(engine) == ["a", "b", "c", "inner", "outer"]
