"""Load a person's state, let the engine decide, save the result: one transaction a turn."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    literal_column,
    true,
    union_all,
    update,
    values,
)
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import manager_of_class
from sqlmodel import Session, col, select

from dialogs import reminders
from dialogs.model import ForgetMe, Frame, Profile, Record, Records, Turn, UserState
from dialogs.schedule import NUDGE_QUIET_AFTER_MESSAGE, after_quiet_hours, next_checkin, next_nudge
from storage.db import begin
from storage.hot import Hot, batched, bound_columns
from storage.tables import ClaimRow, Conversation, RecordRow, User

NEW_USER_RETRIES = 3
# Read at the start of a Telegram person's turn, in one query ({kind: how many newest}):
# what reminders.next_at reads after every turn, and the check-in's log and needs map.
PREFETCH: dict[str, int] = {**reminders.READS, "checkin_log": 1, "needs_map": 1}


@dataclass(frozen=True)
class UserKey:
    """Who a person is to storage: the channel and the id it knows them by (a Telegram
    user id as text, or the console name); unique in `users`."""

    channel: str  # "telegram" or "console"
    external_id: str


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _aware_utc(value: datetime | None) -> datetime | None:
    # Stored and handed out as UTC: SQLite's naive values were written as UTC, and a naive
    # time from the engine is taken as UTC rather than as the server's local time.
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


# SQLModel does not declare __table__ on RecordRow (storage/tables.py does so for others).
RECORDS: Table = RecordRow.__table__  # type: ignore[attr-defined]
# The data as stored text: decoded once for the record a turn may change, kept as text for
# the comparison at the end of the turn (an independent copy, without a deep copy).
_COLUMNS = (
    RECORDS.c.id,
    RECORDS.c.kind,
    RECORDS.c.position,
    RECORDS.c.created_at,
    cast(RECORDS.c.data, Text).label("raw"),
)
_UPDATE = (
    update(RECORDS)
    .where(RECORDS.c.id == bindparam("b_id"))
    .values(
        kind=bindparam("b_kind"),
        position=bindparam("b_position"),
        data=bindparam("b_data", type_=RECORDS.c.data.type),
        updated_at=bindparam("b_at", type_=RECORDS.c.updated_at.type),
    )
)

_INSERT = insert(RECORDS)
_DELETE_IDS = delete(RECORDS).where(RECORDS.c.id.in_(bindparam("ids", expanding=True)))


# The queries are built once, with bound parameters, so SQLAlchemy's compiled cache serves
# every turn (building a union of subqueries afresh costs more than running it).
_MINE = RECORDS.c.user_id == bindparam("u")
_LOAD = (
    core_select(*_COLUMNS)
    .where(_MINE, RECORDS.c.kind == bindparam("k"))
    .order_by(RECORDS.c.position, RECORDS.c.id)
)
_KINDS = core_select(RECORDS.c.kind).where(_MINE).distinct()
_COUNT = (
    core_select(func.count()).select_from(RECORDS).where(_MINE, RECORDS.c.kind == bindparam("k"))
)
_EVERYTHING = (
    core_select(*_COLUMNS).where(_MINE).order_by(RECORDS.c.kind, RECORDS.c.position, RECORDS.c.id)
)


@functools.lru_cache(maxsize=128)
def _tails_query(limits: tuple[int, ...]) -> Hot:
    """The newest limits[i] records of kind k{i}, in one query: each part an index range scan
    of ix_records_user_kind read backwards, so its cost is n, not the history. One per tuple
    of limits (a handful: what next_at, the check-in and the dialogs ask for), run on the
    turn's DBAPI cursor (storage/hot.py)."""
    newest = [
        core_select(*_COLUMNS)
        .where(_MINE, RECORDS.c.kind == bindparam(f"k{i}"))
        .order_by(RECORDS.c.position.desc(), RECORDS.c.id.desc())
        # Written into the SQL, so the planner always sees the bound: a generic plan
        # (psycopg prepares a statement run often) would have to guess it.
        .limit(literal_column(str(int(n)), Integer))
        for i, n in enumerate(limits)
    ]
    if len(newest) == 1:
        return Hot(newest[0])
    # Each part in a subquery of its own: SQLite allows no LIMIT on a compound's member.
    return Hot(union_all(*(part.subquery(f"t{i}").select() for i, part in enumerate(newest))))


@functools.cache
def _prefetch_by_key() -> Hot:
    """PostgreSQL: PREFETCH for the person (channel `c`, external id `e`) if they are active
    and onboarded, else no rows; sent in the turn's first message, right after the lock
    (`StateStore._lock`), so it needs no round trip of its own. Each kind's newest n by a
    LATERAL subquery over a VALUES list: the same index range scans as `_tails_query`'s
    union, which the server would plan anew each time in that message (the statements
    batched are not prepared): 0.10 ms of planning for this against 0.47 for the union
    (EXPLAIN ANALYZE, warm, 8 kinds), 0.08 against 0.14 ms to run. The kinds and their n
    are the code's own constants, written into the SQL."""
    wanted = values(column("kind", String), column("n", Integer), name="w", literal_binds=True)
    wanted = wanted.data(list(PREFETCH.items()))
    person = (
        core_select(USERS.c.id)
        .where(
            USERS.c.channel == bindparam("c"),
            USERS.c.external_id == bindparam("e"),
            USERS.c.active == true(),
            USERS.c.onboarded_at.is_not(None),
        )
        .scalar_subquery()
    )
    newest = (
        core_select(*_COLUMNS)
        .where(RECORDS.c.user_id == person, RECORDS.c.kind == wanted.c.kind)
        .order_by(RECORDS.c.position.desc(), RECORDS.c.id.desc())
        .limit(wanted.c.n)
        .lateral("r")
    )
    return Hot(
        core_select(*newest.c)
        .select_from(wanted.join(newest, true()))
        .order_by(newest.c.kind, newest.c.position.desc(), newest.c.id.desc())
    )


@functools.cache
def _highest_query(parts: int) -> Any:
    """The highest position of kind k{i}, for i < parts, in one row (each an index seek)."""
    return core_select(
        *(
            core_select(func.max(RECORDS.c.position))
            .where(_MINE, RECORDS.c.kind == bindparam(f"k{i}"))
            .scalar_subquery()
            for i in range(parts)
        )
    )


@dataclass
class _Stored:
    kind: str
    position: int
    raw: str  # the data as stored (JSON text)


@dataclass
class RecordSource:
    """One person's records as a turn reads them: `load`, `tails` and `kinds` for
    dialogs.model.Records, each one query, and a note of every row handed out (`rows`) so
    the turn's end writes only what changed. Reads go through `conn` (the turn's own
    transaction) while it is set, else through a short connection of their own (a look
    outside a turn, or a state read after its turn has ended)."""

    engine: Engine
    user_id: int
    conn: Connection | None = None
    rows: dict[int, _Stored] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)  # kinds read whole
    top: dict[str, int] = field(default_factory=dict)  # highest position seen (-1: none)
    # PREFETCH's rows, read with the lock (`StateStore._lock`): the first `tails` asking
    # for exactly PREFETCH takes them instead of running its query.
    prefetched: Sequence[Sequence[Any]] | None = None

    def _run(self, query: Any, **values: Any) -> Sequence[Sequence[Any]]:
        values["u"] = self.user_id
        if isinstance(query, Hot):
            if self.conn is not None:
                return query.rows(self.conn, values)
            query = query.statement  # outside a turn: through SQLAlchemy, as any other read
        if self.conn is not None:
            return list(self.conn.execute(query, values))
        with self.engine.connect() as conn:
            return list(conn.execute(query, values))

    def _records(self, found: Sequence[Sequence[Any]]) -> list[Record]:
        out = []
        top = self.top
        for row_id, kind, position, created_at, raw in found:  # _COLUMNS
            self.rows[row_id] = _Stored(kind, position, raw)
            top[kind] = max(top.get(kind, -1), position)
            out.append(Record(kind, json.loads(raw), row_id, _utc(created_at)))
        return out

    def load(self, kind: str) -> list[Record]:
        """Every `kind` record, in stored order (position, then id)."""
        self.whole.add(kind)
        self.top.setdefault(kind, -1)
        return self._records(self._run(_LOAD, k=kind))

    def tails(self, wanted: Mapping[str, int]) -> dict[str, list[Record]]:
        """The newest n of each kind ({kind: n}), in stored order, in one query."""
        values = {f"k{i}": kind for i, kind in enumerate(wanted)}
        out: dict[str, list[Record]] = {kind: [] for kind in wanted}
        rows, self.prefetched = self.prefetched, None
        if rows is None or dict(wanted) != PREFETCH:
            rows = self._run(_tails_query(tuple(wanted.values())), **values)
        for record in self._records(rows):
            out[record.kind].append(record)
        for kind, found in out.items():
            self.top.setdefault(kind, -1)
            found.reverse()  # newest first from the query; stored order for the turn
        return out

    def kinds(self) -> list[str]:
        """The kinds the person keeps (for reading everything: /export, a comparison)."""
        return sorted(row[0] for row in self._run(_KINDS))

    def count(self, kind: str) -> int:
        """How many stored `kind` records the person has."""
        return int(self._run(_COUNT, k=kind)[0][0])

    def everything(self) -> dict[str, list[Record]]:
        """All the person's records by kind, in one query."""
        out: dict[str, list[Record]] = {}
        for record in self._records(self._run(_EVERYTHING)):
            out.setdefault(record.kind, []).append(record)
        self.whole |= set(out)
        return out

    def records(self) -> Records:
        """A lazy Records reading through this source."""
        return Records(load=self.load, tails=self.tails, kinds=self.kinds, count=self.count)

    def next_positions(self, kinds: list[str]) -> dict[str, int]:
        """The first free position of each kind (after its highest), in one query for the
        kinds whose highest was not seen."""
        unknown = [k for k in kinds if k not in self.top]
        if unknown:
            values = {f"k{i}": kind for i, kind in enumerate(unknown)}
            found = self._run(_highest_query(len(unknown)), **values)[0]
            for kind, value in zip(unknown, found, strict=True):
                self.top[kind] = -1 if value is None else int(value)
        return {kind: self.top[kind] + 1 for kind in kinds}


def to_state(
    user: User | None,
    conv: Conversation | _StoredConv | None,
    rows: list[RecordRow] | None = None,
    source: RecordSource | None = None,
) -> UserState:
    """The engine's view of a stored person: profile, dialog stack and records by kind.

    With `source`, records are loaded a kind at a time when first read (dialogs.model.Records);
    otherwise they are `rows`, each kind's list in the order of `rows`. Times come back
    aware UTC (SQLite's naive ones read as UTC). No `user`: a new person, UserState().
    Raises KeyError for a stored frame without "dialog" or "step"."""
    if user is None:
        return UserState()
    profile = Profile(
        consented=user.consented_at is not None,
        onboarded=user.onboarded_at is not None,
        locale=user.locale,
        timezone=user.timezone,
        checkin_time=user.checkin_time,
        country=user.country,
        nudges=user.nudges,
        quiet_start=user.quiet_start,
        quiet_end=user.quiet_end,
        paused_until=_utc(user.paused_until) if user.paused_until else None,
        risk_level=user.risk_level,
        risk_at=_aware_utc(user.risk_at),
        unsafe_at=_aware_utc(user.unsafe_at),
        followup_at=_aware_utc(user.followup_at),
        last_seen_at=_aware_utc(user.last_seen_at),
    )
    stack = [Frame.from_json(f) for f in (conv.stack if conv else None) or []]
    if source is not None:
        return UserState(stack=stack, profile=profile, records=source.records())
    records: dict[str, list[Record]] = {}
    for row in rows or []:
        records.setdefault(row.kind, []).append(
            Record(row.kind, dict(row.data), row.id, _utc(row.created_at))
        )
    return UserState(stack=stack, profile=profile, records=Records(records))


def planned_checkin(
    profile: Profile, current: datetime | None, active: bool, replan: bool, now: datetime
) -> datetime | None:
    """A person's next check-in (UTC) after a turn: what the sweep looks for.

    None while check-ins are off, onboarding is unfinished or they blocked the bot.
    Otherwise the planned time stays, unless nothing is planned yet or `replan`
    (their zone or check-in time changed, or they came back): then the next
    occurrence after `now`.
    """
    if not (active and profile.onboarded and profile.timezone and profile.checkin_time):
        return None
    if current is not None and not replan:
        return current
    try:
        return next_checkin(profile.checkin_time, profile.timezone, now)
    except (ValueError, KeyError):  # an unknown zone must not break the turn
        return None


def planned_nudge(
    profile: Profile,
    current: datetime | None,
    active: bool,
    replan: bool,
    now: datetime,
    last_seen_at: datetime | None = None,
    unanswered: int = 0,
) -> datetime | None:
    """A person's next nudge (UTC) after a turn: what the sweep looks for.

    None while nudges are off, onboarding is unfinished or they blocked the bot.
    Planned from `now` (dialogs.schedule.next_nudge) when nothing is planned yet or
    `replan` (nudge settings, quiet hours, pause or zone changed, or they came back);
    otherwise kept, but never within 3 hours after `last_seen_at` (their last message).
    """
    if not (active and profile.onboarded and profile.timezone) or profile.nudges == "off":
        return None
    quiet = (profile.quiet_start, profile.quiet_end)
    try:
        if current is None or replan:
            return next_nudge(
                now, profile.timezone, profile.nudges, *quiet,
                last_user_message_at=last_seen_at,
                paused_until=profile.paused_until,
                unanswered=unanswered,
            )  # fmt: skip
        if last_seen_at is not None and current < last_seen_at + NUDGE_QUIET_AFTER_MESSAGE:
            return after_quiet_hours(
                last_seen_at + NUDGE_QUIET_AFTER_MESSAGE, profile.timezone, *quiet
            )
        return current
    except (ValueError, KeyError, OverflowError):  # bad zone or time: never break the turn
        return None


def _keeps_nothing(turn: Turn) -> bool:
    """Before consent, only an open dialog or a safety time justifies a row; a goodbye
    leaves none."""
    if any(isinstance(e, ForgetMe) for e in turn.effects):
        return True
    profile = turn.state.profile
    # Someone who said "No, I'm not safe" before /start keeps the emergency number in view
    # and their follow-up: without the row both would be gone at the next turn. Only a
    # level and times are stored then (risk level, unsafe_at, followup_at), never words.
    if profile.unsafe_at is not None or profile.followup_at is not None:
        return False
    return not profile.consented and not turn.state.stack


def _write_changes(conn: Connection, user: User, stored: Mapping[str, Any]) -> None:
    """One UPDATE of the columns of `user` that differ from `stored` (the row as read);
    none if nothing differs."""
    change = _changes(user, stored)
    if change is not None:
        change[0].count(conn, change[1])


def _changes(user: User, stored: Mapping[str, Any]) -> tuple[Hot, dict[str, Any]] | None:
    """The UPDATE of `user`'s columns that differ from `stored` and its values; None if
    nothing differs."""
    values = user.__dict__  # what getattr reads, without the instrumented descriptor
    changed = {
        name: value for name in _USER_COLUMNS if not _same(stored[name], value := values[name])
    }
    if not changed:
        return None
    params = {f"v_{name}": value for name, value in changed.items()}
    params["b_id"] = stored["id"]
    return _update_user(tuple(changed)), params


@functools.lru_cache(maxsize=256)
def _update_user(names: tuple[str, ...]) -> Hot:
    """UPDATE users SET <names> WHERE id = :b_id, built once per set of columns (a turn
    changes a handful of combinations: last_seen_at alone, with a due time...)."""
    return Hot(
        update(USERS)
        .where(USERS.c.id == bindparam("b_id"))
        .values({name: bindparam(f"v_{name}", type_=USERS.c[name].type) for name in names})
    )


class TurnHooks(Protocol):
    """What a caller adds to a turn's transaction (bot/core.py): the inbox and outbox."""

    def prepare(self, conn: Connection) -> None:
        """Send the reads `claim` needs (storage/hot.py `Hot.send`), right after the lock
        statement: on PostgreSQL they travel in its round trip and run once it holds."""
        ...

    def claim(self, conn: Connection, user: User | None) -> bool:
        """Run first, under the person's lock. False: nothing to do; no turn, no writes."""
        ...

    def after(self, conn: Connection, user: User | None, turn: Turn, now: datetime) -> None:
        """Run last, in the same transaction (e.g. mark the update done, queue replies).
        Raise to roll the whole turn back."""
        ...


# Built once (SQLAlchemy's compiled cache then serves every turn).
_FIND = (
    select(User, Conversation)
    .outerjoin(Conversation, col(Conversation.user_id) == col(User.id))
    .where(User.channel == bindparam("channel"), User.external_id == bindparam("external_id"))
)
USERS: Table = User.__table__
CONVERSATIONS: Table = Conversation.__table__  # type: ignore[attr-defined]
CLAIMS: Table = ClaimRow.__table__
# A turn reads and writes with Core, not the ORM: a Session's identity map, unit of work and
# attribute events cost more than the few statements a turn needs (issue 15's profile).
_LOCK = (
    core_select(USERS)
    .where(USERS.c.channel == bindparam("channel"), USERS.c.external_id == bindparam("external_id"))
    .with_for_update()  # PostgreSQL; SQLite's BEGIN IMMEDIATE (storage/db.py) locks instead
)
_CONV_COLUMNS = (CONVERSATIONS.c.stack, CONVERSATIONS.c.version, CONVERSATIONS.c.script_version)
_CONV = core_select(*_CONV_COLUMNS).where(CONVERSATIONS.c.user_id == bindparam("u"))
# SQLite: the person and their stack in one statement. BEGIN IMMEDIATE (storage/db.py) took
# the database's write lock before it runs, so nothing can change either row under it.
_LOCK_JOINED = (
    core_select(USERS, *_CONV_COLUMNS)
    .outerjoin(CONVERSATIONS, CONVERSATIONS.c.user_id == USERS.c.id)
    .where(USERS.c.channel == bindparam("channel"), USERS.c.external_id == bindparam("external_id"))
)
# Run on the turn's DBAPI cursor (storage/hot.py): SQLAlchemy's SQL and type processing
# without its per-call cost, for the statements every turn runs.
_HOT_LOCK_JOINED, _HOT_LOCK, _HOT_CONV = Hot(_LOCK_JOINED), Hot(_LOCK), Hot(_CONV)
# PostgreSQL: the person and their stack in one round trip, both rows locked (FOR UPDATE
# without OF locks every table in the join). A lock that waited for another turn then gets
# the newest version of both rows (the rows LockRows locked are what EvalPlanQual re-reads),
# where a join locking only users would hand back the stack as it was before that turn.
# An inner join, as a nullable side cannot be locked: a person without a conversation row
# yet (or no person) falls back to _LOCK and _CONV.
_HOT_LOCK_BOTH = Hot(
    core_select(USERS, *_CONV_COLUMNS)
    .join(CONVERSATIONS, CONVERSATIONS.c.user_id == USERS.c.id)
    .where(USERS.c.channel == bindparam("channel"), USERS.c.external_id == bindparam("external_id"))
    .with_for_update()
)
_USER_NAMES = tuple(c.name for c in USERS.columns)
_USER_COLUMNS = tuple(name for name in _USER_NAMES if name != "id")
_CONV_NEW_COLUMNS = ("user_id", "stack", "version", "script_version", "updated_at")
# A new person's stack and row, on the DBAPI cursor too (storage/hot.py): SQLAlchemy's
# execute of a plain insert cost ~0.1 ms each, in the first turn of every person.
_CONV_INSERT = Hot(insert(CONVERSATIONS).values(bound_columns(CONVERSATIONS, _CONV_NEW_COLUMNS)))
# A new person's row before their first turn plans it (what User() would hold).
_USER_DEFAULTS: dict[str, Any] = {
    name: info.get_default(call_default_factory=True)
    for name, info in User.model_fields.items()
    if not info.is_required()
}
_USER_INSERT = Hot(insert(USERS).values(bound_columns(USERS, _USER_COLUMNS)).returning(USERS.c.id))


@functools.cache
def _conv_update(stack: bool, script_version: bool) -> Hot:
    """UPDATE conversations for a turn: version and time always, the stack and the script
    version only when they changed; one statement built once per combination."""
    values: dict[str, Any] = {
        "version": bindparam("v_version"),
        "updated_at": bindparam("v_at", type_=CONVERSATIONS.c.updated_at.type),
    }
    if stack:
        values["stack"] = bindparam("v_stack", type_=CONVERSATIONS.c.stack.type)
    if script_version:
        values["script_version"] = bindparam("v_script")
    return Hot(
        update(CONVERSATIONS).where(CONVERSATIONS.c.user_id == bindparam("b_u")).values(values)
    )


@dataclass
class _StoredConv:
    """A conversations row as the turn read it (what to_state and the UPDATE compare)."""

    stack: list[dict[str, Any]]
    version: int
    script_version: str


@functools.cache
def _new_user() -> Callable[[], User]:
    # An instance of the mapped class without its __init__ (pydantic's construction costs
    # ~140 us; this, as the ORM's own loading does, ~3 us). Mappers must be configured first.
    configure_mappers()
    return manager_of_class(User).new_instance


def _detached(values: Mapping[str, Any]) -> User:
    """A User holding a row's values, tied to no Session: what the hooks read and may change
    (the sweep moves its due time on it), compared with the row at the end of the turn."""
    user = _new_user()()
    user.__dict__.update(values)
    return user


def _same(old: Any, new: Any) -> bool:
    # SQLite hands back naive UTC times; the turn sets aware ones: equal if the same instant.
    if isinstance(old, datetime) and isinstance(new, datetime):
        return _aware_utc(old) == _aware_utc(new)
    return bool(old == new)


class StateStore:
    """People's state on `engine`: `load` to look, `run_turn` to decide and save in one
    transaction under the person's lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _find(self, session: Session, key: UserKey) -> tuple[User | None, Conversation | None]:
        # The person and their stack in one round trip, for a look without the lock. A turn
        # locks first and reads the stack after (`_lock`).
        values = {"channel": key.channel, "external_id": key.external_id}
        found = session.exec(_FIND, params=values).first()
        return (found[0], found[1]) if found is not None else (None, None)

    def _lock(
        self, conn: Connection, key: UserKey, hooks: TurnHooks | None = None
    ) -> tuple[User | None, dict[str, Any], _StoredConv | None, Sequence[Any] | None]:
        """The person's row under the lock, as a detached User and as read, their stack, and
        on PostgreSQL for a Telegram person PREFETCH's rows (`_prefetch_by_key`; None when
        not read with the lock); `hooks.prepare` is sent right after the lock (storage/hot.py
        `batched`: one round trip with it on PostgreSQL), and again once the lock is held if
        the first statement could not take it.

        One statement: on SQLite the join (BEGIN IMMEDIATE already holds the write lock), on
        PostgreSQL the join locking both rows (_HOT_LOCK_BOTH: a lock that waited re-reads
        both). Only someone without a conversation row (or no one) costs PostgreSQL the
        users row alone and then the stack, read once the lock is held.
        """
        values = {"channel": key.channel, "external_id": key.external_id}
        n = len(_USER_NAMES)
        sqlite = conn.dialect.name == "sqlite"
        newest = None
        with batched(conn):
            locking = (_HOT_LOCK_JOINED if sqlite else _HOT_LOCK_BOTH).send(conn, values)
            if hooks is not None:
                hooks.prepare(conn)
            if not sqlite and key.channel == "telegram":
                # What run_turn reads first for an onboarded person, in this message.
                newest = _prefetch_by_key().send(conn, {"c": key.channel, "e": key.external_id})
            rows = locking.rows()
        if rows:
            stored = dict(zip(_USER_NAMES, rows[0][:n], strict=True))
            found = None if rows[0][n + 1] is None else rows[0][n:]
            prefetched = None if newest is None else newest.rows()
        elif sqlite:
            return None, {}, None, None
        else:
            # Read before the lock was held: neither the newest records nor (below) the
            # pending update are used from that message.
            prefetched = None
            rows = _HOT_LOCK.rows(conn, values)
            if not rows:
                return None, {}, None, None
            stored = dict(zip(_USER_NAMES, rows[0], strict=True))
            conv_rows = _HOT_CONV.rows(conn, {"u": stored["id"]})
            found = conv_rows[0] if conv_rows else None
            if hooks is not None:
                hooks.prepare(conn)  # read before the lock was held: again, under it
        conv = _StoredConv(list(found[0] or []), found[1], found[2]) if found else None
        return _detached(stored), stored, conv, prefetched

    def load(self, key: UserKey) -> UserState:
        """The person's state as stored (UserState() if unknown): no lock, no write, so
        only for a look outside a turn (the console reads the locale with it). Records are
        read when first looked at, each read in a short connection of its own."""
        with Session(self.engine) as session:
            user, conv = self._find(session, key)
        if user is None or user.id is None:
            return UserState()
        return to_state(user, conv, source=RecordSource(self.engine, user.id))

    def run_turn(
        self,
        key: UserKey,
        decide: Callable[[UserState], Turn],
        now: datetime,
        script_version: str = "",
        seen: bool = True,
        hooks: TurnHooks | None = None,
    ) -> Turn | None:
        """Run `decide` on the locked, current state and save what it returns.

        The row lock (PostgreSQL) or write lock (SQLite) is held for the whole
        turn, so two updates from one person can never interleave, even across
        bot processes. Nothing is sent before this returns. With `hooks`, their
        `claim` runs first (None is returned, and nothing written, if it says no)
        and their `after` last, all in this one transaction.

        `now` must be aware (stored as UTC); `seen` False for the scheduler's turns, which
        are not the person writing. Raises IntegrityError if creating a new person's row
        still collides after NEW_USER_RETRIES attempts, and whatever `decide` or the hooks
        raise (the turn is rolled back: nothing is saved).
        """
        now = now.astimezone(UTC)  # SQLite drops offsets, so store UTC only
        for attempt in range(NEW_USER_RETRIES):
            try:
                with begin(self.engine) as conn:
                    user, stored, conv, prefetched = self._lock(conn, key, hooks)
                    if hooks is not None and not hooks.claim(conn, user):
                        if user is not None:  # what the claim changed (the sweep's due time)
                            _write_changes(conn, user, stored)
                        return None
                    source = None
                    if user is not None:
                        source = RecordSource(
                            self.engine, stored["id"], conn, prefetched=prefetched
                        )
                    try:
                        state = to_state(user, conv, source=source)
                        if (
                            user is not None
                            and user.active
                            and user.onboarded_at is not None
                            and key.channel == "telegram"
                        ):
                            # What next_reminder_at reads at the end of the turn anyway, and
                            # the check-in's newest log and needs map, in one round trip. Not
                            # before onboarding ends: next_at reads nothing then, nor does the
                            # onboarding (a record a step does read is then read when asked).
                            state.records.fetch(PREFETCH)
                        turn = decide(state)
                        writes: list[tuple[Hot, dict[str, Any]]] = []
                        kept = self._save(
                            conn, key, user, stored, conv, turn, now, script_version, seen, writes
                        )
                        if kept is not None:
                            assert kept.id is not None
                            self._sync_records(conn, kept.id, source, turn.state.records, now)
                    finally:
                        if source is not None:
                            source.conn = None  # read after the turn: a connection of its own
                    # The person's row, their stack and what the hooks write, sent together
                    # with the COMMIT (storage/hot.py `batched`: one round trip on
                    # PostgreSQL). Nothing of the transaction may follow.
                    with batched(conn, commit=True):
                        for statement, values in writes:
                            statement.send(conn, values)
                        if hooks is not None:
                            hooks.after(conn, kept, turn, now)
                return turn
            except IntegrityError:
                # Another process created this person's row first; load it and retry.
                if attempt == NEW_USER_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _save(
        self,
        conn: Connection,
        key: UserKey,
        user: User | None,
        stored: dict[str, Any],
        conv: _StoredConv | None,
        turn: Turn,
        now: datetime,
        script_version: str,
        seen: bool,
        writes: list[tuple[Hot, dict[str, Any]]],
    ) -> User | None:
        """Save profile and stack: one INSERT or UPDATE (only the columns that differ from
        `stored`, the row as read) for each of users and conversations. Returns the person
        as saved (their id set), or None if nothing is kept (then their rows are erased).
        The UPDATEs and the stack's INSERT are added to `writes` for the caller to send with
        the hooks' own (a new person's INSERT runs here: it gives their id)."""
        if _keeps_nothing(turn):
            if user is not None:
                self._erase(conn, stored["id"])
            return None
        if user is None:
            user = _detached(
                _USER_DEFAULTS
                | {
                    "channel": key.channel,
                    "external_id": key.external_id,
                    "created_at": now,
                    "last_seen_at": now,
                }
            )
        self._plan(key, user, turn, now, seen)
        if not stored:
            values = {name: user.__dict__[name] for name in _USER_COLUMNS}
            user.id = int(_USER_INSERT.rows(conn, values)[0][0])
        elif (change := _changes(user, stored)) is not None:
            writes.append(change)
        stack = [f.to_json() for f in turn.state.stack]
        if conv is None:
            writes.append(
                (
                    _CONV_INSERT,
                    {
                        "user_id": user.id,
                        "stack": stack,
                        "version": 1,
                        "script_version": script_version,
                        "updated_at": now,
                    },
                )
            )
        else:
            new_stack, new_script = stack != conv.stack, script_version != conv.script_version
            values = {"b_u": user.id, "v_version": conv.version + 1, "v_at": now}
            if new_stack:
                values["v_stack"] = stack
            if new_script:
                values["v_script"] = script_version
            writes.append((_conv_update(new_stack, new_script), values))
        return user

    def _plan(self, key: UserKey, user: User, turn: Turn, now: datetime, seen: bool) -> None:
        """Set the person's profile, last-seen mark and the sweep's due times on `user`."""
        profile = turn.state.profile
        # Written into the instance's dict, as the ORM's own loading does: the User is tied
        # to no Session, and SQLModel's __setattr__ (SQLAlchemy's attribute events, then
        # pydantic's) cost ~15 us a column on every turn for nothing (issue 15).
        row = user.__dict__
        if seen:  # scheduler turns are not the person writing
            row["last_seen_at"] = now
            row["unanswered"] = 0  # they answered (or at least wrote): no more back-off
        # The sweep's due time, kept in the turn's own transaction.
        returning = seen and not row["active"]  # they had blocked the bot and write again
        if returning:
            row["active"] = True
        active = row["active"]
        moved = (row["timezone"], row["checkin_time"]) != (profile.timezone, profile.checkin_time)
        row["next_checkin_at"] = planned_checkin(
            profile, row["next_checkin_at"], active, returning or moved, now
        )
        paused = _utc(row["paused_until"]) if row["paused_until"] else None
        nudging = (
            row["timezone"], row["nudges"], row["quiet_start"], row["quiet_end"], paused
        ) != (
            profile.timezone, profile.nudges, profile.quiet_start, profile.quiet_end,
            profile.paused_until,
        )  # fmt: skip
        row["next_nudge_at"] = planned_nudge(
            profile,
            _utc(row["next_nudge_at"]) if row["next_nudge_at"] else None,
            active,
            returning or nudging,
            now,
            _utc(row["last_seen_at"]),
            row["unanswered"],
        )
        # Recomputed from the records every turn (dialogs/reminders.py): what a turn planned,
        # answered or marked sent moves it. Console people only see what they ask for.
        # Not kept from the last turn even when no kind it reads has changed: it also moves
        # with the profile and with their last message (a measure waits 3 hours after it, a
        # review or a window comes back after a silent week), and a seen turn moves that.
        # Instead next_at reads a bounded set (reminders.READS: the rhythm, the newest
        # measure, plans and few of each noted kind) in one query: flat whatever the history.
        row["next_reminder_at"] = (
            _aware_utc(reminders.next_at(turn.state, now))
            if active and key.channel == "telegram"
            else None
        )
        row["consented_at"] = (row["consented_at"] or now) if profile.consented else None
        row["onboarded_at"] = (row["onboarded_at"] or now) if profile.onboarded else None
        row["locale"] = profile.locale
        row["timezone"] = profile.timezone
        row["checkin_time"] = profile.checkin_time
        row["country"] = profile.country
        row["nudges"] = profile.nudges
        row["quiet_start"] = profile.quiet_start
        row["quiet_end"] = profile.quiet_end
        row["paused_until"] = profile.paused_until
        row["risk_level"] = profile.risk_level
        row["risk_at"] = _aware_utc(profile.risk_at)
        row["unsafe_at"] = _aware_utc(profile.unsafe_at)
        # The sweep claims and clears it (storage.schedule_store) before the follow-up turn,
        # so a turn that loads after the claim sees None and never plans it twice. Not kept
        # for someone who blocked the bot: nothing can reach them.
        row["followup_at"] = _aware_utc(profile.followup_at) if active else None

    def _sync_records(
        self,
        conn: Connection,
        owner: int,
        source: RecordSource | None,
        records: Records,
        now: datetime,
    ) -> None:
        """Write the records the turn added, changed, reordered or removed; nothing else.

        Only what the turn read can have changed (Records.changes): the kinds it held whole
        are compared row by row with what was loaded, the newest records it read by data,
        and what it appended is inserted after the stored ones. A state that is not backed
        by `source` (a new person, or a decide that built a state of its own) is the whole
        truth: every stored row is compared with it. Inserts, updates and deletes are one
        statement each (executemany)."""
        if source is None or source.user_id != owner or not records.lazy:
            source = source if source is not None and source.user_id == owner else None
            stored = source.everything() if source is not None else {}
            whole = {kind: records[kind] for kind in records}
            whole |= {kind: [] for kind in stored if kind not in whole}
            known: dict[str, list[Record]] = {}
            added: dict[str, list[Record]] = {}
            rows = source.rows if source is not None else {}
        else:
            changes = records.changes()
            whole, known, added = changes.whole, changes.known, changes.added
            for kind in whole:
                if kind not in source.whole:  # replaced without being read: read what it was
                    source.load(kind)
            rows = source.rows
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        kept: set[int] = set()

        def new(kind: str, position: int, record: Record) -> None:
            inserts.append(
                {
                    "user_id": owner,
                    "kind": kind,
                    "position": position,
                    "created_at": record.created_at or now,
                    "updated_at": now,
                    "data": record.data,
                }
            )

        def changed(row_id: int, kind: str, position: int, record: Record) -> None:
            kept.add(row_id)
            old = rows[row_id]
            if old.kind != kind or old.position != position or json.loads(old.raw) != record.data:
                updates.append(
                    {"b_id": row_id, "b_kind": kind, "b_position": position,
                     "b_data": record.data, "b_at": now}
                )  # fmt: skip

        for kind, found in whole.items():
            for position, record in enumerate(found):
                if record.id is None or record.id not in rows:
                    new(kind, position, record)
                else:
                    changed(record.id, kind, position, record)
        for found in known.values():
            for record in found:
                if record.id is not None and record.id in rows and record.id not in kept:
                    changed(record.id, rows[record.id].kind, rows[record.id].position, record)
        if added:
            assert source is not None
            start = source.next_positions(sorted(added))
            for kind, found in added.items():
                for n, record in enumerate(found):
                    new(kind, start[kind] + n, record)
        gone = [i for i, row in rows.items() if row.kind in whole and i not in kept]
        if gone:
            conn.execute(_DELETE_IDS, {"ids": gone})
        if updates:
            conn.execute(_UPDATE, updates[0] if len(updates) == 1 else updates)
        if inserts:
            conn.execute(_INSERT, inserts[0] if len(inserts) == 1 else inserts)

    def _erase(self, conn: Connection, user_id: int) -> None:
        conn.execute(delete(RECORDS).where(RECORDS.c.user_id == user_id))
        conn.execute(delete(CONVERSATIONS).where(CONVERSATIONS.c.user_id == user_id))
        conn.execute(delete(CLAIMS).where(CLAIMS.c.user_id == user_id))  # no foreign key
        conn.execute(delete(USERS).where(USERS.c.id == user_id))

    def counts(self) -> dict[str, int]:
        """Aggregate numbers only, never anything about a person: {"users": rows in users}."""
        from sqlalchemy import func

        with Session(self.engine) as session:
            users = session.exec(select(func.count()).select_from(User)).one()
            return {"users": int(users)}
