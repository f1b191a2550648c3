"""Apply Alembic migrations from inside the package (at start, or `bridges db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config for the migrations shipped in storage/migrations. `url` is only
    used when no connection is handed over (storage/migrations/env.py then opens one)."""
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
