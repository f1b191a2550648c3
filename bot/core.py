"""The composition every adapter shares: database, dialogs, prompts, dialog manager."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.db_work import DbWork
from bot.sender import Outgoing, render
from dialogs.manager import DialogManager
from dialogs.model import Due, Event, Turn, UserState
from dialogs.spec import FLOWS_DIR, DialogSet, load_dialogs
from prompts import Catalog, default_catalog
from storage import migrate
from storage.db import make_engine
from storage.repository import StateStore, UserKey


@dataclass
class Bridges:
    """What every adapter shares: the store, the dialogs, the prompts, the dialog manager."""

    store: StateStore
    dialogs: DialogSet
    catalog: Catalog
    manager: DialogManager

    def __post_init__(self) -> None:
        # Every async caller's database work goes through here (bot/db_work.py says why).
        self.db = DbWork(self.store.engine)

    @classmethod
    def open(
        cls,
        database_url: str,
        apply_migrations: bool = True,
        flows: Path = FLOWS_DIR,
        catalog: Catalog | None = None,
        migrate_in_child: bool = False,
    ) -> Bridges:
        """Connect to `database_url` (SQLAlchemy URL), migrate it unless told not to, load the
        dialogs from `flows` (a folder of dialog files) and the prompts from `catalog` (both
        default to the shipped ones; tests pass others to add a dialog). `migrate_in_child`:
        a database behind is migrated in a child process (`bridges run`: see
        storage/migrate.py). Raises sqlalchemy errors if the database is unusable,
        storage.migrate.MigrationError if the child's migration failed and
        dialogs.spec.DialogError if a dialog file is invalid.
        """
        db = make_engine(database_url)
        if apply_migrations:
            migrate.upgrade_if_behind(db, in_child=migrate_in_child)
        catalog = catalog or default_catalog()
        dialogs = load_dialogs(flows, catalog=catalog)
        return cls(StateStore(db), dialogs, catalog, DialogManager(dialogs, catalog))

    def handle(self, key: UserKey, event: Event, now: datetime) -> list[Outgoing]:
        """One turn: load, step, render and save in one transaction.

        Rendering happens before the commit, so a broken template rolls the turn
        back instead of leaving a saved state the person never saw.
        """
        rendered: list[Outgoing] = []

        def decide(state: UserState) -> Turn:
            turn = self.manager.step(state, event, now)
            rendered[:] = render(self.catalog, turn.state.profile.locale, turn.replies)
            return turn

        seen = not isinstance(event, Due)
        self.store.run_turn(key, decide, now, self.dialogs.script_version, seen=seen)
        return rendered

    def close(self) -> None:
        """Close the database's connections."""
        self.db.close()
        self.store.engine.dispose()
