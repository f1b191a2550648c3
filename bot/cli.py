"""The `bridges` command."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import sys
import threading

from sqlalchemy.exc import OperationalError

from bot import logs, memory, startup
from bot.config import Settings
from storage.db import MissingDriver
from storage.migrate import MigrationError

NO_TOKEN = (
    "No TELEGRAM_BOT_TOKEN is set. Get one from @BotFather in Telegram (send it /newbot), "
    "then put TELEGRAM_BOT_TOKEN=... in a .env file here, or try Bridges in your terminal "
    "right now with: bridges chat"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bridges", description="Bridges, a gentle coach.")
    parser.add_argument("--database-url", help="overrides DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the Telegram bot (long polling)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve Telegram's webhook instead (needs WEBHOOK_URL, WEBHOOK_SECRET; PORT)",
    )
    sub.add_parser("stats", help="print counts of people and check-ins (no personal data)")
    chat = sub.add_parser("chat", help="talk to Bridges in this terminal")
    chat.add_argument("--user", default="me", help="who is talking (each name has its own data)")
    chat.add_argument(
        "--lang",
        help="the language a new chat begins in, as Telegram's app language: es, es-MX, en"
        " (a language without prompts/ means English; /settings changes it later)",
    )
    dialogs = sub.add_parser("dialogs", help="check or draw the dialog files")
    dsub = dialogs.add_subparsers(dest="action", required=True)
    dsub.add_parser("check", help="validate every dialog and its prompts")
    graph = dsub.add_parser("graph", help="print a Mermaid diagram of one dialog")
    graph.add_argument("name")
    script = dsub.add_parser("script", help="print one dialog on one page, as Markdown")
    script.add_argument("name")
    dsub.add_parser("hooks", help="list the input kinds and every hook, with where each is used")
    db = sub.add_parser("db", help="database tasks")
    dbsub = db.add_subparsers(dest="action", required=True)
    dbsub.add_parser("upgrade", help="apply database migrations")
    return parser


def _dialogs(args: argparse.Namespace) -> int:
    from dialogs.graph import mermaid
    from dialogs.spec import DialogError, load_dialogs

    try:
        loaded = load_dialogs()
    except DialogError as err:
        print(f"Dialog check failed:\n{err}", file=sys.stderr)
        return 1
    if args.action == "check":
        from dialogs.intents import check as check_intents
        from prompts.tree import compare

        if intent_problems := check_intents():
            print("Intent check failed:\n" + "\n".join(intent_problems), file=sys.stderr)
            return 1
        # What the dialog files can't see: templates included by others, words named in code.
        if locale_problems := compare():
            print("Locale check failed:\n" + "\n".join(locale_problems), file=sys.stderr)
            return 1
        names = ", ".join(sorted(loaded.dialogs))
        print(f"OK: {len(loaded.dialogs)} dialogs ({names}), script {loaded.script_version}")
        return 0
    if args.action == "hooks":
        from dialogs.catalogue import catalogue

        print(catalogue(loaded), end="")
        return 0
    if args.name not in loaded:
        print(
            f"No dialog named '{args.name}'. Known: {', '.join(sorted(loaded.dialogs))}",
            file=sys.stderr,
        )
        # A wrong name is a usage error (2); `graph` keeps the 1 it has always returned.
        return 2 if args.action == "script" else 1
    if args.action == "script":
        from dialogs.script import script

        print(script(loaded[args.name]), end="")
        return 0
    print(mermaid(loaded[args.name]), end="")
    return 0


def _run(settings: Settings, webhook: bool = False) -> int:
    if not settings.token:
        print(NO_TOKEN, file=sys.stderr)
        return 2
    if webhook:
        problem = startup.validate_webhook(settings.webhook_url, settings.webhook_secret)
        if problem:
            print(problem, file=sys.stderr)
            return 2
    import asyncio

    import_for_run(webhook)
    # A rejected token raises StartupError (one line, exit 1, see main); an unreachable
    # Bot API is said once and retried until it answers.
    asyncio.run(startup.check_token(settings.token, settings.api_base_url))

    from bot.core import Bridges
    from bot.telegram_app import build_application

    # A database behind is migrated in a child process: Alembic never enters this one.
    bridges = Bridges.open(settings.database_url, migrate_in_child=True)
    app = build_application(
        bridges, settings.token, settings.api_base_url, sweep_seconds=settings.sweep_seconds
    )
    after_start()
    if webhook:
        import asyncio

        from bot.intake import ORDER_HOLD
        from bot.webhook import serve

        assert settings.webhook_url and settings.webhook_secret  # checked above
        logging.getLogger("bridges").info("Bridges is starting (webhook)")
        adapter = app.bot_data["adapter"]
        adapter.recover = True  # look for work a crash left, now and every few seconds
        # Other replicas may hold a person's earlier update for a moment (docs/delivery.md).
        adapter.intake.hold_for = ORDER_HOLD
        asyncio.run(
            serve(
                app,
                bridges.store.engine,
                settings.webhook_url,
                settings.webhook_secret,
                settings.port,
                accept=adapter.accept_json,
            )
        )
        return 0
    logging.getLogger("bridges").info("Bridges is starting (long polling)")
    from bot.telegram_app import run_polling

    asyncio.run(run_polling(app))
    return 0


def import_for_run(webhook: bool) -> None:
    """Import what `bridges run` serves with (load_telegram, then the bot's modules) with
    the cyclic garbage collector paused, then collect once and freeze what is left. While
    ~900 modules load, the collector ran ~280 times, twice over the whole heap: ~130 ms of a
    ~0.8 s start; the one collection here (the ~800 objects imports leave for it, the
    datetime module's pure-Python classes among them) costs ~60 ms (issue 15). The
    collector is left as it was found (enabled, for `bridges run`). bench/turns.py's
    Bridges child calls it too. First, while this is still the only thread, glibc's malloc
    is held to one arena (bot/memory.py)."""
    memory.limit_malloc_arenas()
    enabled = gc.isenabled()
    gc.disable()
    try:
        load_telegram(webhook)
        import bot.core
        import bot.intake
        import bot.telegram_app  # noqa: F401
    finally:
        gc.collect()
        gc.freeze()
        if enabled:
            gc.enable()


def load_telegram(webhook: bool) -> None:
    """Import python-telegram-bot's telegram.ext for `bridges run`: when polling, without
    Tornado. PTB imports Tornado (its own webhook server) whenever it is installed, and it
    is, for Bridges' webhook mode (bot/webhook.py); a polling bot never serves a request,
    and Tornado (with curses, which it pulls in) held ~2.6 MB and ~50 ms of every start
    (issue 15). PTB treats Tornado as optional: without it, only its Updater.start_webhook
    is unavailable, which Bridges never calls. Afterwards Tornado imports normally again.
    Does nothing when telegram.ext or Tornado is already loaded (tests). bench/turns.py's
    Bridges child calls it too."""
    if webhook or "telegram.ext" in sys.modules or "tornado" in sys.modules:
        return
    sys.modules["tornado"] = None  # type: ignore[assignment]  # "import tornado" fails
    try:
        import telegram.ext  # noqa: F401
    finally:
        if "tornado" in sys.modules and sys.modules["tornado"] is None:
            del sys.modules["tornado"]  # type: ignore[unreachable]  # set to None just above


# Seconds after start before the crisis screen's tables are built and the city index file
# is readied, in a thread: not before the first getUpdates (start-up, issue 15), and soon
# enough that the first person typing a city rarely waits for it.
WARM_UP_AFTER_S = 2.0
WARM_UP_WORD = "ok"


def _warm_up() -> None:
    """Build the crisis screen's dispatch tables (~0.2 s; its regexes compile as messages
    need them) and ready the city index file (opened: ~15 ms; built in a child process once
    per install: ~1-3 s). Either would otherwise happen in the first turn that needs it.
    Never raises: a failure here is met again at first use.

    Not the intents: they compile at the first free text that reaches them (~0.1-0.2 s,
    once per process), and a bot whose people mostly tap buttons never holds them (~1 MB
    of peak RSS, which PostgreSQL's bot needs to stay within issue 15's 100 MB)."""
    from dialogs import places, safety

    try:
        safety.prepare()
        # One ordinary word compiles the few groups every message needs (~25 ms): here,
        # rather than in the first turn, which would wait for it. They compile once however
        # many threads screen at once (dialogs/safety.py _BUILD_LOCK); before that lock the
        # event loop and each database thread compiled them side by side, each with its own
        # regex parse trees, and built their own dispatch tables: up to 16 MB more peak RSS
        # on PostgreSQL (issue 15). The screen's answers are the same either way.
        safety.assess(WARM_UP_WORD)
        places.prepare()
    except Exception as err:
        logging.getLogger("bridges").warning("warm-up failed (%s)", type(err).__name__)


def after_start() -> threading.Timer:
    """What `bridges run` does once the Application is built, before serving: the warm-up
    thread (_warm_up) and the frozen heap (_freeze_heap). Returns the warm-up's timer
    (join it to wait for the warm-up). bench/turns.py calls it too, so the bot it measures
    starts the same way."""
    timer = _warm_up_later()
    _freeze_heap()
    return timer


def _warm_up_later() -> threading.Timer:
    timer = threading.Timer(WARM_UP_AFTER_S, _warm_up)
    timer.daemon = True  # never holds up the exit
    timer.start()
    return timer


def _freeze_heap() -> None:
    """Move every object alive after start-up (~130k: modules, dialogs, tables, the
    Application) out of the collector's reach, so the full collections that serving
    triggers walk only what turns made since: a full collection over the whole heap took
    80-110 ms (issue 15). No gc.collect() first: here it found ~20 unreachable objects
    (nothing worth keeping out of the frozen heap) but took ~0.1 s of the start."""
    gc.freeze()


def _stats(settings: Settings) -> int:
    from datetime import UTC, datetime

    from bot.stats import collect
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        print(collect(engine, datetime.now(UTC)).report())
    finally:
        engine.dispose()
    return 0


def _chat(settings: Settings, user: str, language: str | None = None) -> int:
    from bot.console import chat, farewell
    from bot.core import Bridges

    bridges = Bridges.open(settings.database_url)
    try:
        chat(
            bridges,
            user,
            sys.stdin,
            sys.stdout,
            interactive=sys.stdin.isatty(),
            language=language,
        )
    except KeyboardInterrupt:
        print("\n" + farewell(bridges, user, language))
    finally:
        bridges.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """The `bridges` command (or `python -m bot.cli`): parse `argv` (default sys.argv[1:]), run it.

    Returns the process's exit code: 0 on success; 1 with a message on stderr when the bot
    can't start or the database can't be used; 130 after Ctrl-C; 2 for no command.
    """
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    if args.database_url:
        settings = dataclasses.replace(settings, database_url=args.database_url)
    logs.configure(settings.log_level if args.command == "run" else "WARNING", settings.token)
    try:
        if args.command == "dialogs":
            return _dialogs(args)
        if args.command == "run":
            return _run(settings, args.webhook)
        if args.command == "stats":
            return _stats(settings)
        if args.command == "chat":
            return _chat(settings, args.user, args.lang)
        if args.command == "db":
            from storage import migrate
            from storage.db import make_engine

            engine = make_engine(settings.database_url)
            before = migrate.current_revision(engine)
            migrate.upgrade(engine)
            after = migrate.current_revision(engine)
            if before == after:
                print(f"Database is up to date (revision {after}).")
            else:
                print(f"Database migrated from revision {before or 'none'} to {after}.")
            return 0
    except (startup.StartupError, MigrationError, MissingDriver) as err:
        print(err, file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the bot runs (e.g. waiting for the Bot API)
        return 130
    except OperationalError as err:
        print(
            f"Cannot use the database ({type(err.orig).__name__}); check DATABASE_URL.",
            file=sys.stderr,
        )
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
