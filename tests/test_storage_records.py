"""Records (contacts, entries, drafts...) are saved as the engine leaves them, in order."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from dialogs.model import ForgetMe, Frame, Profile, Record, Turn, UserState
from storage.repository import StateStore, UserKey
from storage.tables import RecordRow

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADA = UserKey("telegram", "1001")
BOB = UserKey("telegram", "1002")


def consented(state: UserState) -> UserState:
    state.profile = Profile(consented=True, onboarded=True)
    state.stack = [Frame("menu", "main")]
    return state


def apply(store: StateStore, key: UserKey, change) -> UserState:  # type: ignore[no-untyped-def]
    def decide(state: UserState) -> Turn:
        state = consented(state.copy())
        change(state)
        return Turn(state)

    store.run_turn(key, decide, NOW)
    return store.load(key)


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(RecordRow)).one()[0])


def names(state: UserState) -> list[str]:
    return [r.data["name"] for r in state.records.get("contact", [])]


def test_add_change_reorder_and_remove(store: StateStore, db_engine: Engine) -> None:
    def add_three(s: UserState) -> None:
        s.records["contact"] = [Record("contact", {"name": n}) for n in ("Sam", "Ana", "<b>&</b>")]

    state = apply(store, ADA, add_three)
    assert names(state) == ["Sam", "Ana", "<b>&</b>"]
    ids = [r.id for r in state.records["contact"]]
    assert all(isinstance(i, int) for i in ids)
    assert state.records["contact"][0].created_at == NOW

    state = apply(store, ADA, lambda s: s.records["contact"].reverse())
    assert names(state) == ["<b>&</b>", "Ana", "Sam"]
    assert [r.id for r in state.records["contact"]] == ids[::-1], "same rows, new order"

    def rename_and_drop(s: UserState) -> None:
        s.records["contact"][1].data["name"] = "Ana María"
        del s.records["contact"][0]

    state = apply(store, ADA, rename_and_drop)
    assert names(state) == ["Ana María", "Sam"]
    assert count(db_engine) == 2


def test_records_belong_to_their_owner(store: StateStore) -> None:
    apply(
        store,
        ADA,
        lambda s: s.records.setdefault("contact", []).append(Record("contact", {"name": "Sam"})),
    )
    apply(
        store,
        BOB,
        lambda s: s.records.setdefault("contact", []).append(Record("contact", {"name": "Zoe"})),
    )
    assert names(store.load(ADA)) == ["Sam"]
    assert names(store.load(BOB)) == ["Zoe"]


def test_an_unchanged_turn_writes_no_record(store: StateStore, db_engine: Engine) -> None:
    apply(store, ADA, lambda s: s.records.setdefault("note", []).append(Record("note", {"t": 1})))
    with Session(db_engine) as session:
        before = session.exec(select(RecordRow.updated_at)).one()
    store.run_turn(ADA, lambda s: Turn(s), NOW.replace(hour=10))
    with Session(db_engine) as session:
        assert session.exec(select(RecordRow.updated_at)).one() == before


def test_forget_me_erases_every_record(store: StateStore, db_engine: Engine) -> None:
    apply(
        store,
        ADA,
        lambda s: s.records.setdefault("contact", []).append(Record("contact", {"name": "Sam"})),
    )
    apply(
        store,
        BOB,
        lambda s: s.records.setdefault("contact", []).append(Record("contact", {"name": "Zoe"})),
    )
    store.run_turn(ADA, lambda s: Turn(s, effects=[ForgetMe()]), NOW)
    assert store.load(ADA) == UserState()
    assert count(db_engine) == 1
