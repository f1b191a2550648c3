"""Where the bot's blocking database work runs, and in what order.

Two kinds of work share the database: turns (a few milliseconds each, any number
queued) and the small writes that bound what a crash can do, "this update is
stored" (before it is acknowledged) and "this reply was sent" (after Telegram took
it). The second kind must not wait behind the first: every millisecond between
Telegram accepting a reply and the row's delete is a window in which a crash
resends it (docs/delivery.md), and every millisecond before an update is stored
delays its acknowledgement.

- SQLite allows one writer at a time. Threads racing for it wait in SQLite's busy
  handler, which sleeps in growing steps (up to 100 ms): a "sent" mark stuck behind
  a queue of turns. So on SQLite all database work runs on ONE thread, urgent work
  first: no lock is ever contended.
- On SQLite, the short work of every turn (store an update, run a turn, delete sent
  rows: `run(..., inline=True)`) runs on the event loop's own thread when that needs no
  wait: nothing queued or running on the database thread, and the write lock free
  (storage/db.py `sqlite_no_wait`: if another process holds it, the work goes to the
  thread, where it waits without holding up the loop). A turn takes about a
  millisecond there, while handing it to the thread and back cost ~0.8 ms of CPU per
  turn in bench/turns.py (the wake-ups, and the two threads trading the GIL), ~10% of
  a turn (issue 15). Order is kept: inline work runs only when the thread is idle, and
  while it runs the thread takes nothing new. Longer work (the sweep, maintenance,
  exports) always goes to the thread, so the loop keeps answering (crisis replies
  included) while it runs. Since no two jobs ever overlap, they share one Connection kept
  open (storage/db.py `keeping`): no pool checkout and check-in per transaction.
- PostgreSQL locks rows, not the database: the same short work (`inline=True`) runs on
  the event loop's thread in a greenlet that is suspended at every wait for the server
  (storage/pg_loop.py), at most PG_LOOP_TURNS at once (each holds a pooled connection; a
  loop that waited for a free one would block everything). Run on threads, the hand-offs
  and the GIL traded at each round trip cost ~0.5 ms of CPU per turn more (issue 15).
  Other work runs on a few threads of its own (storage/db.py PG_TURN_THREADS), and urgent
  work has a thread of its own so it never queues behind it. Not asyncio's default
  executor: it grows to min(32, cpus + 4) threads, more than the pool has connections,
  and is shared with anything else calling to_thread.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Connection, Engine

from storage.db import (
    PG_LOOP_TURNS,
    PG_POOL_RECYCLE_S,
    PG_TURN_THREADS,
    LockBusy,
    keeping,
    sqlite_no_wait,
    waits_on_loop,
)

T = TypeVar("T")
URGENT, NORMAL = 0, 1


_MISSED = object()  # try_inline: the work could not run without waiting


class _PriorityThread:
    """One worker thread taking jobs by (priority, arrival); or a job run in the caller's
    thread while this one has nothing to do (`try_inline`). Jobs never overlap, so they
    share one Connection to `engine`, kept open (`_KeptConnections`)."""

    def __init__(self, name: str, engine: Engine) -> None:
        self._kept = _KeptConnections(engine)  # one at most: jobs never overlap
        self._jobs: queue.PriorityQueue[tuple[int, int, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._count_lock = threading.Lock()
        self._unfinished = 0  # jobs submitted and not finished
        self._running = threading.Lock()  # held while a job runs, here or inline
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, priority: int, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._count_lock:
            self._unfinished += 1
        self._jobs.put((priority, next(self._order), (future, fn, args)))
        return future

    def try_inline(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T | object:
        """`fn(*args)` in this thread, if nothing is queued or running and the write lock
        is free; else _MISSED (nothing ran). Its exception is raised here."""
        with self._count_lock:
            if self._unfinished or not self._running.acquire(blocking=False):
                return _MISSED
        try:
            with sqlite_no_wait():
                return self._kept.run(fn, *args)
        except LockBusy:
            return _MISSED
        finally:
            self._running.release()

    def close(self) -> None:
        """Close the kept connection (a job that runs after uses one of the pool's)."""
        with self._running:
            self._kept.close()

    def _run(self) -> None:
        while True:
            _, _, (future, fn, args) = self._jobs.get()
            try:
                if not future.set_running_or_notify_cancel():
                    continue
                with self._running:  # never beside a job run inline
                    try:
                        result = self._kept.run(fn, *args)
                    except BaseException as err:  # handed to the awaiting coroutine
                        future.set_exception(err)
                    else:
                        future.set_result(result)
            finally:
                with self._count_lock:
                    self._unfinished -= 1


class _KeptConnections:
    """Connections kept open between jobs, one per job running at once: SQLite's database
    work (`_PriorityThread`, one job at a time, so one connection) and PostgreSQL's work
    on the loop (at most PG_LOOP_TURNS jobs at once). A job takes a free one at its first
    transaction and keeps it to its end (storage/db.py `keeping`), so its transactions
    need no pool checkout and check-in (nor, on the loop, the socket's registration with
    the loop's selector and its removal at each; issue 15).

    Never touched by two threads at once: SQLite's jobs never overlap, and PostgreSQL's
    run on the loop's thread (greenlets switch only at their waits, never between
    `_take`'s check and its use). A connection a failure left unusable (closed,
    invalidated, inside a transaction) is replaced, as is one older than
    PG_POOL_RECYCLE_S, as the pool would have replaced it; a new one is opened inside the
    job (on the loop, the pool opens it off the loop's thread: storage/pg_loop.py)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._free: list[tuple[Connection, float]] = []
        self._closed = False

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        leased: list[tuple[Connection, float]] = []

        def kept() -> Connection:  # taken at the job's first transaction, if it has one
            if not leased:
                leased.append(self._take())
            return leased[0][0]

        try:
            with keeping(self._engine, kept):
                return fn(*args)
        finally:
            for conn, since in leased:
                if self._closed:
                    conn.close()
                else:
                    self._free.append((conn, since))

    def _take(self) -> tuple[Connection, float]:
        now = time.monotonic()
        while self._free:
            conn, since = self._free.pop()
            if conn.closed or conn.invalidated or conn.in_transaction():
                conn.close()
            elif now - since > PG_POOL_RECYCLE_S:
                conn.invalidate()  # its DBAPI connection closed, not pooled again
                conn.close()
            else:
                return conn, since
        return self._engine.connect(), now

    def close(self) -> None:
        """Close the free connections; one in use is closed when its job ends, and later
        jobs keep none."""
        self._closed = True
        free, self._free = self._free, []
        for conn, _ in free:
            conn.close()


class DbWork:
    """Runs blocking database calls off the event loop (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._single: _PriorityThread | None = None
        self._urgent: ThreadPoolExecutor | None = None
        self._turns: ThreadPoolExecutor | None = None
        self._on_loop: Callable[..., Awaitable[Any]] | None = None
        self._loop_slots: asyncio.Semaphore | None = None
        self._loop_kept: _KeptConnections | None = None
        if engine.dialect.name == "sqlite":
            self._single = _PriorityThread("bridges-db", engine)
        else:
            if waits_on_loop(engine):
                from storage.pg_loop import run_on_loop  # psycopg and greenlet: PostgreSQL only

                self._on_loop = run_on_loop
                self._loop_kept = _KeptConnections(engine)
            # Threads start as work arrives, up to the limit, and stay while this does (a
            # process that opens many, as the tests do, is not left with their threads).
            self._urgent = ThreadPoolExecutor(1, thread_name_prefix="bridges-db-urgent")
            self._turns = ThreadPoolExecutor(PG_TURN_THREADS, thread_name_prefix="bridges-db")
            for executor in (self._urgent, self._turns):
                weakref.finalize(self, executor.shutdown, wait=False)

    def close(self) -> None:
        """Close what this keeps open (SQLite: the connection its work shares; PostgreSQL:
        those kept for the work on the loop); blocking."""
        if self._single is not None:
            self._single.close()
        if self._loop_kept is not None:
            self._loop_kept.close()

    async def run(
        self, fn: Callable[..., T], *args: Any, urgent: bool = False, inline: bool = False
    ) -> T:
        """`fn(*args)` on a database thread; its result, or its exception raised here.

        `inline`: short work (one transaction of a few milliseconds) that may run on the
        loop's thread: on SQLite when that needs no wait, on PostgreSQL suspended at each
        wait for the server (see the module docstring)."""
        if self._single is not None:
            if inline:
                done = self._single.try_inline(fn, args)
                if done is not _MISSED:
                    # Let other tasks run before the caller goes on, as a hand-off to the
                    # thread would: a worker taking one person's burst of 200 updates
                    # must not keep the loop from someone else's crisis message.
                    await asyncio.sleep(0)
                    return done  # type: ignore[return-value]
            return await asyncio.wrap_future(
                self._single.submit(URGENT if urgent else NORMAL, fn, *args)
            )
        assert self._urgent is not None and self._turns is not None
        if inline and self._on_loop is not None:
            assert self._loop_kept is not None
            if self._loop_slots is None:  # made here: it belongs to the running loop
                self._loop_slots = asyncio.Semaphore(PG_LOOP_TURNS)
            async with self._loop_slots:
                return cast(T, await self._on_loop(self._loop_kept.run, fn, *args))
        executor = self._urgent if urgent else self._turns
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)


class Coalescer(Generic[T]):
    """Coalesces small writes made from many tasks into one transaction at a time.

    `await add(items)` queues `items` and returns the result of the call of `write(items
    of a batch)` that wrote them. While a batch is being written, everything added joins
    the next one: under load one commit serves many callers (a busy minute's "sent"
    deletes, a burst of webhook POSTs), and an idle caller waits for nothing but its own
    write. The write runs on `db` with `urgent` and `inline`; its exception reaches every
    caller of its batch.
    """

    def __init__(
        self,
        db: DbWork,
        write: Callable[[list[Any]], T],
        urgent: bool = True,
        inline: bool = False,
    ) -> None:
        self._db = db
        self._write = write
        self._urgent = urgent
        self._inline = inline
        self._queued: list[tuple[list[Any], asyncio.Future[T]]] = []
        self._writing = False

    async def add(self, items: list[Any]) -> T:
        """Queue `items`; the result of the write that included them."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((items, future))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                everything = [item for items, _ in batch for item in items]
                try:
                    result = await self._db.run(
                        self._write, everything, urgent=self._urgent, inline=self._inline
                    )
                except Exception as err:  # each caller decides what a failure means
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(err)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(result)
        finally:
            self._writing = False
