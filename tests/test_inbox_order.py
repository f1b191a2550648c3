"""The inbox's gap check, which keeps one person's updates in order across webhook replicas."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from storage import inbox
from storage.db import make_engine
from storage.inbox import Incoming
from storage.migrate import upgrade

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def engine_at(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/bridges.db")
    upgrade(engine)
    return engine


def person(update_id: int, who: str = "1") -> Incoming:
    return Incoming(update_id, "telegram", who, int(who), "message", {"update_id": update_id})


def test_a_missing_id_below_is_a_gap_until_it_arrives(tmp_path: Path) -> None:
    engine = engine_at(tmp_path)
    inbox.record(engine, [person(100), person(102)], NOW)
    with engine.connect() as conn:
        assert inbox.missing_before(conn, 102), "101 may still be on its way"
    inbox.record(engine, [person(101, "2")], NOW)
    with engine.connect() as conn:
        assert not inbox.missing_before(conn, 102)


def test_an_update_answered_from_memory_is_stored_done_and_fills_its_id(tmp_path: Path) -> None:
    """A group message (answered without a turn) must not look like a gap to replicas."""
    engine = engine_at(tmp_path)
    group = Incoming(101, "telegram", "chat:-5", -5, "other", {"text": "words"}, done=True)
    fresh = inbox.record(engine, [person(100), group, person(102)], NOW)
    assert [e.update_id for e in fresh] == [100, 101, 102]
    with engine.connect() as conn:
        assert not inbox.missing_before(conn, 102)
        assert inbox.next_pending(conn, "chat:-5") is None, "nothing to run for it"
        row = conn.execute(inbox.INBOX.select().where(inbox.INBOX.c.update_id == 101)).one()
    assert row.payload is None, "nothing of it is kept but its id"


def test_a_redelivered_update_is_not_new(tmp_path: Path) -> None:
    engine = engine_at(tmp_path)
    assert inbox.record(engine, [person(7)], NOW) == [person(7)]
    assert inbox.record(engine, [person(7)], NOW) == []
