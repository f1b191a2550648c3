"""bench/chaos.py: the people's scripts, and the reference run that says what each step gets.

The reference plays every script with a few people against a bot on a fresh database, no
kills, waiting for quiet after each step; its replies, turn counts and final states are what
the chaos runs are compared with.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.chaos_common import (
    BenchFake,
    BotProcess,
    CallWatch,
    Progress,
    SavedState,
    Signature,
    bot_env,
    bubbles,
    find_button,
    fresh_database,
    migrate,
    reader,
    saved_states,
    settle,
    short,
    signature,
    version_of,
    wait_polling,
)
from tests.fakebot import FakeBotApi, LoopbackBotApiServer

FIRST_REFERENCE_ID = 669_000_001  # the reference run's people (a database of their own)
REFERENCE_COPIES = 2  # people per script in the reference run; they must agree
REFERENCE_QUIET = 0.5  # seconds without bot activity that end a reference step
REFERENCE_STEP_LIMIT = 15.0

Kind = Literal["text", "tap"]
Action = tuple[Kind, str]
Deliver = Callable[[dict[str, Any]], Awaitable[None]]

# --- the scripts ----------------------------------------------------------------------------------

ONBOARDING: list[Action] = [
    ("text", "/start"),
    ("tap", "Tell me more"),
    ("tap", "Okay, got it"),
    ("tap", "Yes, keep my answers"),
]
ZONES: list[Action] = [("text", "Lisbon"), ("tap", "Berlin / Paris / Rome")]
TIMES: list[Action] = [("tap", "8:00"), ("text", "7:30")]
DIALOGS: dict[str, list[Action]] = {
    "needs": [
        ("tap", "Skip for now"),  # the loneliness measure offered at the end of onboarding
        ("tap", "Maybe later"),
        ("text", "/needs"),
        ("tap", "Let's map it"),
        ("tap", "Mornings"),
        ("tap", "Weekends"),
        ("tap", "Done"),
        ("tap", "1"),
        ("tap", "3"),
        ("tap", "4"),
        ("tap", "1"),
        ("tap", "2"),
        ("tap", "0"),
        ("tap", "3"),
        ("tap", "Deepen one bond"),
        ("tap", "Message one old friend"),
        ("text", "/menu"),
    ],
    "reframe": [  # typed answers where the order matters: evidence for, then against
        ("tap", "Skip for now"),  # the loneliness measure offered at the end of onboarding
        ("tap", "Maybe later"),
        ("text", "/reframe"),
        ("text", "nobody wants to hear from me"),
        ("tap", "75"),
        ("tap", "Lonely"),
        ("text", "Sam didn't answer my message"),
        ("tap", "Done"),
        ("text", "Mia asked me to lunch last week"),
        ("tap", "Another question"),
        ("text", "Sam may just be busy this week"),
        ("tap", "Done"),
        ("text", "Some people are busy, and some are glad to hear from me"),
        ("tap", "25"),
        ("tap", "Not today"),
        ("text", "/menu"),
    ],
    "contacts": [  # adding two people to the reach-out list straight from onboarding
        ("tap", "Skip for now"),  # the loneliness measure offered at the end of onboarding
        ("tap", "Add someone now"),
        ("text", "Anna"),
        ("tap", "Telegram username"),
        ("text", "@anna_k"),
        ("text", "good listener, mornings"),
        ("tap", "Add someone else"),
        ("text", "Ben"),
        ("tap", "Phone number"),
        ("text", "+44 7700 900123"),
        ("tap", "Skip"),
        ("tap", "See my list"),
        ("tap", "Done"),
        ("text", "/menu"),
    ],
}
SCRIPT_COUNT = len(DIALOGS) * len(ZONES)


def script(index: int) -> tuple[str, list[Action]]:
    """(name, actions) of script `index` (0 <= index < SCRIPT_COUNT): onboarding with one of
    the zone/time answers, then one of the dialogs, ending at /menu."""
    dialog = list(DIALOGS)[index % len(DIALOGS)]
    variant = (index // len(DIALOGS)) % len(ZONES)
    actions = ONBOARDING + [ZONES[variant], TIMES[variant]] + DIALOGS[dialog]
    return f"{dialog}/{variant}", actions


# --- the reference: the same scripts, a few people, no kills -----------------------------------


@dataclass
class RefStep:
    action: Action
    data: str | None  # the callback data tapped
    sigs: list[Signature]  # the replies, in order of arrival
    delta: int  # turns the step saved (conversations.version went up by this)


@dataclass
class Reference:
    name: str
    steps: list[RefStep]
    final: SavedState
    earlier: list[set[Signature]] = field(default_factory=list)  # replies of steps before i

    def __post_init__(self) -> None:
        seen: set[Signature] = set()
        for step in self.steps:
            self.earlier.append(set(seen))
            seen.update(step.sigs)


async def walk_reference(
    fake: FakeBotApi,
    engine: Any,
    user_id: int,
    actions: list[Action],
    deliver: Deliver | None = None,
) -> list[RefStep]:
    """Play one script as a careful person: each step, wait until the bot has gone quiet.

    `deliver` hands an update to the bot (default: queue it for getUpdates).
    """
    deliver = deliver or _queue(fake)
    steps: list[RefStep] = []
    version = 0
    for kind, value in actions:
        baseline = len(fake.history(user_id))
        data = None
        if kind == "text":
            update = fake.make_text_update(user_id, value)
        else:
            data, message_id = find_button(fake, user_id, value)
            update = fake.make_callback_update(user_id, data, message_id)
        sent_at = time.monotonic()
        await deliver(update)
        got = await fake.wait_for(
            user_id, lambda b=baseline: bool(bubbles(fake, user_id, b)), REFERENCE_STEP_LIMIT
        )
        if got:
            # The busier the bot, the longer the gaps between one turn's replies: wait for
            # quiet twice as long as the first reply took (at least REFERENCE_QUIET).
            quiet = min(5.0, max(REFERENCE_QUIET, 2 * (time.monotonic() - sent_at)))
            await settle(fake, user_id, quiet, REFERENCE_STEP_LIMIT)
        now = await asyncio.to_thread(version_of, engine, str(user_id))
        sigs = [signature(m) for m in bubbles(fake, user_id, baseline)]
        if not sigs:
            raise RuntimeError(f"reference: no reply to {kind} {value!r} (user {user_id})")
        steps.append(RefStep((kind, value), data, sigs, now - version))
        version = now
    return steps


async def learn_references(
    args: argparse.Namespace, tmp: Path, progress: Progress
) -> list[Reference]:
    """Run every script REFERENCE_COPIES times against a bot on a fresh database, no kills;
    the copies must agree step by step (else the comparison would be meaningless)."""
    with fresh_database(args.database_url, "ref", tmp) as (url, _):
        migrate(url)
        fake = BenchFake()
        engine = reader(url)
        try:
            async with LoopbackBotApiServer(fake) as server:
                bot = BotProcess("reference-bot", bot_env(server.base_url, url), tmp, False)
                watch = CallWatch(fake)
                await bot.spawn()
                try:
                    await wait_polling(watch, bot, 0)
                    jobs = [
                        walk_reference(
                            fake,
                            engine,
                            FIRST_REFERENCE_ID + copy * SCRIPT_COUNT + index,
                            script(index)[1],
                        )
                        for copy in range(REFERENCE_COPIES)
                        for index in range(SCRIPT_COUNT)
                    ]
                    walked = await asyncio.gather(*jobs)
                finally:
                    await bot.stop()
            ids = [str(FIRST_REFERENCE_ID + i) for i in range(len(walked))]
            finals = await asyncio.to_thread(saved_states, engine, ids)
        finally:
            engine.dispose()
    references = []
    for index in range(SCRIPT_COUNT):
        name = script(index)[0]
        copies = [(walked[c * SCRIPT_COUNT + index], ids[c * SCRIPT_COUNT + index]) for c in
                  range(REFERENCE_COPIES)]  # fmt: skip
        first_steps, first_id = copies[0]
        for steps, ext in copies[1:]:
            for a, b in zip(first_steps, steps, strict=True):
                if (a.sigs, a.delta, a.data) != (b.sigs, b.delta, b.data):
                    raise RuntimeError(
                        f"reference {name}: two runs differ at {a.action}: "
                        f"{[short(s) for s in a.sigs]} / {[short(s) for s in b.sigs]}"
                    )
            if comparable(finals[ext]) != comparable(finals[first_id]):
                raise RuntimeError(f"reference {name}: two runs end in different states")
        references.append(Reference(name, first_steps, finals[first_id]))
    progress.hint(
        f"reference: {SCRIPT_COUNT} scripts x {REFERENCE_COPIES} people agree "
        f"({sum(len(r.steps) for r in references)} steps)"
    )
    return references


def _queue(fake: FakeBotApi) -> Deliver:
    async def deliver(update: dict[str, Any]) -> None:
        fake.push_update(update)

    return deliver


def comparable(state: SavedState) -> tuple[str, str, str]:
    return state.stack, state.records, state.profile
