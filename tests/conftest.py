"""Shared fixtures.

The reply check: every message, caption and edit a fake Bot API receives during a test is
read by tests/fakebot/lint.py (doubled punctuation, empty lines at the ends, Telegram's
limits in UTF-16 units), and the test that produced a violation fails. Tests of the fake
itself send made-up texts straight to it, so they (and any test marked
`reply_lint_off`) are not checked.

Storage: `db_url`, `db_engine` and `store` run every test that uses them on SQLite
and, when TEST_DATABASE_URL is set (CI), on PostgreSQL too. Each PostgreSQL test
gets its own schema, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from storage.db import make_engine, normalise_url
from storage.migrate import upgrade
from storage.repository import StateStore
from tests.fakebot.lint import take_violations

# --- the reply check ---------------------------------------------------------------

LINT_OFF = "reply_lint_off"
# Tests that send made-up texts straight to the fake Bot API (not Bridges' replies), some
# too long on purpose to show the fake refuses them: a module, or "module::test".
FAKE_OWN_TESTS = ("test_fakebot.py", "test_split.py::test_the_fake_bot_api_accepts_every_part")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{LINT_OFF}: the texts this test sends are not checked by the reply check"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        if item.path.name in FAKE_OWN_TESTS or f"{item.path.name}::{name}" in FAKE_OWN_TESTS:
            item.add_marker(LINT_OFF)


@pytest.fixture(autouse=True)
def reply_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if any text the fake Bot API received breaks the reply check.

    Autouse fixtures are set up first and torn down last, so this sees every message the
    test's own fixtures send too. Anything recorded outside a test counts for the next one.
    """
    yield
    found = take_violations()
    if found and request.node.get_closest_marker(LINT_OFF) is None:
        lines = [f"{v}\n    {v.text[:300]!r}" for v in found[:20]]
        more = f"\n... and {len(found) - 20} more" if len(found) > 20 else ""
        pytest.fail(
            f"{len(found)} repl{'y' if len(found) == 1 else 'ies'} broke the reply check "
            "(tests/fakebot/lint.py):\n" + "\n".join(lines) + more,
            pytrace=False,
        )


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


@pytest.fixture()
def bridges(db_url: str) -> Iterator[Any]:
    """The whole core (bot.core.Bridges) on `db_url`, closed after the test."""
    from bot.core import Bridges  # imported when used: most tests need only storage

    opened = Bridges.open(db_url)
    try:
        yield opened
    finally:
        opened.close()
