"""The bot processes of bench/turns.py: Bridges, the replay bot and the echo bot, each in a
child process of its own (this file run as a script), so its CPU time, peak RSS and start-up
are its own and one bot never warms another. The child imports only what its bot needs (no
fake, no harness), so start-up and RSS are the bot's.

The child says `READY <json>` once it polls (the json: Bridges' request settings, for the
replay), and `RESULT <json>` (CPU seconds from READY to the stop line, peak RSS, handler errors)
after the parent writes a line to its stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `bench` and `bot` importable
    sys.path.insert(0, str(ROOT))

from bench import bytecode  # noqa: E402
from bench.turns_replay import build_replay, load, request_settings  # noqa: E402

BotKind = Literal["bridges", "replay", "echo"]
FIRST_USER_ID = 880_000_001  # a range of its own, so an explicit database can be cleaned safely
ECHO_BUTTON = "Again"
MAX_CONCURRENT_UPDATES = 64  # PerUserUpdateProcessor's default, so the echo bot gets the same
CHILD_START_TIMEOUT = 120.0  # Bridges builds its city index at start: slow on a busy machine
CHILD_STOP_TIMEOUT = 30.0
SCRIPT = Path(__file__).resolve()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak RSS of this process: VmHWM, not ru_maxrss, because Linux carries ru_maxrss over
    from the parent across fork + exec, so a child would report at least the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextlib.asynccontextmanager
async def running(app: Any, polling: bool) -> AsyncIterator[None]:
    """The Application's lifecycle as tests/fakebot/driver.py `running` runs it (copied: the
    fake's package is not imported here); polling: PTB's own Updater long-polls."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        if polling and app.updater is not None:
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
        await app.start()
        try:
            yield
        finally:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if app.post_stop:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)


def build_bridges(
    base_url: str, token: str, database_url: str, rate_limit: bool
) -> tuple[Any, Any]:
    from bot.cli import after_start, import_for_run

    import_for_run(webhook=False)  # as `bridges run` does when polling
    from bot.core import Bridges
    from bot.telegram_app import build_application

    bridges = Bridges.open(database_url, migrate_in_child=True)  # as `bridges run` does
    app = build_application(bridges, token, base_url=base_url, rate_limit=rate_limit)
    # As `bridges run` does (bot/cli.py): warm-up thread, frozen heap. Joined before the
    # measured turns (serve, "mark"): its one-off CPU is not a turn's.
    app.bot_data["warm_up"] = after_start()
    return app, bridges


def build_echo(base_url: str, token: str, rate_limit: bool) -> Any:
    """The floor: answer the tap, send one message with one button back, nothing else."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import (
        AIORateLimiter,
        Application,
        CallbackQueryHandler,
        ContextTypes,
        MessageHandler,
        filters,
    )

    markup = InlineKeyboardMarkup([[InlineKeyboardButton(ECHO_BUTTON, callback_data="again")]])

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        text = f"You said: {update.effective_message.text}"
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)

    async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None and update.effective_chat is not None
        await update.callback_query.answer()
        text = f"You tapped: {update.callback_query.data}"
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)

    builder = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .concurrent_updates(MAX_CONCURRENT_UPDATES)
    )
    if rate_limit:
        limiter: Any = AIORateLimiter(max_retries=3)
        builder = builder.rate_limiter(limiter)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    app.add_handler(CallbackQueryHandler(on_tap))
    return app


def count_onboarded(bridges: Any, users: int) -> int:
    """The bench's users whose onboarded_at is set: the ground truth, not what was shown."""
    from sqlalchemy import func, select

    from storage.tables import User

    ids = [str(FIRST_USER_ID + i) for i in range(users)]
    query = (
        select(func.count())
        .select_from(User)
        .where(User.channel == "telegram")  # type: ignore[arg-type]
        .where(User.external_id.in_(ids))  # type: ignore[attr-defined]
        .where(User.onboarded_at.is_not(None))  # type: ignore[union-attr]
    )
    with bridges.store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


async def parent_lines() -> asyncio.StreamReader:
    """The parent's lines on stdin ("mark", "stop"). A pipe reader, not to_thread: a thread
    parked on readline would take one of the workers Bridges runs turns on."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def serve(args: argparse.Namespace) -> None:
    """Child process: run one bot until told to stop, then report on stdout."""
    bridges = None
    settings: dict[str, Any] = {}
    if args.serve == "bridges":
        app, bridges = build_bridges(args.base_url, args.token, args.database_url, args.rate_limit)
        settings = request_settings(app)
    elif args.serve == "replay":
        recording = load(Path(args.recording))
        app = build_replay(
            args.base_url, args.token, recording, json.loads(args.settings), args.rate_limit
        )
    else:
        app = build_echo(args.base_url, args.token, args.rate_limit)
    errors: list[str] = []

    async def record_error(update: object, context: Any) -> None:
        errors.append(type(context.error).__name__)

    app.add_error_handler(record_error)
    # Bridges polls as `bridges run` does (bot/telegram_app.py `poll`: each batch stored in
    # the inbox before it is acknowledged); the replay and echo bots with PTB's own Updater.
    async with running(app, polling=bridges is None):
        poller, stop = None, asyncio.Event()
        if bridges is not None:
            from bot.telegram_app import poll

            poller = asyncio.create_task(poll(app, app.bot_data["adapter"].take, stop))
        cpu_before = cpu_seconds()
        print("READY " + json.dumps(settings), flush=True)
        lines = await parent_lines()
        # "mark": the warm-up turns are done; count CPU from here, once the bot's own
        # start-up warm-up has finished too. "stop" (or EOF): report.
        while (await lines.readline()).strip() == b"mark":
            warm_up = app.bot_data.get("warm_up") if bridges is not None else None
            if warm_up is not None:
                await asyncio.to_thread(warm_up.join)
            cpu_before = cpu_seconds()
            print("MARKED", flush=True)
        load_cpu = cpu_seconds() - cpu_before
        if poller is not None:
            stop.set()  # poll cancels its pending getUpdates itself
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(poller, CHILD_STOP_TIMEOUT)
    report: dict[str, Any] = {
        "cpu_s": load_cpu,
        "peak_rss_mb": peak_rss_mb(),
        "handler_errors": errors,
    }
    if bridges is not None:
        report["onboarded"] = count_onboarded(bridges, args.users)
        bridges.close()
    print("RESULT " + json.dumps(report), flush=True)


class BotChild:
    """bench/turns.py re-invoked with --serve: one bot in a process of its own.
    `spawned_at`: time.monotonic() just before the process was started; `settings`: what the
    child said with READY."""

    def __init__(self, process: asyncio.subprocess.Process, spawned_at: float) -> None:
        self.process = process
        self.spawned_at = spawned_at
        self.settings: dict[str, Any] = {}

    @classmethod
    async def start(
        cls,
        kind: BotKind,
        base_url: str,
        args: argparse.Namespace,
        database_url: str,
        extra: list[str] | None = None,
    ) -> BotChild:
        from tests.fakebot import FAKE_TOKEN

        command = [
            sys.executable,
            str(SCRIPT),
            "--serve",
            kind,
            "--base-url",
            base_url,
            "--token",
            FAKE_TOKEN,
            "--users",
            str(args.users),
            "--database-url",
            database_url,
            *(extra or []),
        ]
        if args.rate_limit:
            command.append("--rate-limit")
        # A working directory of its own: on PostgreSQL the sent journal lives in the working
        # directory, named by the URL (storage/sent_journal.py), and a scratch schema made
        # again under the same URL reuses row ids, so an old run's journal would make the bot
        # probe for replies "left by a crash" (editMessageText) that never were.
        # Bytecode compiled once for the whole bench, as an installed bot has it
        # (bench/bytecode.py): no child's start-up or RSS includes compiling.
        env = bytecode.child_env()
        spawned_at = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=tempfile.mkdtemp(prefix="bridges-bench-"),
            env=env,
        )
        child = cls(process, spawned_at)
        try:
            line = await asyncio.wait_for(child._line("READY"), CHILD_START_TIMEOUT)
        except BaseException:
            await child.kill()
            raise
        child.settings = dict(json.loads(line.removeprefix("READY").strip() or "{}"))
        return child

    async def mark(self) -> None:
        """The warm-up is over: the child counts its CPU from now (after its own warm-up)."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"mark\n")
        await self.process.stdin.drain()
        await asyncio.wait_for(self._line("MARKED"), CHILD_START_TIMEOUT)

    async def stop(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        try:
            line = await asyncio.wait_for(self._line("RESULT "), CHILD_STOP_TIMEOUT)
            await asyncio.wait_for(self.process.wait(), CHILD_STOP_TIMEOUT)
        except BaseException:
            await self.kill()
            raise
        return dict(json.loads(line.removeprefix("RESULT ")))

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def _line(self, prefix: str) -> str:
        assert self.process.stdout is not None
        while line := (await self.process.stdout.readline()).decode():
            if line.startswith(prefix):
                return line.strip()
        code = await self.process.wait()
        raise RuntimeError(f"bot process exited ({code}) before saying {prefix.strip()!r}")


def parse_child_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The child's options, as BotChild.start passes them."""
    parser = argparse.ArgumentParser(description="one bot of bench/turns.py (not for people)")
    parser.add_argument("--serve", choices=["bridges", "replay", "echo"], required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rate-limit", action="store_true")
    parser.add_argument("--recording", help="replay: Bridges' calls per turn (JSON)")
    parser.add_argument("--settings", default="{}", help="replay: Bridges' request settings")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(serve(parse_child_args()))
