"""Apply Alembic migrations from inside the package (at start, or `bridges db upgrade`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


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


def upgrade_if_behind(engine: Engine) -> bool:
    """upgrade(engine) unless its alembic_version already says newest_revision(); True if it
    migrated. The check needs no Alembic: importing it (with Mako and Pygments) cost every
    start ~150 ms and ~9 MB for nothing when the database is up to date, as it nearly always
    is (issue 15). Raises what upgrade raises."""
    with engine.connect() as conn:
        at = None
        if inspect(conn).has_table("alembic_version"):
            at = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if at == newest_revision():
        return False
    upgrade(engine)
    return True
