"""The sweep's storage: claim due check-ins and nudges atomically, advancing first.

Every test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL
(see the `db_url` fixture in conftest.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from storage.db import make_engine
from storage.repository import StateStore, UserKey
from storage.schedule_store import (
    ClaimedUser,
    claim_due,
    mark_active,
    mark_inactive,
    set_next,
)
from storage.tables import User

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
USERS = User.__table__


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def add_users(engine: Engine, count: int, **values: Any) -> list[int]:
    """`count` people (ids in insertion order) with the given column values."""
    first = _count(engine)
    rows = [
        {
            "channel": "telegram",
            "external_id": str(first + i),
            "created_at": NOW - timedelta(days=1),
            "last_seen_at": NOW - timedelta(days=1),
            "locale": "en",
            "timezone": "Europe/Berlin",
            "checkin_time": "08:30",
            **values,
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(insert(USERS), rows)
        ids = conn.execute(
            select(USERS.c.id).where(USERS.c.external_id.in_([r["external_id"] for r in rows]))
        ).scalars()
        return sorted(ids)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(USERS.c.id)).all())


def due_times(engine: Engine, column: str = "next_checkin_at") -> dict[int, datetime | None]:
    with engine.connect() as conn:
        rows = conn.execute(select(USERS.c.id, USERS.c[column])).all()
    return {r[0]: None if r[1] is None else r[1].replace(tzinfo=r[1].tzinfo or UTC) for r in rows}


def active(engine: Engine, user_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(USERS.c.active).where(USERS.c.id == user_id)).scalar_one())


def tomorrow(user: ClaimedUser) -> datetime:
    return user.due_at + timedelta(days=1)


# --- what is claimed ---------------------------------------------------------------


def test_claims_only_due_active_rows_and_advances_them_before_returning(
    db_engine: Engine,
) -> None:
    due = add_users(db_engine, 3, next_checkin_at=at(-30))
    exactly_now = add_users(db_engine, 1, next_checkin_at=NOW)
    later = add_users(db_engine, 2, next_checkin_at=at(1))
    unplanned = add_users(db_engine, 2)
    blocked = add_users(db_engine, 2, next_checkin_at=at(-30), active=False)
    nudge_only = add_users(db_engine, 1, next_nudge_at=at(-30))

    claimed = claim_due(db_engine, "checkin", NOW, tomorrow)

    assert sorted(c.user_id for c in claimed) == due + exactly_now
    first = claimed[0]
    assert (first.channel, first.timezone, first.checkin_time) == (
        "telegram",
        "Europe/Berlin",
        "08:30",
    )
    assert first.due_at == at(-30) and first.due_at.tzinfo is not None
    assert {c.due_at for c in claimed} == {at(-30), NOW}

    times = due_times(db_engine)  # already advanced when claim_due returns
    for c in claimed:
        assert times[c.user_id] == c.due_at + timedelta(days=1)
    for uid in later:
        assert times[uid] == at(1)
    for uid in unplanned + nudge_only:
        assert times[uid] is None
    for uid in blocked:
        assert times[uid] == at(-30)
    assert due_times(db_engine, "next_nudge_at")[nudge_only[0]] == at(-30)

    # A second sweep at the same moment finds nothing; nudges are their own column.
    assert claim_due(db_engine, "checkin", NOW, tomorrow) == []
    nudged = claim_due(db_engine, "nudge", NOW, lambda u: None)
    assert [c.user_id for c in nudged] == nudge_only
    assert due_times(db_engine, "next_nudge_at")[nudge_only[0]] is None  # None: nothing planned
    assert claim_due(db_engine, "nudge", at(10_000), tomorrow) == []


def test_limit_takes_the_oldest_first_and_the_rest_stay_due(db_engine: Engine) -> None:
    ids = [add_users(db_engine, 1, next_checkin_at=at(-i))[0] for i in range(10)]
    first = claim_due(db_engine, "checkin", NOW, tomorrow, limit=4)
    assert [c.user_id for c in first] == list(reversed(ids))[:4]  # most overdue first
    rest = claim_due(db_engine, "checkin", NOW, tomorrow, limit=100)
    assert sorted(c.user_id for c in first + rest) == sorted(ids)
    assert claim_due(db_engine, "checkin", NOW, tomorrow) == []
    assert claim_due(db_engine, "checkin", NOW, tomorrow, limit=0) == []


def test_due_times_compare_in_utc_whatever_the_offset(db_engine: Engine) -> None:
    plus_two = timezone_offset(2)
    (uid,) = add_users(db_engine, 1)
    set_next(db_engine, uid, "checkin", datetime(2026, 3, 1, 9, 59, tzinfo=plus_two))  # 07:59Z
    claimed = claim_due(
        db_engine, "checkin", datetime(2026, 3, 1, 3, 0, tzinfo=timezone_offset(-5)), tomorrow
    )  # 08:00Z
    assert [c.due_at for c in claimed] == [at(-1)]
    with pytest.raises(ValueError):
        set_next(db_engine, uid, "checkin", datetime(2026, 3, 1, 9, 0))  # naive
    with pytest.raises(ValueError):
        claim_due(db_engine, "weekly", NOW, tomorrow)  # type: ignore[arg-type]


def timezone_offset(hours: int) -> Any:
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_if_advance_fails_nothing_is_claimed(db_engine: Engine) -> None:
    ids = add_users(db_engine, 3, next_checkin_at=at(-5))

    def broken(user: ClaimedUser) -> datetime:
        raise RuntimeError("bad zone")

    with pytest.raises(RuntimeError):
        claim_due(db_engine, "checkin", NOW, broken)
    assert all(due_times(db_engine)[uid] == at(-5) for uid in ids)
    assert len(claim_due(db_engine, "checkin", NOW, tomorrow)) == 3


# --- blocked and back --------------------------------------------------------------


def test_inactive_users_are_never_claimed_until_they_write_again(db_engine: Engine) -> None:
    (uid,) = add_users(db_engine, 1, next_checkin_at=at(-5), next_nudge_at=at(-5))
    assert active(db_engine, uid)

    mark_inactive(db_engine, uid)
    assert not active(db_engine, uid)
    assert due_times(db_engine)[uid] is None and due_times(db_engine, "next_nudge_at")[uid] is None
    set_next(db_engine, uid, "checkin", at(-1))  # even if something plans them anyway
    for when in (NOW, at(60), at(60 * 24 * 30)):
        assert claim_due(db_engine, "checkin", when, tomorrow) == []
        assert claim_due(db_engine, "nudge", when, tomorrow) == []

    assert mark_active(db_engine, uid) is True  # was blocked: plan them again
    assert mark_active(db_engine, uid) is False  # already active: nothing to do
    set_next(db_engine, uid, "checkin", at(-1))
    assert [c.user_id for c in claim_due(db_engine, "checkin", NOW, tomorrow)] == [uid]


def test_new_people_from_a_turn_are_active_with_nothing_planned(
    store: StateStore, db_engine: Engine
) -> None:
    from dialogs.model import Profile, Reply, Turn, UserState

    def decide(_state: UserState) -> Turn:
        return Turn(UserState(profile=Profile(consented=True)), replies=[Reply("x")])

    store.run_turn(UserKey("telegram", "42"), decide, NOW)
    with db_engine.connect() as conn:
        row = conn.execute(select(USERS)).mappings().one()
    assert row["active"] in (True, 1)
    assert row["next_checkin_at"] is None and row["next_nudge_at"] is None


# --- two sweepers ------------------------------------------------------------------

SWEEP_USERS = 1000


def _sweeper(
    url: str,
    start: threading.Barrier,
    out: list[int],
    errors: list[BaseException],
    batch: int,
    advance: Callable[[ClaimedUser], datetime | None] = tomorrow,
) -> None:
    engine = make_engine(url)  # its own pool, like a second bot process
    try:
        start.wait(timeout=30)
        while claimed := claim_due(engine, "checkin", NOW, advance, limit=batch):
            out.extend(c.user_id for c in claimed)
    except BaseException as exc:
        errors.append(exc)
    finally:
        engine.dispose()


def test_two_sweepers_claim_each_of_1000_due_users_exactly_once(
    db_url: str, db_engine: Engine
) -> None:
    ids = add_users(db_engine, SWEEP_USERS, next_checkin_at=at(-10))
    start = threading.Barrier(2)
    claims: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def slow(user: ClaimedUser) -> datetime:
        time.sleep(0.0005)  # hold the batch's locks a little, so the sweeps overlap
        return tomorrow(user)

    threads = [
        threading.Thread(target=_sweeper, args=(db_url, start, claims[i], errors, 50, slow))
        for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)

    everything = claims[0] + claims[1]
    assert len(everything) == SWEEP_USERS  # no duplicates...
    assert set(everything) == set(ids)  # ...and nobody missed
    assert all(t == at(-10) + timedelta(days=1) for t in due_times(db_engine).values())
    print(f"\n[{db_engine.dialect.name}] sweeper claims: {len(claims[0])} + {len(claims[1])}")
    if db_engine.dialect.name == "postgresql":
        assert claims[0] and claims[1]  # SKIP LOCKED: both made progress


def test_postgres_second_sweeper_skips_locked_rows_instead_of_waiting(
    db_url: str, db_engine: Engine
) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    ids = add_users(db_engine, 20, next_checkin_at=at(-10))
    holding = threading.Event()
    release = threading.Event()
    first: list[int] = []
    errors: list[BaseException] = []

    def hold(user: ClaimedUser) -> datetime:
        holding.set()
        release.wait(timeout=30)  # keep the first batch locked, mid-transaction
        return tomorrow(user)

    def sweep_once() -> None:
        try:
            first.extend(c.user_id for c in claim_due(db_engine, "checkin", NOW, hold, limit=10))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=sweep_once)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        other = make_engine(db_url)
        try:
            began = time.perf_counter()
            second = claim_due(other, "checkin", NOW, tomorrow, limit=100)
            waited = time.perf_counter() - began
        finally:
            other.dispose()
    finally:
        release.set()
        thread.join(timeout=30)
    assert not errors
    assert waited < 5  # it did not wait for the first sweeper's locks
    assert sorted(first) == ids[:10] and sorted(c.user_id for c in second) == ids[10:]


# --- figures (printed, not asserted) ----------------------------------------------


def test_claiming_a_batch_of_1000_due_users_timing(db_engine: Engine) -> None:
    add_users(db_engine, 9000, next_checkin_at=at(60))  # not due yet
    add_users(db_engine, 1000, next_checkin_at=at(-5))
    began = time.perf_counter()
    claimed = claim_due(db_engine, "checkin", NOW, tomorrow, limit=1000)
    took = time.perf_counter() - began
    assert len(claimed) == 1000
    print(f"\n[{db_engine.dialect.name}] claim 1000 of 10000: {took * 1000:.1f} ms")
