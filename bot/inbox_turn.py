"""One person's oldest pending update, run as one turn (docs/delivery.md).

In the turn's single transaction, under the person's lock: take their oldest
pending update from the inbox, run the engine on it, save the new state, queue
the rendered replies in the outbox, and mark the update done (forgetting its
words). Whichever process or replica does this, a person's updates are handled
one at a time in `update_id` order, and each exactly once: if two try the same
update, the second finds it done and rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, update

from bot.core import Bridges
from bot.render import Outgoing, outgoing_to_json, render
from dialogs.model import Command, Due, Event, ForgetMe, Missed, Turn, UserState
from dialogs.safety import assess
from storage import inbox, outbox
from storage.repository import UserKey
from storage.tables import User

USERS = User.__table__
# Replies from these prompt folders carry help (helplines, the emergency number): if one
# can't be delivered, the sender sends the crisis reply rendered without state instead.
SAFETY_TEMPLATES = ("crisis/", "sos/")


@dataclass(frozen=True)
class Read:
    """What an update means to the engine (bot/telegram_events.py `read_update`)."""

    event: Event | None  # None: nothing for the engine to do (it is just marked done)
    chat_id: int | None
    tapped: int | None = None  # the message whose button was tapped, for edits in place
    words: str = ""  # what they wrote, for screening; never stored or logged


class AlreadyDone(Exception):
    """Another worker ran this update first; this turn is rolled back."""


class UpdateTurn:
    """The storage hooks (storage.repository.TurnHooks) plus the decision for one turn.

    After `StateStore.run_turn`: `update_id` is the update handled (None: nothing
    pending), `waiting` says an earlier update may still be on its way (try again
    shortly), and `pending` holds the replies queued in the outbox.
    """

    def __init__(
        self,
        bridges: Bridges,
        key: UserKey,
        read: Callable[[dict[str, Any]], Read],
        now: datetime,
        hold_for: timedelta | None = None,
        gaps: dict[int, datetime] | None = None,
    ) -> None:
        self.bridges = bridges
        self.key = key
        self.read = read
        self.now = now
        self.hold_for = hold_for
        # update_id -> when a gap below it was first seen (shared by this process's workers)
        self.gaps = gaps if gaps is not None else {}
        self._reset()

    def _reset(self) -> None:
        self.update_id: int | None = None
        self.payload: dict[str, Any] = {}
        self.waiting = False
        self.skipped = False
        self.missed = False
        self.request: Read | None = None
        self.messages: list[Outgoing] = []
        self.safety: list[bool] = []
        self.pending: list[outbox.Pending] = []

    # --- storage.repository.TurnHooks ----------------------------------------

    def claim(self, conn: Connection, user: User | None) -> bool:
        self._reset()  # run_turn may retry the whole transaction
        found = inbox.next_pending(conn, self.key.external_id)
        if found is None:
            return False
        update_id, payload, received = found
        self.update_id, self.payload = update_id, payload
        request = self.read(payload)
        if self._hold(conn, update_id, received, request):
            self.waiting, self.update_id = True, None
            return False
        if request.event is None or request.chat_id is None:
            inbox.mark_done(conn, update_id, self.now)
            self.skipped = True
            return False
        self.request = request
        undelivered = user is not None and user.undelivered_at is not None
        self.missed = undelivered and not isinstance(request.event, Due | Command)
        return True

    def decide(self, state: UserState) -> Turn:
        assert self.request is not None and self.request.event is not None
        event = self.request.event
        if self.missed and not isinstance(event, Missed | Due):
            event = Missed(event)
        turn = self.bridges.engine.step(state, event, self.now)
        locale = turn.state.profile.locale
        self.messages = render(self.bridges.catalog, locale, turn.replies)
        self.safety = [r.template.startswith(SAFETY_TEMPLATES) for r in turn.replies]
        return turn

    def after(self, conn: Connection, user: User | None, turn: Turn, now: datetime) -> None:
        assert self.update_id is not None and self.request is not None
        if not inbox.mark_done(conn, self.update_id, now):
            raise AlreadyDone()
        if any(isinstance(e, ForgetMe) for e in turn.effects):
            inbox.forget_person(conn, self.key.external_id)
        if user is not None and user.undelivered_at is not None:
            # Whatever this turn sends is what they see next: the mark has done its work.
            conn.execute(update(USERS).where(USERS.c.id == user.id).values(undelivered_at=None))
        assert self.request.chat_id is not None
        payloads = [outgoing_to_json(m, self.request.tapped) for m in self.messages]
        for payload, safety in zip(payloads, self.safety, strict=True):
            if safety:
                payload["safety"] = True  # if Telegram refuses it, the fallback goes instead
        self.pending = outbox.add(
            conn, self.request.chat_id, self.key.external_id, "turn", payloads, now, self.update_id
        )

    # --- ordering across replicas ---------------------------------------------

    def _hold(self, conn: Connection, update_id: int, received: datetime, request: Read) -> bool:
        """Wait a moment if an earlier update might still be arriving at another replica.

        Only in webhook mode (`hold_for`), at most `hold_for` after the gap was first
        seen (not after the update arrived: under a backlog it may be taken late, while
        the earlier one is still on its way), and never for words that screen as at
        risk: those go at once.
        """
        if self.hold_for is None:
            return False
        if request.words and _at_risk(request.words):
            return False
        if not inbox.missing_before(conn, update_id):
            # Each statement sees what was committed when it began (PostgreSQL's READ
            # COMMITTED): an earlier update of theirs stored between the first look and
            # the gap check fills the gap but was not seen as theirs. Look again.
            again = inbox.next_pending(conn, self.key.external_id)
            return again is None or again[0] != update_id
        first = self.gaps.setdefault(update_id, self.now)
        return self.now - first < self.hold_for


def take_next(
    bridges: Bridges,
    key: UserKey,
    read: Callable[[dict[str, Any]], Read],
    now: datetime,
    hold_for: timedelta | None = None,
    gaps: dict[int, datetime] | None = None,
) -> UpdateTurn:
    """Run the person's oldest pending update as one turn (blocking; call in a thread).

    Raises AlreadyDone if another worker ran it first, and sqlalchemy errors when
    the database can't be used (nothing is then changed: the update stays pending).
    """
    work = UpdateTurn(bridges, key, read, now, hold_for, gaps)
    bridges.store.run_turn(
        key, work.decide, now, bridges.dialogs.script_version, seen=True, hooks=work
    )
    return work


def _at_risk(words: str) -> bool:
    try:
        return assess(words).level != "none"
    except Exception:  # the screen must never be what stops a turn
        return False
