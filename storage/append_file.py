"""A file that records are appended to, kept open between records.

The sent journal and the message log (storage/sent_journal.py, storage/message_log.py)
write a few bytes per reply from the event loop. Opening and closing the file for each
cost more than the write (issue 15), so the descriptor stays open: each record is one
write(2) with O_APPEND, atomic for these sizes, so a crash loses no more than before.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from pathlib import Path


class AppendFile:
    """Appends records to `path` (mode 0600, created at the first record)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._closer: Callable[[], object] | None = None  # closes the descriptor with self

    def write(self, record: bytes) -> None:
        """Append `record` in one write(2). Raises OSError; the file is then closed and
        opened again at the next record."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._closer = weakref.finalize(self, os.close, self._fd)
        try:
            os.write(self._fd, record)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        """Close the file if it is open (call before renaming it: the next record then goes
        to a new file at `path`)."""
        if self._closer is not None:
            self._closer()  # os.close, once
        self._fd, self._closer = None, None
