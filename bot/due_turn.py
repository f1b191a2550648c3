"""One due person's crisis follow-up, check-in or nudge: one transaction, nothing lost or doubled.

The sweep (bot/scheduler.py) claims due people a batch at a time
(storage.schedule_store.claim_due). `settle` below is what the claim runs on each
row: the rules of `plan`, in one pass. Someone for whom no turn runs (a check-in missed
by hours, a pause, a nudge held back, a follow-up 12 hours late, a console person) is
moved to their next time right after the claim, and is done. The others are held (a
`claims` row holds them until the claim's `until`, a `Hold`), and the sweep hands each
to `run_due`, which runs `StateStore.run_turn` with this module's hooks
(storage.repository.TurnHooks), `seen=False` (the person did not write). In that
single transaction, under the person's row lock:

1. `claim`: end this sweeper's claim (storage.schedule_store.end_hold deletes its row
   if it still holds this claim's `until`) and read the due time again. If the claim
   was ours and the due time is still the one it took, go on; with no hold (as when
   `run_due` is called directly), a due time that is due and that no claim holds is
   taken as it stands. Otherwise stop: nothing else is written (another sweeper took
   them over after the claim passed, they changed their check-in time, they blocked the
   bot). Then move it on (`plan` below says to what) and decide again, on the locked
   row, whether a turn runs. When it does not, only the moved due time is committed.
2. `decide`: the dialog manager's `Due(kind, soft=...)` turn, rendered.
   A check-in or nudge that says something adds one to `unanswered`.
3. `after`: the rendered replies go to the outbox (origin = kind).

The commit makes the moved time, the ended claim and the outbox rows durable together;
the caller hands `pending` to the sender only after it. A crash before the commit
leaves the person held until the claim's `until` passes (then any sweep takes them;
the sweep releases them at once when their transaction merely failed); a crash after
it leaves the rows in the outbox, which the sender (or, after a restart, the outbox
recovery in bot/intake.py) delivers. A sender never repeats a check-in, nudge or
follow-up on an ambiguous timeout (bot/sender.py).

How the due time moves (`plan`: the same in the claim and again in the turn):

- Follow-up: cleared, so it is sent at most once. Not held by a pause (it is about
  their safety, not coaching) and still sent after downtime, unless more than
  FOLLOWUP_STALE late. Never counted as unanswered.
- Check-in: their next local check-in after now (`next_after`, spaced out by
  `checkin_gap_days` while several go unanswered); no turn when missed by hours
  (`is_stale`) or while paused.
- Nudge: no turn while nudges are off, paused, in quiet hours or within 3 hours
  after they last wrote (then held until the first allowed moment); otherwise the
  next one after this (`next_nudge`, backed off by `unanswered`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from bot.core import Bridges
from bot.sender import Outgoing, outgoing_to_json, render
from dialogs.model import Due, Turn, UserState
from dialogs.schedule import (
    NUDGE_QUIET_AFTER_MESSAGE,
    SOFT_AFTER_UNANSWERED,
    after_quiet_hours,
    checkin_gap_days,
    in_quiet_hours,
    is_stale,
    next_checkin,
    next_nudge,
)
from storage import outbox
from storage.repository import UserKey
from storage.schedule_store import (
    DuePerson,
    Kind,
    Settle,
    due_at,
    due_person,
    end_hold,
    is_held,
    move_due,
)
from storage.tables import User

# A crisis follow-up later than this (downtime) is dropped rather than sent: by then it
# would arrive as an out-of-the-blue reminder of their worst moment, a day later.
FOLLOWUP_STALE = timedelta(hours=12)

Advance = Callable[[DuePerson], datetime | None]


def no_next(_person: DuePerson) -> datetime | None:  # an Advance, that never has a next time
    """A follow-up is sent once: taking it clears it."""
    return None


def next_after(now: datetime) -> Advance:
    """How a due person's check-in moves on: their next local check-in after `now`.

    Always from `now`, never from the missed time, so after downtime each person
    gets at most one check-in, never a burst.
    """

    def advance(person: DuePerson) -> datetime | None:
        if not (person.timezone and person.checkin_time):
            return None
        try:
            # Fewer check-ins while several go unanswered (see checkin_gap_days).
            start = now + timedelta(days=checkin_gap_days(person.unanswered) - 1)
            return next_checkin(person.checkin_time, person.timezone, start)
        except (ValueError, KeyError):  # a broken zone must not stop the sweep
            return None

    return advance


def nudge_held_until(person: DuePerson, now: datetime) -> datetime | None:
    """When a due nudge may go out at the earliest, or None if it may go now.

    Held while paused, in quiet hours, or within 3 hours after they last wrote.
    """
    if not person.timezone:
        return None
    earliest = now
    if person.paused_until is not None:
        earliest = max(earliest, person.paused_until)
    if person.last_seen_at is not None:
        earliest = max(earliest, person.last_seen_at + NUDGE_QUIET_AFTER_MESSAGE)
    earliest = after_quiet_hours(earliest, person.timezone, person.quiet_start, person.quiet_end)
    return earliest if earliest > now else None


def next_nudge_after(now: datetime) -> Advance:
    """How a due person's nudge moves on: held back if now is the wrong moment,
    else the next one after the one sent now (backed off by what went unanswered)."""

    def advance(person: DuePerson) -> datetime | None:
        if not person.timezone:
            return None
        try:
            held = nudge_held_until(person, now)
            if held is not None:
                return held
            return next_nudge(
                now,
                person.timezone,
                person.nudges,
                person.quiet_start,
                person.quiet_end,
                person.last_seen_at,
                person.paused_until,
                person.unanswered,
            )
        except (ValueError, KeyError, OverflowError):  # never stop the sweep
            return None

    return advance


def may_nudge(person: DuePerson, now: datetime) -> bool:
    """Whether a due nudge goes out now: not off, not paused, not in quiet hours, and
    not within 3 hours after they last wrote."""
    if person.nudges == "off" or not person.timezone:
        return False
    try:
        if in_quiet_hours(now, person.timezone, person.quiet_start, person.quiet_end):
            return False
        return nudge_held_until(person, now) is None
    except (ValueError, KeyError, OverflowError):
        return False


@dataclass(frozen=True)
class Plan:
    """What taking a due person does: their next due time, and whether a turn runs.

    `why` says which rule held the turn back ("due" when it runs).
    """

    next_at: datetime | None
    run: bool
    why: str  # "due" | "console" | "stale" | "paused" | "held" | "late"


def plan(kind: Kind, person: DuePerson, now: datetime) -> Plan:
    """The rules above, for one person whose `kind` is due at `now`."""
    why = reason(kind, person, now)
    return Plan(next_time(kind, person, now), why == "due", why)


def reason(kind: Kind, person: DuePerson, now: datetime) -> str:
    """Whether a turn runs ("due") or which rule holds it back (see `Plan.why`)."""
    if kind == "reminder":
        # What is due, and so the next time, is read from the records in the turn itself
        # (dialogs/reminders.py), which also holds it for quiet hours and a pause.
        return "due" if person.channel == "telegram" else "console"
    if person.channel != "telegram":
        return "console"  # console people only see what they ask for
    if kind == "followup":
        # Not held by a pause; dropped (already cleared) when far too late.
        return "late" if now - person.due_at > FOLLOWUP_STALE else "due"
    if kind == "checkin" and is_stale(person.due_at, now):
        return "stale"  # missed by hours (downtime): the next one is planned
    if person.paused_until is not None and person.paused_until > now:
        return "paused"
    if kind == "nudge" and not may_nudge(person, now):
        return "held"  # planned again for the first allowed moment
    return "due"


def next_time(kind: Kind, person: DuePerson, now: datetime) -> datetime | None:
    """Where taking a due `kind` at `now` moves it (None: nothing planned). A reminder's is
    planned by storage from the state its turn leaves, a follow-up's is cleared."""
    if kind == "checkin":
        return next_after(now)(person)
    if kind == "nudge":
        return next_nudge_after(now)(person)
    return no_next(person)


def settle(
    kind: Kind, now: datetime, settled: Callable[[DuePerson, Plan], None] | None = None
) -> Settle:
    """What a claim does with each due row (storage.schedule_store.claim_due): (a turn runs,
    the next time if none does), by `plan`'s rules (the next time only computed for those
    with no turn: the others' is planned in their turn); `settled` is told of each person moved on
    with no turn. A rule that raises counts as "a turn runs": the person is then held
    and taken alone by `run_due`, where an error stays theirs instead of leaving the
    whole batch held until the claim passes."""

    def decide(person: DuePerson) -> tuple[bool, datetime | None]:
        try:
            why = reason(kind, person, now)
            if why == "due":
                # Held for its turn, which plans the next time itself: not computed twice.
                return True, None
            decided = Plan(next_time(kind, person, now), False, why)
        except Exception:  # see above: one person's rule must never fail the batch
            return True, None
        if settled is not None:
            settled(person, decided)
        return False, decided.next_at

    return decide


@dataclass(frozen=True)
class Hold:
    """A claim this sweeper holds on a person (storage.schedule_store.claim_due)."""

    until: datetime  # what their claims row holds while the claim is this sweeper's (UTC)
    due_at: datetime  # the due time the claim took: their due column still holds it (UTC)


class DueTurn:
    """The storage hooks (storage.repository.TurnHooks) and the decision for one due person.

    After `StateStore.run_turn`: `taken` says the due time was still due and was
    moved on, `plan` what was decided (None if not taken), and `pending` the
    outbox rows written (empty if no turn ran or it said nothing).
    """

    def __init__(
        self, bridges: Bridges, key: UserKey, kind: Kind, now: datetime, hold: Hold | None = None
    ) -> None:
        self.bridges = bridges
        self.key = key
        self.kind = kind
        self.now = now
        self.hold = hold
        self._reset()

    def _reset(self) -> None:
        self._user: User | None = None
        self.taken = False
        self.plan: Plan | None = None
        self.soft = False
        self.messages: list[Outgoing] = []
        self.pending: list[outbox.Pending] = []

    # --- storage.repository.TurnHooks ----------------------------------------

    def prepare(self, conn: Connection) -> None:
        """Nothing to read ahead: claim's reads depend on the locked row."""

    def claim(self, conn: Connection, user: User | None) -> bool:
        """Under the person's lock: if this sweeper's claim still holds them (its row is
        deleted here) and their time of this kind is still the one it took, or, with no
        hold, if it is due and no claim holds it, move it on (kept whether a turn runs or
        not). True if a turn runs now; False if it was neither, they are inactive, or the
        plan says nothing goes now.
        """
        self._reset()  # run_turn may retry the whole transaction
        if user is None:
            return False
        assert user.id is not None
        ours = self.hold is not None and end_hold(conn, user.id, self.kind, self.hold.until)
        if not user.active:
            return False
        due = due_at(user, self.kind)
        if self.hold is not None:
            if not ours or due != self.hold.due_at:
                return False  # released, taken over after the claim passed, or moved since
        elif due is None or due > self.now or is_held(conn, user.id, self.kind, self.now):
            return False  # not due, or a sweeper's claim holds it: nothing
        assert due is not None
        person = due_person(user, due)
        self.plan = plan(self.kind, person, self.now)
        # On the locked ORM row: committed with this transaction, whether a turn runs
        # or not, and seen by the turn's own planning (storage.repository keeps it).
        move_due(user, self.kind, self.plan.next_at)
        self._user, self.taken = user, True
        self.soft = self.kind == "checkin" and person.unanswered >= SOFT_AFTER_UNANSWERED
        return self.plan.run

    def decide(self, state: UserState) -> Turn:
        """The dialog manager's turn for the `Due` event, rendered now, inside the transaction."""
        turn = self.bridges.manager.step(state, Due(self.kind, soft=self.soft), self.now)
        # Rendered inside the transaction: a broken template rolls it all back, and the
        # person stays due rather than having a check-in saved that was never sent.
        self.messages = render(self.bridges.catalog, turn.state.profile.locale, turn.replies)
        if self.messages and self._user is not None:
            # Set on the row before the turn saves it, so they go out in its one UPDATE.
            if self.kind != "followup":  # a follow-up is not coaching to back off from
                self._user.unanswered = (self._user.unanswered or 0) + 1
            # What this turn sends is what they see next, as after a turn of their own
            # (bot/intake.py): an earlier undelivered question no longer needs showing.
            self._user.undelivered_at = None
        return turn

    def after(self, conn: Connection, user: User | None, turn: Turn, now: datetime) -> None:
        """Queue the rendered replies in the outbox (origin = the kind), in the same transaction."""
        payloads = [outgoing_to_json(m) for m in self.messages]
        self.pending = outbox.add(
            conn, int(self.key.external_id), self.key.external_id, self.kind, payloads, now
        )


def run_due(
    bridges: Bridges, key: UserKey, kind: Kind, now: datetime, hold: Hold | None = None
) -> DueTurn:
    """Take one due (or, with `hold`, claimed) person in one transaction (blocking; call in
    a thread).

    Raises what the database or the turn raises; then nothing was changed and the
    person is still due (or still held: storage.schedule_store.release puts them back).
    """
    work = DueTurn(bridges, key, kind, now, hold)
    bridges.store.run_turn(
        key, work.decide, now, bridges.dialogs.script_version, seen=False, hooks=work
    )
    return work
