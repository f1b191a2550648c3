"""Records load one kind at a time (issue 15): a turn reads and writes what it touched, and
what it saves is what a whole-history state would have saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from dialogs import export, records, reminders
from dialogs.hooks import HookCall, checkin
from dialogs.hooks.review import week_summary
from dialogs.model import Frame, Profile, Record, Records, Turn, UserState
from storage import repository
from storage.repository import StateStore, UserKey
from storage.tables import RecordRow, User

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday
KEY = UserKey("telegram", "4242")
ROWS = RecordRow.__table__  # type: ignore[attr-defined]


# --- the mapping on its own ----------------------------------------------------------


def test_a_plain_dict_is_still_a_dict() -> None:
    contact = Record("contact", {"name": "Ana"})
    state = UserState(records={"contact": [contact], "empty": []})
    assert isinstance(state.records, Records)
    assert state.records == {"contact": [contact], "empty": []}
    assert "contact" in state.records and "mood" not in state.records
    assert state.records.get("mood") is None and state.records.get("mood", []) == []
    state.records = {"win": []}  # assigned later: wrapped too
    assert isinstance(state.records, Records)
    records.add(state, "win", {"text": "a walk"}, NOW)
    assert [r.data["text"] for r in state.records["win"]] == ["a walk"]
    del state.records["win"]
    records.add(state, "win", {"text": "again"}, NOW)  # a deleted kind starts afresh
    assert [r.data["text"] for r in state.records["win"]] == ["again"]
    copied = UserState(records={"contact": [contact], "empty": []}).copy()
    assert dict(copied.records) == {"contact": [contact]}, "empty kinds are left out"
    assert copied.records["contact"][0] is not contact, "records are copied"


class Fake:
    """A storage stand-in that counts what is loaded."""

    def __init__(self, stored: dict[str, list[Record]]) -> None:
        self.stored = stored
        self.loaded: list[str] = []
        self.tails: list[dict[str, int]] = []

    def load(self, kind: str) -> list[Record]:
        self.loaded.append(kind)
        return [Record(r.kind, dict(r.data), r.id, r.created_at) for r in self.stored.get(kind, [])]

    def tail(self, wanted: Any) -> dict[str, list[Record]]:
        self.tails.append(dict(wanted))
        return {k: self.load(k)[-n:] for k, n in wanted.items()}

    def records(self) -> Records:
        return Records(load=self.load, tails=self.tail, kinds=lambda: sorted(self.stored))


def moods(count: int) -> list[Record]:
    return [
        Record("mood", {"mood": 3}, i + 1, NOW - timedelta(hours=count - i)) for i in range(count)
    ]


def test_copy_reads_nothing_and_a_copy_never_shares_a_record() -> None:
    fake = Fake({"mood": moods(50)})
    state = UserState(records=fake.records())
    twin = state.copy()
    assert fake.loaded == []
    twin.records["mood"][0].data["mood"] = 1
    assert state.records["mood"][0].data["mood"] == 3


def test_adding_and_reading_the_newest_never_reads_a_whole_kind() -> None:
    fake = Fake({"mood": moods(50)})
    state = UserState(records=fake.records()).copy()
    records.add(state, "mood", {"mood": 5}, NOW)
    assert [r.data["mood"] for r in records.newest(state, "mood", 3)] == [3, 3, 5]
    assert records.latest(state, "mood") is not None
    assert fake.tails == [{"mood": 3}] and fake.loaded == ["mood"]  # the fake's tail loads
    changes = state.records.changes()
    assert changes.whole == {} and [r.data for r in changes.added["mood"]] == [{"mood": 5}]
    # Read whole later: the record read before is the same object, the new one last.
    newest = records.newest(state, "mood", 1)[0]
    whole = state.records["mood"]
    assert len(whole) == 51 and whole[-1] is newest


def test_a_kind_with_fewer_than_asked_is_held_whole() -> None:
    fake = Fake({"contact": [Record("contact", {"name": "Ana"}, 1, NOW)]})
    state = UserState(records=fake.records())
    assert len(records.newest(state, "contact", 8)) == 1
    assert state.records.changes().whole.keys() == {"contact"}
    assert "mood" not in state.records and state.records.get("mood") is None


def test_since_reads_back_only_as_far_as_asked() -> None:
    fake = Fake({"mood": moods(500)})
    state = UserState(records=fake.records())
    found = records.since(state, "mood", NOW - timedelta(hours=40))
    assert 40 <= len(found) <= 64
    assert all(n <= 64 for t in fake.tails for n in t.values())


# --- through storage -----------------------------------------------------------------


def person(engine: Engine, stored: list[tuple[str, dict[str, Any], datetime]]) -> int:
    """An onboarded person with these records (kind, data, created_at), positions in order."""
    with engine.begin() as conn:
        user_id = conn.execute(
            insert(User.__table__).returning(User.__table__.c.id),
            {
                "channel": KEY.channel,
                "external_id": KEY.external_id,
                "created_at": NOW - timedelta(days=90),
                "last_seen_at": NOW - timedelta(hours=2),
                "consented_at": NOW - timedelta(days=90),
                "onboarded_at": NOW - timedelta(days=90),
                "timezone": "Europe/Madrid",
                "checkin_time": "08:00",
            },
        ).scalar_one()
        positions: dict[str, int] = {}
        rows = []
        for kind, data, at in stored:
            positions[kind] = positions.get(kind, -1) + 1
            rows.append(
                {"user_id": user_id, "kind": kind, "position": positions[kind],
                 "created_at": at, "updated_at": at, "data": data}
            )  # fmt: skip
        if rows:
            conn.execute(insert(ROWS), rows)
    return int(user_id)


def history(days: int) -> list[tuple[str, dict[str, Any], datetime]]:
    out: list[tuple[str, dict[str, Any], datetime]] = []
    for n in range(days, 0, -1):
        at = NOW - timedelta(days=n)
        out.append(("mood", {"at": at.isoformat(), "mood": 1 + n % 5, "connected": 3}, at))
        if n % 3 == 0:
            out.append(("win", {"text": f"win {n}", "source": "typed"}, at))
    out.append(("rhythm", {"review_day": 6, "review_time": "18:00", "windows": ["12:00"]}, NOW))
    out.append(("ucla", {"items": [2, 2, 2], "total": 6}, NOW - timedelta(days=20)))
    return out


def stored(engine: Engine, kind: str) -> list[tuple[int, dict[str, Any]]]:
    with engine.connect() as conn:
        query = select(ROWS.c.position, ROWS.c.data).where(ROWS.c.kind == kind)
        return sorted((int(p), dict(d)) for p, d in conn.execute(query.order_by(ROWS.c.position)))


@pytest.fixture()
def whole_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds storage loads whole, in order."""
    seen: list[str] = []
    real = repository.RecordSource.load

    def load(self: repository.RecordSource, kind: str) -> list[Record]:
        seen.append(kind)
        return real(self, kind)

    monkeypatch.setattr(repository.RecordSource, "load", load)
    return seen


def test_a_check_in_answer_reads_no_whole_history_and_saves_like_before(
    store: StateStore, db_engine: Engine, whole_loads: list[str]
) -> None:
    person(db_engine, history(200))
    before = stored(db_engine, "mood")

    def answer(state: UserState) -> Turn:
        state = state.copy()
        state.stack = [Frame("checkin", "connected")]
        checkin.save_mood(_call(state, 2))
        checkin.branch(_call(state, 4))
        return Turn(state)

    store.run_turn(KEY, answer, NOW)
    assert "mood" not in whole_loads and "win" not in whole_loads
    after = stored(db_engine, "mood")
    assert after[:-1] == before, "the stored moods are untouched"
    assert after[-1][0] == len(before) and after[-1][1]["mood"] == 2
    assert after[-1][1]["connected"] == 4, "a change to the newest, read alone, is saved"


def _call(state: UserState, value: Any) -> HookCall:
    return HookCall(state, state.stack[-1], value, NOW, [])


def test_replacing_or_deleting_an_unread_kind_still_writes_it(
    store: StateStore, db_engine: Engine
) -> None:
    person(db_engine, history(10))

    def change(state: UserState) -> Turn:
        state = state.copy()
        state.records["win"] = [Record("win", {"text": "only this"})]
        del state.records["ucla"]
        return Turn(state)

    store.run_turn(KEY, change, NOW)
    assert stored(db_engine, "win") == [(0, {"text": "only this"})]
    assert stored(db_engine, "ucla") == []
    assert len(stored(db_engine, "mood")) == 10


def test_next_reminder_and_the_review_read_bounded_and_agree_with_everything(
    store: StateStore, db_engine: Engine, whole_loads: list[str]
) -> None:
    person(db_engine, history(300))
    lazy = store.load(KEY)
    everything = UserState(
        stack=[], profile=lazy.profile, records={k: list(v) for k, v in lazy.records.items()}
    )
    fresh = store.load(KEY)
    whole_loads.clear()
    for at in (NOW, NOW + timedelta(days=4, hours=9)):  # a weekday, and Sunday evening
        assert reminders.next_at(fresh, at) == reminders.next_at(everything, at)
        assert week_summary(fresh, at) == week_summary(everything, at)
    assert "mood" not in whole_loads and "win" not in whole_loads, "read back a few weeks only"


def test_export_still_has_everything(store: StateStore, db_engine: Engine) -> None:
    person(db_engine, history(30))
    state = store.load(KEY)
    document = export.build(state, NOW)
    total = sum(len(v) for v in document["records"].values())
    assert total == len(history(30))


def test_a_new_person_and_a_state_built_afresh_are_saved_whole(
    store: StateStore, db_engine: Engine
) -> None:
    person(db_engine, history(5))

    def afresh(state: UserState) -> Turn:
        profile = Profile(consented=True, onboarded=True, timezone="Europe/Madrid")
        return Turn(UserState(profile=profile, records={"win": [Record("win", {"text": "x"})]}))

    store.run_turn(KEY, afresh, NOW)
    assert stored(db_engine, "mood") == [] and stored(db_engine, "win") == [(0, {"text": "x"})]


def test_every_kind_a_person_notes_is_read_by_the_silent_week_check() -> None:
    """reminders.NOTED names the kinds instead of listing what a person keeps: every kind
    the hooks write is either in it or a setting or marker."""
    from dialogs import coaching, drafts
    from dialogs.hooks import contacts, kit, nudge, plan, reframe

    markers = {coaching.RHYTHM, coaching.REVIEW, checkin.LOG, drafts.KIND}
    kinds = {
        checkin.MOOD, checkin.NEEDS_MAP, contacts.KIND, kit.KIND, plan.KIND, nudge.FOLLOW_UP,
        reframe.THOUGHT, reframe.GRATITUDE, coaching.LADDER, coaching.PLAN,
        coaching.REFLECTION, coaching.WIN, coaching.PORTFOLIO, coaching.UCLA,
    }  # fmt: skip
    assert set(reminders.NOTED) == kinds and not markers & set(reminders.NOTED)


def test_the_wins_log_reads_the_pages_shown_and_counts_the_rest() -> None:
    from dialogs.hooks import wins

    stored = [
        Record("win", {"text": f"win {i}"}, i + 1, NOW - timedelta(days=40 - i)) for i in range(40)
    ]
    fake = Fake({"win": stored})
    counted: list[str] = []

    def count(kind: str) -> int:
        counted.append(kind)
        return len(fake.stored.get(kind, []))

    state = UserState(
        records=Records(load=fake.load, tails=fake.tail, kinds=lambda: ["win"], count=count)
    )
    frame = Frame("wins", "list", {"page": 1})
    page = wins.wins_page(HookCall(state, frame, None, NOW, []))
    assert page["total"] == 40 and page["older"] == 20
    assert [w["text"] for w in page["wins"]] == [f"win {i}" for i in range(29, 19, -1)]
    assert fake.tails == [{"win": 20}], "only the first two pages were read"
    assert counted == ["win"], "the total is counted, not loaded"
    labels = [c.id for c in wins.wins_paging(HookCall(state, frame, None, NOW, []))]
    assert labels == ["older", "newest"]
