"""Storage of the safety memory (issue 9): risk level and times, "not safe", the follow-up.

Only a level and times are stored, never what the person wrote. Every test runs on
SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL (conftest.py `db_url`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, inspect, select

from dialogs.model import ForgetMe, Frame, Profile, Reply, Turn, UserState
from storage.repository import StateStore, UserKey
from storage.schedule_store import due_candidates, mark_inactive
from storage.tables import User

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
KEY = UserKey("telegram", "1001")
USERS = User.__table__
SAFETY_COLUMNS = ("risk_level", "risk_at", "unsafe_at", "followup_at")


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def becomes(state: UserState, effects: list[Any] | None = None) -> Any:
    def decide(_current: UserState) -> Turn:
        return Turn(state.copy(), replies=[Reply("test/reply")], effects=list(effects or []))

    return decide


def row(engine: Engine, key: UserKey = KEY) -> dict[str, Any] | None:
    with engine.connect() as conn:
        found = (
            conn.execute(select(USERS).where(USERS.c.external_id == key.external_id))
            .mappings()
            .first()
        )
    if found is None:
        return None
    out = dict(found)
    for name, value in out.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            out[name] = value.replace(tzinfo=UTC)  # SQLite keeps UTC without the offset
    return out


def after_crisis(**overrides: Any) -> UserState:
    """An onboarded person just past a crisis screen where they said "not safe"."""
    profile = Profile(
        consented=True,
        onboarded=True,
        timezone="Europe/Lisbon",
        checkin_time="08:00",
        risk_level="crisis",
        risk_at=at(0),
        unsafe_at=at(1),
        followup_at=at(60),
    )
    for name, value in overrides.items():
        setattr(profile, name, value)
    return UserState(stack=[Frame("crisis", "unsafe", {})], profile=profile)


def test_migration_adds_the_columns_and_a_partial_index_on_followup_at(
    db_engine: Engine,
) -> None:
    inspector = inspect(db_engine)
    columns = {c["name"]: c for c in inspector.get_columns("users")}
    assert set(SAFETY_COLUMNS) <= set(columns)
    assert all(columns[name]["nullable"] for name in SAFETY_COLUMNS)
    indexes = {i["name"]: i for i in inspector.get_indexes("users")}
    assert indexes["ix_users_followup_at"]["column_names"] == ["followup_at", "id"]  # 0011
    where = indexes["ix_users_followup_at"].get("dialect_options", {})
    assert "followup_at IS NOT NULL" in str(where.get(f"{db_engine.dialect.name}_where"))


def test_safety_memory_round_trips_in_utc(store: StateStore, db_engine: Engine) -> None:
    state = after_crisis()
    store.run_turn(KEY, becomes(state), NOW)
    assert store.load(KEY) == state
    saved = row(db_engine)
    assert saved is not None
    assert saved["risk_level"] == "crisis"
    assert (saved["risk_at"], saved["unsafe_at"], saved["followup_at"]) == (at(0), at(1), at(60))

    # Given in another offset, kept as the same instant.
    lisbon_summer = datetime(2026, 7, 1, 10, 0, tzinfo=UTC).astimezone()
    moved = after_crisis(followup_at=lisbon_summer)
    store.run_turn(KEY, becomes(moved), at(2))
    loaded = store.load(KEY).profile.followup_at
    assert loaded == lisbon_summer and loaded is not None and loaded.utcoffset() == timedelta(0)

    # Cleared again: the follow-up was sent, they said they are safe.
    calm = after_crisis(risk_level=None, risk_at=None, unsafe_at=None, followup_at=None)
    store.run_turn(KEY, becomes(calm), at(3))
    assert store.load(KEY) == calm
    saved = row(db_engine)
    assert saved is not None and all(saved[name] is None for name in SAFETY_COLUMNS)


def test_delete_erases_the_safety_memory_with_the_row(store: StateStore, db_engine: Engine) -> None:
    store.run_turn(KEY, becomes(after_crisis()), NOW)
    assert row(db_engine) is not None
    store.run_turn(KEY, becomes(after_crisis(), [ForgetMe()]), at(1))
    assert row(db_engine) is None
    assert store.load(KEY) == UserState()


def test_blocked_people_keep_no_followup(store: StateStore, db_engine: Engine) -> None:
    store.run_turn(KEY, becomes(after_crisis()), NOW)
    user_id = row(db_engine)["id"]  # type: ignore[index]
    mark_inactive(db_engine, user_id)
    assert row(db_engine)["followup_at"] is None  # type: ignore[index]
    assert due_candidates(db_engine, "followup", at(120)) == []


def before_start(**times: Any) -> UserState:
    """Someone who never sent /start, after a crisis screen they have left (empty stack)."""
    return UserState(profile=Profile(risk_level="crisis", risk_at=at(0), **times))


def test_before_consent_the_safety_times_keep_the_row(store: StateStore, db_engine: Engine) -> None:
    # "No, I'm not safe" before /start: the banner and the follow-up must survive the turn.
    store.run_turn(KEY, becomes(before_start(unsafe_at=at(1), followup_at=at(60))), at(2))
    saved = row(db_engine)
    assert saved is not None and saved["consented_at"] is None
    assert (saved["unsafe_at"], saved["followup_at"]) == (at(1), at(60))
    assert store.load(KEY).profile.unsafe_at == at(1)
    assert store.load(KEY).stack == []
    # The follow-up alone keeps it too; the follow-up sent and the banner over: nothing kept.
    store.run_turn(KEY, becomes(before_start(followup_at=at(60))), at(3))
    assert row(db_engine) is not None
    store.run_turn(KEY, becomes(before_start()), at(4))
    assert row(db_engine) is None
    # And "delete my data" still erases it, whatever is planned.
    store.run_turn(KEY, becomes(before_start(unsafe_at=at(5))), at(5))
    store.run_turn(KEY, becomes(before_start(unsafe_at=at(5)), [ForgetMe()]), at(6))
    assert row(db_engine) is None
