"""`bridges db upgrade` says what it did, and a PostgreSQL URL without the 'postgres'
extra installed gets a sentence saying how to install it, not a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.cli import main


def test_db_upgrade_says_whether_it_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/bridges.db"
    assert main(["--database-url", url, "db", "upgrade"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("Database migrated from revision none to "), first
    assert main(["--database-url", url, "db", "upgrade"]) == 0
    again = capsys.readouterr().out
    assert again.startswith("Database is up to date (revision "), again
    assert first.split()[-1].rstrip(".") in again


@pytest.mark.parametrize("missing", ["psycopg", "greenlet"])
def test_postgres_without_its_extra_says_how_to_install_it(
    missing: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # as if not installed
    if missing == "greenlet":
        monkeypatch.delitem(sys.modules, "storage.pg_loop", raising=False)
    code = main(["--database-url", "postgresql://u@127.0.0.1:1/db", "db", "upgrade"])
    err = capsys.readouterr().err
    assert code == 1
    assert "postgres' extra" in err and missing in err, err
    assert "Traceback" not in err
