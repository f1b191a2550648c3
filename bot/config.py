"""Settings from the environment (and a .env file in the working directory)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dotenv import load_dotenv

from storage.db import DEFAULT_URL

DEFAULT_API_BASE = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class Settings:
    """How to run the bot: the Bot API token and URL, the database URL, the log level, the
    sweep's interval in seconds and, for webhook mode, the public URL, secret and port.
    """

    token: str | None
    api_base_url: str
    database_url: str
    log_level: str
    sweep_seconds: float = 5.0  # how often the scheduler looks for due check-ins
    # Webhook mode (`bridges run --webhook`): the public HTTPS URL Telegram posts to,
    # the secret it must send back with every update, and the port we listen on.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    port: int = 8080

    @classmethod
    def from_env(cls, load_dotenv_file: bool = True) -> Settings:
        """Read the settings from the environment, after a .env file (never overriding what is set).

        Raises ValueError if SWEEP_SECONDS or PORT is set but not a number.
        """
        if load_dotenv_file:
            load_dotenv(override=False)
        return cls(
            token=os.environ.get("TELEGRAM_BOT_TOKEN") or None,
            api_base_url=os.environ.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE,
            database_url=os.environ.get("DATABASE_URL") or DEFAULT_URL,
            log_level=(os.environ.get("LOG_LEVEL") or "INFO").upper(),
            sweep_seconds=float(os.environ.get("SWEEP_SECONDS") or 5),
            webhook_url=os.environ.get("WEBHOOK_URL") or None,
            webhook_secret=os.environ.get("WEBHOOK_SECRET") or None,
            port=int(os.environ.get("PORT") or 8080),
        )
