"""Logging set-up that keeps secrets and people's words out of the logs."""

from __future__ import annotations

import logging


class RedactToken(logging.Filter):
    """Replace the bot token wherever a library puts it (PTB and httpx log URLs)."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if self.token in message:
                record.msg = message.replace(self.token, "<token>")
                record.args = None
        return True


def configure(level: str, token: str | None) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    quiet_libraries()


def quiet_libraries() -> None:
    """Keep libraries above the levels where they log message contents.

    PTB logs every Bot API call with its parameters (the text we send, which can
    quote a person's words) at DEBUG, and httpx logs request URLs (with the
    token) at INFO. LOG_LEVEL=DEBUG is for our own loggers only.
    """
    logging.getLogger("telegram").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
