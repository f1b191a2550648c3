"""The sweep's storage: reading who is due, claiming a batch, and taking one person in one
transaction.

`due_candidates` only reads; `claim_due` holds a batch (or moves on those with no turn)
in one statement; `run_due` (bot/due_turn.py) takes a person under their row lock,
checking that the hold is still its own (or that they are due), moving the due time and
writing the outbox rows in that one transaction. Every test runs on SQLite and, when TEST_DATABASE_URL is set,
on PostgreSQL (see the `db_url` fixture in conftest.py).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from datetime import time as time_of_day
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, insert, select, text
from sqlmodel import Session

from bot.core import Bridges
from bot.due_turn import DueTurn, Hold, run_due, settle
from bot.scheduler import CLAIM_LEASE, Sweeper
from dialogs.model import ForgetMe, Frame, Profile, Reply, Turn, UserState
from storage.repository import StateStore, UserKey
from storage.schedule_store import (
    Claimed,
    DuePerson,
    claim_due,
    due_at,
    due_candidates,
    due_person,
    mark_active,
    mark_inactive,
    move_due,
    release,
    set_next,
)
from storage.tables import ClaimRow, OutboxRow, User

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
USERS = User.__table__
OUTBOX = OutboxRow.__table__
CLAIMS = ClaimRow.__table__


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def add_users(engine: Engine, count: int, **values: Any) -> list[int]:
    """`count` people (ids in insertion order) with the given column values."""
    first = 1000 + _count(engine)
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


def row(engine: Engine, external_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        found = conn.execute(select(USERS).where(USERS.c.external_id == external_id)).mappings()
        out = dict(found.one())
    for name, value in out.items():
        if isinstance(value, datetime) and value.tzinfo is None:
            out[name] = value.replace(tzinfo=UTC)  # SQLite keeps UTC without the offset
    return out


def outbox_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(OUTBOX).order_by(OUTBOX.c.id)).mappings()]


# --- who is due: a plain read --------------------------------------------------------


def test_candidates_are_the_due_active_rows_oldest_first_and_nothing_moves(
    db_engine: Engine,
) -> None:
    due = add_users(db_engine, 3, next_checkin_at=at(-30))
    exactly_now = add_users(db_engine, 1, next_checkin_at=NOW)
    later = add_users(db_engine, 2, next_checkin_at=at(1))
    unplanned = add_users(db_engine, 2)
    blocked = add_users(db_engine, 2, next_checkin_at=at(-30), active=False)
    nudge_only = add_users(db_engine, 1, next_nudge_at=at(-30))
    before = due_times(db_engine)

    found = due_candidates(db_engine, "checkin", NOW)

    assert [c.user_id for c in found] == due + exactly_now  # by due time, then id
    assert [c.due_at for c in found] == [at(-30)] * 3 + [NOW]
    assert found[0].due_at.tzinfo is not None
    assert (found[0].channel, found[0].external_id) == ("telegram", "1000")
    # Only a read: asked again, the same people, their times untouched.
    assert due_candidates(db_engine, "checkin", NOW) == found
    assert due_times(db_engine) == before
    assert not set(later + unplanned + blocked) & {c.user_id for c in found}
    # Nudges and follow-ups are their own columns.
    assert [c.user_id for c in due_candidates(db_engine, "nudge", NOW)] == nudge_only
    assert due_candidates(db_engine, "followup", at(10_000)) == []


def test_pages_follow_on_behind_the_last_one_and_the_limit_holds(db_engine: Engine) -> None:
    ids = [add_users(db_engine, 1, next_checkin_at=at(-i // 2))[0] for i in range(10)]
    expected = sorted(ids, key=lambda uid: (at(-(ids.index(uid)) // 2), uid))
    first = due_candidates(db_engine, "checkin", NOW, limit=4)
    assert [c.user_id for c in first] == expected[:4]
    seen = [c.user_id for c in first]
    after = (first[-1].due_at, first[-1].user_id)
    while page := due_candidates(db_engine, "checkin", NOW, limit=4, after=after):
        seen += [c.user_id for c in page]
        after = (page[-1].due_at, page[-1].user_id)
    assert seen == expected  # each once, in order, although nothing was moved
    assert due_candidates(db_engine, "checkin", NOW, limit=0) == []


def test_due_times_compare_in_utc_whatever_the_offset(db_engine: Engine) -> None:
    (uid,) = add_users(db_engine, 1)
    set_next(db_engine, uid, "checkin", datetime(2026, 3, 1, 9, 59, tzinfo=_offset(2)))  # 07:59Z
    found = due_candidates(db_engine, "checkin", datetime(2026, 3, 1, 3, 0, tzinfo=_offset(-5)))
    assert [c.due_at for c in found] == [at(-1)]
    with pytest.raises(ValueError):
        set_next(db_engine, uid, "checkin", datetime(2026, 3, 1, 9, 0))  # naive
    with pytest.raises(ValueError):
        due_candidates(db_engine, "weekly", NOW)  # type: ignore[arg-type]


def _offset(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


def test_a_locked_rows_due_time_is_read_and_moved_on_the_orm_row(db_engine: Engine) -> None:
    (uid,) = add_users(db_engine, 1, next_nudge_at=at(-5), paused_until=at(60), unanswered=2)
    with Session(db_engine) as session, session.begin():
        user = session.get(User, uid)
        assert user is not None
        due = due_at(user, "nudge")
        assert due == at(-5) and due is not None and due.tzinfo is not None
        person = due_person(user, due)
        assert (person.user_id, person.due_at, person.unanswered) == (uid, at(-5), 2)
        assert person.paused_until == at(60) and person.last_seen_at == NOW - timedelta(days=1)
        assert due_at(user, "followup") is None
        move_due(user, "nudge", datetime(2026, 3, 2, 10, 0, tzinfo=_offset(1)))
        with pytest.raises(ValueError):
            move_due(user, "checkin", datetime(2026, 3, 2, 10, 0))  # naive
    assert due_times(db_engine, "next_nudge_at")[uid] == at(60 * 25)  # committed, in UTC


# --- blocked and back --------------------------------------------------------------


def test_inactive_users_are_never_due_until_they_write_again(db_engine: Engine) -> None:
    (uid,) = add_users(db_engine, 1, next_checkin_at=at(-5), next_nudge_at=at(-5))
    mark_inactive(db_engine, uid)
    assert due_times(db_engine)[uid] is None and due_times(db_engine, "next_nudge_at")[uid] is None
    set_next(db_engine, uid, "checkin", at(-1))  # even if something plans them anyway
    for when in (NOW, at(60), at(60 * 24 * 30)):
        assert due_candidates(db_engine, "checkin", when) == []
        assert due_candidates(db_engine, "nudge", when) == []

    assert mark_active(db_engine, uid) is True  # was blocked: plan them again
    assert mark_active(db_engine, uid) is False  # already active: nothing to do
    assert [c.user_id for c in due_candidates(db_engine, "checkin", NOW)] == [uid]


def test_new_people_from_a_turn_are_active_with_nothing_planned(
    store: StateStore, db_engine: Engine
) -> None:
    def decide(_state: UserState) -> Turn:
        return Turn(UserState(profile=Profile(consented=True)), replies=[Reply("x")])

    store.run_turn(UserKey("telegram", "42"), decide, NOW)
    with db_engine.connect() as conn:
        found = conn.execute(select(USERS)).mappings().one()
    assert found["active"] in (True, 1)
    assert found["next_checkin_at"] is None and found["next_nudge_at"] is None


# --- taking one due person: one transaction ------------------------------------------


KEY = UserKey("telegram", "1001")


def after_crisis(store: StateStore, followup_at: datetime) -> None:
    """An onboarded person (Lisbon, 08:00) just past a crisis screen, a follow-up planned."""
    profile = Profile(
        consented=True, onboarded=True, timezone="Europe/Lisbon", checkin_time="08:00",
        nudges="off", risk_level="crisis", risk_at=NOW, unsafe_at=at(1), followup_at=followup_at,
    )  # fmt: skip
    state = UserState(stack=[Frame("crisis", "unsafe", {})], profile=profile)
    store.run_turn(KEY, lambda _current: Turn(state.copy()), NOW)


def test_a_due_followup_is_taken_once_cleared_and_queued_with_it(bridges: Bridges) -> None:
    engine = bridges.store.engine
    after_crisis(bridges.store, at(60))
    checkin_at = row(engine, "1001")["next_checkin_at"]
    assert checkin_at is not None

    early = run_due(bridges, KEY, "followup", at(59))
    assert not early.taken and early.pending == [] and outbox_rows(engine) == []

    taken = run_due(bridges, KEY, "followup", at(61))
    assert taken.taken and taken.pending
    saved = row(engine, "1001")
    assert saved["followup_at"] is None
    # The same transaction wrote the rows the sender is handed, and touched nothing else.
    rows = outbox_rows(engine)
    assert [r["id"] for r in rows] == [p.id for p in taken.pending]
    assert {(r["chat_id"], r["external_id"], r["origin"]) for r in rows} == {
        (1001, "1001", "followup")
    }
    assert saved["risk_level"] == "crisis" and saved["unsafe_at"] == at(1)
    assert saved["next_checkin_at"] == checkin_at
    assert saved["unanswered"] == 0  # a follow-up is not coaching to back off from

    again = run_due(bridges, KEY, "followup", at(600))
    assert not again.taken and len(outbox_rows(engine)) == len(rows)  # at most once


def test_taking_a_checkin_leaves_the_followup_alone_and_counts_unanswered(
    bridges: Bridges,
) -> None:
    engine = bridges.store.engine
    after_crisis(bridges.store, at(60 * 24 * 3))
    checkin_at = row(engine, "1001")["next_checkin_at"]
    assert not run_due(bridges, KEY, "followup", checkin_at).taken
    work = run_due(bridges, KEY, "checkin", checkin_at)
    assert work.taken and work.plan is not None and work.plan.run
    saved = row(engine, "1001")
    assert saved["followup_at"] == at(60 * 24 * 3)
    assert saved["next_checkin_at"] == checkin_at + timedelta(days=1)
    # In crisis: the engine holds the check-in back (nothing queued, nothing counted).
    assert work.pending == [] and saved["unanswered"] == 0


def test_when_no_turn_runs_only_the_due_time_moves(bridges: Bridges) -> None:
    engine = bridges.store.engine
    (uid,) = add_users(
        engine, 1, next_checkin_at=at(-60 * 5), consented_at=NOW, onboarded_at=NOW,
        timezone="UTC", checkin_time="03:00", nudges="off",
    )  # fmt: skip
    key = UserKey("telegram", row_external_id(engine, uid))
    version = conversation_version(engine, uid)
    work = run_due(bridges, key, "checkin", NOW)  # missed by five hours: stale
    assert (
        work.taken
        and work.plan is not None
        and (work.plan.run, work.plan.why)
        == (
            False,
            "stale",
        )
    )
    assert due_times(engine)[uid] == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    assert work.pending == [] and outbox_rows(engine) == []
    assert conversation_version(engine, uid) == version  # the engine never saw it


def row_external_id(engine: Engine, uid: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(USERS.c.external_id).where(USERS.c.id == uid)).scalar())


def conversation_version(engine: Engine, uid: int) -> int | None:
    from storage.tables import Conversation

    table = Conversation.__table__
    with engine.connect() as conn:
        return conn.execute(select(table.c.version).where(table.c.user_id == uid)).scalar()


def test_a_turn_racing_the_sweep_never_brings_the_followup_back(bridges: Bridges) -> None:
    """The person writes while the sweep takes their follow-up: whichever goes first, one."""
    store = bridges.store
    after_crisis(store, at(60))
    in_turn, release = threading.Event(), threading.Event()

    def slow_decide(current: UserState) -> Turn:
        in_turn.set()
        release.wait(timeout=10)
        return Turn(current.copy())  # keeps whatever it loaded

    thread = threading.Thread(target=store.run_turn, args=(KEY, slow_decide, at(61)))
    thread.start()
    taken: list[DueTurn] = []
    try:
        assert in_turn.wait(timeout=10)
        sweeper = threading.Thread(
            target=lambda: taken.append(run_due(bridges, KEY, "followup", at(61)))
        )
        sweeper.start()
        time.sleep(0.05)
        release.set()
        sweeper.join(timeout=20)
        thread.join(timeout=20)
    finally:
        release.set()
    later = run_due(bridges, KEY, "followup", at(120))
    # The sweep waits for the turn's lock, then takes it; the turn cannot save it back.
    assert [w.taken for w in taken] + [later.taken] == [True, False]
    assert {r["origin"] for r in outbox_rows(bridges.store.engine)} == {"followup"}


def test_two_sweepers_take_each_of_200_due_people_exactly_once(db_url: str) -> None:
    """Two processes (own engines) go through the same candidates at once, in threads."""
    both = [Bridges.open(db_url) for _ in range(2)]
    try:
        engine = both[0].store.engine
        add_users(
            engine, 200, next_checkin_at=at(-10), consented_at=NOW, onboarded_at=NOW,
            timezone="UTC", checkin_time="07:50", nudges="off",
        )  # fmt: skip
        candidates = due_candidates(engine, "checkin", NOW)
        assert len(candidates) == 200
        start = threading.Barrier(2)
        taken: list[list[str]] = [[], []]
        errors: list[BaseException] = []

        def sweep(n: int) -> None:
            try:
                start.wait(timeout=30)
                for c in candidates:
                    key = UserKey(c.channel, c.external_id)
                    if run_due(both[n], key, "checkin", NOW).pending:
                        taken[n].append(c.external_id)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=sweep, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors and not any(t.is_alive() for t in threads)
        assert sorted(taken[0] + taken[1]) == sorted(c.external_id for c in candidates)
        per_chat: dict[int, int] = {}
        for r in outbox_rows(engine):
            per_chat[r["chat_id"]] = per_chat.get(r["chat_id"], 0) + 1
        assert len(per_chat) == 200 and len(set(per_chat.values())) == 1
        assert set(due_times(engine).values()) == {datetime(2026, 3, 2, 7, 50, tzinfo=UTC)}
        print(f"\n[{engine.dialect.name}] taken: {len(taken[0])} + {len(taken[1])}")
    finally:
        for bridges in both:
            bridges.close()


# --- claiming a batch: one narrow claim row each -----------------------------------

UNTIL = NOW + CLAIM_LEASE
TOMORROW_0750 = datetime(2026, 3, 2, 7, 50, tzinfo=UTC)
FRESH = {
    "consented_at": NOW, "onboarded_at": NOW, "timezone": "UTC", "checkin_time": "07:50",
    "nudges": "off",
}  # fmt: skip


def claim(
    engine: Engine,
    now: datetime = NOW,
    limit: int = 50,
    after: tuple[datetime, int] | None = None,
    until: datetime | None = None,
) -> Claimed:
    """One check-in claim with the sweep's rules, held for CLAIM_LEASE unless `until`."""
    hold = now + CLAIM_LEASE if until is None else until
    return claim_due(engine, "checkin", now, hold, settle("checkin", now), limit, after)


def claim_rows(engine: Engine) -> dict[tuple[int, str], datetime]:
    """{(user id, kind): until} of every claim row."""
    with engine.connect() as conn:
        rows = conn.execute(select(CLAIMS.c.user_id, CLAIMS.c.kind, CLAIMS.c.until)).all()
    return {(r[0], r[1]): r[2].replace(tzinfo=r[2].tzinfo or UTC) for r in rows}


def test_a_claim_holds_those_whose_turn_runs_and_moves_the_others_on(db_engine: Engine) -> None:
    fresh = add_users(db_engine, 3, next_checkin_at=at(-10), **FRESH)
    stale = add_users(db_engine, 1, next_checkin_at=at(-300), **{**FRESH, "checkin_time": "03:00"})
    blocked = add_users(db_engine, 1, next_checkin_at=at(-10), active=False, **FRESH)
    later = add_users(db_engine, 1, next_checkin_at=at(5), **FRESH)

    claimed = claim(db_engine)
    assert [p.user_id for p in claimed.held] == fresh
    assert {p.due_at for p in claimed.held} == {at(-10)}  # the time taken
    assert (claimed.settled, claimed.elsewhere, claimed.count) == (1, 0, 4)
    assert claimed.last == (at(-10), fresh[-1])
    # Held by one narrow row each; their users rows are not written.
    assert claim_rows(db_engine) == {(u, "checkin"): UNTIL for u in fresh}
    times = due_times(db_engine)
    assert [times[u] for u in fresh] == [at(-10)] * 3
    assert times[stale[0]] == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # missed: moved on
    assert (times[blocked[0]], times[later[0]]) == (at(-10), at(5))  # untouched
    assert due_candidates(db_engine, "checkin", NOW) == []  # held: not due for anyone

    # Until the hold passes, another claim reads them but holds no one.
    before = claim(db_engine, NOW + timedelta(seconds=29))
    assert (before.held, before.settled, before.elsewhere) == ([], 0, 3)
    assert claim_rows(db_engine) == {(u, "checkin"): UNTIL for u in fresh}
    # A crash left them held: once the hold passes, any sweeper claims them again.
    again = claim(db_engine, UNTIL)
    assert [p.user_id for p in again.held] == fresh and {p.due_at for p in again.held} == {at(-10)}
    assert claim_rows(db_engine) == {(u, "checkin"): UNTIL + CLAIM_LEASE for u in fresh}
    with pytest.raises(ValueError):
        claim(db_engine, until=NOW)


def test_a_crash_holds_at_most_one_batch(db_engine: Engine) -> None:
    ids = add_users(db_engine, 5, next_checkin_at=at(-10), **FRESH)
    assert [p.user_id for p in claim(db_engine, limit=2).held] == ids[:2]  # then "killed"
    assert set(claim_rows(db_engine)) == {(u, "checkin") for u in ids[:2]}
    rest = claim(db_engine, NOW + timedelta(seconds=1))
    assert [p.user_id for p in rest.held] == ids[2:] and rest.elsewhere == 2


def test_someone_another_sweeper_holds_is_read_but_not_taken_until_its_hold_passes(
    db_engine: Engine,
) -> None:
    """The INSERT takes over a claim row only once its `until` has passed: what keeps a
    claim whose read did not see another's (PostgreSQL: a snapshot taken just before the
    other committed) from holding the same person."""
    ids = add_users(db_engine, 3, next_checkin_at=at(-10), **FRESH)
    theirs = UNTIL + timedelta(seconds=5)
    with db_engine.begin() as conn:
        conn.execute(insert(CLAIMS).values(user_id=ids[1], kind="checkin", until=theirs))
        # A passed claim on someone else (a crash long ago): taken over.
        conn.execute(insert(CLAIMS).values(user_id=ids[2], kind="checkin", until=at(-1)))
    claimed = claim_due(db_engine, "checkin", NOW, UNTIL, settle("checkin", NOW), 50, (at(-20), 0))
    assert [p.user_id for p in claimed.held] == [ids[0], ids[2]] and claimed.elsewhere == 1
    assert claim_rows(db_engine) == {
        (ids[0], "checkin"): UNTIL, (ids[1], "checkin"): theirs, (ids[2], "checkin"): UNTIL
    }  # fmt: skip
    # A nudge claim is a claim of its own.
    assert (
        claim_due(db_engine, "nudge", NOW, UNTIL, settle("nudge", NOW), 50).count == 0
    )  # (none has a nudge planned)
    taken = claim(db_engine, theirs)
    assert [p.user_id for p in taken.held] == ids  # every hold has passed by then


def test_claims_come_in_pages_that_start_behind_the_last(db_engine: Engine) -> None:
    ids = add_users(db_engine, 5, next_checkin_at=at(-10), **FRESH)
    pages, last = [], None
    while (page := claim(db_engine, limit=2, after=last)).count:
        pages.append([p.user_id for p in page.held])
        last = page.last
    assert pages == [ids[:2], ids[2:4], ids[4:]]
    assert claim(db_engine, limit=0).count == 0


def test_release_ends_only_that_claims_holds(db_engine: Engine) -> None:
    ids = add_users(db_engine, 3, next_checkin_at=at(-10), **FRESH)
    held = claim(db_engine).held
    with db_engine.begin() as conn:  # another sweeper took ids[1] over (after ours passed)
        conn.execute(
            CLAIMS.update().where(CLAIMS.c.user_id == ids[1]).values(until=UNTIL + CLAIM_LEASE)
        )
    assert release(db_engine, "checkin", UNTIL, held) == 2
    assert claim_rows(db_engine) == {(ids[1], "checkin"): UNTIL + CLAIM_LEASE}
    assert [due_times(db_engine)[u] for u in ids] == [at(-10)] * 3  # never written
    assert release(db_engine, "checkin", UNTIL, held) == 0
    assert [p.user_id for p in claim(db_engine, NOW + timedelta(seconds=1)).held] == [
        ids[0],
        ids[2],
    ]  # due again at once


def test_people_moved_on_are_not_moved_over_a_time_their_own_turn_set(db_engine: Engine) -> None:
    """People with no turn are moved after their hold is committed; if their own turn
    planned them meanwhile, that time stands (and the hold still ends)."""
    (uid,) = add_users(db_engine, 1, next_checkin_at=at(-300), **FRESH)  # stale: no turn
    rules = settle("checkin", NOW)

    def meanwhile(person: DuePerson) -> tuple[bool, datetime | None]:
        set_next(db_engine, person.user_id, "checkin", at(90))  # their turn, between the two
        return rules(person)

    claimed = claim_due(db_engine, "checkin", NOW, UNTIL, meanwhile, 50)
    assert (claimed.held, claimed.settled) == ([], 1)
    assert due_times(db_engine)[uid] == at(90) and claim_rows(db_engine) == {}


def test_a_rule_that_raises_leaves_the_batch_held_until_the_claim_passes(
    db_engine: Engine,
) -> None:
    ids = add_users(db_engine, 2, next_checkin_at=at(-10), **FRESH)

    def broken(_person: DuePerson) -> tuple[bool, datetime | None]:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        claim_due(db_engine, "checkin", NOW, UNTIL, broken, 50)
    assert set(claim_rows(db_engine)) == {(u, "checkin") for u in ids}
    assert claim(db_engine, NOW + timedelta(seconds=29)).held == []
    assert [p.user_id for p in claim(db_engine, UNTIL).held] == ids


def test_a_held_person_is_taken_only_with_their_claims_hold(bridges: Bridges) -> None:
    engine = bridges.store.engine
    (uid,) = add_users(engine, 1, next_checkin_at=at(-10), **FRESH)
    key = UserKey("telegram", row_external_id(engine, uid))
    (person,) = claim(engine).held
    assert person.due_at == at(-10)
    assert not run_due(bridges, key, "checkin", NOW).taken  # held, so not due
    other = Hold(UNTIL + timedelta(seconds=1), person.due_at)  # another sweeper's
    assert not run_due(bridges, key, "checkin", NOW, other).taken
    assert claim_rows(engine) == {(uid, "checkin"): UNTIL}  # not theirs to end
    # Our hold, but their time moved since it was taken: nothing, and the hold ends.
    moved = run_due(bridges, key, "checkin", NOW, Hold(UNTIL, at(-300)))
    assert not moved.taken and moved.plan is None and claim_rows(engine) == {}
    assert due_times(engine)[uid] == at(-10) and outbox_rows(engine) == []

    (person,) = claim(engine).held
    work = run_due(bridges, key, "checkin", NOW, Hold(UNTIL, person.due_at))
    assert work.taken and work.pending and due_times(engine)[uid] == TOMORROW_0750
    assert [r["id"] for r in outbox_rows(engine)] == [p.id for p in work.pending]
    assert claim_rows(engine) == {}  # the turn ended the claim in its transaction
    assert not run_due(bridges, key, "checkin", NOW, Hold(UNTIL, person.due_at)).taken


def test_holds_lost_with_the_claims_table_are_over_and_nobody_is_taken_twice(
    bridges: Bridges,
) -> None:
    """On PostgreSQL `claims` is UNLOGGED: after a database crash it comes back empty.
    A turn whose claim row is gone takes no one; the next claim takes them, once."""
    engine = bridges.store.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            persistence = conn.execute(
                text("SELECT relpersistence FROM pg_class WHERE oid = 'claims'::regclass")
            ).scalar_one()
        assert persistence == "u"
    (uid,) = add_users(engine, 1, next_checkin_at=at(-10), **FRESH)
    key = UserKey("telegram", row_external_id(engine, uid))
    (person,) = claim(engine).held
    with engine.begin() as conn:
        conn.execute(delete(CLAIMS))  # what a crash of PostgreSQL leaves
    lost = run_due(bridges, key, "checkin", NOW, Hold(UNTIL, person.due_at))
    assert not lost.taken and outbox_rows(engine) == []
    (again,) = claim(engine, NOW + timedelta(seconds=1)).held
    later = NOW + timedelta(seconds=1) + CLAIM_LEASE
    assert run_due(bridges, key, "checkin", NOW, Hold(later, again.due_at)).taken
    assert len(outbox_rows(engine)) == 1 and claim_rows(engine) == {}


def test_deleting_a_person_deletes_their_claims(bridges: Bridges) -> None:
    engine = bridges.store.engine
    after_crisis(bridges.store, at(-5))
    (person,) = claim_due(engine, "followup", NOW, UNTIL, settle("followup", NOW), 50).held
    assert claim_rows(engine) == {(person.user_id, "followup"): UNTIL}

    def forget(state: UserState) -> Turn:
        return Turn(state.copy(), effects=[ForgetMe()])

    bridges.store.run_turn(KEY, forget, NOW)
    assert row_count(engine) == 0 and claim_rows(engine) == {}


def row_count(engine: Engine) -> int:
    return _count(engine)


# Next times across a DST change, in whole-, half- and quarter-hour zones: (zone, now).
# Each `now` is a few hours before the zone's clocks change (Lord Howe's by 30 minutes).
DST_CASES = [
    ("Europe/Berlin", datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),  # CET -> CEST
    ("America/New_York", datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),  # EST -> EDT
    ("America/St_Johns", datetime(2026, 3, 8, 4, 0, tzinfo=UTC)),  # -03:30 -> -02:30
    ("Australia/Adelaide", datetime(2026, 4, 4, 15, 0, tzinfo=UTC)),  # +10:30 -> +09:30
    ("Australia/Lord_Howe", datetime(2026, 4, 4, 14, 0, tzinfo=UTC)),  # +11 -> +10:30
    ("Asia/Kolkata", datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),  # +05:30, no DST
    ("Asia/Kathmandu", datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),  # +05:45, no DST
]


def _next_local(zone: str, now: datetime, local: time_of_day) -> datetime:
    """The next `local` wall time in `zone` after `now`, worked out here on its own."""
    tz = ZoneInfo(zone)
    day = now.astimezone(tz).date()
    for _ in range(3):
        candidate = datetime.combine(day, local, tzinfo=tz).astimezone(UTC)
        if candidate > now:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("no next local time")


@pytest.mark.parametrize(("zone", "now"), DST_CASES, ids=[c[0] for c in DST_CASES])
def test_next_times_are_the_local_checkin_time_across_dst(
    bridges: Bridges, zone: str, now: datetime
) -> None:
    engine = bridges.store.engine
    local = {**FRESH, "timezone": zone, "checkin_time": "08:30"}
    (stale,) = add_users(engine, 1, next_checkin_at=now - timedelta(hours=5), **local)
    (fresh,) = add_users(engine, 1, next_checkin_at=now - timedelta(minutes=5), **local)
    until = now + CLAIM_LEASE
    claimed = claim_due(engine, "checkin", now, until, settle("checkin", now), 50)
    assert claimed.settled == 1 and [p.user_id for p in claimed.held] == [fresh]
    key = UserKey("telegram", row_external_id(engine, fresh))
    assert run_due(bridges, key, "checkin", now, Hold(until, claimed.held[0].due_at)).taken
    expected = _next_local(zone, now, time_of_day(8, 30))
    times = due_times(engine)
    assert (times[stale], times[fresh]) == (expected, expected)
    assert expected.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "08:30"
    # The day before, 08:30 was at another UTC offset: not simply 24 hours earlier.
    before = _next_local(zone, now - timedelta(days=1), time_of_day(8, 30))
    if zone.startswith("Asia/"):
        assert expected - before == timedelta(days=1)
    else:
        assert expected - before != timedelta(days=1)


class Keeps:
    """A sender that keeps what it is given and sends nothing."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def enqueue(self, items: Any) -> None:
        self.items.extend(items)


def test_people_a_crash_left_held_are_swept_once_when_the_hold_passes(bridges: Bridges) -> None:
    import asyncio

    engine = bridges.store.engine
    ids = add_users(engine, 3, next_checkin_at=at(-10), **FRESH)
    clock = [NOW]
    sender = Keeps()
    sweeper = Sweeper(bridges, lambda: clock[0], sender=sender)  # type: ignore[arg-type]
    assert len(sweeper.claim("checkin", NOW, UNTIL, None).held) == 3  # then "killed"
    assert asyncio.run(sweeper.sweep(None)) == 0 and outbox_rows(engine) == []
    clock[0] = UNTIL
    assert asyncio.run(sweeper.sweep(None)) == 3
    assert asyncio.run(sweeper.sweep(None)) == 0
    assert sorted(r["chat_id"] for r in outbox_rows(engine)) == [
        int(row_external_id(engine, u)) for u in ids
    ]
    assert {due_times(engine)[u] for u in ids} == {TOMORROW_0750}
    assert claim_rows(engine) == {}


def test_a_claim_in_progress_does_not_hold_up_another(db_url: str) -> None:
    """A claim's hold is committed before its rules run: a second claim (another
    process) meanwhile takes the rest at once, and passes over those the first holds."""
    both = [Bridges.open(db_url) for _ in range(2)]
    try:
        first, second = (b.store.engine for b in both)
        ids = add_users(first, 10, next_checkin_at=at(-10), **FRESH)
        inside, done = threading.Event(), threading.Event()
        rules = settle("checkin", NOW)

        def slow(person: DuePerson) -> tuple[bool, datetime | None]:
            inside.set()
            done.wait(timeout=10)
            return rules(person)

        got: list[Any] = []
        thread = threading.Thread(
            target=lambda: got.append(claim_due(first, "checkin", NOW, UNTIL, slow, 4))
        )
        thread.start()
        try:
            assert inside.wait(timeout=10)
            began = time.monotonic()
            other = claim(second)  # while the first is still deciding on its 4
            waited = time.monotonic() - began
        finally:
            done.set()
            thread.join(timeout=20)
        assert waited < 5  # not blocked until the first finished (it waits up to 10 s)
        assert [p.user_id for p in got[0].held] == ids[:4]
        assert [p.user_id for p in other.held] == ids[4:] and other.elsewhere == 4
    finally:
        for bridges in both:
            bridges.close()


# --- figures (printed, not asserted) ----------------------------------------------


def test_reading_1000_due_of_10000_timing(db_engine: Engine) -> None:
    add_users(db_engine, 9000, next_checkin_at=at(60))  # not due yet
    add_users(db_engine, 1000, next_checkin_at=at(-5))
    began = time.perf_counter()
    found = due_candidates(db_engine, "checkin", NOW, limit=1000)
    took = time.perf_counter() - began
    assert len(found) == 1000
    print(f"\n[{db_engine.dialect.name}] read 1000 due of 10000: {took * 1000:.1f} ms")
