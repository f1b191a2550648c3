"""The "sent" journal: outbox ids Telegram has accepted, written the instant it answers.

On SQLite the outbox row's delete has to wait for the one database writer (a turn may
be holding it), and a `kill -9` in that wait resends a reply the person already has
(docs/delivery.md, "Exactly once"). Appending 8 bytes to a file takes microseconds and
needs no lock, and what a process wrote with os.write survives that process being
killed (it is in the kernel's page cache; only a machine crash could drop it, and then
the reply is sent once more, never lost). Recovery skips and deletes every row named
here; maintenance moves the ids into the database (deletes) and empties the file.

On PostgreSQL the delete does not wait for turns, but it still takes a round trip after
Telegram's answer; the journal (in the working directory) closes that window too for
the process that wrote it. Each process has its own file: after a restart it finds what
it sent; another replica taking over a dead one's rows after their lease (webhook mode)
does not see it, and may resend one reply in that rarer case.

The file stays open between writes (one write(2) per reply instead of open, write and
close: the event loop makes them, once per message sent). `take` closes it before moving
the batch, so the next id goes to a new file.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from storage.append_file import AppendFile

_ID = struct.Struct("<q")


class SentJournal:
    """Append-only ids in `path`; `path`.old holds a batch being moved into the database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.old = path.with_name(path.name + ".old")
        self._file = AppendFile(path)  # kept open between records

    @classmethod
    def for_engine(cls, engine: Engine, directory: Path | None = None) -> SentJournal | None:
        """The journal for this database: beside an SQLite file ("<file>-sent"); for a
        server database, "bridges-<hash of the URL>.sent" in `directory` (default: the
        working directory, where a restarted process finds it again). None for an
        in-memory database or a directory we can't write to (then only the delete
        marks a row sent)."""
        url = make_url(str(engine.url))
        if url.get_backend_name() == "sqlite":
            if url.database in (None, "", ":memory:"):
                return None
            return cls(Path(url.database).with_name(Path(url.database).name + "-sent"))
        where = directory or Path.cwd()
        if not os.access(where, os.W_OK):
            return None
        name = url.render_as_string(hide_password=True).encode()
        return cls(where / f"bridges-{hashlib.sha256(name).hexdigest()[:12]}.sent")

    def add(self, row_id: int) -> None:
        """Row `row_id` was accepted by Telegram. One write(2) with O_APPEND: atomic for
        8 bytes. The file is opened at the first id and kept open (see the module
        docstring); an OSError closes it, so the next id opens it again."""
        self._file.write(_ID.pack(row_id))

    def close(self) -> None:
        """Close the file if it is open (the next `add` opens it again)."""
        self._file.close()

    def all_ids(self) -> list[int]:
        """Every id in the journal (current and old batch): rows already sent."""
        return _read(self.old) + _read(self.path)

    def take(self) -> list[int]:
        """Start moving a batch: the current file becomes the old batch (unless one is
        still there from before a crash); its ids are returned. Call `taken` once they
        are deleted from the outbox."""
        if not self.old.exists():
            self.close()  # ids added from now on go to a new file, not into this batch
            if self.path.exists():
                os.replace(self.path, self.old)
            else:
                self.old.touch()
        return _read(self.old)

    def taken(self) -> None:
        """The batch `take` returned is deleted from the outbox: drop the old file."""
        self.old.unlink(missing_ok=True)


def _read(path: Path) -> list[int]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    whole = len(data) - len(data) % _ID.size  # a torn last write is ignored
    return [row_id for (row_id,) in _ID.iter_unpack(data[:whole])]
