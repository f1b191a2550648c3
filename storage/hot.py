"""A turn's hottest statements, compiled once and run on the DBAPI cursor of the turn's own
Connection (same transaction).

Why (issue 15): a prebuilt Core statement still costs SQLAlchemy ~50-80 us a call on a
slow machine (execution context, parameter processing, the result object), several times
what SQLite takes to run it; a turn runs about ten. `Hot` keeps everything SQLAlchemy
decides once per statement and dialect, and only that: the SQL it compiles (the same text,
casts and parameter style it would send), and each parameter's and result column's own
type processors (`TypeEngine.bind_processor` / `result_processor`), so a value is written
and read exactly as SQLAlchemy would (SQLite's 'YYYY-MM-DD HH:MM:SS.ffffff' text for a
DateTime, JSON as json.dumps text, psycopg's Json wrapper on PostgreSQL...). A DBAPI error
is handed to the Connection, which raises the SQLAlchemy exception it would have raised
(OperationalError, IntegrityError...) and invalidates a dead connection as usual.

Only for statements without post-compile parameters (no expanding IN, no literal_execute)
and with every parameter named by a bindparam (an INSERT lists its columns with
`.values()`). The engine's cursor events do not see these statements.

`batched` and `Hot.send`: on PostgreSQL each round trip to the server costs the bot
~50-60 us of CPU, more than half of it the kernel's (loopback TCP: send, poll, receive),
about twice what psycopg spends on the statement itself (issue 15). Inside `batched`,
statements given to `send` are held, and go to the server as ONE message (the simple
query protocol, several statements separated by ";", their values written in by psycopg's
own client-side binding, `ClientCursor.mogrify`) when the first result is read or the
block ends: a turn's lock and first read in one round trip, its writes in another.
psycopg's pipeline mode was tried first: it still sends each statement on its own, and
the bot made more system calls, not fewer. On SQLite, and outside `batched`, `send` runs
the statement at once.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Form:
    """A statement as one dialect runs it."""

    sql: str
    names: tuple[str, ...]  # the parameters, in the order a positional paramstyle wants
    positional: bool
    defaults: dict[str, Any]  # values given in the statement itself (a LIMIT, a literal None)
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]  # (name, processor) where one applies
    results: tuple[Processor, ...]  # one per result column (none: it returns no rows)


class Hot:
    """A Core statement run straight on the DBAPI connection (see the module's doc)."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._forms: weakref.WeakKeyDictionary[Dialect, _Form] = weakref.WeakKeyDictionary()

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect)
        if form is None:
            form = self._forms[dialect] = self._compile(dialect)
        return form

    def _compile(self, dialect: Dialect) -> _Form:
        compiled: Any = self.statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("Hot statements take no post-compile parameters")
        named = {name: bind for bind, name in compiled.bind_names.items()}
        names = tuple(compiled.positiontup) if dialect.positional else tuple(named)
        binds = []
        for name, bind in named.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds.append((name, process))
        defaults = {name: bind.effective_value for name, bind in named.items() if not bind.required}
        columns = getattr(self.statement, "exported_columns", ())
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        return _Form(compiled.string, names, dialect.positional, defaults, tuple(binds), results)

    def _args(self, conn: Connection, values: Mapping[str, Any]) -> tuple[_Form, Any]:
        form = self._form(conn.dialect)
        params = form.defaults | dict(values)
        for name, process in form.binds:
            params[name] = process(params[name])
        args: Sequence[Any] | Mapping[str, Any] = (
            tuple([params[name] for name in form.names])
            if form.positional
            else {name: params[name] for name in form.names}
        )
        return form, args

    def _run(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, _Form]:
        form, args = self._args(conn, values)
        dbapi: Any = conn.connection.driver_connection
        batch: _Batch | None = getattr(dbapi, "batch", None)
        if batch is not None:
            batch.flush()  # what was held before it runs first
        # A cursor the connection keeps for these statements where it offers one
        # (storage/pg_loop.py); sqlite3's execute makes a cheap one in C.
        runner = dbapi.hot_cursor() if hasattr(dbapi, "hot_cursor") else dbapi
        try:
            cursor = runner.execute(form.sql, args)
        except Exception as err:  # raised as SQLAlchemy would (wrapped, connection checked)
            conn._handle_dbapi_exception(err, form.sql, args, None, None)
        return cursor, form

    def rows(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it in `conn`'s transaction; every row, each value as SQLAlchemy returns it."""
        cursor, form = self._run(conn, values)
        return _converted(cursor.fetchall(), form)

    def count(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Run it (an INSERT, UPDATE or DELETE) in `conn`'s transaction; the rows it matched."""
        cursor, _ = self._run(conn, values)
        return int(cursor.rowcount)

    def send(self, conn: Connection, values: Mapping[str, Any]) -> Sent:
        """Run it in `conn`'s transaction; its rows and count are read from what this returns.
        Inside `batched` (PostgreSQL) it is only held: see the module's doc."""
        batch: _Batch | None = getattr(conn.connection.driver_connection, "batch", None)
        if batch is None:
            cursor, form = self._run(conn, values)
            found = cursor.fetchall() if form.results else []
            return Sent(form, None, _converted(found, form), int(cursor.rowcount))
        form, args = self._args(conn, values)
        sent = Sent(form, batch)
        batch.add(form, args, sent)
        return sent


class Sent:
    """A statement given to `Hot.send`. Its result is there when first read: inside
    `batched`, reading it sends everything held, in one message."""

    __slots__ = ("_batch", "_count", "_form", "_rows")

    def __init__(
        self,
        form: _Form,
        batch: _Batch | None,
        rows: list[tuple[Any, ...]] | None = None,
        count: int = -1,
    ) -> None:
        self._form, self._batch = form, batch
        self._rows, self._count = rows, count

    def _resolve(self) -> None:
        if self._batch is not None:
            self._batch.flush()

    def settle(self, found: Sequence[Any], count: int) -> None:
        """The statement's result as the batch got it back."""
        self._batch = None
        self._rows, self._count = _converted(found, self._form), count

    def rows(self) -> list[tuple[Any, ...]]:
        """Every row, each value as SQLAlchemy returns it."""
        self._resolve()
        assert self._rows is not None
        return self._rows

    def count(self) -> int:
        """The rows an INSERT, UPDATE or DELETE matched."""
        self._resolve()
        return self._count


class _Batch:
    """Statements held inside `batched`, sent as one message by `flush`."""

    def __init__(self, conn: Connection, commit: bool = False) -> None:
        self.conn = conn
        self.dbapi: Any = conn.connection.driver_connection
        self.commit = commit  # the next message ends with COMMIT (see `batched`)
        self.texts: list[str] = []
        self.forms: list[_Form] = []
        self.waiting: list[Sent] = []

    def add(self, form: _Form, args: Any, sent: Sent) -> None:
        if self.dbapi.ended_by_batch:
            raise RuntimeError("sent after the batch that committed its transaction")
        client = self.dbapi.client_cursor()
        try:
            self.texts.append(client.mogrify(form.sql, args))
        except Exception as err:
            self.conn._handle_dbapi_exception(err, form.sql, (), None, None)
        self.forms.append(form)
        self.waiting.append(sent)

    def flush(self) -> None:
        """Send what is held, in one message; each Sent gets its result."""
        if not self.texts:
            return
        texts, waiting, forms = self.texts, self.waiting, self.forms
        self.texts, self.waiting, self.forms = [], [], []
        client = self.dbapi.client_cursor()
        # The transaction's BEGIN, if it is still to come, goes in the same message.
        begin = self.dbapi.begin_text()
        if begin is not None:
            texts.insert(0, begin)
        sql = ";\n".join(texts)
        if self.commit:
            sql += ";\nCOMMIT"
        try:
            self.dbapi.begins_itself = begin is not None
            client.execute(sql)
            if self.commit:  # the transaction has ended: nothing more may go in it
                self.commit, self.dbapi.ended_by_batch = False, True
            for n, sent in enumerate(waiting):
                if n or begin is not None:
                    client.nextset()
                found = client.fetchall() if forms[n].results else []
                sent.settle(found, int(client.rowcount))
        except Exception as err:
            # Reported with the statements' placeholders only: the message sent held the
            # values themselves (people's words), which must not reach an error or a log.
            sql = ";\n".join(form.sql for form in forms)
            self.conn._handle_dbapi_exception(err, sql, (), None, None)
        finally:
            self.dbapi.begins_itself = False


def _converted(found: Sequence[Any], form: _Form) -> list[tuple[Any, ...]]:
    if not any(form.results):
        return [tuple(row) for row in found]
    return [
        tuple(v if p is None else p(v) for v, p in zip(row, form.results, strict=True))
        for row in found
    ]


_NOT_BATCHED = contextlib.nullcontext()


def batched(conn: Connection, commit: bool = False) -> contextlib.AbstractContextManager[None]:
    """Inside, `Hot.send` holds its statement on PostgreSQL (see the module's doc); what is
    held goes to the server, as one message, when a result is read, before any statement
    run at once (`Hot.rows`, `Hot.count`), and on leaving. Nothing changes on SQLite, on
    a connection already batched, or on a driver without `client_cursor`. A SQLAlchemy
    execute inside runs at once, possibly before statements held.

    `commit`: the block holds the transaction's last statements, and the first message
    sent ends with its COMMIT (one round trip less). A failed statement stops the message
    before it (the caller's rollback follows). After that message, any statement on the
    connection inside the block raises instead of opening a new transaction; the caller's
    own commit then finds nothing left to commit. On SQLite the caller's commit does it."""
    dbapi: Any = conn.connection.driver_connection
    if not hasattr(dbapi, "client_cursor") or dbapi.batch is not None:
        return _NOT_BATCHED  # no generator-based context on SQLite's every turn
    return _holding(conn, dbapi, commit)


@contextlib.contextmanager
def _holding(conn: Connection, dbapi: Any, commit: bool) -> Iterator[None]:
    batch = dbapi.batch = _Batch(conn, commit)
    try:
        yield
        batch.flush()
    finally:
        dbapi.batch = None
        dbapi.ended_by_batch = False


def bound_columns(table: Table, names: Sequence[str] | None = None) -> dict[str, Any]:
    """{column: bindparam(column, with the column's type)} for `names` of `table` (all its
    columns when None): the `.values()` of an INSERT that Hot can run (every parameter named
    by a bindparam, each processed as its column's type)."""
    chosen = names if names is not None else [c.name for c in table.columns]
    return {name: bindparam(name, type_=table.c[name].type) for name in chosen}
