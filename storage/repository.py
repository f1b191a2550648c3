"""Load a person's state, let the engine decide, save the result: one transaction a turn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Connection, Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dialogs import reminders
from dialogs.model import ForgetMe, Frame, Profile, Record, Turn, UserState
from dialogs.schedule import NUDGE_QUIET_AFTER_MESSAGE, after_quiet_hours, next_checkin, next_nudge
from storage.tables import Conversation, RecordRow, User

NEW_USER_RETRIES = 3


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


def to_state(
    user: User | None, conv: Conversation | None, rows: list[RecordRow] | None = None
) -> UserState:
    """The engine's view of a stored person: profile, dialog stack and records by kind, each
    kind's list in the order of `rows` (storage loads them by position). Times come back
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
    records: dict[str, list[Record]] = {}
    for row in rows or []:
        records.setdefault(row.kind, []).append(
            Record(row.kind, dict(row.data), row.id, _utc(row.created_at))
        )
    return UserState(stack=stack, profile=profile, records=records)


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


class TurnHooks(Protocol):
    """What a caller adds to a turn's transaction (bot/core.py): the inbox and outbox."""

    def claim(self, conn: Connection, user: User | None) -> bool:
        """Run first, under the person's lock. False: nothing to do; no turn, no writes."""
        ...

    def after(self, conn: Connection, user: User | None, turn: Turn, now: datetime) -> None:
        """Run last, in the same transaction (e.g. mark the update done, queue replies).
        Raise to roll the whole turn back."""
        ...


class StateStore:
    """People's state on `engine`: `load` to look, `run_turn` to decide and save in one
    transaction under the person's lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _find(self, session: Session, key: UserKey, lock: bool) -> User | None:
        query = select(User).where(User.channel == key.channel, User.external_id == key.external_id)
        if lock:
            query = query.with_for_update()
        return session.exec(query).first()

    def _rows(self, session: Session, user: User | None) -> list[RecordRow]:
        if user is None:
            return []
        query = (
            select(RecordRow)
            .where(RecordRow.user_id == user.id)
            .order_by(RecordRow.kind, RecordRow.position, RecordRow.id)  # type: ignore[arg-type]
        )
        return list(session.exec(query))

    def load(self, key: UserKey) -> UserState:
        """The person's state as stored (UserState() if unknown): no lock, no write, so
        only for a look outside a turn (the console reads the locale with it)."""
        with Session(self.engine) as session:
            user = self._find(session, key, lock=False)
            conv = session.get(Conversation, user.id) if user else None
            return to_state(user, conv, self._rows(session, user))

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
                with Session(self.engine, expire_on_commit=False) as session, session.begin():
                    user = self._find(session, key, lock=True)
                    if hooks is not None and not hooks.claim(session.connection(), user):
                        return None
                    conv = session.get(Conversation, user.id) if user else None
                    rows = self._rows(session, user)
                    turn = decide(to_state(user, conv, rows))
                    owner = self._save(session, key, user, conv, turn, now, script_version, seen)
                    if owner is not None:
                        self._sync_records(session, owner, rows, turn, now)
                    if hooks is not None:
                        session.flush()
                        kept = session.get(User, owner) if owner is not None else None
                        hooks.after(session.connection(), kept, turn, now)
                return turn
            except IntegrityError:
                # Another process created this person's row first; load it and retry.
                if attempt == NEW_USER_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _save(
        self,
        session: Session,
        key: UserKey,
        user: User | None,
        conv: Conversation | None,
        turn: Turn,
        now: datetime,
        script_version: str,
        seen: bool = True,
    ) -> int | None:
        """Save profile and stack; return the person's id, or None if nothing is kept."""
        if _keeps_nothing(turn):
            if user is not None:
                self._erase(session, user.id)
            return None
        profile = turn.state.profile
        if user is None:
            user = User(
                channel=key.channel, external_id=key.external_id, created_at=now, last_seen_at=now
            )
            session.add(user)
            session.flush()
        if seen:  # scheduler turns are not the person writing
            user.last_seen_at = now
            user.unanswered = 0  # they answered (or at least wrote): no more back-off
        # The sweep's due time, kept in the turn's own transaction.
        returning = seen and not user.active  # they had blocked the bot and write again
        if returning:
            user.active = True
        moved = (user.timezone, user.checkin_time) != (profile.timezone, profile.checkin_time)
        user.next_checkin_at = planned_checkin(
            profile, user.next_checkin_at, user.active, returning or moved, now
        )
        paused = _utc(user.paused_until) if user.paused_until else None
        nudging = (user.timezone, user.nudges, user.quiet_start, user.quiet_end, paused) != (
            profile.timezone, profile.nudges, profile.quiet_start, profile.quiet_end,
            profile.paused_until,
        )  # fmt: skip
        user.next_nudge_at = planned_nudge(
            profile,
            _utc(user.next_nudge_at) if user.next_nudge_at else None,
            user.active,
            returning or nudging,
            now,
            _utc(user.last_seen_at),
            user.unanswered,
        )
        # Recomputed from the records every turn (dialogs/reminders.py): what a turn planned,
        # answered or marked sent moves it. Console people only see what they ask for.
        user.next_reminder_at = (
            _aware_utc(reminders.next_at(turn.state, now))
            if user.active and key.channel == "telegram"
            else None
        )
        user.consented_at = (user.consented_at or now) if profile.consented else None
        user.onboarded_at = (user.onboarded_at or now) if profile.onboarded else None
        user.locale = profile.locale
        user.timezone = profile.timezone
        user.checkin_time = profile.checkin_time
        user.country = profile.country
        user.nudges = profile.nudges
        user.quiet_start = profile.quiet_start
        user.quiet_end = profile.quiet_end
        user.paused_until = profile.paused_until
        user.risk_level = profile.risk_level
        user.risk_at = _aware_utc(profile.risk_at)
        user.unsafe_at = _aware_utc(profile.unsafe_at)
        # The sweep claims and clears it (storage.schedule_store) before the follow-up turn,
        # so a turn that loads after the claim sees None and never plans it twice. Not kept
        # for someone who blocked the bot: nothing can reach them.
        user.followup_at = _aware_utc(profile.followup_at) if user.active else None
        assert user.id is not None
        if conv is None:
            conv = Conversation(user_id=user.id, updated_at=now)
            session.add(conv)
        conv.stack = [f.to_json() for f in turn.state.stack]
        conv.version += 1
        conv.script_version = script_version
        conv.updated_at = now
        return user.id

    def _sync_records(
        self,
        session: Session,
        owner: int,
        rows: list[RecordRow],
        turn: Turn,
        now: datetime,
    ) -> None:
        """Write the records the turn added, changed, reordered or removed; nothing else."""
        by_id = {row.id: row for row in rows}
        kept: set[int] = set()
        for kind, records in turn.state.records.items():
            for position, record in enumerate(records):
                row = by_id.get(record.id) if record.id is not None else None
                if row is None:
                    session.add(
                        RecordRow(
                            user_id=owner,
                            kind=kind,
                            position=position,
                            created_at=record.created_at or now,
                            updated_at=now,
                            data=record.data,
                        )
                    )
                    continue
                kept.add(row.id)  # type: ignore[arg-type]
                if row.data != record.data or row.position != position or row.kind != kind:
                    row.data, row.position, row.kind, row.updated_at = (
                        record.data,
                        position,
                        kind,
                        now,
                    )
        gone = [row_id for row_id in by_id if row_id not in kept]
        if gone:
            session.execute(delete(RecordRow).where(col(RecordRow.id).in_(gone)))

    def _erase(self, session: Session, user_id: int | None) -> None:
        session.execute(delete(RecordRow).where(col(RecordRow.user_id) == user_id))
        session.execute(delete(Conversation).where(col(Conversation.user_id) == user_id))
        session.execute(delete(User).where(col(User.id) == user_id))

    def counts(self) -> dict[str, int]:
        """Aggregate numbers only, never anything about a person: {"users": rows in users}."""
        from sqlalchemy import func

        with Session(self.engine) as session:
            users = session.exec(select(func.count()).select_from(User)).one()
            return {"users": int(users)}
