"""The "sent" journal: a reply Telegram accepted is never resent after a crash (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from storage import outbox
from storage.db import make_engine
from storage.migrate import upgrade
from storage.sent_journal import SentJournal
from storage.tables import OutboxRow

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_ids_survive_in_order_and_a_torn_write_is_ignored(tmp_path: Path) -> None:
    journal = SentJournal(tmp_path / "bridges.db-sent")
    for row_id in (3, 1, 2):
        journal.add(row_id)
    with open(journal.path, "ab") as torn:
        torn.write(b"\x07\x00")  # a write cut short by a crash
    assert journal.all_ids() == [3, 1, 2]


def test_take_moves_a_batch_and_keeps_it_until_taken(tmp_path: Path) -> None:
    journal = SentJournal(tmp_path / "bridges.db-sent")
    journal.add(1)
    assert journal.take() == [1]
    journal.add(2)  # after the batch was moved: goes to the next one
    assert journal.take() == [1], "a batch not yet confirmed is handed out again"
    assert journal.all_ids() == [1, 2]
    journal.taken()
    assert journal.take() == [2]


def test_an_sqlite_file_has_its_journal_beside_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/bridges.db")
    journal = SentJournal.for_engine(engine)
    assert journal is not None and journal.path == tmp_path / "bridges.db-sent"
    assert SentJournal.for_engine(make_engine("sqlite://")) is None


def test_a_server_database_keeps_its_journal_in_the_given_directory(tmp_path: Path) -> None:
    engine = make_engine("postgresql+psycopg://bridges:secret@db.example/bridges")
    journal = SentJournal.for_engine(engine, tmp_path)
    assert journal is not None and journal.path.parent == tmp_path
    assert "secret" not in journal.path.name
    assert journal.path.name.startswith("bridges-") and journal.path.suffix == ".sent"


def test_a_journaled_row_is_forgotten_not_claimed_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/bridges.db")
    upgrade(engine)
    with engine.begin() as conn:
        sent, unsent = outbox.add(conn, 7, "7", "turn", [{"text": "a"}, {"text": "b"}], NOW)
    journal = SentJournal.for_engine(engine)
    assert journal is not None
    journal.add(sent.id)  # Telegram took it; the process died before the delete
    outbox.forget(engine, journal.all_ids())
    later = NOW.replace(hour=10)
    assert [p.id for p in outbox.claim_stale(engine, later)] == [unsent.id]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(OutboxRow)) == 1


async def test_after_a_crash_a_journaled_reply_is_not_sent_again(tmp_path: Path) -> None:
    """The process died after Telegram took reply A (journaled) but before its delete;
    reply B never went. Taking over at restart sends B only."""
    from tests.delivery_harness import bot_on_fake

    async with bot_on_fake(f"sqlite:///{tmp_path}/bridges.db") as rig:
        with rig.bridges.store.engine.begin() as conn:
            sent, unsent = outbox.add(
                conn, 1001, "1001", "turn", [{"text": "A, already there"}, {"text": "B"}],
                rig.clock(),
            )  # fmt: skip
        journal = rig.sender.journal
        assert journal is not None
        journal.add(sent.id)
        await rig.intake.recover(takeover=True)
        await rig.sender.idle()
        assert rig.fake.sent_texts(1001) == ["B"]
        assert (await rig.outbox()) == []
        # Ordinary maintenance moves the journal into the database and empties it.
        journal.add(unsent.id)
        await rig.intake.recover()
        assert journal.all_ids() == []
