"""The inbox and the turn: updates stored first, then each person's turns in order.

`Intake.accept` writes a batch of updates to the inbox (storage/inbox.py) in one
transaction and only then reports success, so the caller acknowledges them to
Telegram (the getUpdates offset, the webhook's 200) only once they are durable.
Each person with pending updates gets one worker task (`_work`); it runs their turns
one at a time, oldest first, in a worker thread, and hands the queued replies to the
sender (bot/sender.py). A person's burst waits in their own worker, never in slots
shared with other people, so someone else's crisis message is taken as soon as it
arrives.

The turn (`take_next`, `UpdateTurn`; docs/delivery.md): in one transaction, under the
person's lock (storage/repository.py `StateStore.run_turn`), `claim` takes their oldest
pending update from the inbox, `decide` runs the dialog manager on it and renders the replies,
the state is saved, and `after` queues the replies in the outbox and marks the update
done (forgetting its words). Whichever process or replica does this, a person's updates
are handled one at a time in `update_id` order, and each exactly once: if two try the
same update, the second finds it done and rolls back.

If the inbox cannot be written (the database is down or hung), nothing is
acknowledged: Telegram keeps the updates and they are taken when it is back. A
message that screens as a crisis gets the crisis reply at once anyway, rendered
without the database (bot/fallback.py).

A turn that fails on a database error is retried (with backoff) until the
database answers; one that fails on anything else (a bug) is tried MAX_FAILURES
times, then given up with an apology (or the crisis reply), so one poisoned
update can't block a person forever.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import update as sql_update
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.core import Bridges
from bot.db_work import Coalescer
from bot.sender import Outgoing, Sender, outgoing_to_json, render
from bot.telegram_app import Read, incoming, read_update, seen_only
from dialogs.model import Command, Due, ForgetMe, Missed, Turn, UserState
from dialogs.safety import assess
from storage import chat_ids, inbox, outbox
from storage.hot import Sent
from storage.inbox import Incoming
from storage.outbox import Pending
from storage.repository import UserKey
from storage.tables import User

log = logging.getLogger("bridges.intake")
Clock = Callable[[], datetime]

# Webhook mode: how long a person's update may wait for an earlier one that may still be
# on its way to another replica (`UpdateTurn._hold`; never for crisis words).
ORDER_HOLD = timedelta(seconds=10)
# A turn taking longer than this (seconds) is a database that hangs: the person is told.
TURN_PATIENCE = 8.0
MAX_FAILURES = 3  # a turn failing on a bug this often is given up (see above)
DB_BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0)  # seconds between tries while the database is away
HOLD_POLL = 0.02  # seconds between looks while an earlier update may still arrive
MAINTAIN_SECONDS = 2.0  # how often crashed work (inbox, outbox) is looked for
PRUNE_EVERY = timedelta(hours=1)
FALLBACK_MEMORY = 4096  # update ids already given the crisis fallback (memory only)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Intake:
    """Accepts updates durably and runs each person's turns in order."""

    def __init__(
        self,
        bridges: Bridges,
        bot: Bot,
        sender: Sender,
        clock: Clock = utc_now,
        hold_for: timedelta | None = None,
    ) -> None:
        self.bridges = bridges
        self.bot = bot
        self.sender = sender
        self.clock = clock
        # Webhook mode with several replicas: how long a person's update may wait for an
        # earlier one still on its way to another replica (`UpdateTurn._hold`).
        self.hold_for = hold_for
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._turned: dict[int, asyncio.Future[list[Pending]]] = {}
        self._failures: dict[int, int] = {}
        self._fallback_sent: OrderedDict[int, None] = OrderedDict()
        self._unanswered: dict[str, dict[int, Update]] = {}
        self._parsed: dict[int, Update] = {}  # update_id -> the Update, until its turn ran
        # inbox.record, batched: updates arriving while a batch is being written go
        # together in the next one (a webhook under a burst takes one transaction for many
        # POSTs instead of one each, so a person's earlier update is not left queued behind
        # hundreds of inserts while their later one is answered). The clock is read as the
        # batch is written.
        engine = bridges.store.engine
        self._inbox: Coalescer[list[Incoming]] = Coalescer(
            bridges.db, lambda batch: inbox.record(engine, batch, self.clock()), inline=True
        )
        self._gaps: dict[int, datetime] = {}  # see UpdateTurn._hold
        self._maintainer: asyncio.Task[None] | None = None
        self._pruned_at: datetime | None = None

    # --- in -----------------------------------------------------------------------

    async def accept(
        self,
        updates: list[Update],
        wait: bool = False,
        seen: Sequence[Update] = (),
        payloads: Mapping[int, dict[str, Any]] | None = None,
    ) -> bool:
        """Store updates from people in private chats; True once they are durable.

        False if the database can't be used: then the caller must not acknowledge
        them, and crisis messages among them have already had the fallback reply.
        With `wait`, return only after their turns ran and their replies were sent
        or given up (the in-process path the tests drive). `payloads`: update id -> the
        JSON Telegram sent for it, stored as it is (else it is made again from the Update).
        """
        # Updates with no turn to run (`seen`, and kinds we don't use) are stored done, for
        # their ids only: webhook replicas would otherwise wait on them as gaps.
        for update in updates:
            # Their message's id: replies sent after it have higher ids (bot/probe.py).
            message = update.message or update.edited_message
            if message is not None:
                self.sender.probe.saw(message.chat.id, message.message_id)
        given = payloads or {}
        entries = [incoming(u, given.get(u.update_id)) or seen_only(u) for u in updates] + [
            seen_only(u) for u in seen
        ]
        if not entries:
            return True
        done = [e for e in entries if e.done]
        entries = [e for e in entries if not e.done]
        loop = asyncio.get_running_loop()
        # Registered before the insert: a running worker may take them at once.
        futures = (
            {
                e.update_id: self._turned.setdefault(e.update_id, loop.create_future())
                for e in entries
            }
            if wait
            else {}
        )
        try:
            fresh = [e for e in await self._store(entries + done) if not e.done]
        except SQLAlchemyError as err:
            log.error(
                "inbox unavailable (%s): %d update(s) not taken yet",
                type(err).__name__,
                len(entries),
            )
            for update_id in futures:
                self._turned.pop(update_id, None)
            await self._fallbacks(updates)
            return False
        by_id = {u.update_id: u for u in updates}
        for entry in fresh:
            query = by_id[entry.update_id].callback_query
            if query is not None:
                # Stops the button's spinner while the turn runs; a failure (a tap too old
                # after a restart) never stops the tap being processed.
                asyncio.get_running_loop().create_task(self._answer_query(query.id))
            # Kept in memory (this process only) until the turn ran: what _tell_delayed
            # needs when the database fails after the update was stored.
            self._unanswered.setdefault(entry.external_id, {})[entry.update_id] = by_id[
                entry.update_id
            ]
            self._parsed[entry.update_id] = by_id[entry.update_id]
            self.wake(entry.external_id)
        if wait:
            new = {e.update_id for e in fresh}
            for update_id in [u for u in futures if u not in new]:  # delivered before
                self._turned.pop(update_id, None)
            for update_id in new:
                pending = await futures[update_id]
                await self.sender.settled(pending)
        return True

    async def _store(self, entries: list[Incoming]) -> list[Incoming]:
        """The ones of `entries` that were new to the inbox, once stored (see _inbox)."""
        new = {e.update_id for e in await self._inbox.add(entries)}
        return [e for e in entries if e.update_id in new]

    def wake(self, external_id: str) -> None:
        """Make sure someone is working through this person's pending updates."""
        if external_id in self._workers:
            self._again.add(external_id)  # the worker looks once more before it stops
            return
        task = asyncio.get_running_loop().create_task(self._work(external_id))
        self._workers[external_id] = task

    # --- a person's worker ------------------------------------------------------

    async def _work(self, external_id: str) -> None:
        key = UserKey("telegram", external_id)
        db_tries = 0
        try:
            while True:
                try:
                    turn = await self._take(key)
                except AlreadyDone:
                    continue
                except (OperationalError, DBAPIError) as err:
                    wait = DB_BACKOFF[min(db_tries, len(DB_BACKOFF) - 1)]
                    db_tries += 1
                    log.warning("turn waits for the database (%s)", type(err).__name__)
                    # Crisis words get help at once; others hear "I'll answer soon" only if
                    # it is more than a blip (SQLite's lock can be busy under load).
                    await self._tell_delayed(external_id, crisis_only=db_tries < 2)
                    await asyncio.sleep(wait)
                    continue
                except Exception as err:  # a bug: counted per update, see _failed
                    if await self._failed(key, err):
                        continue
                    return
                db_tries = 0
                if turn.skipped and turn.update_id is not None:
                    self._resolve(external_id, turn.update_id, [])
                    continue
                if turn.waiting:
                    await asyncio.sleep(HOLD_POLL)
                    continue
                if turn.update_id is None:
                    if external_id in self._again:
                        self._again.discard(external_id)
                        continue
                    return
                self._ran(turn)
                # Nothing else of theirs was pending at the claim, and nothing arrived here
                # since (accept would have woken us: _again): no transaction just to look.
                # An update stored meanwhile by another process wakes a worker there.
                if not turn.more:
                    if external_id in self._again:
                        self._again.discard(external_id)
                        continue
                    return
        finally:
            self._workers.pop(external_id, None)
            self._again.discard(external_id)

    async def _take(self, key: UserKey) -> UpdateTurn:
        """take_next through bot/db_work.py; if it hangs past TURN_PATIENCE (a database that neither
        answers nor fails), the person is told first, and we keep waiting."""

        def take() -> UpdateTurn:
            # The clock is read as the turn starts, right before the inbox is: a
            # worker that queued this while a turn was running must not date the next
            # update with the moment it started waiting.
            return take_next(self.bridges, key, self._read, self.clock(), self.hold_for, self._gaps)

        # A timer, not a task and a wait, per turn: nearly every turn takes milliseconds.
        loop = asyncio.get_running_loop()
        telling: list[asyncio.Task[None]] = []

        def patience_ran_out() -> None:
            log.warning("a turn is taking over %.0f s (database?)", TURN_PATIENCE)
            telling.append(loop.create_task(self._tell_delayed(key.external_id)))

        timer = loop.call_later(TURN_PATIENCE, patience_ran_out)
        try:
            return await self.bridges.db.run(take, inline=True)
        finally:
            timer.cancel()
            for task in telling:  # told before the turn's replies are queued
                await task

    async def _tell_delayed(self, external_id: str, crisis_only: bool = False) -> None:
        """Their turn can't run now (the database): each waiting message gets, once, the
        crisis reply if it calls for one, else a short "I'll answer as soon as I can".
        The turns still run when the database is back."""
        from bot.fallback import crisis_text_for_update

        for update_id, update in sorted(self._unanswered.get(external_id, {}).items()):
            if update_id in self._fallback_sent or update.effective_chat is None:
                continue
            text = crisis_text_for_update(self.bridges.catalog, update)
            if text is None and crisis_only:
                continue
            self._remember_told(update_id)
            if text is None:
                text = self.bridges.catalog.render("en", "common/delayed")
            await self._notify(update.effective_chat.id, text)
            future = self._turned.pop(update_id, None)
            if future is not None and not future.done():
                future.set_result([])

    def _remember_told(self, update_id: int) -> None:
        self._fallback_sent[update_id] = None
        while len(self._fallback_sent) > FALLBACK_MEMORY:
            self._fallback_sent.popitem(last=False)

    def _read(self, head: inbox.Head) -> Read:
        # Runs where the turn runs (a database thread or the loop); a dict lookup is safe
        # on either. Parsed at arrival in this process: neither the stored JSON decoded nor
        # the update parsed again (only work left by a crash or another replica is).
        known = self._parsed.get(head.update_id)
        if known is not None:
            return read_update({}, self.bot, known)
        return read_update(head.payload(), self.bot)

    def _ran(self, turn: UpdateTurn) -> None:
        assert turn.update_id is not None
        self._failures.pop(turn.update_id, None)
        self._gaps.pop(turn.update_id, None)
        self.sender.enqueue(turn.pending)
        self._resolve(turn.key.external_id, turn.update_id, turn.pending)

    def _resolve(self, external_id: str, update_id: int, pending: list[Pending]) -> None:
        self._parsed.pop(update_id, None)
        waiting = self._unanswered.get(external_id)
        if waiting is not None:
            waiting.pop(update_id, None)
            if not waiting:
                del self._unanswered[external_id]
        future = self._turned.pop(update_id, None)
        if future is not None and not future.done():
            future.set_result(pending)

    async def _answer_query(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as err:
            log.info("callback answer failed (%s); the tap is processed anyway", type(err).__name__)

    async def _failed(self, key: UserKey, err: Exception) -> bool:
        """A turn failed on something other than the database. True: try again."""
        # Type and stack only: an exception's message could quote what someone wrote.
        frames = "".join(traceback.format_tb(err.__traceback__))
        log.error("turn failed with %s\n%s", type(err).__name__, frames)
        engine = self.bridges.store.engine
        with_payload = await self.bridges.db.run(_oldest, engine, key.external_id)
        if with_payload is None:
            return False
        update_id, payload = with_payload
        tries = self._failures.get(update_id, 0) + 1
        self._failures[update_id] = tries
        if tries < MAX_FAILURES:
            return True
        # Given up: an apology, or the crisis reply if their words call for it.
        self._failures.pop(update_id, None)
        update = Update.de_json(payload, self.bot)
        await self._apologise(update)
        await self.bridges.db.run(_give_up, engine, update_id, self.clock())
        self._resolve(key.external_id, update_id, [])
        return True

    async def _apologise(self, update: Update) -> None:
        from bot.fallback import crisis_text_for_update

        chat = update.effective_chat
        if chat is None:
            return
        text = crisis_text_for_update(self.bridges.catalog, update)
        if text is None:
            text = self.bridges.catalog.render("en", "common/error")
        await self._notify(chat.id, text)

    async def _notify(self, chat_id: int, text: str) -> None:
        """A notice sent at once, outside the outbox: it is about the database failing."""
        try:
            await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
        except TelegramError as err:
            log.warning("could not send a notice: %s", type(err).__name__)

    async def _fallbacks(self, updates: list[Update]) -> None:
        """The crisis reply, without the database, for crisis messages not yet given it."""
        from bot.fallback import crisis_text_for_update

        for update in updates:
            if update.update_id in self._fallback_sent or update.effective_chat is None:
                continue
            if update.callback_query is not None:  # stop the spinner, even now
                await self._answer_query(update.callback_query.id)
            text = crisis_text_for_update(self.bridges.catalog, update)
            if text is None:
                continue
            self._remember_told(update.update_id)
            await self._notify(update.effective_chat.id, text)

    # --- crash recovery -------------------------------------------------------------

    def start(self) -> None:
        """Look for work a crash left (pending updates, unsent replies) now and every few
        seconds, until `stop`."""
        if self._maintainer is None:
            self._maintainer = asyncio.get_running_loop().create_task(self._maintain())

    async def stop(self, wait: float = 10.0) -> None:
        """Stop looking for left work; give running turns and sends `wait` seconds."""
        if self._maintainer is not None:
            self._maintainer.cancel()
            self._maintainer = None
        pending = [*self._workers.values()]
        if pending:
            await asyncio.wait(pending, timeout=wait)
        try:
            await asyncio.wait_for(self.sender.idle(), timeout=wait)
        except TimeoutError:
            log.warning("stopped with replies still queued; they are sent after the restart")

    async def _maintain(self) -> None:
        while True:
            # First after a pause: the bot is initialised by then, and a fresh start's
            # own updates come first.
            await asyncio.sleep(MAINTAIN_SECONDS)
            try:
                await self.recover()
            except SQLAlchemyError as err:
                log.warning("recovery waits for the database (%s)", type(err).__name__)
            except Exception as err:  # never let the loop die
                log.error("recovery failed with %s", type(err).__name__)

    async def recover(self, takeover: bool = False) -> None:
        """One look for left work: people with pending updates, replies whose sender died.

        With `takeover`, every queued reply is taken, however recently it was claimed.
        """
        engine = self.bridges.store.engine
        now = self.clock()
        self.sender.probe.rotate(now)
        unkept = self.sender.probe.take_unkept()
        try:
            if unkept:
                await self.bridges.db.run(
                    chat_ids.fold, engine, {str(chat): mid for chat, mid in unkept.items()}
                )
        except Exception:
            self.sender.probe.give_back(unkept)
            raise
        journal = self.sender.journal
        if journal is not None:
            # Rows Telegram already took must never be sent again: out of the outbox
            # before anything is claimed (all of them at a takeover, a batch otherwise).
            sent = journal.all_ids() if takeover else journal.take()
            if sent:
                await self.bridges.db.run(outbox.forget, engine, sent, urgent=True)
            if not takeover:
                journal.taken()
        queued = self.sender.queued_ids()
        if queued:
            await self.bridges.db.run(outbox.renew, engine, queued, now)
        if takeover:
            claimed = await self.bridges.db.run(outbox.claim_stale, engine, now + outbox.LEASE * 2)
            self.sender.enqueue(claimed)
        for _channel, external_id in await self.bridges.db.run(inbox.people_waiting, engine):
            if external_id not in self._workers:
                self.wake(external_id)
        self.sender.enqueue(await self.bridges.db.run(outbox.claim_stale, engine, now))
        if self._pruned_at is None or now - self._pruned_at > PRUNE_EVERY:
            self._pruned_at = now
            await self.bridges.db.run(inbox.prune, engine, now)


# --- the turn: one update, one transaction ------------------------------------------------

USERS = User.__table__
# Replies from these prompt folders carry help (helplines, the emergency number): if one
# can't be delivered, the sender sends the crisis reply rendered without state instead.
SAFETY_TEMPLATES = ("crisis/", "sos/")


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
        read: Callable[[inbox.Head], Read],
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
        self._head: Sent | None = None  # prepare's read, for claim
        self._reset()

    def _reset(self) -> None:
        self.update_id: int | None = None
        self.waiting = False
        self.skipped = False
        self.missed = False
        self.request: Read | None = None
        self.messages: list[Outgoing] = []
        self.safety: list[bool] = []
        self.pending: list[outbox.Pending] = []
        # Another update of theirs was pending behind this one when it was claimed.
        self.more = False

    # --- storage.repository.TurnHooks ----------------------------------------

    def prepare(self, conn: Connection) -> None:
        """Send the read of the person's oldest pending update (it runs under their lock)."""
        self._head = inbox.send_pending_head(conn, self.key.external_id)

    def claim(self, conn: Connection, user: User | None) -> bool:
        """Take the person's oldest pending update, under their lock; True if a turn runs on it.

        False: nothing pending, an earlier update may still be arriving (`waiting`), or the
        update means nothing to the dialog manager (marked done at once: `skipped`).
        """
        self._reset()  # run_turn may retry the whole transaction
        head, self._head = self._head, None
        assert head is not None, "run_turn sends prepare's read first"
        found = inbox.head_of(head)
        if found is None:
            return False
        update_id, self.more = found.update_id, found.more
        self.update_id = update_id
        request = self.read(found)
        if self._hold(conn, update_id, found.received_at, request):
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
        """The dialog manager's step on the update's event (wrapped in `Missed` when their
        last reply never arrived), and its replies rendered, inside the transaction.
        """
        assert self.request is not None and self.request.event is not None
        event = self.request.event
        if self.missed and not isinstance(event, Missed | Due):
            event = Missed(event)
        turn = self.bridges.manager.step(state, event, self.now)
        locale = turn.state.profile.locale
        self.messages = render(self.bridges.catalog, locale, turn.replies)
        self.safety = [r.template.startswith(SAFETY_TEMPLATES) for r in turn.replies]
        return turn

    def after(self, conn: Connection, user: User | None, turn: Turn, now: datetime) -> None:
        """Mark the update done and queue the replies in the outbox, in the same transaction.

        Raises AlreadyDone (rolling the turn back) if another worker marked it done first.
        """
        assert self.update_id is not None and self.request is not None
        # Read after the replies are queued: on PostgreSQL all of it (and the turn's own
        # writes) goes in one round trip (storage/hot.py `batched`).
        marking = inbox.send_mark_done(conn, self.update_id, now)
        if any(isinstance(e, ForgetMe) for e in turn.effects):
            inbox.forget_person(conn, self.key.external_id)
        if user is not None and user.undelivered_at is not None:
            # Whatever this turn sends is what they see next: the mark has done its work.
            conn.execute(sql_update(USERS).where(USERS.c.id == user.id).values(undelivered_at=None))
        assert self.request.chat_id is not None
        payloads = [outgoing_to_json(m, self.request.tapped) for m in self.messages]
        for payload, safety in zip(payloads, self.safety, strict=True):
            if safety:
                payload["safety"] = True  # if Telegram refuses it, the fallback goes instead
        try:
            self.pending = outbox.add(
                conn,
                self.request.chat_id,
                self.key.external_id,
                "turn",
                payloads,
                now,
                self.update_id,
            )
            done = marking.count() > 0
        except DBAPIError as err:  # PostgreSQL says it in the statement's failure
            if inbox.already_done(err):
                raise AlreadyDone() from None
            raise
        if not done:
            raise AlreadyDone()

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
    read: Callable[[inbox.Head], Read],
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


def _oldest(engine: Any, external_id: str) -> tuple[int, dict[str, Any]] | None:
    with engine.connect() as conn:
        found = inbox.next_pending(conn, external_id)
    return None if found is None else (found[0], found[1])


def _give_up(engine: Any, update_id: int, now: datetime) -> None:
    with engine.begin() as conn:
        inbox.mark_done(conn, update_id, now)


__all__ = ["AlreadyDone", "Incoming", "Intake", "UpdateTurn", "take_next"]
