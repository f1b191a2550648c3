"""The simulated users of bench/turns.py: their scripts, and the closed and open loops that
play them against the fake Bot API (tests.fakebot) living in the bench's own process.

A turn's latency runs from the moment it was due (closed loop: when the user queued it; open
loop: its scheduled start, even if the user was still waiting for its previous turn) to the
arrival of the turn's last reply.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

from bench.turns_bots import ECHO_BUTTON, FIRST_USER_ID, cpu_seconds
from tests.fakebot import FakeBotApi, SentMessage
from tests.fakebot.transcript import render

# Time zones: typed cities and offsets and tapped zone buttons, cycled over the users.
ZONE_STEPS: list[tuple[Literal["text", "tap"], str]] = [
    ("text", "UTC+2"),
    ("tap", "London / Dublin"),
    ("text", "Berlin"),
    ("tap", "India"),
    ("text", "UTC-5"),
    ("tap", "Sydney / Melbourne"),
    ("text", "Tokyo"),
    ("tap", "New York / Toronto"),
]
CHECKIN_STEPS: list[tuple[Literal["text", "tap"], str]] = [
    ("text", "8:15"),
    ("tap", "7:30"),
    ("text", "06:45"),
    ("tap", "9:00"),
    ("tap", "No check-ins"),
]


@dataclass(frozen=True)
class Step:
    """One turn: what the user does, how many messages the bot sends or edits for it, and a
    button label that the bot's newest buttoned message must carry afterwards (proof it moved
    on; None: nothing to check, e.g. a dialog's last words have no buttons)."""

    kind: Literal["text", "tap"]
    value: str  # the text typed, or the label of the inline button tapped
    expect: int
    then: str | None


def bridges_script(index: int) -> list[Step]:
    """The onboarding, with the messages each step sends: consent adds the share-location
    keyboard, the zone step the check-in question, the check-in step the offer of the
    loneliness measure, "Skip for now" the invitation to add a person, and "Maybe later"
    the main menu."""
    zone_kind, zone = ZONE_STEPS[index % len(ZONE_STEPS)]
    time_kind, checkin = CHECKIN_STEPS[index % len(CHECKIN_STEPS)]
    return [
        Step("text", "/start", 1, "Tell me more"),
        Step("tap", "Tell me more", 1, "Okay, got it"),
        Step("tap", "Okay, got it", 1, "Yes, keep my answers"),
        Step("tap", "Yes, keep my answers", 2, "London / Dublin"),
        Step(zone_kind, zone, 2, "7:30"),
        Step(time_kind, checkin, 2, "Skip for now"),
        Step("tap", "Skip for now", 1, "Maybe later"),
        Step("tap", "Maybe later", 1, "Close menu"),
    ]


def daily_script(index: int) -> list[Step]:
    """What an onboarded person does on an ordinary day, for --history: the morning check-in
    (mood, then "how connected"; both write the mood record and read the mood history and the
    check-in log), then /menu, their wins (which sorts every win) and closing them. Moods
    alternate between the middle (an idea for today) and a good day (note a win)."""
    middle = index % 2 == 0
    checkin = [
        Step("text", "/checkin", 1, "3"),
        Step("tap", "3" if middle else "5", 1, "Skip"),
    ]
    if middle:
        checkin += [
            Step("tap", "3", 1, "I'll give it a go"),
            Step("tap", "I'll give it a go", 1, None),
        ]
    else:
        checkin += [
            Step("tap", "4", 1, "Skip"),
            Step("text", "I had coffee with a colleague", 1, None),
        ]
    return [
        *checkin,
        Step("text", "/menu", 1, "🏅 My wins"),
        Step("tap", "🏅 My wins", 1, "Close"),
        Step("tap", "Close", 1, None),
    ]


def echo_script(script: list[Step]) -> list[Step]:
    """The same turns (same kinds, same count) as the echo bot answers them: one message each."""
    return [
        Step(s.kind, s.value if s.kind == "text" else ECHO_BUTTON, 1, ECHO_BUTTON) for s in script
    ]


class TimedFake(FakeBotApi):
    """The fake, noting when the first getUpdates arrived (the bot's start-up ends there:
    the call is logged in `calls` only when a long poll answers, which is later)."""

    first_poll_at: float | None = None  # time.monotonic()

    async def handle_async(
        self, method: str, params: Any = None, files: Any = None, abort: Any = None
    ) -> Any:
        if self.first_poll_at is None and method.lower() == "getupdates":
            self.first_poll_at = time.monotonic()
        return await super().handle_async(method, params, files, abort)


class TurnError(Exception):
    """A turn that timed out or ended somewhere unexpected; carries the chat's transcript."""


@dataclass(frozen=True)
class TurnMark:
    """When a turn's update was queued (time.monotonic, the clock of the fake's Call.at) and
    its callback query id, if a tap: what bench/turns_replay.py needs to tell calls apart."""

    pushed_at: float
    query_id: str | None


class SimUser:
    """One simulated user in a private chat; plays Steps and times each turn."""

    def __init__(self, fake: FakeBotApi, user_id: int, timeout: float) -> None:
        self.fake = fake
        self.user_id = user_id
        self.timeout = timeout
        self.marks: list[TurnMark] = []

    async def play(self, step: Step, due: float | None = None) -> float:
        """Queue the update, wait for the turn's last reply; returns the latency in seconds
        from `due` (a time.perf_counter() value; default: now)."""
        update = self._update_for(step)
        baseline = len(self.fake.history(self.user_id))
        started = time.perf_counter()
        query = update.get("callback_query")
        self.marks.append(TurnMark(time.monotonic(), str(query["id"]) if query else None))
        self.fake.push_update(update)
        done = await self.fake.wait_for(
            self.user_id, lambda: self._sent_since(baseline) >= step.expect, self.timeout
        )
        latency = time.perf_counter() - (started if due is None else min(due, started))
        if not done:
            got = self._sent_since(baseline)
            self._fail(f"timed out after {self.timeout:.0f}s ({got}/{step.expect} messages)", step)
        if step.then is not None and step.then not in self._latest_buttoned().button_labels:
            self._fail(f"no {step.then!r} button afterwards", step)
        return latency

    def _update_for(self, step: Step) -> dict[str, Any]:
        if step.kind == "text":
            return self.fake.make_text_update(self.user_id, step.value)
        message = self._latest_buttoned()
        for row in message.buttons:
            for button in row:
                if button.text == step.value and button.callback_data is not None:
                    return self.fake.make_callback_update(
                        self.user_id, button.callback_data, message.message_id
                    )
        self._fail(f"no button {step.value!r} to tap", step)

    def _sent_since(self, baseline: int) -> int:
        entries = self.fake.history(self.user_id, since=baseline)
        return sum(isinstance(e, SentMessage) for e in entries)

    def _latest_buttoned(self) -> SentMessage:
        for message in reversed(self.fake.messages(self.user_id)):
            if message.buttons:
                return message
        self._fail("the bot has sent no inline buttons", None)

    def _fail(self, problem: str, step: Step | None) -> NoReturn:
        where = f" at {step.kind} {step.value!r}" if step else ""
        transcript = render(self.fake.history(self.user_id))
        raise TurnError(f"user {self.user_id}{where}: {problem}\n{transcript}")


@dataclass
class Load:
    latencies: list[float]
    wall: float  # closed loop: first push to last reply; open loop: first due to last reply
    harness_cpu: float  # CPU seconds this process (fake + users) spent, to spot a harness limit
    failures: list[str]
    marks: dict[int, list[TurnMark]] = field(default_factory=dict)  # per chat
    late: int = 0  # open loop: turns started late because the user still awaited a reply
    attempted: int = 0  # turns queued, failed ones included (the bot worked on those too)


def arrival_offsets(turns: int, rate: float, seed: int = 15) -> list[float]:
    """Seconds from the start at which each of `turns` turns is due: a Poisson process
    (exponential gaps, seeded so every run offers the same load), its gaps scaled so that this
    draw's mean rate is exactly `rate` turns/s."""
    draw = random.Random(seed)
    gaps = [draw.expovariate(rate) for _ in range(turns)]
    scale = turns / rate / sum(gaps)  # the last gap closes the span: turns / rate seconds
    at, offsets = 0.0, []
    for gap in gaps:
        offsets.append(at)
        at += gap * scale
    return offsets


async def drive(
    fake: FakeBotApi,
    scripts: list[list[Step]],
    concurrency: int,
    timeout: float,
    rate: float | None = None,
    first_user: int = FIRST_USER_ID,
) -> Load:
    """Play every user's script (users first_user, first_user + 1...), each turn after turn.
    Closed loop (rate None): at most `concurrency` users at once, each next turn as soon as the
    last reply came. Open loop: turns due at `rate` per second (arrival_offsets), dealt to the
    users round robin, a user still one turn at a time (a turn due while its user waits starts
    late, timed from due)."""
    gate = asyncio.Semaphore(concurrency if rate is None else len(scripts))
    latencies: list[float] = []
    failures: list[str] = []
    users = [SimUser(fake, first_user + i, timeout) for i in range(len(scripts))]
    total = sum(len(s) for s in scripts)
    offsets = arrival_offsets(total, rate) if rate else []
    late = attempted = 0
    start = time.perf_counter() + 0.05  # open loop: every user is waiting before the first

    async def one(index: int, script: list[Step]) -> None:
        nonlocal late, attempted
        user = users[index]
        async with gate:
            for turn, step in enumerate(script):
                due = None
                if rate:
                    due = start + offsets[turn * len(scripts) + index]
                    wait = due - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    elif wait < -0.001:
                        late += 1
                attempted += 1
                try:
                    latencies.append(await user.play(step, due))
                except TurnError as error:
                    failures.append(str(error))
                    return  # the rest of this user's script would only fail the same way

    cpu, started = cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(one(i, s) for i, s in enumerate(scripts)))
    wall = time.perf_counter() - (start if rate else started)
    marks = {user.user_id: user.marks for user in users}
    return Load(latencies, wall, cpu_seconds() - cpu, failures, marks, late, attempted)


def wrong_totals(fake: FakeBotApi, scripts: list[list[Step]]) -> list[str]:
    """Chats where the bot sent more or fewer messages than the script accounts for (checked
    after the bot has stopped, so stray late replies are caught too). Edits count in a step's
    `expect` but make no new message, so this only holds for scripts without edits."""
    wrong = []
    for index, script in enumerate(scripts):
        chat_id = FIRST_USER_ID + index
        sent = len(fake.messages(chat_id, include_deleted=True))
        wanted = sum(step.expect for step in script)
        if sent != wanted:
            wrong.append(f"user {chat_id}: {sent} bot messages in all, {wanted} expected")
    return wrong


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 is a turn that really happened)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan
