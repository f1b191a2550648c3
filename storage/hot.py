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
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
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
    results: tuple[Processor, ...]  # one per result column


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

    def _run(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, _Form]:
        form = self._form(conn.dialect)
        params = form.defaults | dict(values)
        for name, process in form.binds:
            params[name] = process(params[name])
        args: Sequence[Any] | Mapping[str, Any] = (
            tuple([params[name] for name in form.names])
            if form.positional
            else {name: params[name] for name in form.names}
        )
        dbapi: Any = conn.connection.driver_connection
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
        found = cursor.fetchall()
        if not any(form.results):
            return [tuple(row) for row in found]
        return [
            tuple(v if p is None else p(v) for v, p in zip(row, form.results, strict=True))
            for row in found
        ]

    def count(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Run it (an INSERT, UPDATE or DELETE) in `conn`'s transaction; the rows it matched."""
        cursor, _ = self._run(conn, values)
        return int(cursor.rowcount)


def bound_columns(table: Table, names: Sequence[str] | None = None) -> dict[str, Any]:
    """{column: bindparam(column, with the column's type)} for `names` of `table` (all its
    columns when None): the `.values()` of an INSERT that Hot can run (every parameter named
    by a bindparam, each processed as its column's type)."""
    chosen = names if names is not None else [c.name for c in table.columns]
    return {name: bindparam(name, type_=table.c[name].type) for name in chosen}
