"""Commands a person can type anywhere, and the engine method each one runs.

The order is the order Telegram shows in its command menu.
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "start": "start",
    "menu": "menu",
    "help": "help",
    "cancel": "cancel",
}

# Descriptions shown in Telegram's command menu are button labels ("command.<name>").
MENU_COMMANDS: tuple[str, ...] = ("menu", "help", "cancel", "start")
