"""PostgreSQL work on the event loop's thread, waiting for the server without blocking it.

Why (issue 15): on PostgreSQL a turn ran on a database thread (bot/db_work.py). Handing it
over and back, and the two threads trading the GIL at each of the turn's ~12 round trips,
cost about as much CPU as the turn's own database work: in `bench/turns.py --users 40
--rate 63`, 5.4-5.9 ms per turn threaded against 5.0-5.1 ms with the turn run blocking on
the loop. Blocking the loop on the network is not acceptable: a hung database would hold
every reply, crisis replies included. So a turn's ordinary synchronous code (SQLAlchemy,
storage/) runs in a greenlet on the loop's thread, and each wait for the server suspends
that greenlet until the loop sees the socket ready: other people's turns, sends and the
crisis screen run meanwhile.

How: one engine, one pool and psycopg's own synchronous dialect for both ways.
`LoopConnection` is psycopg's synchronous Connection, whose every wait for the server
(execute, fetch, commit, rollback all go through `Connection.wait`) suspends the greenlet
when called inside `run_on_loop`, and blocks as usual anywhere else (the database threads,
the CLI, migrations, tests). SQLAlchemy's asyncio extension works the same way
(`greenlet_spawn`); this is narrower: no coroutine, task or future per round trip, and
the socket stays registered with the loop's selector while the connection is checked
out (one epoll_ctl per checkout instead of two per round trip). Opening a connection
from the loop goes to a thread: libpq's connect may wait PG_CONNECT_TIMEOUT_S for a host
that does not answer.

Relies on psycopg 3's documented `Connection.wait(gen)` protocol (a generator yielding
`Wait` states and sent `Ready` states), which its sync and async connections share.
"""

from __future__ import annotations

import asyncio
import contextvars
import select
from collections.abc import Callable
from typing import Any, TypeVar

import greenlet
import psycopg
from psycopg.waiting import Ready, Wait
from sqlalchemy import Engine, event

RV = TypeVar("RV")


class _LoopWork(greenlet.greenlet):  # type: ignore[misc]
    """One call of synchronous database code run on the loop's thread (`run_on_loop`)."""

    def __init__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], done: asyncio.Future[Any]
    ) -> None:
        super().__init__(self._body)
        # The caller's context variables, as a thread started by run_in_executor would not
        # have, but a coroutine would.
        self.gr_context = contextvars.copy_context()
        self.loop = done.get_loop()
        self._call = (fn, args)
        self._done = done

    def _body(self) -> None:
        fn, args = self._call
        try:
            result = fn(*args)
        except BaseException as err:  # handed to the awaiting coroutine
            if not self._done.done():
                self._done.set_exception(err)
        else:
            if not self._done.done():
                self._done.set_result(result)

    def suspend(self) -> Any:
        """Back to the loop until something switches here again; what it sent."""
        assert self.parent is not None
        return self.parent.switch()

    def wait_for(self, future: asyncio.Future[RV]) -> RV:
        """Suspend until `future` is done; its result, or its exception raised here."""
        future.add_done_callback(lambda _: self.switch())
        self.suspend()
        return future.result()


async def run_on_loop(fn: Callable[..., RV], *args: Any) -> RV:
    """`fn(*args)` on this thread, each wait of a LoopConnection in it suspended while the
    running loop goes on; its result, or its exception raised here.

    Once started the call runs to its end even if the caller is cancelled, as it would on
    a thread: a transaction is never left half done by a cancelled await."""
    done: asyncio.Future[RV] = asyncio.get_running_loop().create_future()
    _LoopWork(fn, args, done).switch()
    return await asyncio.shield(done)


class LoopConnection(psycopg.Connection[Any]):
    """psycopg's Connection; inside `run_on_loop` its waits suspend instead of blocking.

    While loop work has it checked out, its socket stays registered with that loop's
    selector; `unwatch` ends that, and the engine calls it at check-in and at close."""

    _watched_by: asyncio.AbstractEventLoop | None = None
    _watched_fd = -1
    _parked: _LoopWork | None = None
    _hot_cursor: psycopg.Cursor[Any] | None = None
    # storage/hot.py `batched`: the statements held to go as one message, and the client-
    # side binding cursor that writes and sends them.
    batch: Any = None
    _client_cursor: psycopg.ClientCursor[Any] | None = None
    begins_itself = False  # the next statement opens its transaction itself (`begin_text`)
    # storage/hot.py `batched(commit=True)` sent the transaction's COMMIT: a statement
    # now would open a new transaction behind the caller's back.
    ended_by_batch = False

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        """psycopg's wait (see the module docstring); `timeout` waits always block, as
        psycopg's own bounded waits (not on a turn's path) expect."""
        work = greenlet.getcurrent()
        if not isinstance(work, _LoopWork) or timeout is not None or work.loop.is_closed():
            return super().wait(gen, interval, timeout)
        try:
            state = next(gen)
            while True:
                # Writing nearly always succeeds at once: a zero-timeout poll is cheaper
                # than a trip through the loop. Replies are waited for on the loop.
                ready = _ready_now(self.pgconn.socket, state) if state & Wait.W else 0
                if not ready:
                    ready = self._park(work, state)
                state = gen.send(ready)
        except StopIteration as finished:
            return finished.value

    def _park(self, work: _LoopWork, state: int) -> int:
        """Suspend `work` until the socket is ready for `state`; that readiness."""
        loop = work.loop
        fd = self.pgconn.socket
        if self._watched_by is not loop or self._watched_fd != fd:
            self.unwatch()
            loop.add_reader(fd, self._on_ready, Ready.R)
            self._watched_by, self._watched_fd = loop, fd
        self._parked = work
        if not state & Wait.W:
            return int(work.suspend())
        loop.add_writer(fd, self._on_ready, Ready.W)
        try:
            return int(work.suspend())
        finally:
            loop.remove_writer(fd)

    def _on_ready(self, ready: int) -> None:
        work, self._parked = self._parked, None
        if work is None:
            # Nothing waits (a notice between statements, a socket the server closed):
            # stop watching, or a level-triggered selector would call this on every
            # iteration of the loop. The next wait registers again.
            self.unwatch()
            return
        work.switch(ready)

    def unwatch(self) -> None:
        """Stop watching this connection's socket on the loop (nothing if not watched)."""
        loop, self._watched_by = self._watched_by, None
        if loop is None or loop.is_closed():
            return
        # By the number registered: a connection that failed may no longer tell its socket.
        # selectors ignore an already closed descriptor when unregistering.
        loop.remove_reader(self._watched_fd)

    def hot_cursor(self) -> psycopg.Cursor[Any]:
        """One cursor kept for storage/hot.py's statements: each `Connection.execute` made
        a new cursor, with its own adapters map and row maker (~8 us of CPU a statement,
        ~10 statements a turn; issue 15). Statements on one connection never overlap."""
        cursor = self._hot_cursor
        if cursor is None or cursor.closed:
            cursor = self._hot_cursor = self.cursor()
        return cursor

    def client_cursor(self) -> psycopg.ClientCursor[Any]:
        """The kept cursor with psycopg's client-side binding, for storage/hot.py `batched`
        (several statements in one message can't be sent with server-side parameters)."""
        cursor = self._client_cursor
        if cursor is None or cursor.closed:
            cursor = self._client_cursor = psycopg.ClientCursor(self)
        return cursor

    def begin_text(self) -> str | None:
        """The BEGIN psycopg would send, as its own round trip, before the next statement;
        None when none is due (autocommit, or a transaction already open). storage/hot.py
        `batched` puts it at the head of its message instead, and sets `begins_itself`."""
        if self.autocommit or self.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return None
        return self._get_tx_start_command().decode()

    def _start_query(self) -> Any:
        # psycopg's own "BEGIN if none is open", skipped once when the statement about to
        # go begins with it (`begin_text`). A psycopg that stopped calling this would send
        # its BEGIN as before, and the second one only draws a server warning.
        if self.begins_itself:
            self.begins_itself = False
            return
        if self.ended_by_batch:
            raise psycopg.ProgrammingError("a statement after its batch committed the transaction")
        yield from super()._start_query()

    def close(self) -> None:
        """Close the connection, first unregistering its socket from the loop (a closed
        descriptor's number can be reused by the next socket opened)."""
        self.unwatch()
        super().close()


def _ready_now(fd: int, state: int) -> int:
    """The socket's readiness for `state` right now (a zero-timeout poll)."""
    poller = select.poll()
    poller.register(fd, (select.POLLIN if state & Wait.R else 0) | select.POLLOUT)
    ready = 0
    for _, events in poller.poll(0):
        if events & select.POLLIN:
            ready |= Ready.R
        if events & (select.POLLOUT | select.POLLERR | select.POLLHUP):
            ready |= Ready.W
    return ready


def _connect(*cargs: Any, **cparams: Any) -> LoopConnection:
    return LoopConnection.connect(*cargs, **cparams)


def use_loop_connections(engine: Engine) -> None:
    """Make `engine` (PostgreSQL through psycopg 3) open LoopConnections, and unwatch each
    one as it goes back to the pool."""

    @event.listens_for(engine, "do_connect")
    def _do_connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        work = greenlet.getcurrent()
        if isinstance(work, _LoopWork):
            opening = asyncio.ensure_future(asyncio.to_thread(_connect, *cargs, **cparams))
            return work.wait_for(opening)
        return _connect(*cargs, **cparams)

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_conn: Any, _record: Any) -> None:
        if isinstance(dbapi_conn, LoopConnection):
            dbapi_conn.unwatch()
