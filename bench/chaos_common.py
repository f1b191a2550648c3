"""Shared parts of bench/chaos.py: bot subprocesses, the fake's bookkeeping, databases, replies.

The bot under test only ever runs as `python -m bot.cli run` subprocesses (the code in the
tree this file lives in), reached over real HTTP: a black box. The bench imports none of it
except storage.migrate (to create the tables before any bot starts) and reads the database
directly with SQLAlchemy Core and plain SQL, whatever the bot's own table models look like.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `tests.fakebot` importable
    sys.path.insert(0, str(ROOT))

from bench.scratch_db import scratch_schema  # noqa: E402
from tests.fakebot import FAKE_TOKEN, FakeBotApi, SentMessage  # noqa: E402
from tests.fakebot.params import decode_params  # noqa: E402

BOT_START_TIMEOUT = 90.0  # seconds; the bot imports, migrates and builds its city index first
BOT_STOP_TIMEOUT = 20.0
LOG_TAIL_LINES = 15


# --- progress -----------------------------------------------------------------------------------


class Progress:
    """Progress hints on stderr, so stdout's last line is always the summary."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def hint(self, message: str) -> None:
        print(f"[{self.elapsed():5.0f}s] {message}", file=sys.stderr, flush=True)


# --- the bot subprocesses -----------------------------------------------------------------------


class BotProcess:
    """One `python -m bot.cli run [--webhook]` child, configured by environment only.

    Its stdout and stderr go to a log file of its own (the bot's logs hold no personal text);
    the working directory is a scratch directory, so no .env file is picked up.
    """

    def __init__(self, name: str, env: dict[str, str], workdir: Path, webhook: bool) -> None:
        self.name = name
        self.env = env
        self.workdir = workdir
        self.webhook = webhook
        self.log_path = workdir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def spawn(self) -> None:
        """Start a new generation of the process (the previous one must be gone)."""
        assert not self.alive, "spawn() while the previous process still runs"
        command = [sys.executable, "-m", "bot.cli", "run"] + (["--webhook"] if self.webhook else [])
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts + 1} ---\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                *command,
                env=self.env,
                cwd=self.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a crash or an OOM kill."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> None:
        """SIGTERM and wait for a clean exit (SIGKILL after BOT_STOP_TIMEOUT)."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), BOT_STOP_TIMEOUT)
        except TimeoutError:
            await self.kill()

    def exited_early(self) -> str | None:
        """An explanation if the process has exited on its own, else None."""
        if self.process is None or self.process.returncode is None:
            return None
        return f"{self.name} exited with code {self.process.returncode}:\n{self.log_tail()}"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def error_lines(self) -> int:
        """Lines the bot logged at ERROR level or printed as tracebacks (a rough health sign)."""
        try:
            content = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return sum(
            " ERROR " in line or line.startswith("Traceback") for line in content.split("\n")
        )


def bot_env(api_base_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment for `bridges run`: the fake's URL, the token, the database, quiet logs.

    PYTHONPATH points at this tree, so the child runs the code next to this bench whatever is
    installed in the virtualenv.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "WEBHOOK_URL", "WEBHOOK_SECRET", "PORT", "SWEEP_SECONDS"}
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": FAKE_TOKEN,
            "TELEGRAM_API_BASE_URL": api_base_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


# --- the fake Bot API's call log ----------------------------------------------------------------


class BenchFake(FakeBotApi):
    """The fake, also counting long polls as they *start* (the call log records a getUpdates
    only when it returns, up to the bot's poll timeout later) and the highest offset a poll
    has asked for: Telegram forgets every update below it at that moment."""

    def __init__(self) -> None:
        super().__init__()
        self.polls_started = 0
        self.max_offset = 0

    async def handle_async(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        abort: Callable[[], bool] | None = None,
    ) -> Any:
        if method.lower() == "getupdates":
            self.polls_started += 1
            try:
                offset = int(decode_params(params).get("offset") or 0)
            except (TypeError, ValueError):
                offset = 0
            self.max_offset = max(self.max_offset, offset)
        return await super().handle_async(method, params, files, abort)


class CallWatch:
    """An incremental view of `fake.calls` (counts per method) and of the polls it starts.

    The loopback server runs on the bench's own event loop, so the call list only grows between
    our awaits; reading it without the fake's lock is safe.
    """

    def __init__(self, fake: BenchFake) -> None:
        self.fake = fake
        self.seen = 0
        self.counts: Counter[str] = Counter()

    def refresh(self) -> None:
        calls = self.fake.calls
        for call in calls[self.seen :]:
            self.counts[call.method.lower()] += 1
        self.seen = len(calls)

    def count(self, method: str) -> int:
        self.refresh()
        return self.counts[method.lower()]

    def confirmed(self, update_id: int) -> bool:
        """Whether the bot has acknowledged this update (asked for a higher offset)."""
        return self.fake.max_offset > update_id


async def wait_polling(watch: CallWatch, bot: BotProcess, polls_before: int) -> None:
    """Wait until a freshly spawned bot has started a long poll (`polls_before`: the count
    of polls started before it was spawned; a killed bot starts none)."""
    deadline = time.monotonic() + BOT_START_TIMEOUT
    while True:
        if watch.fake.polls_started > polls_before:
            return
        if (why := bot.exited_early()) is not None:
            raise RuntimeError(why)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{bot.name} did not start polling:\n{bot.log_tail()}")
        await asyncio.sleep(0.05)


# --- databases ----------------------------------------------------------------------------------


@contextmanager
def fresh_database(url: str | None, label: str, tmp: Path) -> Iterator[tuple[str, str]]:
    """(URL, description) of an empty database for one bot: a new SQLite file in `tmp`, or a
    scratch schema on the given PostgreSQL server (dropped afterwards)."""
    if url is None:
        yield f"sqlite:///{tmp}/{label}.db", "SQLite (fresh temp file)"
        return
    url = normalise(url)
    if make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be PostgreSQL (SQLite uses fresh temp files)")
    with scratch_schema(url, f"chaos_{label}") as (scoped, schema):
        yield scoped, f"PostgreSQL (scratch schema {schema}, dropped afterwards)"


def normalise(url: str) -> str:
    """postgres:// and postgresql:// mean psycopg 3 (as storage.db does for the bot)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def migrate(url: str) -> None:
    """Apply the bot's migrations (storage.migrate of this tree) before any bot starts."""
    from storage import migrate as migrations

    engine = create_engine(url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()


def reader(url: str) -> Engine:
    """A plain engine for the bench's own reads (no BEGIN IMMEDIATE: reads take no write lock)."""
    if make_url(url).get_backend_name() == "postgresql":
        return create_engine(url, pool_size=8, max_overflow=8)
    return create_engine(url)


@dataclass(frozen=True)
class SavedState:
    """What the database holds for one person, normalised for comparison across runs."""

    version: int  # conversations.version: one more for every turn that saved (0: no row)
    stack: str  # conversations.stack as canonical JSON, volatile values masked
    records: str  # their records (kind, position, data) as canonical JSON, masked
    profile: str  # a few users columns a finished script decides (zone, check-in time, ...)
    top: str | None  # "dialog/step" of the stack's top frame, None if empty


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def saved_states(engine: Engine, external_ids: list[str]) -> dict[str, SavedState]:
    """The saved state of each Telegram person (absent: no users row)."""
    ids = bindparam("ids", expanding=True)
    people = text(
        "SELECT u.id, u.external_id, u.timezone, u.checkin_time, u.consented_at IS NOT NULL, "
        "u.onboarded_at IS NOT NULL, c.version, c.stack FROM users u "
        "LEFT JOIN conversations c ON c.user_id = u.id "
        "WHERE u.channel = 'telegram' AND u.external_id IN :ids"
    ).bindparams(ids)
    records = text(
        "SELECT u.external_id, r.kind, r.position, r.data FROM records r "
        "JOIN users u ON u.id = r.user_id "
        "WHERE u.channel = 'telegram' AND u.external_id IN :ids "
        "ORDER BY u.external_id, r.kind, r.position, r.id"
    ).bindparams(ids)
    out: dict[str, SavedState] = {}
    kept: dict[str, list[Any]] = {}
    with engine.connect() as conn:
        for start in range(0, len(external_ids), 500):
            chunk = {"ids": external_ids[start : start + 500]}
            for ext, kind, position, data in conn.execute(records, chunk):
                kept.setdefault(ext, []).append([kind, position, _json(data)])
            for _, ext, zone, at, consented, onboarded, version, stack in conn.execute(
                people, chunk
            ):
                frames = _json(stack) or []
                top = f"{frames[-1].get('dialog')}/{frames[-1].get('step')}" if frames else None
                out[ext] = SavedState(
                    version=int(version or 0),
                    stack=masked_json(frames),
                    records=masked_json(kept.get(ext, [])),
                    profile=json.dumps([zone, at, bool(consented), bool(onboarded)]),
                    top=top,
                )
    return out


def version_of(engine: Engine, external_id: str) -> int:
    """conversations.version of one person (0 if they have no row yet)."""
    query = text(
        "SELECT c.version FROM users u JOIN conversations c ON c.user_id = u.id "
        "WHERE u.channel = 'telegram' AND u.external_id = :ext"
    )
    with engine.connect() as conn:
        return int(conn.execute(query, {"ext": external_id}).scalar() or 0)


# --- replies, compared across runs --------------------------------------------------------------

# What legitimately differs between two runs of the same script a few seconds apart: clock
# times ("09:17 now"), dates and timestamps (the reframe table's date, a map's made_at).
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_VOLATILE = [
    (re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:[+-]\d{2}:?\d{2}|Z)?)?"), "<date>"),
    (re.compile(rf"\b\d{{1,2}} (?:{_MONTHS})\w* \d{{4}}\b"), "<date>"),
    (re.compile(r"\b\d{1,2}:\d{2}\b"), "<time>"),
]


def mask(value: str) -> str:
    for pattern, replacement in _VOLATILE:
        value = pattern.sub(replacement, value)
    return value


def masked_json(value: Any) -> str:
    return mask(json.dumps(value, sort_keys=True, ensure_ascii=False))


Signature = tuple[Any, ...]


def signature(message: SentMessage) -> Signature:
    """A reply bubble as a person sees it, with clock times and dates masked: how it was
    delivered (sent, edited in place, deleted, a file), its text and its keyboards."""
    kind = "deleted" if message.deleted else "edit" if message.edited else message.method
    keyboard = tuple(tuple(row) for row in message.reply_keyboard or ())
    return (
        kind,
        mask(message.text or ""),
        tuple(message.button_labels),
        keyboard,
        message.reply_keyboard_remove,
    )


def bubbles(fake: FakeBotApi, chat_id: int, since: int = 0) -> list[SentMessage]:
    """The bot's messages, edits and deletions in the chat's history from entry `since` on."""
    return [e for e in fake.history(chat_id, since=since) if isinstance(e, SentMessage)]


def short(sig: Signature, width: int = 60) -> str:
    """One line describing a reply bubble, for examples in the report."""
    first = str(sig[1]).replace("\n", " ")
    kind = "" if sig[0] == "sendMessage" else f"{sig[0]}: "
    return f"{kind}{first[:width]}{'...' if len(first) > width else ''}"


@contextmanager
def work_dir(keep: bool) -> Iterator[Path]:
    """A scratch directory for databases and bot logs; kept (and named) with --keep-logs."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix="bridges-chaos-"))
        print(f"bot logs and SQLite files stay in {path}", file=sys.stderr)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="bridges-chaos-") as tmp:
        yield Path(tmp)


# --- a careful user: one message, then wait until the bot has gone quiet ------------------------


def find_button(fake: FakeBotApi, chat_id: int, label: str) -> tuple[str, int]:
    """(callback_data, message_id) of the button `label` on the newest message with inline
    buttons: the exact label, else the one label containing it (case-insensitive)."""
    for message in reversed(fake.messages(chat_id)):
        if not message.buttons:
            continue
        flat = [b for row in message.buttons for b in row if b.callback_data]
        found = [b for b in flat if b.text == label] or [
            b for b in flat if label.lower() in b.text.lower()
        ]
        if len(found) != 1:
            labels = ", ".join(b.text for b in flat)
            raise LookupError(f"chat {chat_id}: no single button {label!r} (have: {labels})")
        assert found[0].callback_data is not None
        return found[0].callback_data, message.message_id
    raise LookupError(f"chat {chat_id}: no message with buttons to tap {label!r}")


def message_with_data(fake: FakeBotApi, chat_id: int, data: str) -> int:
    """The newest message carrying a button with this callback data (else the newest message
    with any buttons, else 1): where a person taps when they know what they want to tap."""
    newest_buttoned = None
    for message in reversed(fake.messages(chat_id)):
        if not message.buttons:
            continue
        if any(b.callback_data == data for row in message.buttons for b in row):
            return message.message_id
        newest_buttoned = newest_buttoned or message.message_id
    return newest_buttoned or 1


async def settle(fake: FakeBotApi, chat_id: int, quiet: float, limit: float) -> None:
    """Wait until the chat has had no bot activity for `quiet` seconds (at most `limit`)."""
    deadline = time.monotonic() + limit
    while (left := deadline - time.monotonic()) > 0:
        seen = fake.activity(chat_id)
        moved = await fake.wait_for(
            chat_id, lambda seen=seen: fake.activity(chat_id) != seen, min(quiet, left)
        )
        if not moved:
            return


async def wait_all_quiet(watch: CallWatch, quiet: float, limit: float) -> None:
    """Wait until the fake has seen no call other than getUpdates for `quiet` seconds."""
    deadline = time.monotonic() + limit
    last = -1
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        watch.refresh()
        busy = watch.seen - watch.counts["getupdates"]
        if busy != last:
            last, last_change = busy, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return
        await asyncio.sleep(0.1)
