"""bench/chaos.py --checkins N: people due for a check-in while the sweeping bot is SIGKILLed.

See bench/chaos.py for what is measured and the definitions.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData, Table, create_engine, insert, select

from bench.chaos_common import (
    BenchFake,
    BotProcess,
    CallWatch,
    Progress,
    Signature,
    bot_env,
    bubbles,
    fresh_database,
    migrate,
    reader,
    saved_states,
    signature,
    work_dir,
)
from bench.chaos_polling import Bot
from bench.chaos_scripts import ONBOARDING, walk_reference
from tests.fakebot import FakeBotApi, LoopbackBotApiServer

TEMPLATE_ID = 559_000_001  # the person onboarded through the bot, copied N times
FIRST_USER_ID = 550_000_001
TEMPLATE_SCRIPT = [*ONBOARDING, ("text", "Lisbon"), ("tap", "8:00"), ("tap", "Skip for now"),
                   ("tap", "Maybe later")]  # fmt: skip
DUE_AGO = timedelta(seconds=30)  # missed by seconds: sent, not skipped as stale
ZONES = ["Europe/Lisbon", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Tokyo"]
STALL = 10.0  # seconds without a new check-in (bot up): sending has stopped, no more kills
QUIET = 8.0  # seconds without a new message that end the run (and --settle after a restart)
RUN_LIMIT = 300.0
PROGRESS_EVERY = 5.0


def _shape(sig: Signature) -> Signature:
    """A bubble's signature without its text (see the opening, below)."""
    return (sig[0], *sig[2:])


def clone_people(url: str, count: int, due: datetime, last_ids: list[int]) -> None:
    """Write `count` copies of the template's users and conversations rows (whatever columns
    the bot's tables have: they are reflected), each due for a check-in at `due`. Like
    anyone onboarded through the bot, each has written in their chat before: `last_ids[i]`
    is the id of that message, kept where the bot keeps it (users.last_message_id)."""
    engine = create_engine(url)
    try:
        meta = MetaData()
        users = Table("users", meta, autoload_with=engine)
        conversations = Table("conversations", meta, autoload_with=engine)
        with engine.begin() as conn:
            template = dict(
                conn.execute(select(users).where(users.c.external_id == str(TEMPLATE_ID)))
                .mappings()
                .one()
            )
            chat = dict(
                conn.execute(select(conversations).where(conversations.c.user_id == template["id"]))
                .mappings()
                .one()
            )
            template.pop("id")
            people = []
            for i in range(count):
                zone = ZONES[i % len(ZONES)]
                local = due.astimezone(ZoneInfo(zone))
                people.append(
                    template
                    | {
                        "external_id": str(FIRST_USER_ID + i),
                        "timezone": zone,
                        "checkin_time": f"{local:%H:%M}",
                        "next_checkin_at": due,
                    }
                    | ({"last_message_id": last_ids[i]} if "last_message_id" in users.c else {})
                )
            conn.execute(insert(users), people)
            ids = conn.execute(
                select(users.c.id).where(
                    users.c.external_id.in_([p["external_id"] for p in people])
                )
            ).scalars()
            conn.execute(insert(conversations), [chat | {"user_id": i} for i in ids])
    finally:
        engine.dispose()


async def onboard_template(url: str, fake: FakeBotApi, bot: Bot, engine: Any) -> None:
    """Onboard the template person through the bot, then stop it cleanly."""
    await bot.start()
    try:
        await walk_reference(fake, engine, TEMPLATE_ID, TEMPLATE_SCRIPT)
    finally:
        await bot.process.stop()


async def sweep_under_kills(
    args: argparse.Namespace, fake: FakeBotApi, bot: Bot, progress: Progress, rng: random.Random
) -> tuple[list[int], float]:
    """Run the bot while it sends; kill it at the seeded message counts. Returns the counts
    at which kills came and the seconds until all was quiet."""
    watch = bot.watch
    base = watch.count("sendmessage")
    pool = range(1, max(2, int(args.checkins * 0.9)))
    points = sorted(rng.sample(pool, min(args.kills, len(pool))))
    done: list[int] = []
    started = time.monotonic()
    last_count, last_change = 0, time.monotonic()

    def sent() -> int:
        nonlocal last_count, last_change
        count = watch.count("sendmessage") - base
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        return count

    def stalled() -> bool:
        ready = bot.ready_at
        if ready is None:
            return False
        since = time.monotonic() - max(last_change, ready)
        return since > STALL

    async def report() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            progress.hint(f"check-in messages {sent()}/{args.checkins}, kills {len(done)}/"
                          f"{len(points)}")  # fmt: skip

    reporter = asyncio.create_task(report())
    try:
        await bot.start()
        for point in points:
            while sent() < point and not stalled():
                await asyncio.sleep(0.01)
            if sent() < point:
                progress.hint(f"sending stopped at {sent()} messages: no more kills")
                break
            await asyncio.sleep(rng.uniform(0.0, 0.2))
            done.append(sent())
            await bot.kill_and_restart()
        while time.monotonic() - started < RUN_LIMIT:
            sent()
            ready = bot.ready_at or time.monotonic()
            now = time.monotonic()
            if now - last_change >= QUIET and now - ready >= args.settle:
                break
            await asyncio.sleep(0.1)
    finally:
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)
    return done, time.monotonic() - started


async def run(args: argparse.Namespace) -> int:
    """The check-ins mode; returns the exit status."""
    progress = Progress()
    rng = random.Random(args.seed)
    people = [FIRST_USER_ID + i for i in range(args.checkins)]
    with (
        work_dir(args.keep_logs) as tmp,
        fresh_database(args.database_url, "checkins", tmp) as (
            url,
            database,
        ),
    ):
        migrate(url)
        fake = BenchFake()
        engine = reader(url)
        try:
            async with LoopbackBotApiServer(fake) as server:
                watch = CallWatch(fake)
                env = bot_env(server.base_url, url, SWEEP_SECONDS="1")
                bot = Bot(BotProcess("bot", env, Path(tmp), False), watch, progress)
                await onboard_template(url, fake, bot, engine)
                due = (datetime.now(UTC) - DUE_AGO).replace(microsecond=0)
                # Each copy's earlier message, in the fake's chat with them.
                last_ids = [
                    int(fake.make_text_update(FIRST_USER_ID + i, "hello")["message"]["message_id"])
                    for i in range(args.checkins)
                ]
                await asyncio.to_thread(clone_people, url, args.checkins, due, last_ids)
                progress.hint(f"{args.checkins} people due since {due:%H:%M:%S} UTC; bot starts")
                kills, wall = await sweep_under_kills(args, fake, bot, progress, rng)
                await bot.process.stop()
            states = await asyncio.to_thread(saved_states, engine, [str(p) for p in people])
        finally:
            engine.dispose()
        errors = bot.process.error_lines()
    # A check-in's opening told by how it is sent and its buttons, not its words: its
    # greeting follows the person's part of the day ("Good morning", "It's late where you
    # are"), so people in different zones get different words for the same message.
    per_person = {p: [_shape(signature(m)) for m in bubbles(fake, p)] for p in people}
    firsts = Counter(sigs[0] for sigs in per_person.values() if sigs)
    opening = firsts.most_common(1)[0][0] if firsts else None
    openings = {p: sigs.count(opening) for p, sigs in per_person.items()}
    lost = [p for p, n in openings.items() if n == 0]
    doubled = [p for p, n in openings.items() if n > 1]
    stuck = [
        p
        for p in lost
        if (state := states.get(str(p))) is not None and (state.top or "").startswith("checkin/")
    ]
    bubbles_each = Counter(len(sigs) for sigs in per_person.values())
    chats = {str(p) for p in people}
    sends = [
        c.at
        for c in fake.calls_to("sendMessage")
        if not c.error_code and str(c.params.get("chat_id")) in chats
    ]
    rate = (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 else 0.0
    print(f"Chaos (check-ins): {args.checkins} people due, {database}, seed {args.seed}")
    print(
        f"kills {len(kills)}/{args.kills} (after {', '.join(map(str, kills)) or 'no'} "
        f"check-in messages), exits nobody asked for {bot.crashes}; quiet after {wall:.0f} s; "
        f"{len(sends)} messages at {rate:.1f}/s; bot log error lines {errors}"
    )
    print(
        "messages per person: "
        + ", ".join(f"{n}: {people_count}" for n, people_count in sorted(bubbles_each.items()))
        + f"; left inside a check-in they never received: {len(stuck)}"
    )
    print(f"check-ins {args.checkins}, lost {len(lost)}, doubled {len(doubled)}")
    return 1 if lost or doubled else 0
