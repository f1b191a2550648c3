"""Commands a person can type anywhere, and what each one does.

A value is either a built-in (an Engine method ``_cmd_<name>``) or
``dialog:<id>``, which opens that dialog (resuming it if it is already open).
"""

from __future__ import annotations

COMMANDS: dict[str, str] = {
    "start": "start",
    "menu": "menu",
    "help": "help",
    "cancel": "cancel",
    "sos": "dialog:sos",
    "needs": "dialog:needs",
    "steps": "dialog:steps",
    "wins": "dialog:wins",
    "review": "dialog:review",
    "measure": "dialog:measure",
    "reframe": "dialog:reframe",
    "thoughts": "dialog:thoughts",
    "contacts": "dialog:contacts",
    "settings": "dialog:settings",
    "plan": "dialog:plan",
    "kit": "dialog:kit",
    "checkin": "dialog:checkin",
    "pause": "dialog:pause",
    "resume": "dialog:resume",
    "export": "dialog:export",
    "delete": "dialog:delete",
    "privacy": "dialog:privacy",
}

# Telegram's command menu, in this order; descriptions are labels "command.<name>".
MENU_COMMANDS: tuple[str, ...] = (
    "sos", "menu", "needs", "steps", "wins", "review", "measure", "reframe", "thoughts",
    "contacts", "plan", "kit", "checkin", "pause", "resume", "settings", "privacy", "export",
    "delete", "help", "cancel", "start",
)  # fmt: skip

# Buttons of the persistent keyboard arrive as plain text: label key -> command.
SHORTCUTS: dict[str, str] = {"keyboard.sos": "sos", "keyboard.menu": "menu"}
