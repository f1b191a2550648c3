"""Typing in `bridges chat` at a keyboard: line editing, history and Tab completion.

Uses the standard library's `readline` where Python has it (Linux, macOS); Windows has none,
and there the chat still works with the terminal's own line input. History lives in this
process's memory only: nothing a person typed is ever written to a history file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from types import ModuleType


def load_readline() -> ModuleType | None:
    """The `readline` module, or None where Python has none (Windows).

    Imported only when someone types at a keyboard, so piped runs never touch the terminal.
    """
    try:
        return importlib.import_module("readline")
    except ImportError:
        return None


def enable_line_editing(candidates: Callable[[], list[str]]) -> bool:
    """Turn on editing, an empty in-memory history and Tab completion for `input()`.

    `candidates` returns what Tab may complete the whole line to (slash commands, the
    latest buttons' labels); matching ignores case. Returns False when there is no
    readline (Windows), in which case nothing changes.
    """
    readline = load_readline()
    if readline is None:
        return False
    readline.clear_history()  # whatever was there is not this person's
    readline.set_auto_history(True)
    readline.set_completer_delims("")  # complete the whole line, spaces and all

    def complete(text: str, index: int) -> str | None:
        wanted = text.casefold()
        found = [c for c in candidates() if c.casefold().startswith(wanted)]
        return found[index] if index < len(found) else None

    readline.set_completer(complete)
    if "libedit" in (readline.__doc__ or ""):  # macOS ships libedit behind the same module
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    return True


def forget_history() -> None:
    """Empty the in-memory history (at the end of a chat); a no-op without readline."""
    readline = load_readline()
    if readline is not None:
        readline.clear_history()


def typed_lines(prompt: str, before_prompt: Callable[[], None]) -> Iterator[str]:
    """Lines read with `input(prompt)` until end of input (Ctrl-D), without their newline.

    `before_prompt` runs before each prompt (to print the help hint). KeyboardInterrupt
    (Ctrl-C) is left to the caller.
    """
    while True:
        before_prompt()
        try:
            yield input(prompt)
        except EOFError:
            return
