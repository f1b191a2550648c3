"""A scratch PostgreSQL schema for a bench run, dropped afterwards (shared by the benches)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_schema(url: str, prefix: str) -> Iterator[tuple[str, str]]:
    """Yield (url scoped to a fresh schema, schema name); the schema is dropped afterwards."""
    schema = f"{prefix}_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            # search_path limited to the scratch schema: migrations and turns land only there.
            scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
            yield scoped.render_as_string(hide_password=False), schema
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
