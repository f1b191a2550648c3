"""Alembic environment: runs on the connection storage.migrate hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run the migrations on the connection storage.migrate.upgrade put in
    `config.attributes` (inside its transaction), else on a new engine for
    `sqlalchemy.url`. `render_as_batch`: autogenerate writes batch operations, since
    SQLite's ALTER TABLE can't change a column (Alembic copies the table). Raises
    RuntimeError when neither is given."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # storage/migrate.py sets it whenever no connection is given
        raise RuntimeError("alembic: no connection and no sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


def run_migrations_offline() -> None:
    """Write the migrations' SQL for `sqlalchemy.url` instead of running it (`alembic
    upgrade --sql`): no connection is opened."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
