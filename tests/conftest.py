"""Shared fixtures.

Storage: `db_url`, `db_engine` and `store` run every test that uses them on SQLite
and, when TEST_DATABASE_URL is set (CI), on PostgreSQL too. Each PostgreSQL test
gets its own schema, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from storage.db import make_engine, normalise_url
from storage.migrate import upgrade
from storage.repository import StateStore

# --- storage ---------------------------------------------------------------------

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def _schema_url(base_url: str, schema: str) -> str:
    """`base_url` with every connection's search_path set to `schema` only."""
    url = make_url(normalise_url(base_url))
    options = " ".join(filter(None, [url.query.get("options", ""), f"-csearch_path={schema}"]))
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(
                not TEST_DATABASE_URL,
                reason="TEST_DATABASE_URL is not set (PostgreSQL storage tests run in CI)",
            ),
        ),
    ],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: an SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/bridges.db"
        return
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(normalise_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield _schema_url(TEST_DATABASE_URL, schema)
        finally:
            with admin.connect() as conn:
                # Fail loudly rather than hang if a test left a transaction open.
                conn.execute(text("SET lock_timeout = '10s'"))
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture()
def db_engine(db_url: str) -> Iterator[Engine]:
    """An engine on `db_url` with all migrations applied."""
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.fixture()
def store(db_engine: Engine) -> StateStore:
    return StateStore(db_engine)
