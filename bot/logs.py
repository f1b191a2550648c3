"""Logging set-up that keeps secrets and people's words out of the logs.

The bot token is removed from every record in two places, on purpose:

1. A log-record factory (`logging.setLogRecordFactory`). Every record any logger creates
   passes through it, at creation, before any handler sees it. So it covers loggers that do
   not propagate and have handlers of their own, handlers a library adds later (PTB, httpx,
   apscheduler, tornado), pytest's capture handler and logging's last-resort handler, none of
   which a filter on our own handlers would reach. A Formatter subclass was rejected for the
   same reason: it only guards the handlers we build ourselves.
2. A filter (`RedactToken`) on the root logger's handlers, as a second line: it also catches
   records that never went through the factory (built with `LogRecord(...)` directly, or
   handed over by `Logger.handle`), and the `extra=` fields, which `Logger.makeRecord` sets
   only after the factory has run.

Both scrub the formatted message (then drop `args`), the traceback (rendered into
`exc_text`, which every standard Formatter prints instead of re-rendering `exc_info`) and
`stack_info`. Uncaught exceptions never pass through logging, so `configure` also installs
`sys.excepthook` and `threading.excepthook` versions that print a redacted traceback.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

MASK = "<token>"
# Only the secret half of a token ("123456:ABC...") is a credential; the bot id before the
# colon is public (it is the bot's user id). A secret shorter than this is not a real token
# and redacting it could mangle ordinary words, so only the whole token is removed then.
MIN_SECRET = 8
# How the colon shows up: as is, URL-encoded (%3A, PTB/httpx URLs) or encoded twice (%253A,
# a URL carried inside another URL's query).
_COLON = r"(?::|%3A|%253A)"
# The record attributes `logging` itself sets, other than the ones we scrub explicitly;
# everything else in a record's __dict__ came from `extra=` and is scrubbed when it is text.
_PLAIN = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)))

_formatter = logging.Formatter()


class Redactor:
    """Replaces a bot token, in any of the forms it appears in, with MASK.

    `Redactor(None)` and `Redactor("")` redact nothing. Matching ignores case, so a
    lower-cased %3a and a URL whose case was folded are caught too.
    """

    def __init__(self, token: str | None) -> None:
        self.token = token or None
        self._pattern = _pattern_for(token) if token else None

    def __call__(self, text: str) -> str:
        """`text` with every form of the token replaced by the mask."""
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def found_in(self, text: str) -> bool:
        """Whether `text` holds the token in any form this redactor knows."""
        return self._pattern is not None and self._pattern.search(text) is not None


def _pattern_for(token: str) -> re.Pattern[str]:
    bot_id, colon, secret = token.partition(":")
    if colon and len(secret) >= MIN_SECRET:
        # The whole token in any encoding, or the secret half on its own.
        whole = rf"(?:{re.escape(bot_id)}{_COLON})?{re.escape(secret)}"
    else:
        whole = re.escape(token).replace(":", _COLON)  # re.escape leaves ':' alone
    return re.compile(whole, re.IGNORECASE)


def scrub(record: logging.LogRecord, redact: Redactor) -> None:
    """Remove the token from `record` in place: message, traceback, stack and extras.

    Leaves a record without the token untouched, so handlers still see its `args` and
    format its traceback their own way. Never raises: logging must not fail the caller.
    """
    if redact.token is None:
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it later, as it always does
        message = None
    if message is not None and redact.found_in(message):
        record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = _formatter.formatException(record.exc_info)
        if redact.found_in(text):
            # Formatter.format prints exc_text when set and only renders exc_info otherwise.
            record.exc_text = redact(text)
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    for key, value in vars(record).items():
        if key not in _PLAIN and isinstance(value, str) and redact.found_in(value):
            setattr(record, key, redact(value))


class RedactToken(logging.Filter):
    """A handler filter that removes the bot token from every record it lets through."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token
        self.redact = Redactor(token)

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the token from the record's message and arguments; always let it through."""
        scrub(record, self.redact)
        return True


class _RedactingFactory:
    """Wraps the record factory in place when installed, scrubbing every new record."""

    def __init__(self, inner: Callable[..., logging.LogRecord], redact: Redactor) -> None:
        self.inner = inner
        self.redact = redact

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        scrub(record, self.redact)
        return record


def install_record_factory(token: str | None) -> Callable[[], None]:
    """Redact `token` from every log record created from now on, by any logger.

    Returns a function that puts the previous factory back (for tests). Installing again
    replaces the token rather than stacking a second wrapper.
    """
    current = logging.getLogRecordFactory()
    inner = current.inner if isinstance(current, _RedactingFactory) else current
    logging.setLogRecordFactory(_RedactingFactory(inner, Redactor(token)))
    return lambda: logging.setLogRecordFactory(current)


def install_excepthooks(token: str | None) -> None:
    """Print uncaught exceptions (main thread and other threads) with the token redacted."""
    redact = Redactor(token)
    if redact.token is None:
        return

    def print_redacted(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        text = "".join(traceback.format_exception(kind, error, tb))
        sys.stderr.write(redact(text))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "?"
        sys.stderr.write(f"Exception in thread {name}:\n")
        print_redacted(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = print_redacted
    threading.excepthook = thread_hook


def configure(level: str, token: str | None) -> None:
    """Log to stderr at `level` (a name like "INFO"), with `token` removed from everything."""
    install_record_factory(token)
    install_excepthooks(token)
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    quiet_libraries()


class _DropInvalidJson(logging.Filter):
    """Drops PTB's "Can not load invalid JSON data" record.

    Telegram's front end answers 502/504 with an HTML page; PTB then logs that page with a
    traceback at ERROR before raising NetworkError, which its callers (our start-up retry,
    PTB's polling loop, the sender) already handle and report in one line. During an outage
    that would be a 20-line traceback for every attempt, quoting whatever the body held.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Can not load invalid JSON data")


_DROP_INVALID_JSON = _DropInvalidJson()  # one instance, so quiet_libraries() is idempotent


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
    logging.getLogger("telegram.request.BaseRequest").addFilter(_DROP_INVALID_JSON)
    # The rate limiter runs with max_retries=0 (bot/telegram_app.py) and logs every 429 it
    # passes on as an ERROR with a traceback; the sender handles it and logs one line.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
