"""bench/chaos.py --replicas R: webhook replicas on one PostgreSQL, each person's burst at once.

See bench/chaos.py for what is measured and the definitions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.chaos_common import (
    BOT_START_TIMEOUT,
    BotProcess,
    Progress,
    Signature,
    bot_env,
    bubbles,
    fresh_database,
    message_with_data,
    migrate,
    reader,
    saved_states,
    short,
    signature,
    work_dir,
)
from bench.chaos_scripts import ONBOARDING, Action, RefStep, walk_reference
from tests.fakebot import FakeBotApi, LoopbackBotApiServer

REFERENCE_ID = 449_000_001
FIRST_USER_ID = 440_000_001
WEBHOOK_URL = "https://example.invalid/telegram"
WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SETUP: list[Action] = [
    *ONBOARDING,
    ("text", "Lisbon"),
    ("tap", "8:00"),
    ("tap", "Skip for now"),  # the loneliness measure offered at the end of onboarding
    ("tap", "Maybe later"),
    ("text", "/reframe"),
    ("text", "nobody wants to hear from me"),
    ("tap", "75"),
    ("tap", "Lonely"),
]
# At the evidence step: two pieces for the thought, "Done" (typed, as the button's label), two
# against. Processed out of order, a piece lands under the wrong question or in another place.
BURST = [
    "Sam did not answer my message",
    "Nobody called on my birthday",
    "Done",
    "Mia asked me to lunch last week",
    "My sister phoned on Sunday",
]
EVIDENCE = [text for text in BURST if text != "Done"]
SETUP_STEP_LIMIT = 60.0
SETUP_AT_ONCE = 50  # people walking to the evidence step at the same time
BURSTS_AT_ONCE = 25  # people whose bursts are posted at the same moment
POST_LIMIT = 120.0  # seconds a message may go unaccepted before the bench gives up on it
REPLY_LIMIT = 120.0
QUIET = 10.0
EXAMPLES = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Poster:
    """Telegram's side of the webhook: POST each update until a replica answers 200."""

    client: httpx.AsyncClient
    ports: list[int]
    secret: str
    refused: Counter[str] = field(default_factory=Counter)  # answers other than 200, by kind
    reposts: int = 0
    never: int = 0  # updates no replica accepted within POST_LIMIT

    async def post(self, update: dict[str, Any], replica: int) -> bool:
        body = json.dumps(update)
        headers = {SECRET_HEADER: self.secret, "Content-Type": "application/json"}
        delay, deadline = 0.25, time.monotonic() + POST_LIMIT
        while True:
            url = f"http://127.0.0.1:{self.ports[replica]}{WEBHOOK_PATH}"
            try:
                answer = await self.client.post(url, content=body, headers=headers)
                if answer.status_code == 200:
                    return True
                self.refused[str(answer.status_code)] += 1
            except httpx.HTTPError as error:
                self.refused[type(error).__name__] += 1
            if time.monotonic() > deadline:
                self.never += 1
                return False
            # Telegram tries again later; behind a load balancer, maybe another replica.
            self.reposts += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            replica = (replica + 1) % len(self.ports)

    def deliver_to(self, fake: FakeBotApi, replica: list[int]) -> Any:
        """A `deliver` for walk_reference: each update to the next replica in turn."""

        async def deliver(update: dict[str, Any]) -> None:
            fake.note_incoming(update)
            replica[0] = (replica[0] + 1) % len(self.ports)
            await self.post(update, replica[0])

        return deliver


async def wait_healthy(client: httpx.AsyncClient, bot: BotProcess, port: int) -> None:
    deadline = time.monotonic() + BOT_START_TIMEOUT
    while True:
        try:
            answer = await client.get(f"http://127.0.0.1:{port}/health")
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if (why := bot.exited_early()) is not None:
            raise RuntimeError(why)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{bot.name} never became healthy:\n{bot.log_tail()}")
        await asyncio.sleep(0.2)


async def walk_counted(
    fake: FakeBotApi, user_id: int, steps: list[RefStep], deliver: Any
) -> str | None:
    """Walk the reference's steps, each time waiting for as many replies as it had.
    Returns a problem, or None."""
    for step in steps:
        baseline = len(fake.history(user_id))
        kind, value = step.action
        if kind == "text":
            update = fake.make_text_update(user_id, value)
        else:
            assert step.data is not None
            message_id = message_with_data(fake, user_id, step.data)
            update = fake.make_callback_update(user_id, step.data, message_id)
        await deliver(update)

        def answered(b: int = baseline, want: int = len(step.sigs)) -> bool:
            return len(bubbles(fake, user_id, b)) >= want

        if not await fake.wait_for(user_id, answered, SETUP_STEP_LIMIT):
            return f"no reply to {kind} {value!r}"
    return None


@dataclass
class Burst:
    user_id: int
    baseline: int  # history length before the burst
    accepted: bool = True


async def post_burst(fake: FakeBotApi, poster: Poster, user_id: int, rng: random.Random) -> Burst:
    """The person's five messages, increasing update_id, consecutive ones to different
    replicas, all posted at the same moment."""
    burst = Burst(user_id, len(fake.history(user_id)))
    updates = [fake.make_text_update(user_id, text) for text in BURST]
    for update in updates:
        fake.note_incoming(update)
    first = rng.randrange(len(poster.ports))
    results = await asyncio.gather(
        *(poster.post(u, (first + k) % len(poster.ports)) for k, u in enumerate(updates))
    )
    burst.accepted = all(results)
    return burst


async def run(args: argparse.Namespace) -> int:
    """The replicas mode; returns the exit status."""
    progress = Progress()
    rng = random.Random(args.seed)
    people = [FIRST_USER_ID + i for i in range(args.people)]
    with (
        work_dir(args.keep_logs) as tmp,
        fresh_database(args.database_url, "replicas", tmp) as (
            url,
            database,
        ),
    ):
        migrate(url)  # once, before the replicas start: two at once would race on DDL
        fake = FakeBotApi()
        engine = reader(url)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
        try:
            async with (
                LoopbackBotApiServer(fake) as server,
                httpx.AsyncClient(timeout=30.0, limits=limits) as client,
            ):
                secret = secrets.token_urlsafe(24)
                ports = [free_port() for _ in range(args.replicas)]
                replicas = [
                    BotProcess(
                        f"replica-{n + 1}",
                        bot_env(server.base_url, url, PORT=str(port), WEBHOOK_URL=WEBHOOK_URL,
                                WEBHOOK_SECRET=secret),
                        Path(tmp),
                        True,
                    )
                    for n, port in enumerate(ports)
                ]  # fmt: skip
                try:
                    for bot in replicas:
                        await bot.spawn()
                    await asyncio.gather(
                        *(wait_healthy(client, b, p) for b, p in zip(replicas, ports, strict=True))
                    )
                    poster = Poster(client, ports, secret)
                    result = await measure(args, fake, poster, engine, people, rng, progress)
                finally:
                    for bot in replicas:
                        await bot.stop()
            states = await asyncio.to_thread(
                saved_states, engine, [str(p) for p in [REFERENCE_ID, *people]]
            )
        finally:
            engine.dispose()
        errors = sum(bot.error_lines() for bot in replicas)
    return report(args, database, fake, poster, result, states, errors)


@dataclass
class Measured:
    reference: list[Signature]  # the burst's replies, sent one message at a time
    bursts: list[Burst]
    setup_failed: dict[int, str]
    wall: float


async def measure(
    args: argparse.Namespace,
    fake: FakeBotApi,
    poster: Poster,
    engine: Any,
    people: list[int],
    rng: random.Random,
    progress: Progress,
) -> Measured:
    turn = [0]
    deliver = poster.deliver_to(fake, turn)
    steps = await walk_reference(fake, engine, REFERENCE_ID, SETUP, deliver)
    baseline = len(fake.history(REFERENCE_ID))
    await walk_reference(fake, engine, REFERENCE_ID, [("text", t) for t in BURST], deliver)
    reference = [signature(m) for m in bubbles(fake, REFERENCE_ID, baseline)]
    progress.hint(f"reference person walked ({len(steps)} steps, burst one at a time)")

    gate = asyncio.Semaphore(SETUP_AT_ONCE)
    failed: dict[int, str] = {}

    async def setup(user_id: int) -> None:
        async with gate:
            problem = await walk_counted(fake, user_id, steps, poster.deliver_to(fake, [user_id]))
            if problem:
                failed[user_id] = problem

    await asyncio.gather(*(setup(p) for p in people))
    progress.hint(f"{len(people) - len(failed)} people at the evidence step; bursts now")

    burst_gate = asyncio.Semaphore(BURSTS_AT_ONCE)
    started = time.monotonic()

    async def one(user_id: int) -> Burst:
        async with burst_gate:
            return await post_burst(fake, poster, user_id, rng)

    bursts = await asyncio.gather(*(one(p) for p in people if p not in failed))
    want = len(reference)
    deadline = time.monotonic() + REPLY_LIMIT
    last_total, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        got = [len(bubbles(fake, b.user_id, b.baseline)) for b in bursts]
        if all(n >= want for n in got):
            break
        if sum(got) != last_total:
            last_total, last_change = sum(got), time.monotonic()
        elif time.monotonic() - last_change > QUIET:
            break
        await asyncio.sleep(0.2)
    return Measured(reference, list(bursts), failed, time.monotonic() - started)


def report(
    args: argparse.Namespace,
    database: str,
    fake: FakeBotApi,
    poster: Poster,
    measured: Measured,
    states: dict[str, Any],
    errors: int,
) -> int:
    expected = states.get(str(REFERENCE_ID))
    if expected is None:
        raise RuntimeError("the reference person has no saved state")
    by_state, by_replies, kept_wrong = [], [], []
    examples: list[str] = []
    for burst in measured.bursts:
        state = states.get(str(burst.user_id))
        replies = [signature(m) for m in bubbles(fake, burst.user_id, burst.baseline)]
        stack = state.stack if state else ""
        counts = [stack.count(json.dumps(text, ensure_ascii=False)) for text in EVIDENCE]
        if any(n != 1 for n in counts):
            kept_wrong.append(burst.user_id)
            if len(examples) < EXAMPLES:
                examples.append(f"user {burst.user_id}: evidence kept {counts} times")
            continue
        wrong_state = state is None or stack != expected.stack
        wrong_replies = replies != measured.reference
        if wrong_state:
            by_state.append(burst.user_id)
        if wrong_replies:
            by_replies.append(burst.user_id)
        if (wrong_state or wrong_replies) and len(examples) < EXAMPLES:
            examples.append(
                f"user {burst.user_id}: replies {' | '.join(short(s, 12) for s in replies)} "
                f"(one at a time: {' | '.join(short(s, 12) for s in measured.reference)})"
            )
    out_of_order = sorted(set(by_state) | set(by_replies))
    refused = ", ".join(f"{k} x{n}" for k, n in poster.refused.items()) or "none"
    print(
        f"Chaos (webhook replicas): {args.replicas} replicas, {len(measured.bursts)} people "
        f"with a burst of {len(BURST)} at once, {database}, seed {args.seed}"
    )
    print(
        f"posts answered other than 200: {refused}; re-posted {poster.reposts}, never "
        f"accepted {poster.never}; setup failed for {len(measured.setup_failed)}; replies "
        f"done {measured.wall:.0f} s after the bursts; replica log error lines {errors}"
    )
    print(
        f"out of order by saved evidence (reframe stack vs one at a time) {len(by_state)}, "
        f"by reply order {len(by_replies)}; evidence lost or kept twice {len(kept_wrong)}"
    )
    for example in examples:
        print(f"  e.g. {example}")
    for user_id, problem in list(measured.setup_failed.items())[:EXAMPLES]:
        print(f"  setup failed: user {user_id}: {problem}")
    print(
        f"out of order {len(out_of_order)} (of {len(measured.bursts)} bursts; checked from the "
        f"saved reframe evidence and the order of the replies)"
    )
    failed = out_of_order or kept_wrong or measured.setup_failed or poster.never
    return 1 if failed else 0
