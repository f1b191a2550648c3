"""storage/hot.py `batched`: on PostgreSQL a turn's statements go to the server in a few
messages (issue 15: each round trip costs the bot more CPU than the statement), with the
same results, the same SQLAlchemy errors (and no words of a person in them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from bench.turn_cost import fill
from bot import intake
from bot.core import Bridges
from bot.intake import AlreadyDone, UpdateTurn, take_next
from bot.telegram_app import read_update
from dialogs.model import Record, Turn, UserState
from storage import inbox, outbox, repository
from storage.hot import Hot, batched, bound_columns
from storage.inbox import INBOX, Head, Incoming
from storage.outbox import OUTBOX
from storage.repository import PREFETCH, USERS, RecordSource, StateStore, UserKey
from tests.conftest import TEST_DATABASE_URL

NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def _message(update_id: int, chat: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1764572400,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Ana"},
            "text": text,
        },
    }


def _read(head: Head) -> Any:
    return read_update(head.payload(), None)


def _waits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts each wait for the server (one per round trip) from here on: the waits that
    had something to wait for (a COMMIT or ROLLBACK with no transaction open sends
    nothing)."""
    from storage.pg_loop import LoopConnection

    seen: list[str] = []
    real = LoopConnection.wait

    def noting(gen: Any) -> Any:  # `gen`, noted if it waits at all
        try:
            state = next(gen)
        except StopIteration as done:
            return done.value
        seen.append(getattr(gen, "__qualname__", "?"))
        while True:
            ready = yield state
            try:
                state = gen.send(ready)
            except StopIteration as done:
                return done.value

    def counting(self: LoopConnection, gen: Any, *args: Any, **kwargs: Any) -> Any:
        return real(self, noting(gen), *args, **kwargs)

    monkeypatch.setattr(LoopConnection, "wait", counting)
    return seen


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # round trips: a server's
def test_a_menu_turn_takes_three_round_trips_on_postgresql(
    bridges: Bridges, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = bridges.store.engine
    key = fill(engine, [0], NOW)[0]
    chat = int(key.external_id)
    updates = [
        Incoming(n, "telegram", key.external_id, chat, "message", _message(n, chat, "/menu"))
        for n in (70, 71)
    ]
    inbox.record(engine, updates, NOW)
    take_next(bridges, key, _read, NOW)  # their first: their stack's row is made
    waits = _waits(monkeypatch)
    work = take_next(bridges, key, _read, NOW + timedelta(seconds=1))
    # BEGIN + lock + pending update + the newest records (LATERAL: cheap to plan); the
    # menu's own read of other records; the person's row, stack, update done, reply queued
    # and COMMIT. (Before batching: 10; with COMMIT and the newest records on their own: 5.)
    assert len(waits) == 3, f"round trips: {waits}"
    assert work.update_id == 71 and len(work.pending) == 1
    with engine.connect() as conn:
        assert inbox.next_pending(conn, key.external_id) is None, "the update is done"
        queued = conn.execute(select(outbox.OUTBOX.c.update_id)).scalars().all()
    assert queued == [70, 71], "its reply is queued"


def test_a_failed_batch_raises_what_sqlalchemy_would_without_the_words(
    db_engine: Engine,
) -> None:
    plain = Hot(insert(INBOX).values(bound_columns(INBOX)))
    row = {
        "update_id": 5, "channel": "telegram", "external_id": "5", "chat_id": 5,
        "kind": "message", "received_at": NOW, "done_at": None,
        "payload": {"text": "my secret sorrow"},
    }  # fmt: skip
    with pytest.raises(IntegrityError) as raised, db_engine.begin() as conn, batched(conn):
        first = plain.send(conn, row)
        plain.send(conn, row)  # the same update_id again
        first.count()
    assert "secret" not in str(raised.value), "the words went into the error"
    with db_engine.connect() as conn:
        assert conn.execute(select(INBOX.c.update_id)).all() == [], "nothing was kept"


def test_results_read_in_a_batch_are_each_statements_own(db_engine: Engine) -> None:
    updates = [
        Incoming(n, "telegram", "9", 9, "message", _message(n, 9, f"note {n}")) for n in (3, 4)
    ]
    inbox.record(db_engine, updates, NOW)
    with db_engine.begin() as conn, batched(conn):
        head = inbox.send_pending_head(conn, "9")
        done = inbox.send_mark_done(conn, 3, NOW)
        queued = outbox.add(conn, 9, "9", "turn", [{"text": "a"}, {"text": "b"}], NOW, 3)
        found = inbox.head_of(head)
        assert found is not None
        assert (found.update_id, found.more, found.payload()["message"]["text"]) == (
            3, True, "note 3"
        )  # fmt: skip
        assert done.count() == 1
        assert [p.payload["text"] for p in queued] == ["a", "b"]
        assert queued[0].id < queued[1].id
    with db_engine.connect() as conn:
        again = inbox.pending_head(conn, "9")
    assert again is not None and again.update_id == 4


@pytest.mark.parametrize("onboarded", [True, False])
def test_records_read_in_a_batched_turn_are_the_persons_own(
    store: StateStore, onboarded: bool
) -> None:
    key = UserKey("telegram", "808")
    kind = next(iter(PREFETCH))

    def start(state: UserState) -> Turn:
        state.profile.consented = True
        state.profile.onboarded = onboarded
        state.profile.timezone = "Europe/Madrid"
        state.records.append(kind, Record(kind, {"n": 1}))
        state.records.append("contacts", Record("contacts", {"name": "Lu"}))
        return Turn(state=state)

    store.run_turn(key, start, NOW)
    seen: dict[str, Any] = {}

    def look(state: UserState) -> Turn:
        seen["kind"] = [r.data for r in state.records[kind]]
        seen["contacts"] = [r.data for r in state.records["contacts"]]
        return Turn(state=state)

    store.run_turn(key, look, NOW + timedelta(minutes=1))
    assert seen == {"kind": [{"n": 1}], "contacts": [{"name": "Lu"}]}


def test_the_newest_records_read_with_the_lock_are_what_a_read_of_its_own_finds(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the turn's first message also reads PREFETCH's newest records (the
    LATERAL `_prefetch_by_key`); they must be exactly the person's own newest, as the union
    `RecordSource.tails` runs otherwise finds them, in stored order."""
    keys = fill(store.engine, [60, 40], NOW)  # two people with histories of every kind
    key = keys[60]
    seen: dict[str, list[Any]] = {}

    def look(state: UserState) -> Turn:
        for kind, n in PREFETCH.items():
            seen[kind] = [(r.id, r.data, r.created_at) for r in state.records.newest(kind, n)]
        return Turn(state=state)

    store.run_turn(key, lambda state: Turn(state=state), NOW)  # their stack's row is made
    unions: list[tuple[int, ...]] = []
    real = repository._tails_query
    monkeypatch.setattr(repository, "_tails_query", lambda n: unions.append(n) or real(n))
    store.run_turn(key, look, NOW)
    postgres = store.engine.dialect.name == "postgresql"
    again = unions.count(tuple(PREFETCH.values()))  # other reads of a turn may union too
    assert again == (0 if postgres else 1), "PostgreSQL read them again (or SQLite did not)"
    with store.engine.connect() as conn:
        user_id = conn.execute(
            select(USERS.c.id).where(USERS.c.external_id == key.external_id)
        ).scalar_one()
    alone = RecordSource(store.engine, user_id).tails(PREFETCH)
    expected = {k: [(r.id, r.data, r.created_at) for r in found] for k, found in alone.items()}
    assert seen == expected
    assert any(seen.values()), "the history has none of PREFETCH's kinds: nothing compared"


def test_a_done_mark_of_an_update_already_done_undoes_the_transaction(db_engine: Engine) -> None:
    """The turn's last message (its writes, the "done" mark, its replies, COMMIT): when the
    update was already done, PostgreSQL's statement fails and stops the message before its
    COMMIT; SQLite's count is 0 (the caller raises). Either way nothing is kept."""
    inbox.record(db_engine, [Incoming(5, "telegram", "9", 9, "message", _message(5, 9, "x"))], NOW)
    with db_engine.begin() as conn:
        assert inbox.mark_done(conn, 5, NOW)
    failed: BaseException | None = None
    try:
        with db_engine.begin() as conn, batched(conn, commit=True):
            marking = inbox.send_mark_done(conn, 5, NOW)
            outbox.add(conn, 9, "9", "turn", [{"text": "twice"}], NOW, 5)
            if not marking.count():
                raise RuntimeError("already done")  # as bot/intake.py does
    except Exception as err:
        failed = err
    assert failed is not None
    postgres = db_engine.dialect.name == "postgresql"
    assert inbox.already_done(failed) is postgres
    with db_engine.connect() as conn:
        assert conn.execute(select(OUTBOX.c.id)).all() == [], "the reply was queued twice"


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # two connections at once
def test_a_turn_whose_update_another_worker_finished_is_rolled_back(
    bridges: Bridges, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker (here `_give_up`, on a connection of its own) marks the update done
    while this turn runs: the turn raises AlreadyDone and queues nothing."""
    engine = bridges.store.engine
    key = fill(engine, [0], NOW)[0]
    chat = int(key.external_id)
    inbox.record(
        engine,
        [Incoming(80, "telegram", key.external_id, chat, "message", _message(80, chat, "/menu"))],
        NOW,
    )
    real = UpdateTurn.decide

    def meanwhile(self: UpdateTurn, state: UserState) -> Turn:
        intake._give_up(engine, 80, NOW)
        return real(self, state)

    monkeypatch.setattr(UpdateTurn, "decide", meanwhile)
    with pytest.raises(AlreadyDone):
        take_next(bridges, key, _read, NOW)
    with engine.connect() as conn:
        assert conn.execute(select(OUTBOX.c.id)).all() == [], "its replies were queued"
        assert inbox.pending_head(conn, key.external_id) is None
