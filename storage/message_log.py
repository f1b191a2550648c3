"""The message log: which Telegram message ids each chat has, so a restart can tell
whether a reply it may have sent really arrived (bot/probe.py).

Telegram gives no way to ask "did my message arrive?", and a `kill -9` between its answer
and the sent journal's write (storage/sent_journal.py) would otherwise resend a reply the
person already has. Before each send of a reply that may need it, the sender appends
"row R is about to go to chat C, whose newest message id we know is H"; after it, "row R
went as message M". A restarted process reads both: for a row whose attempt has no
"went", it looks at the chat's messages after H (bot/probe.py) before sending again.

Records are 24 bytes (three signed 64-bit integers, little-endian), appended with one
write(2) each (O_APPEND: a record is never interleaved with another), so what a process
wrote survives its being killed. The file is rotated by maintenance every few minutes;
the previous generation is kept, which is all a restart needs (a reply's attempt and its
fate are seconds apart).

The file stays open between records (one write(2) each instead of open, write and close:
the event loop makes two per reply sent); `rotate` closes it before the rename.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from storage.append_file import AppendFile

_RECORD = struct.Struct("<qqq")  # row id (> 0: attempt, < 0: went), chat id, message id


@dataclass
class Seen:
    """What a message log says, oldest record first, newest winning.

    `attempts`: row id -> (chat id, newest message id known in that chat before the send)
    for rows whose send began and was never recorded as gone; `newest`: chat id -> the
    highest message id this bot's sends were given there; `ours`: every id they were
    given, per chat."""

    attempts: dict[int, tuple[int, int]] = field(default_factory=dict)
    newest: dict[int, int] = field(default_factory=dict)
    ours: dict[int, list[int]] = field(default_factory=dict)  # chat -> ids sent, in order


class MessageLog:
    """Append-only 24-byte records in `path`; `path`.old holds the previous generation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.old = path.with_name(path.name + ".old")
        self._file = AppendFile(path)  # kept open between records

    def attempt(self, row_id: int, chat_id: int, newest: int) -> None:
        """Row `row_id` is about to be sent to `chat_id`; `newest` is the highest message id
        known there now (every message of the bot in that chat has an id <= it)."""
        self._append(row_id, chat_id, newest)

    def went(self, row_id: int, chat_id: int, message_id: int) -> None:
        """Row `row_id` arrived in `chat_id` as `message_id` (or a bot notice did, row 0)."""
        self._append(-row_id if row_id else 0, chat_id, message_id)

    def read(self) -> Seen:
        """Both generations, oldest first. A torn last record is ignored."""
        seen = Seen()
        for path in (self.old, self.path):
            for row, chat, message_id in _records(path):
                if row > 0:
                    seen.attempts[row] = (chat, message_id)
                    continue
                seen.attempts.pop(-row, None)
                seen.ours.setdefault(chat, []).append(message_id)
                if message_id > seen.newest.get(chat, 0):
                    seen.newest[chat] = message_id
        return seen

    def rotate(self) -> None:
        """The current file becomes the previous generation (the one before is dropped)."""
        self.close()  # records from now on go to a new file
        if self.path.exists():
            os.replace(self.path, self.old)

    def close(self) -> None:
        """Close the file if it is open (the next record opens it again)."""
        self._file.close()

    def _append(self, row: int, chat: int, message_id: int) -> None:
        self._file.write(_RECORD.pack(row, chat, message_id))


def _records(path: Path) -> list[tuple[int, int, int]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    whole = len(data) - len(data) % _RECORD.size
    return list(_RECORD.iter_unpack(data[:whole]))
