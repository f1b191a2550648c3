"""How many of our Python files a reader opens to follow one message (ARCHITECTURE.md).

Sends two messages through the real Application (long polling with `poll`, a SQLite file,
the fake Bot API) and records, with sys.settrace, every function of ours that runs from
the moment the message is sent until its reply arrived:

- "I feel so alone today" with nothing open (the listening reply);
- "I always mess everything up" typed at /reframe's first step (a step's answer).

Each file whose code ran is either counted (a reader must open it to know what happens)
or one call away (ONE_CALL_AWAY: its calling line says all that matters). Prints both
lists per message and exits non-zero if a message needs more than --max files (8).

    python bench/message_path.py [--max 8] [--functions]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make `bot` and `tests` importable
    sys.path.insert(0, str(ROOT))

# Files whose code runs on these paths but need not be opened: the calling line (quoted)
# says what they do for this message. Where only some of a file's functions may run for it
# to stay one call away, ONLY names them (any other function of it running counts the file).
ONLY = {
    "dialogs/manager_listen.py": {"_listening"},
    "dialogs/manager_stack.py": {"_trim"},
    "dialogs/hooks/contacts.py": {"contact_list", "people", "<listcomp>"},
}
ONE_CALL_AWAY = {
    "bot/db_work.py": "`self.bridges.db.run(take)`: runs the turn on a database thread",
    "bot/probe.py": "noting message ids on each Bot API call; a look only after a crash",
    "bot/split.py": "`split_html(out.text, limit)`: a text over Telegram's limit, in parts",
    "dialogs/coaching.py": "beneath `reminders.next_at`",
    "dialogs/manager_listen.py": "`if self._listening(turn):` (the listen dialog on top)",
    "dialogs/manager_stack.py": "`self._trim(turn, now, MAX_STACK - 1)  # room for the new one`",
    "dialogs/hooks/__init__.py": "`hooks.registry(kind)[name]`: a hook by name",
    "dialogs/hooks/contacts.py": '`contact_list(call)["people"]`: their contacts',
    "dialogs/inputs.py": "`fold(text)`, `is_blank(text)`: text compared loosely",
    "dialogs/intents.py": "`intents.match(text)`: the intent; which words is data (YAML)",
    "dialogs/model.py": "plain data: Turn, Frame, Reply",
    "dialogs/yaml_data.py": "`load_yaml(text)`: a data file read at its first use",
    "dialogs/records.py": "beneath `reminders.next_at`",
    "dialogs/reminders.py": "`reminders.next_at(turn.state, now)`: the next reminder's time",
    "dialogs/schedule.py": "beneath `reminders.next_at`",
    "dialogs/spec.py": "`self.dialogs.step(dialog, step)`: the dialog file's step",
    "prompts/__init__.py": "`catalog.render(locale, template, ctx)`: a Jinja2 template",
    "storage/db.py": "SQLite's BEGIN IMMEDIATE hook",
    "storage/inbox.py": "`inbox.record`, `next_pending`, `mark_done`",
    "storage/message_log.py": "beneath bot/probe.py",
    "storage/outbox.py": "`outbox.add`, `outbox.sent`",
    "storage/sent_journal.py": "`self.journal.add(item.id)`: Telegram took the row",
}
MESSAGES = (
    ("nothing open: I feel so alone today", None, "I feel so alone today"),
    ("/reframe, its first step: a thought", "/reframe", "I always mess everything up"),
)


class Tracer:
    """Every function of ours that runs while `phase` is set, by phase (all threads)."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.calls: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._ours: dict[str, str | None] = {}  # file name -> path in the repository, or None

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if self.phase is None or event != "call":
            return None  # no per-line tracing: cheap enough to leave on
        name = frame.f_code.co_filename
        relative = self._ours.get(name, "")
        if relative == "":
            relative = self._ours[name] = _ours(name)
        if relative is not None:
            self.calls[self.phase][relative].add(frame.f_code.co_name)
        return None

    def install(self) -> None:
        sys.settrace(self)
        threading.settrace(self)  # the database threads start later, traced too


def _ours(file_name: str) -> str | None:
    """A Python file of bot/, dialogs/, storage/ or prompts/, relative to ROOT; else None."""
    path = Path(file_name)
    if path.suffix != ".py" or not path.is_relative_to(ROOT):
        return None
    relative = path.relative_to(ROOT).as_posix()
    return relative if relative.split("/")[0] in ("bot", "dialogs", "storage", "prompts") else None


async def run(tracer: Tracer) -> None:
    from bot.telegram_app import poll
    from tests.fakebot import ChatDriver
    from tests.telegram_harness import bridges_on_fake, onboard

    database = Path(tempfile.mkdtemp()) / "path.db"
    async with bridges_on_fake(f"sqlite:///{database}") as harness:
        setup = harness.chat()
        await onboard(setup)
        await setup.send("/cancel")  # onboarding ends at the menu: close it
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(harness.app, harness.app.bot_data["adapter"].take, stop))
        chat = ChatDriver(harness.app, harness.fake, mode="http")
        for name, before, words in MESSAGES:
            if before:
                await chat.send(before)
            tracer.phase = name
            replies = await chat.send(words)
            tracer.phase = None
            if not replies:
                raise SystemExit(f"no reply to {words!r}")
        stop.set()
        await polling


def _away(path: str, functions: set[str]) -> bool:
    """Whether `path` is one call away, given the functions of it that ran."""
    return path in ONE_CALL_AWAY and functions <= ONLY.get(path, functions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max", type=int, default=8, help="files a message may need")
    parser.add_argument("--functions", action="store_true", help="list the functions too")
    args = parser.parse_args()
    tracer = Tracer()
    tracer.install()
    asyncio.run(run(tracer))
    sys.settrace(None)
    worst = 0
    for name, _, _ in MESSAGES:
        files = tracer.calls[name]
        away = sorted(f for f in files if _away(f, files[f]))
        counted = sorted(f for f in files if f not in away)
        worst = max(worst, len(counted))
        print(f"{name}: {len(counted)} files to open, {len(away)} one call away")
        for f in counted:
            functions = f"  ({', '.join(sorted(files[f]))})" if args.functions else ""
            print(f"  open  {f}{functions}")
        for f in away:
            print(f"  away  {f}: {ONE_CALL_AWAY[f]}")
    return 1 if worst > args.max else 0


if __name__ == "__main__":
    sys.exit(main())
