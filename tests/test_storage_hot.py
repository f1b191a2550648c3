"""storage/hot.py: a statement run on the DBAPI cursor writes and reads exactly what the
same statement run through SQLAlchemy does, on SQLite and PostgreSQL, and fails with the
same SQLAlchemy exceptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage import inbox, outbox
from storage.hot import Hot
from storage.inbox import INBOX, Incoming
from storage.repository import _USER_NAMES, USERS, StateStore, UserKey, _update_user
from storage.tables import Conversation

NOW = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
CONVERSATIONS: Table = Conversation.__table__  # type: ignore[attr-defined]


def _stored(engine: Engine, table: Table, where: Any) -> tuple[Any, ...]:
    """The row as the database holds it: on SQLite each column's text (what SQLAlchemy
    wrote, byte for byte), on PostgreSQL each column cast to text."""
    names = ", ".join(c.name for c in table.columns)
    casts = ", ".join(f"CAST({c.name} AS TEXT)" for c in table.columns)
    with engine.connect() as conn:
        sql = f"SELECT {names if engine.dialect.name == 'sqlite' else casts} FROM {table.name}"
        rows = conn.exec_driver_sql(f"{sql} WHERE {where}").all()
    assert len(rows) == 1
    return tuple(rows[0])


def _typeof(engine: Engine, table: Table, where: str) -> tuple[str, ...]:
    if engine.dialect.name != "sqlite":
        return ()
    kinds = ", ".join(f"typeof({c.name})" for c in table.columns)
    with engine.connect() as conn:
        return tuple(conn.exec_driver_sql(f"SELECT {kinds} FROM {table.name} WHERE {where}").one())


def test_an_update_writes_what_sqlalchemy_writes(db_engine: Engine) -> None:
    store = StateStore(db_engine)
    for name in ("1", "2"):
        store.run_turn(UserKey("telegram", name), lambda s: _consent(s), NOW)
    names = ("last_seen_at", "paused_until", "active", "nudges", "unanswered", "risk_at")
    values = {
        "last_seen_at": NOW + timedelta(minutes=1),
        "paused_until": datetime(2026, 3, 2, 1, 2, 3, tzinfo=UTC),
        "active": False,
        "nudges": "daily",
        "unanswered": 3,
        "risk_at": None,
    }
    params = {f"v_{k}": v for k, v in values.items()}
    with db_engine.begin() as conn:
        ids = dict(conn.execute(select(USERS.c.external_id, USERS.c.id)).all())
        hot = _update_user(names)
        assert hot.count(conn, params | {"b_id": ids["1"]}) == 1
        conn.execute(hot.statement, params | {"b_id": ids["2"]})
    hot_row = _stored(db_engine, USERS, f"id = {ids['1']}")
    core_row = _stored(db_engine, USERS, f"id = {ids['2']}")
    skip = {_USER_NAMES.index(n) for n in ("id", "external_id")}
    assert [v for i, v in enumerate(hot_row) if i not in skip] == [
        v for i, v in enumerate(core_row) if i not in skip
    ]
    assert _typeof(db_engine, USERS, f"id = {ids['1']}") == _typeof(
        db_engine, USERS, f"id = {ids['2']}"
    )


def test_json_and_times_round_trip_as_sqlalchemy_reads_them(db_engine: Engine) -> None:
    payload = {"text": "héllo ✓", "n": [1, 2.5, None], "deep": {"x": True}}
    inbox.record(db_engine, [Incoming(7, "telegram", "42", 42, "message", payload)], NOW)
    with db_engine.begin() as conn:
        hot = inbox.pending_head(conn, "42")
        core = conn.execute(inbox._PENDING_HEAD, {"e": "42"}).all()
        assert hot is not None
        assert (hot.update_id, hot.payload(), hot.received_at, hot.more) == (7, payload, NOW, False)
        assert [tuple(r) for r in core] == inbox._HOT_PENDING_HEAD.rows(conn, {"e": "42"})
        assert inbox.mark_done(conn, 7, NOW) is True
        assert inbox.mark_done(conn, 7, NOW) is False  # already done: nothing matched
    # A done row's payload is what SQLAlchemy writes for None in a JSON column (JSON null).
    inbox.record(db_engine, [Incoming(8, "telegram", "42", 42, "message", payload)], NOW)
    with db_engine.begin() as conn:
        conn.execute(inbox._MARK_DONE, {"u": 8, "at": NOW})
    hot_row = _stored(db_engine, INBOX, "update_id = 7")
    assert hot_row[1:] == _stored(db_engine, INBOX, "update_id = 8")[1:]
    assert _typeof(db_engine, INBOX, "update_id = 7") == _typeof(db_engine, INBOX, "update_id = 8")


def test_an_outbox_row_is_what_sqlalchemy_inserts(db_engine: Engine) -> None:
    payload = {"text": "¿Qué tal?", "buttons": [["a", "b"]], "safety": True}
    with db_engine.begin() as conn:
        added = outbox.add(conn, 9, "9", "turn", [payload, {"text": "2"}], NOW, update_id=5)
        core = conn.execute(
            insert(outbox.OUTBOX).returning(outbox.OUTBOX.c.id),
            {
                "chat_id": 9,
                "external_id": "9",
                "origin": "turn",
                "update_id": 5,
                "created_at": NOW,
                "claimed_until": NOW + outbox.LEASE,
                "attempts": 0,
                "payload": payload,
            },
        ).scalar_one()
        later = outbox.add(conn, 9, "9", "turn", [{"text": "3"}], NOW)
    first, second = added
    assert second.id > first.id and core > second.id and later[0].id > core
    assert later[0].after_older == (first.id, second.id, core)
    hot_row = _stored(db_engine, outbox.OUTBOX, f"id = {first.id}")
    core_row = _stored(db_engine, outbox.OUTBOX, f"id = {core}")
    assert hot_row[1:] == core_row[1:]
    assert _typeof(db_engine, outbox.OUTBOX, f"id = {first.id}") == _typeof(
        db_engine, outbox.OUTBOX, f"id = {core}"
    )


def test_the_locked_read_gives_what_the_orm_would(db_engine: Engine) -> None:
    store = StateStore(db_engine)
    key = UserKey("telegram", "77")
    store.run_turn(key, _consent, NOW)
    with db_engine.begin() as conn:
        user, stored, conv, _ = store._lock(conn, key)
        core = dict(conn.execute(select(USERS).where(USERS.c.external_id == "77")).one()._mapping)
        stack = conn.execute(select(CONVERSATIONS.c.stack)).scalar_one()
    assert stored == core
    assert isinstance(stored["active"], bool) and stored["active"] is True
    assert user is not None and user.id == core["id"] and user.last_seen_at == core["last_seen_at"]
    assert conv is not None and conv.stack == stack and conv.version == 1


def test_a_database_error_is_sqlalchemys(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        outbox.add(conn, 1, "1", "turn", [{"text": "x"}], NOW)
    clash = Hot(
        update(outbox.OUTBOX).where(outbox.OUTBOX.c.id == bindparam("b")).values(id=bindparam("to"))
    )
    with db_engine.begin() as conn:
        second = outbox.add(conn, 1, "1", "turn", [{"text": "y"}], NOW)[0].id
    with pytest.raises(IntegrityError), db_engine.begin() as conn:
        clash.count(conn, {"b": second, "to": second - 1})


def test_post_compile_parameters_are_refused(db_engine: Engine) -> None:
    hot = Hot(
        select(INBOX.c.update_id).where(INBOX.c.update_id.in_(bindparam("ids", expanding=True)))
    )
    with pytest.raises(ValueError), db_engine.connect() as conn:
        hot.rows(conn, {"ids": [1]})


def _consent(state: Any) -> Any:
    from dialogs.model import Turn

    state.profile.consented = True
    return Turn(state=state)


def test_one_update_is_stored_as_a_batch_stores_it(db_engine: Engine) -> None:
    payload = {"message": {"text": "ñ ✓"}}
    alone = [Incoming(20, "telegram", "5", 5, "message", payload)]
    done_alone = [Incoming(21, "telegram", "chat:6", 6, "other", {}, done=True)]
    batch = [
        Incoming(30, "telegram", "5", 5, "message", payload),
        Incoming(31, "telegram", "chat:6", 6, "other", {}, done=True),
    ]
    assert inbox.record(db_engine, alone, NOW) == alone  # one row: storage/hot.py
    assert inbox.record(db_engine, done_alone, NOW) == done_alone
    assert inbox.record(db_engine, batch, NOW) == batch  # several: executemany
    assert inbox.record(db_engine, alone, NOW) == []  # delivered again: left alone
    for one, many in ((20, 30), (21, 31)):
        assert (
            _stored(db_engine, INBOX, f"update_id = {one}")[1:]
            == _stored(db_engine, INBOX, f"update_id = {many}")[1:]
        )
        assert _typeof(db_engine, INBOX, f"update_id = {one}") == _typeof(
            db_engine, INBOX, f"update_id = {many}"
        )


def test_sent_rows_go_whatever_their_number(db_engine: Engine) -> None:
    with db_engine.begin() as conn:
        ids = [p.id for p in outbox.add(conn, 3, "3", "turn", [{"n": n} for n in range(12)], NOW)]
    outbox.sent(db_engine, ids[:1])
    outbox.sent(db_engine, ids[1:4])
    outbox.sent(db_engine, ids[5:])  # more than SMALL_DELETE: one expanding IN
    with db_engine.connect() as conn:
        left = conn.execute(select(outbox.OUTBOX.c.id)).scalars().all()
    assert left == [ids[4]]
