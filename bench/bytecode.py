"""Bytecode for the bot processes a bench starts: compiled once, as an installed package has it.

pip compiles a package's modules at install, so an installed bot reads bytecode at every start.
A shell with PYTHONDONTWRITEBYTECODE and an editable install compiles bot/, dialogs/, storage/
and prompts/ at every start instead (~0.3 s), and a fresh PYTHONPYCACHEPREFIX compiles every
module a start imports, the libraries' too (~1.5 s and ~9 MB more peak RSS, issue 15): neither
is what a deployed bot pays. `child_env()` gives the environment for a bot process that reads
bytecode from a cache folder of this bench run (PYTHONPYCACHEPREFIX in a temp dir), compiled
first by a child that imports what a start, its first requests and turns, a migration and the
bare PTB bots of bench/turns.py import. Modules imported later than that are compiled by the
first process that imports them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a start, its first requests and turns, and the migration child import, compiled before
# the first bot starts; the bare PTB bots' (Tornado) and the PostgreSQL driver's if installed.
COMPILE = """
import bot.cli, bot.core, bot.intake, bot.telegram_app, dialogs.places_cache, storage.migrate
import alembic.command, alembic.runtime.migration
import anyio._backends._asyncio, anyio.streams.tls, anyio.to_thread, certifi, sniffio, tzdata
import apscheduler.triggers.interval, h11, httpcore._async.http11, httpcore._backends.anyio
import telegram.ext._utils.webhookhandler
try:
    import psycopg, sqlalchemy.dialects.postgresql.psycopg
except ImportError:
    pass
"""

_folder: Path | None = None


def child_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) for a bot process that reads the bench's bytecode cache,
    compiled on the first call (a few seconds, once per bench run; removed at exit)."""
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="bridges-bytecode-"))
        atexit.register(shutil.rmtree, _folder, True)
        subprocess.run(
            [sys.executable, "-c", COMPILE], env=_env(base, _folder), cwd=ROOT, check=True
        )
    return _env(base, _folder)


def _env(base: dict[str, str] | None, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in (os.environ if base is None else base).items()}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    return env
