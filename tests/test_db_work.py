"""Where database work runs (bot/db_work.py) and the PostgreSQL pool that serves it
(storage/db.py): turns on a few threads of their own, urgent work never behind them, and a
pool with a connection for each of those threads, so none of them opens one per burst."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text

from bot.db_work import DbWork
from storage.db import (
    PG_LOOP_TURNS,
    PG_MAX_OVERFLOW,
    PG_POOL_SIZE,
    PG_TURN_THREADS,
    begin,
    make_engine,
    waits_on_loop,
)
from tests.conftest import TEST_DATABASE_URL

WAIT_S = 10.0  # a bound for a test that would otherwise hang, never a measurement


class Gate:
    """Jobs that hold their thread until opened, counting how many held at once."""

    def __init__(self, until: int) -> None:
        self.until = until  # `reached` is set once this many are held at once
        self.reached = threading.Event()
        self.open = threading.Event()
        self.threads: set[str] = set()
        self.most = 0
        self._held = 0
        self._lock = threading.Lock()

    def job(self, then: Callable[[], object] = lambda: None) -> object:
        with self._lock:
            self._held += 1
            self.most = max(self.most, self._held)
            self.threads.add(threading.current_thread().name)
            if self._held >= self.until:
                self.reached.set()
        try:
            assert self.open.wait(WAIT_S), "the gate was never opened"
            return then()
        finally:
            with self._lock:
                self._held -= 1


async def wait_for(flag: threading.Event) -> None:
    assert await asyncio.to_thread(flag.wait, WAIT_S), "never happened"


@pytest.fixture()
def pg_engine() -> Iterator[Engine]:
    """A PostgreSQL engine that has not connected (none of these tests needs a server)."""
    engine = make_engine("postgresql://u@h/db")
    yield engine
    engine.dispose()


def test_a_postgres_engine_runs_short_work_on_the_loop(pg_engine: Engine) -> None:
    assert waits_on_loop(pg_engine)
    assert not waits_on_loop(make_engine("sqlite://"))


def test_the_postgres_pool_keeps_a_connection_per_database_thread(pg_engine: Engine) -> None:
    # + the urgent thread, + short work running on the event loop (storage/pg_loop.py)
    assert PG_POOL_SIZE == PG_TURN_THREADS + 1 + PG_LOOP_TURNS
    assert pg_engine.pool.size() == PG_POOL_SIZE  # type: ignore[attr-defined]
    assert pg_engine.pool._max_overflow == PG_MAX_OVERFLOW  # type: ignore[attr-defined]
    theirs = make_engine("postgresql://u@h/db", pool_size=1, max_overflow=0)
    assert theirs.pool.size() == 1  # type: ignore[attr-defined]
    assert theirs.pool._max_overflow == 0  # type: ignore[attr-defined]
    theirs.dispose()


async def test_postgres_turns_run_on_their_own_few_threads(pg_engine: Engine) -> None:
    db = DbWork(pg_engine)
    gate = Gate(until=PG_TURN_THREADS)
    turns = [asyncio.ensure_future(db.run(gate.job)) for _ in range(PG_TURN_THREADS * 3)]
    await wait_for(gate.reached)
    # Every turn thread is held: urgent work still runs, on a thread of its own.
    urgent = await asyncio.wait_for(
        db.run(lambda: threading.current_thread().name, urgent=True), WAIT_S
    )
    assert urgent.startswith("bridges-db-urgent")
    assert not any(turn.done() for turn in turns)
    gate.open.set()
    await asyncio.wait_for(asyncio.gather(*turns), WAIT_S)
    assert gate.most == PG_TURN_THREADS
    assert len(gate.threads) == PG_TURN_THREADS
    assert all(name.startswith("bridges-db_") for name in gate.threads), gate.threads


async def test_a_turns_exception_reaches_its_caller(pg_engine: Engine) -> None:
    def fails() -> None:
        raise LookupError("gone")

    db = DbWork(pg_engine)
    with pytest.raises(LookupError):
        await db.run(fails)
    with pytest.raises(LookupError):
        await db.run(fails, urgent=True)
    assert await db.run(lambda: 7) == 7  # the thread survives


async def test_sqlite_work_runs_on_one_thread_urgent_first(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/bridges.db")
    db = DbWork(engine)
    gate = Gate(until=1)
    order: list[str] = []

    def note(name: str) -> str:
        order.append(name)
        return threading.current_thread().name

    first = asyncio.ensure_future(db.run(gate.job))
    await wait_for(gate.reached)  # the one thread is busy: the rest queue
    queued = [asyncio.ensure_future(db.run(note, name)) for name in ("turn 1", "turn 2")]
    queued.append(asyncio.ensure_future(db.run(note, "urgent", urgent=True)))
    await asyncio.sleep(0)  # let each submit
    gate.open.set()
    threads = await asyncio.wait_for(asyncio.gather(first, *queued), WAIT_S)
    assert order == ["urgent", "turn 1", "turn 2"]
    assert set(threads[1:]) == {"bridges-db"} == gate.threads
    engine.dispose()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")
async def test_busy_database_threads_never_open_more_connections_than_the_pool() -> None:
    engine = make_engine(TEST_DATABASE_URL)
    opened: list[object] = []
    event.listen(engine, "connect", lambda dbapi_conn, _record: opened.append(dbapi_conn))
    db = DbWork(engine)
    threads = PG_TURN_THREADS + 1  # + the urgent one; loop work: tests/test_pg_loop.py
    gate = Gate(until=threads)

    def turn() -> object:
        with engine.begin() as conn:  # held while the gate is shut, as a turn holds it
            conn.exec_driver_sql("SELECT 1")
            return gate.job(lambda: conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())

    try:
        for _burst in range(2):
            gate.reached.clear()
            gate.open.clear()
            work = [asyncio.ensure_future(db.run(turn)) for _ in range(PG_TURN_THREADS * 2)]
            work += [asyncio.ensure_future(db.run(turn, urgent=True)) for _ in range(2)]
            await wait_for(gate.reached)  # every thread holds a connection at once
            gate.open.set()
            pids = await asyncio.wait_for(asyncio.gather(*work), WAIT_S)
            assert len(set(pids)) == threads
        assert gate.most == threads
        assert len(opened) == threads  # the second burst reused them all
    finally:
        engine.dispose()


async def test_postgres_threads_end_with_their_db_work(pg_engine: Engine) -> None:
    db = DbWork(pg_engine)
    await asyncio.gather(db.run(lambda: None), db.run(lambda: None, urgent=True))
    threads = [*db._turns._threads, *db._urgent._threads]  # type: ignore[union-attr]
    assert threads and all(thread.is_alive() for thread in threads)
    del db
    gc.collect()
    for thread in threads:
        thread.join(WAIT_S)
        assert not thread.is_alive()


def _write(engine: Engine, note: str) -> str:
    """One short transaction (what a turn, an inbox insert or a sent delete is)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS notes (note TEXT)")
        conn.exec_driver_sql("INSERT INTO notes VALUES (?)", (note,))
    return threading.current_thread().name


def _notes(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("SELECT note FROM notes")]


async def test_short_sqlite_work_runs_on_the_loops_thread_when_nothing_waits(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/bridges.db")
    db = DbWork(engine)
    here = threading.current_thread().name
    assert await db.run(_write, engine, "inline", inline=True) == here
    assert await db.run(_write, engine, "threaded") == "bridges-db", "only when asked"
    assert _notes(engine) == ["inline", "threaded"]
    engine.dispose()


async def test_inline_work_queues_behind_work_already_on_the_thread(tmp_path: Path) -> None:
    """While the thread runs a job, inline work waits its turn there: one writer, in order."""
    engine = make_engine(f"sqlite:///{tmp_path}/bridges.db")
    db = DbWork(engine)
    gate = Gate(until=1)
    first = asyncio.ensure_future(db.run(gate.job, lambda: _write(engine, "first")))
    await wait_for(gate.reached)
    second = asyncio.ensure_future(db.run(_write, engine, "second", inline=True))
    await asyncio.sleep(0.05)
    assert not second.done(), "ran beside the job holding the thread"
    gate.open.set()
    assert await asyncio.wait_for(first, WAIT_S) == "bridges-db"
    assert await asyncio.wait_for(second, WAIT_S) == "bridges-db"
    assert _notes(engine) == ["first", "second"]
    engine.dispose()


async def test_inline_work_never_waits_for_another_processs_lock_on_the_loop(
    tmp_path: Path,
) -> None:
    """Another connection (another process, a maintenance command) holds the write lock:
    the work goes to the database thread and waits there, and the loop keeps running."""
    path = tmp_path / "bridges.db"
    engine = make_engine(f"sqlite:///{path}")
    db = DbWork(engine)
    _write(engine, "before")
    other = make_engine(f"sqlite:///{path}")
    holder = other.connect()
    holder.exec_driver_sql("INSERT INTO notes VALUES ('other')")  # BEGIN IMMEDIATE: locked
    work = asyncio.ensure_future(db.run(_write, engine, "after", inline=True))
    ticks = 0
    for _ in range(10):  # the loop runs while the work waits for the lock
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks == 10 and not work.done()
    holder.commit()
    holder.close()
    assert await asyncio.wait_for(work, WAIT_S) == "bridges-db"
    assert _notes(engine) == ["before", "other", "after"], "run once, after the lock was free"
    other.dispose()
    engine.dispose()


def breaks_its_connection(engine: Engine) -> Callable[[], None]:
    """Work whose transaction finds its connection dead (SQLAlchemy invalidates it, as when
    the driver says the link is gone) and fails: for the kept-connection tests."""

    def broken() -> None:
        with begin(engine) as conn:
            conn.execute(text("SELECT 1"))
            conn.invalidate()
            raise RuntimeError("gone")

    return broken


async def test_sqlite_work_shares_one_kept_connection_and_replaces_a_broken_one(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/kept.db")
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda *args: checkouts.append(args[0]))
    db = DbWork(engine)

    def one() -> int:
        with begin(engine) as conn:
            return id(conn)

    broken = breaks_its_connection(engine)
    try:
        first = await db.run(one, inline=True)
        again = await db.run(one)  # on the database thread
        assert first == again, "each transaction checked out a connection of its own"
        assert len(checkouts) == 1
        with pytest.raises(RuntimeError):
            await db.run(broken, inline=True)
        await db.run(one, inline=True)
        assert len(checkouts) == 2, "the invalidated connection was not replaced"
    finally:
        db.close()
        engine.dispose()
    assert engine.pool.checkedout() == 0, "close left the kept connection out"
