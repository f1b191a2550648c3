"""bench/chaos.py, default mode: simulated people in dialogs while the polling bot is SIGKILLed.

See bench/chaos.py for what is measured and how each update is classified.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.chaos_common import (
    BenchFake,
    BotProcess,
    CallWatch,
    Progress,
    SavedState,
    bot_env,
    bubbles,
    fresh_database,
    message_with_data,
    migrate,
    reader,
    saved_states,
    signature,
    version_of,
    wait_all_quiet,
    wait_polling,
    work_dir,
)
from bench.chaos_scripts import DIALOGS, SCRIPT_COUNT, Reference, RefStep, learn_references
from bench.chaos_verdicts import EXAMPLES, Tally, judge, show_transcripts
from tests.fakebot import FakeBotApi, LoopbackBotApiServer

FIRST_USER_ID = 660_000_001  # the chaos run's people
MAX_SENDS = 4  # a step a person sends again after it was lost, at most this often in all
HARD_CAP = 180.0  # seconds: never wait longer for an update the bot has not acknowledged
END_QUIET = 3.0  # seconds without bot calls that mark the end of the run
PROGRESS_EVERY = 5.0


# --- the chaos run ------------------------------------------------------------------------------


@dataclass
class Sent:
    """One update a person sent, and what the bench saw when it stopped waiting for it."""

    update_id: int
    step: int
    v_before: int  # conversations.version before it was sent
    v_after: int = 0  # ... when its replies had arrived, or the wait ran out
    answered: bool = False


class Bot:
    """The bot under chaos: one process generation after another, killed and restarted."""

    def __init__(self, process: BotProcess, watch: CallWatch, progress: Progress) -> None:
        self.process = process
        self.watch = watch
        self.progress = progress
        self.ready_at: float | None = None  # None while (re)starting
        self.kills = 0
        self.crashes = 0  # exits nobody asked for
        self.startups: list[float] = []  # seconds from spawn to polling, each start

    async def start(self) -> None:
        self.ready_at = None
        polls = self.watch.fake.polls_started
        spawned = time.monotonic()
        await self.process.spawn()
        await wait_polling(self.watch, self.process, polls)
        self.ready_at = time.monotonic()
        self.startups.append(self.ready_at - spawned)

    async def kill_and_restart(self) -> None:
        self.ready_at = None
        await self.process.kill()
        self.kills += 1
        await self.start()

    async def watchdog(self) -> None:
        """Restart a bot that died on its own (counted: that is a finding too)."""
        while True:
            await asyncio.sleep(0.5)
            if self.ready_at is not None and self.process.exited_early():
                self.crashes += 1
                self.progress.hint(f"the bot exited on its own:\n{self.process.log_tail()}")
                await self.start()


@dataclass
class Counters:
    sent: int = 0
    resent: int = 0
    finished: int = 0


class Person:
    """One simulated person walking one script, closed loop."""

    def __init__(
        self,
        user_id: int,
        ref: Reference,
        fake: FakeBotApi,
        bot: Bot,
        engine: Any,
        counters: Counters,
        step_timeout: float,
    ) -> None:
        self.user_id = user_id
        self.ref = ref
        self.fake = fake
        self.bot = bot
        self.engine = engine
        self.counters = counters
        self.step_timeout = step_timeout
        self.sent: list[Sent] = []
        self.problem: str | None = None  # why they could not finish

    async def run(self) -> None:
        version = 0
        try:
            for index, step in enumerate(self.ref.steps):
                for _ in range(MAX_SENDS):
                    update = self._update(step)
                    record = Sent(update["update_id"], index, version)
                    self.sent.append(record)
                    baseline = len(self.fake.history(self.user_id))
                    self.fake.push_update(update)
                    self.counters.sent += 1
                    record.answered = await self._wait(record, baseline)
                    record.v_after = version = await self._version()
                    if record.answered or record.v_after != record.v_before:
                        break
                    self.counters.resent += 1  # lost: they send the same again, as people do
                else:
                    self.problem = f"step {index} {step.action} was lost {MAX_SENDS} times"
                    return
        except Exception as error:  # one person's trouble must not end the bench
            self.problem = f"{type(error).__name__}: {error}"
            return
        self.counters.finished += 1

    def _update(self, step: RefStep) -> dict[str, Any]:
        kind, value = step.action
        if kind == "text":
            return self.fake.make_text_update(self.user_id, value)
        assert step.data is not None
        message_id = message_with_data(self.fake, self.user_id, step.data)
        return self.fake.make_callback_update(self.user_id, step.data, message_id)

    async def _version(self) -> int:
        for attempt in range(5):
            try:
                return await asyncio.to_thread(version_of, self.engine, str(self.user_id))
            except Exception:  # a busy SQLite file: read again shortly
                await asyncio.sleep(0.2 * (attempt + 1))
        return await asyncio.to_thread(version_of, self.engine, str(self.user_id))

    async def _wait(self, record: Sent, baseline: int) -> bool:
        """Until the step's reference replies have all arrived (True), or the wait runs out:
        step_timeout after sending or after the bot's latest restart, whichever is later,
        and never while the bot has not acknowledged the update yet (up to HARD_CAP)."""
        step = self.ref.steps[record.step]
        want = Counter(step.sigs)
        earlier = self.ref.earlier[record.step]

        def done() -> bool:
            missing, novel = want.copy(), 0
            for message in bubbles(self.fake, self.user_id, baseline):
                sig = signature(message)
                if missing[sig] > 0:
                    missing[sig] -= 1
                elif sig not in earlier:
                    novel += 1  # a reply, though not the reference's: the bot moved on
            return not +missing or novel >= len(step.sigs)

        sent_at = time.monotonic()
        while True:
            now = time.monotonic()
            ready = self.bot.ready_at
            deadline = (max(sent_at, ready) + self.step_timeout) if ready is not None else now + 1
            if now >= deadline:
                if self.bot.watch.confirmed(record.update_id) or now - sent_at > HARD_CAP:
                    return done()
                deadline = now + 1.0
            if await self.fake.wait_for(self.user_id, done, min(deadline - now, 1.0)):
                return True


# --- the run ------------------------------------------------------------------------------------


def kill_points(rng: random.Random, kills: int, total_updates: int) -> list[int]:
    """After how many updates sent each kill comes (then a random 0-250 ms more)."""
    low, high = int(total_updates * 0.03), int(total_updates * 0.9)
    return sorted(rng.randint(low, max(low, high)) for _ in range(kills))


async def chaos_run(
    args: argparse.Namespace,
    references: list[Reference],
    tmp: Path,
    progress: Progress,
    rng: random.Random,
) -> tuple[list[Person], dict[str, SavedState], Bot, Counters, float]:
    with fresh_database(args.database_url, "run", tmp) as (url, _):
        migrate(url)
        fake = BenchFake()
        engine = reader(url)
        try:
            async with LoopbackBotApiServer(fake) as server:
                watch = CallWatch(fake)
                bot = Bot(
                    BotProcess("bot", bot_env(server.base_url, url), tmp, False), watch, progress
                )
                await bot.start()
                counters = Counters()
                people = [
                    Person(FIRST_USER_ID + i, references[i % SCRIPT_COUNT], fake, bot, engine,
                           counters, args.step_timeout)
                    for i in range(args.users)
                ]  # fmt: skip
                total = sum(len(p.ref.steps) for p in people)
                points = kill_points(rng, args.kills, total)
                started = time.monotonic()

                async def killer() -> None:
                    for point in points:
                        while counters.sent < point:
                            await asyncio.sleep(0.02)
                        await asyncio.sleep(rng.uniform(0.0, 0.25))
                        await bot.kill_and_restart()

                async def report() -> None:
                    while True:
                        await asyncio.sleep(PROGRESS_EVERY)
                        progress.hint(
                            f"updates {counters.sent}/{total}, people finished "
                            f"{counters.finished}/{len(people)}, kills {bot.kills}/{len(points)}"
                            f", sent again after loss {counters.resent}"
                        )

                helpers = [asyncio.create_task(c) for c in (killer(), report(), bot.watchdog())]
                try:
                    await asyncio.gather(*(p.run() for p in people))
                finally:
                    for task in helpers:
                        task.cancel()
                    await asyncio.gather(*helpers, return_exceptions=True)
                wall = time.monotonic() - started
                # Work a killed process had claimed may be taken over only after a lease:
                # count nothing before `settle` seconds have passed since the last restart.
                while True:
                    await wait_all_quiet(watch, END_QUIET, 60.0)
                    since = time.monotonic() - (bot.ready_at or 0.0)
                    if since >= args.settle:
                        break
                    await asyncio.sleep(args.settle - since)
                await bot.process.stop()
            ids = [str(p.user_id) for p in people]
            finals = await asyncio.to_thread(saved_states, engine, ids)
        finally:
            engine.dispose()
    return people, finals, bot, counters, wall


async def run(args: argparse.Namespace) -> int:
    """The polling mode; returns the exit status."""
    progress = Progress()
    rng = random.Random(args.seed)
    database = "SQLite (fresh temp files)" if args.database_url is None else "PostgreSQL"
    with work_dir(args.keep_logs) as tmp:
        references = await learn_references(args, tmp, progress)
        people, finals, bot, counters, wall = await chaos_run(args, references, tmp, progress, rng)
        errors = bot.process.error_lines()
    tally = Tally()
    for person in people:
        judge(person, finals.get(str(person.user_id)), tally)
    updates = sum(len(p.sent) for p in people)
    unfinished = [p for p in people if p.problem is not None]
    counts = tally.verdicts
    print(
        f"Chaos (polling): {args.users} people, {SCRIPT_COUNT} scripts "
        f"({', '.join(DIALOGS)}), {database}, seed {args.seed}"
    )
    print(
        f"run: {updates} updates in {wall:.0f} s ({updates / wall:.1f}/s); kills "
        f"{bot.kills}/{args.kills}, exits nobody asked for {bot.crashes}; sent again after "
        f"loss {counters.resent}; people finished {len(people) - len(unfinished)}/"
        f"{len(people)}; bot log error lines {errors}"
    )
    print(
        f"bot start-ups (spawn to polling): median {statistics.median(bot.startups):.1f} s, "
        f"longest {max(bot.startups):.1f} s ({len(bot.startups)} starts)"
    )
    print(
        f"per update: fine {counts['fine']}, lost {counts['lost']}, silent {counts['silent']}, "
        f"partial {counts['partial']} (missing replies {tally.partial_missing}, other replies "
        f"{tally.partial_different}), answered twice {counts['twice']}; late replies "
        f"{tally.late}, replies matching no reference {tally.unexpected}"
    )
    print(
        f"invalid states {tally.invalid}: state differs from the reference "
        f"{tally.invalid_differs}, waiting at a question never received {tally.invalid_unseen}"
        f"; chats ending with an older reply (sent again late) {tally.stale_last}"
    )
    for verdict in ("lost", "silent", "partial", "twice"):
        for example in tally.examples.get(verdict, []):
            print(f"  e.g. {verdict}: {example}")
    for example in tally.invalid_examples:
        print(f"  e.g. invalid: {example}")
    for example in tally.stale_examples:
        print(f"  e.g. ends with an older reply: {example}")
    for person in unfinished[:EXAMPLES]:
        print(f"  could not finish: user {person.user_id}: {person.problem}")
    show_transcripts(people, tally, args.show)
    print(
        f"updates {updates}, lost {counts['lost']}, answered twice {counts['twice']}, "
        f"silent {counts['silent']}, partial {counts['partial']}, invalid states {tally.invalid}"
    )
    bad = counts["lost"] + counts["twice"] + counts["silent"] + counts["partial"] + tally.invalid
    return 1 if bad or unfinished else 0
