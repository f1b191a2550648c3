"""Storage: migrations, what a turn saves (and doesn't), rollback, round trips, locking.

Every test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL
(see the `db_url` fixture in conftest.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import StatementError

from dialogs.model import Effect, ForgetMe, Frame, Profile, Reply, Turn, UserState
from storage import migrate
from storage.db import make_engine
from storage.migrate import (
    MigrationError,
    alembic_config,
    current_revision,
    newest_revision,
    upgrade,
    upgrade_if_behind,
)
from storage.repository import StateStore, UserKey
from storage.tables import Conversation, User

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
KEY = UserKey("telegram", "1001")
OTHER = UserKey("telegram", "2002")
HEAD = "0012"

USERS = User.__table__
CONVERSATIONS = Conversation.__table__


# --- helpers ---------------------------------------------------------------------


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def _utc(value: Any) -> Any:
    """SQLite hands timestamps back naive (they were written as UTC); PG aware."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _plain(row: Any) -> dict[str, Any] | None:
    return None if row is None else {k: _utc(v) for k, v in dict(row).items()}


def rows(engine: Engine, key: UserKey) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The raw users and conversations rows of one person, straight from the tables."""
    with engine.connect() as conn:
        user = (
            conn.execute(
                select(USERS).where(
                    USERS.c.channel == key.channel, USERS.c.external_id == key.external_id
                )
            )
            .mappings()
            .first()
        )
        conv = None
        if user is not None:
            conv = (
                conn.execute(select(CONVERSATIONS).where(CONVERSATIONS.c.user_id == user["id"]))
                .mappings()
                .first()
            )
        return _plain(user), _plain(conv)


def counts(engine: Engine) -> tuple[int, int]:
    """(rows in users, rows in conversations)."""
    with engine.connect() as conn:
        users = conn.execute(select(func.count()).select_from(USERS)).scalar_one()
        convs = conn.execute(select(func.count()).select_from(CONVERSATIONS)).scalar_one()
        return int(users), int(convs)


def becomes(
    state: UserState, effects: Iterable[Effect] = (), seen: list[UserState] | None = None
) -> Callable[[UserState], Turn]:
    """A decide callback that ignores the stored state and returns `state`."""

    def decide(current: UserState) -> Turn:
        if seen is not None:
            seen.append(current.copy())
        return Turn(state.copy(), replies=[Reply("test/reply")], effects=list(effects))

    return decide


def open_dialog(step: str = "ask", consented: bool = False, **slots: Any) -> UserState:
    return UserState(
        stack=[Frame("onboarding", step, dict(slots))], profile=Profile(consented=consented)
    )


class Boom(Exception):
    pass


def explode(_state: UserState) -> Turn:
    raise Boom("decide failed")


# --- migrations --------------------------------------------------------------------


def test_a_start_migrates_only_a_database_behind_the_newest_revision(db_url: str) -> None:
    # Read from the files without Alembic, it must agree with Alembic's own head.
    assert newest_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(db_url)
    try:
        assert upgrade_if_behind(engine) is True
        assert current_revision(engine) == newest_revision()
        assert upgrade_if_behind(engine) is False
    finally:
        engine.dispose()


def test_a_start_can_migrate_in_a_new_python(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Where it can't fork (another thread runs, as here under pytest): `python -m
    # storage.migrate`. The fork, what `bridges run` uses, is in tests/test_start_imports.py.
    monkeypatch.setattr(migrate, "_can_fork", lambda: False)
    engine = make_engine(db_url)
    try:
        assert upgrade_if_behind(engine, in_child=True) is True
        assert current_revision(engine) == newest_revision()
        assert upgrade_if_behind(engine, in_child=True) is False
    finally:
        engine.dispose()


def test_a_migration_failing_in_a_child_is_one_line_without_its_sql(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrate, "_can_fork", lambda: False)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:  # the first migration creates it: it fails
            conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY)"))
        with pytest.raises(MigrationError) as failed:
            upgrade_if_behind(engine, in_child=True)
        said = str(failed.value)
        assert "(ProgrammingError)" in said or "(OperationalError)" in said, said
        assert "CREATE" not in said.upper() and "\n" not in said
        assert current_revision(engine) is None  # one transaction: nothing half done
    finally:
        engine.dispose()


def test_migrations_apply_from_empty_to_head_and_twice_is_harmless(db_url: str) -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD
    engine = make_engine(db_url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:  # the fixture's private schema, not public
                assert conn.execute(text("SELECT current_schema()")).scalar_one().startswith("t_")
        assert current_revision(engine) is None
        assert inspect(engine).get_table_names() == []

        upgrade(engine)
        assert current_revision(engine) == HEAD
        inspector = inspect(engine)
        assert {"users", "conversations", "alembic_version"} <= set(inspector.get_table_names())
        assert {c["name"] for c in inspector.get_columns("users")} == set(USERS.c.keys())
        assert {c["name"] for c in inspector.get_columns("conversations")} == set(
            CONVERSATIONS.c.keys()
        )

        store = StateStore(engine)
        state = open_dialog(consented=True, name="Ana")
        store.run_turn(KEY, becomes(state), NOW, script_version="s1")
        before = rows(engine, KEY)

        upgrade(engine)  # again: a no-op that keeps the data
        assert current_revision(engine) == HEAD
        assert rows(engine, KEY) == before
        assert store.load(KEY) == state
        assert counts(engine) == (1, 1)
    finally:
        engine.dispose()


# --- what a turn saves -------------------------------------------------------------


def test_new_person_without_consent_and_empty_stack_stores_nothing(
    store: StateStore, db_engine: Engine
) -> None:
    seen: list[UserState] = []
    decide = becomes(UserState(), seen=seen)
    turn = store.run_turn(KEY, decide, NOW, script_version="s1")

    assert seen == [UserState()]  # a new person starts from the empty state
    assert turn.replies == [Reply("test/reply")]  # the decided turn is handed back
    assert counts(db_engine) == (0, 0)
    assert rows(db_engine, KEY) == (None, None)
    assert store.load(KEY) == UserState()
    assert store.counts() == {"users": 0}


def test_open_dialog_stores_rows_and_every_saved_turn_bumps_the_version(
    store: StateStore, db_engine: Engine
) -> None:
    seen: list[UserState] = []
    first = open_dialog("consent")
    store.run_turn(KEY, becomes(first, seen=seen), NOW, script_version="s1")

    assert counts(db_engine) == (1, 1)
    user, conv = rows(db_engine, KEY)
    assert user is not None and conv is not None
    assert (user["channel"], user["external_id"]) == ("telegram", "1001")
    assert user["created_at"] == NOW and user["last_seen_at"] == NOW
    assert user["consented_at"] is None and user["onboarded_at"] is None
    assert conv["user_id"] == user["id"]
    assert conv["version"] == 1
    assert conv["script_version"] == "s1"
    assert conv["stack"] == [{"dialog": "onboarding", "step": "consent", "slots": {}}]
    assert conv["updated_at"] == NOW

    second = open_dialog("name", hint="x")
    store.run_turn(KEY, becomes(second, seen=seen), later(1), script_version="s2")
    user2, conv2 = rows(db_engine, KEY)
    assert user2 is not None and conv2 is not None
    assert seen[1] == first  # decide got what the previous turn stored
    assert conv2["version"] == 2
    assert conv2["script_version"] == "s2"
    assert conv2["updated_at"] == later(1)
    assert user2["created_at"] == NOW and user2["last_seen_at"] == later(1)
    assert user2["id"] == user["id"]

    done = UserState(profile=Profile(consented=True))  # consented, dialog finished
    store.run_turn(KEY, becomes(done, seen=seen), later(2), script_version="s2")
    _, conv3 = rows(db_engine, KEY)
    assert conv3 is not None
    assert seen[2] == second
    assert conv3["version"] == 3
    assert conv3["stack"] == []
    assert counts(db_engine) == (1, 1)
    assert store.load(KEY) == done


def test_goodbye_before_consent_leaves_no_rows(store: StateStore, db_engine: Engine) -> None:
    store.run_turn(KEY, becomes(open_dialog("consent")), NOW)
    assert counts(db_engine) == (1, 1)

    store.run_turn(KEY, becomes(UserState()), later(1))  # declined: stack empty, no consent
    assert counts(db_engine) == (0, 0)
    assert store.load(KEY) == UserState()


def test_consent_and_onboarding_timestamps_are_set_once_and_cleared(
    store: StateStore, db_engine: Engine
) -> None:
    def profile_turn(consented: bool, onboarded: bool, at: datetime) -> dict[str, Any]:
        state = UserState(
            stack=[Frame("menu", "main")],
            profile=Profile(consented=consented, onboarded=onboarded),
        )
        store.run_turn(KEY, becomes(state), at)
        user, _ = rows(db_engine, KEY)
        assert user is not None
        loaded = store.load(KEY).profile
        assert (loaded.consented, loaded.onboarded) == (consented, onboarded)
        return user

    user = profile_turn(consented=False, onboarded=False, at=NOW)
    assert (user["consented_at"], user["onboarded_at"]) == (None, None)

    user = profile_turn(consented=True, onboarded=False, at=later(1))
    assert (user["consented_at"], user["onboarded_at"]) == (later(1), None)

    user = profile_turn(consented=True, onboarded=True, at=later(2))
    assert (user["consented_at"], user["onboarded_at"]) == (later(1), later(2))

    user = profile_turn(consented=True, onboarded=True, at=later(3))
    assert (user["consented_at"], user["onboarded_at"]) == (later(1), later(2))
    assert user["last_seen_at"] == later(3)

    user = profile_turn(consented=False, onboarded=False, at=later(4))  # withdrawn
    assert (user["consented_at"], user["onboarded_at"]) == (None, None)
    assert counts(db_engine) == (1, 1)  # the open dialog still keeps the row

    user = profile_turn(consented=True, onboarded=False, at=later(5))  # consents anew
    assert (user["consented_at"], user["onboarded_at"]) == (later(5), None)


def test_forget_me_erases_user_and_conversation(store: StateStore, db_engine: Engine) -> None:
    kept = open_dialog(consented=True, who="other")
    store.run_turn(OTHER, becomes(kept), NOW)
    other_rows = rows(db_engine, OTHER)

    full = UserState(
        stack=[Frame("menu", "main", {"a": 1})],
        profile=Profile(consented=True, onboarded=True, timezone="Europe/Lisbon"),
    )
    store.run_turn(KEY, becomes(full), NOW)
    store.run_turn(KEY, becomes(full), later(1))
    assert counts(db_engine) == (2, 2)

    # ForgetMe wins even though the returned state is consented with an open dialog.
    store.run_turn(KEY, becomes(full, effects=[ForgetMe()]), later(2))
    assert counts(db_engine) == (1, 1)
    assert rows(db_engine, KEY) == (None, None)
    assert rows(db_engine, OTHER) == other_rows
    assert store.load(KEY) == UserState()
    assert store.load(OTHER) == kept

    # Forgetting someone unknown is a quiet no-op.
    store.run_turn(UserKey("telegram", "404"), becomes(full, effects=[ForgetMe()]), later(3))
    assert counts(db_engine) == (1, 1)

    # Coming back later starts from scratch.
    store.run_turn(KEY, becomes(open_dialog("consent")), later(4))
    user, conv = rows(db_engine, KEY)
    assert user is not None and conv is not None
    assert user["created_at"] == later(4) and user["consented_at"] is None
    assert conv["version"] == 1


# --- failures roll back --------------------------------------------------------------


def test_decide_that_raises_leaves_stored_state_exactly_as_before(
    store: StateStore, db_engine: Engine
) -> None:
    state = UserState(
        stack=[Frame("onboarding", "city", {"name": "Ana"})],
        profile=Profile(consented=True, timezone="Europe/Berlin", checkin_time="08:30"),
    )
    store.run_turn(KEY, becomes(state), NOW, script_version="s1")
    store.run_turn(KEY, becomes(state), later(1), script_version="s1")
    before = rows(db_engine, KEY)
    assert before[1] is not None and before[1]["version"] == 2

    with pytest.raises(Boom, match="decide failed"):
        store.run_turn(KEY, explode, later(2), script_version="s2")
    assert rows(db_engine, KEY) == before  # last_seen_at, version, script_version untouched
    assert store.load(KEY) == state

    with pytest.raises(Boom):
        store.run_turn(OTHER, explode, later(2))
    assert counts(db_engine) == (1, 1)

    # The store still works after the failure, and the version continues from 2.
    store.run_turn(KEY, becomes(state), later(3))
    _, conv = rows(db_engine, KEY)
    assert conv is not None and conv["version"] == 3


def test_a_save_that_fails_half_way_saves_nothing(store: StateStore, db_engine: Engine) -> None:
    # A slot that cannot be stored as JSON makes the conversations write fail
    # after the users row was already inserted (flushed): both must roll back.
    unstorable = UserState(
        stack=[Frame("onboarding", "ask", {"bad": object()})], profile=Profile(consented=True)
    )
    with pytest.raises((TypeError, StatementError)):
        store.run_turn(KEY, becomes(unstorable), NOW)
    assert counts(db_engine) == (0, 0)

    good = open_dialog(consented=True, name="Ana")
    store.run_turn(KEY, becomes(good), NOW)
    before = rows(db_engine, KEY)
    unstorable.profile.timezone = "Asia/Tokyo"
    with pytest.raises((TypeError, StatementError)):
        store.run_turn(KEY, becomes(unstorable), later(1))
    assert rows(db_engine, KEY) == before
    assert store.load(KEY) == good


# --- round trips and independence ------------------------------------------------------


def test_awkward_slot_values_round_trip_exactly(store: StateStore, db_engine: Engine) -> None:
    long_text = ("ab🙂ש" * 1024)[:4096]
    assert len(long_text) == 4096
    slots: dict[str, Any] = {
        "html": '<b>bold</b> <i>x</i> <a href="https://e.x/?a=1&b=2">l</a> &amp; &lt;',
        "amp": "Tom & Jerry && 'quotes' \"double\" \\ back\\slash",
        "jinja": "{{ name }} {% if x %}{{ '}}' }}{% endif %} {# c #}",
        "emoji": "🙂👩‍👩‍👧‍👦🏳️‍🌈👍🏽 ❤️ \U0001f600",
        "rtl": "مرحبا بك \u200fשלום עולם\u200e mixed עברית and English",
        "long": long_text,
        "newlines": "line1\nline2\r\n\ttab  ",
        "empty": "",
        "none": None,
        "flag": True,
        "number": 42,
        "ratio": 0.25,
        "nested": {"list": [1, "二", {"k": "🙂"}], "ключ": "значение"},
        "🔑": "emoji key",
    }
    state = UserState(
        stack=[
            Frame("menu", "main", {"from": "start"}),
            Frame("change_checkin", "ask_time", slots),
        ],
        profile=Profile(
            consented=True,
            onboarded=True,
            locale="ar",
            timezone="America/Argentina/Buenos_Aires",
            checkin_time="07:30",
        ),
    )
    store.run_turn(KEY, becomes(state), NOW)
    loaded = store.load(KEY)
    assert loaded == state
    assert loaded.stack[1].slots["long"] == long_text
    assert loaded.stack[1].slots["emoji"] == slots["emoji"]

    # Saving what was loaded changes nothing either.
    seen: list[UserState] = []
    store.run_turn(KEY, lambda s: (seen.append(s), Turn(s))[1], later(1))
    assert seen == [state]
    assert store.load(KEY) == state


def test_people_are_independent(store: StateStore, db_engine: Engine) -> None:
    a = UserKey("telegram", "1001")
    b = UserKey("telegram", "1002")
    c = UserKey("console", "1001")  # same external id, other channel
    states = {
        a: open_dialog("a", consented=True, who="a"),
        b: open_dialog("b", who="b"),
        c: UserState(stack=[Frame("menu", "main", {"who": "c"})], profile=Profile(True, True)),
    }
    for key, state in states.items():
        store.run_turn(key, becomes(state), NOW)
    assert counts(db_engine) == (3, 3)
    ids = {rows(db_engine, key)[0]["id"] for key in states}  # type: ignore[index]
    assert len(ids) == 3
    for key, state in states.items():
        assert store.load(key) == state

    a_next = open_dialog("a2", consented=True, who="a", n=2)
    store.run_turn(a, becomes(a_next), later(1))
    store.run_turn(a, becomes(a_next), later(2))
    assert rows(db_engine, a)[1]["version"] == 3  # type: ignore[index]
    for key in (b, c):
        user, conv = rows(db_engine, key)
        assert user is not None and conv is not None
        assert conv["version"] == 1 and user["last_seen_at"] == NOW
        assert store.load(key) == states[key]

    store.run_turn(c, becomes(states[c], effects=[ForgetMe()]), later(3))
    assert counts(db_engine) == (2, 2)
    assert store.load(c) == UserState()
    assert store.load(a) == a_next
    assert store.load(b) == states[b]


# --- concurrency ---------------------------------------------------------------------------

THREADS = 8
TURNS_EACH = 25


def _run_in_threads(job: Callable[[int], Any]) -> list[Any]:
    """Run job(0..THREADS-1) on THREADS threads released together; re-raise failures."""
    barrier = threading.Barrier(THREADS)

    def start(i: int) -> Any:
        barrier.wait(timeout=10)
        return job(i)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(start, i) for i in range(THREADS)]
        return [f.result(timeout=60) for f in futures]


def test_turns_for_one_person_are_serialized(store: StateStore, db_engine: Engine) -> None:
    store.run_turn(KEY, becomes(open_dialog(consented=True, n=0)), NOW)  # creates: version 1
    guard = threading.Lock()
    in_flight = 0
    most_in_flight = 0

    def increment(state: UserState) -> Turn:
        nonlocal in_flight, most_in_flight
        with guard:
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
        try:
            new = state.copy()
            assert new.top is not None
            n = new.top.slots["n"]
            time.sleep(0.0005)  # widen the read-modify-write window
            new.top.slots["n"] = n + 1
            return Turn(new)
        finally:
            with guard:
                in_flight -= 1

    def person_taps(_i: int) -> list[int]:
        got = []
        for _ in range(TURNS_EACH):
            turn = store.run_turn(KEY, increment, later(1))
            assert turn.state.top is not None
            got.append(turn.state.top.slots["n"])
        return got

    results = _run_in_threads(person_taps)

    total = THREADS * TURNS_EACH
    seen_values = sorted(n for got in results for n in got)
    assert seen_values == list(range(1, total + 1))  # no two turns read the same counter
    assert most_in_flight == 1
    state = store.load(KEY)
    assert state.top is not None and state.top.slots["n"] == total
    _, conv = rows(db_engine, KEY)
    assert conv is not None and conv["version"] == total + 1
    assert counts(db_engine) == (1, 1)


def test_new_people_created_concurrently_all_succeed(store: StateStore, db_engine: Engine) -> None:
    def first_turn(i: int) -> Turn:
        return store.run_turn(
            UserKey("telegram", f"new-{i}"), becomes(open_dialog(consented=True, i=i)), NOW
        )

    _run_in_threads(first_turn)
    assert counts(db_engine) == (THREADS, THREADS)
    for i in range(THREADS):
        key = UserKey("telegram", f"new-{i}")
        assert store.load(key) == open_dialog(consented=True, i=i)
        assert rows(db_engine, key)[1]["version"] == 1  # type: ignore[index]


def test_first_turns_of_one_new_person_racing_make_one_row(
    store: StateStore, db_engine: Engine
) -> None:
    def bump(state: UserState) -> Turn:
        n = state.top.slots["n"] if state.top else 0
        return Turn(open_dialog(consented=True, n=n + 1))

    _run_in_threads(lambda _i: store.run_turn(KEY, bump, NOW))
    assert counts(db_engine) == (1, 1)
    state = store.load(KEY)
    assert state.top is not None and state.top.slots["n"] == THREADS
    assert rows(db_engine, KEY)[1]["version"] == THREADS  # type: ignore[index]


def test_a_new_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    import stat

    from storage.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/private.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    mode = stat.S_IMODE((tmp_path / "private.db").stat().st_mode)
    assert mode == 0o600, oct(mode)
