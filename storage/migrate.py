"""Apply Alembic migrations from inside the package (at start, or `bridges db upgrade`).

`bridges run` migrates in a child process (upgrade_in_child): Alembic, Mako and a migration's
temporary objects would otherwise stay in the bot's memory for as long as it runs (about
9 MB of its peak on a new database, issue 15).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# How upgrade_in_child hands the database URL to its child: in the environment, not on the
# command line, where any user of the machine could read its password (ps).
URL_VARIABLE = "BRIDGES_MIGRATE_URL"


class MigrationError(RuntimeError):
    """The migration child failed. Says only the error's type: a failed migration's message
    may quote rows (what people wrote); `bridges db upgrade` shows it in full."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config for the migrations shipped in storage/migrations. `url` is only
    used when no connection is handed over (storage/migrations/env.py then opens one)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate `engine`'s database to `revision` ("head": the newest) in one transaction,
    without the turns' statement timeout (lift_statement_timeout). Raises
    alembic.util.CommandError for an unknown revision, sqlalchemy errors when the
    database can't be used or a migration fails."""
    from alembic import command

    from storage.db import lift_statement_timeout

    config = alembic_config()
    with engine.begin() as conn:
        # A migration may rewrite a big table: the turn-sized statement timeout would cancel it.
        lift_statement_timeout(conn)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision id the database is at (its alembic_version row, e.g. "0010"), or None
    for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_REVISION = re.compile(r'^(down_revision|revision)(?:: [^=]+)? = (?:"([^"]*)"|None)', re.M)


def newest_revision() -> str:
    """The head revision id of the migrations shipped in storage/migrations/versions, read
    from the files' `revision` and `down_revision` lines (the one no other file follows).
    Raises RuntimeError unless there is exactly one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text("utf-8")):
            if value:
                (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"storage/migrations: expected one head, found {sorted(heads)}")
    return heads.pop()


def upgrade_if_behind(engine: Engine, *, in_child: bool = False) -> bool:
    """upgrade(engine) unless its alembic_version already says newest_revision(); True if it
    migrated. The check needs no Alembic: importing it (with Mako and Pygments) cost every
    start ~150 ms and ~9 MB for nothing when the database is up to date, as it nearly always
    is (issue 15). `in_child`: migrate in a child process (upgrade_in_child), so this one
    never loads Alembic at all. Raises what upgrade (or upgrade_in_child) raises."""
    with engine.connect() as conn:
        at = None
        if inspect(conn).has_table("alembic_version"):
            at = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if at == newest_revision():
        return False
    if in_child and not _in_memory(engine):
        upgrade_in_child(engine.url.render_as_string(hide_password=False))
    else:  # an in-memory SQLite database exists in this process only
        upgrade(engine)
    return True


def _in_memory(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def upgrade_in_child(url: str) -> None:
    """upgrade() the database at `url` to the newest revision in a child process, so this
    process never imports Alembic nor holds what a migration allocates. The child is a fork
    of this process where that is safe (POSIX, and no other thread running whose locks it
    could inherit held): it has SQLAlchemy and the tables loaded already, so it costs what an
    upgrade here would. Otherwise it is a new Python (`python -m storage.migrate`), which
    imports them again (~0.5 s more). Waits as long as the migration takes. Raises
    MigrationError if the child fails (with its error's type), OSError if it can't start."""
    if _can_fork():
        code, said = _forked(url)
    else:
        code, said = _spawned(url)
    if code != 0:
        raise MigrationError(
            f"Could not migrate the database ({said or f'exit {code}'}); "
            "`bridges db upgrade` shows why."
        )


def _can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def _forked(url: str) -> tuple[int, str]:
    """_migrate(url) in a fork of this process: its exit code and what it said."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: leaves by os._exit, running none of the parent's clean-up
        code = 1
        try:
            os.close(read)
            code = _migrate(url, write)
        finally:
            os._exit(code)
    os.close(write)
    with open(read, "rb") as pipe:
        said = pipe.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), said.decode(errors="replace").strip()


def _spawned(url: str) -> tuple[int, str]:
    """`python -m storage.migrate` for `url` (given in its environment): its exit code and
    the last line it wrote to stderr."""
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env[URL_VARIABLE] = url
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "storage.migrate"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    said = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
    return done.returncode, said[0] if said else ""


def _migrate(url: str, say: int) -> int:
    """upgrade() the database at `url` on an engine of its own; 0, or 1 after writing only
    the error's type to the file descriptor `say` (see MigrationError)."""
    from storage.db import make_engine

    engine = make_engine(url)
    try:
        upgrade(engine)
    except BaseException as err:  # the parent says it in one line
        os.write(say, type(err).__name__.encode())
        return 1
    finally:
        engine.dispose()
    return 0


def main() -> int:
    """`python -m storage.migrate`, upgrade_in_child's child where it can't fork: upgrade the
    database named by $BRIDGES_MIGRATE_URL. On failure prints only the error's type (see
    MigrationError) and exits 1."""
    url = os.environ.get(URL_VARIABLE)
    if not url:
        print(f"{URL_VARIABLE} is not set", file=sys.stderr)
        return 2
    return _migrate(url, sys.stderr.fileno())


if __name__ == "__main__":
    sys.exit(main())
