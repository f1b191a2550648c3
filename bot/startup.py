"""Start-up checks that end in one clear line instead of a traceback.

`connect` reaches the Bot API before the bot starts: a rejected token is a `StartupError`
(one line for the operator), an unreachable Bot API is said once and retried with backoff.
`validate_webhook` checks WEBHOOK_URL and WEBHOOK_SECRET before anything is started.

The sentences here are for the operator at the command line (like bot/cli.py's), not for
people talking to the bot, so they live in Python rather than in prompts/.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # telegram is imported lazily: `bridges chat` and `stats` never need it
    import ssl

    import telegram
    from telegram.request import HTTPXRequest

log = logging.getLogger("bridges.startup")

# Telegram's rule for setWebhook's secret_token.
SECRET_RULE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# The only ports Telegram posts webhooks to (Bot API docs, setWebhook).
WEBHOOK_PORTS = (443, 80, 88, 8443)
EXAMPLE_URL = "https://bridges.example.org/telegram"


class StartupError(Exception):
    """The bot cannot start; str(error) is one line for the operator, without the token."""


async def connect(
    bot: telegram.Bot,
    *,
    log: logging.Logger,
    first_delay: float = 1.0,
    max_delay: float = 60.0,
) -> None:
    """Initialise `bot` (its HTTP clients and getMe), waiting as long as the API is away.

    Raises StartupError when Telegram rejects the token (401 or 404 from getMe). Network
    errors, timeouts, 5xx answers and flood control are retried forever, sleeping
    `first_delay` seconds, then twice as long each time, at most `max_delay` seconds; the
    first failure logs one warning on `log` and the eventual success one info line.
    Nothing else is logged, and never the token or the full URL. Cancel to give up.
    """
    from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError

    delay = first_delay
    warned = False
    where = api_host(bot.base_url)
    while True:
        try:
            await bot.initialize()
        except InvalidToken as err:
            raise StartupError(
                f"Telegram rejected the bot token ({_status(err)}). Check TELEGRAM_BOT_TOKEN: "
                "copy it again from @BotFather."
            ) from None  # the chained error's text quotes the token
        except (NetworkError, RetryAfter) as err:  # TimedOut is a NetworkError too
            wait = min(delay, max_delay)
            if isinstance(err, RetryAfter):  # flood control: Telegram says how long
                wait = max(wait, _retry_seconds(err))
            if not warned:
                # The cause's type says what happened (ConnectError, ReadTimeout...); its
                # text is not logged, as it may hold the URL and so the token.
                log.warning(
                    "Cannot reach the Telegram Bot API at %s (%s); retrying with backoff...",
                    where,
                    _kind(err, TelegramError),
                )
                warned = True
            await asyncio.sleep(wait)
            delay = min(delay * 2, max_delay)
        except TelegramError as err:  # e.g. a 200 that is not JSON: not a Bot API at all
            raise StartupError(
                f"The Telegram Bot API at {where} gave an unexpected answer to getMe "
                f"({type(err).__name__}). Check TELEGRAM_API_BASE_URL."
            ) from None
        else:
            if warned:
                log.info("Reached the Telegram Bot API again")
            return


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context every Bot API client of this process shares: what httpx would
    make for each client (certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR), made once. Each
    client making its own cost ~25 ms and ~0.8 MB, four times at every start (issue 15)."""
    import httpx

    return httpx.create_ssl_context()


def bot_api_request(connection_pool_size: int, **kwargs: Any) -> HTTPXRequest:
    """PTB's HTTPXRequest with `connection_pool_size` connections (and `kwargs`), on the
    shared TLS context."""
    from telegram.request import HTTPXRequest

    return HTTPXRequest(
        connection_pool_size=connection_pool_size,
        httpx_kwargs={"verify": tls_context()},
        **kwargs,
    )


async def check_token(token: str, api_base_url: str) -> None:
    """Connect a throwaway Bot to `api_base_url` (PTB appends the token) and close it again.

    Returns once getMe has succeeded; raises StartupError if the token is rejected; retries
    (see `connect`) while the Bot API cannot be reached.
    """
    import telegram

    bot = telegram.Bot(
        token,
        base_url=api_base_url,
        request=bot_api_request(1),
        get_updates_request=bot_api_request(1),
    )
    try:
        await connect(bot, log=log)
    finally:
        await bot.shutdown()


def validate_webhook(url: str | None, secret: str | None) -> str | None:
    """None if WEBHOOK_URL and WEBHOOK_SECRET are usable, else one line saying what to fix.

    The URL must be absolute https:// with a host (and, if it names a port, one Telegram
    posts to: 443, 80, 88 or 8443); the secret 1-256 of A-Z a-z 0-9 _ -. The line never
    repeats the secret, nor more of the URL than its scheme.
    """
    if not url or not secret:
        missing = " and ".join(
            n for n, v in (("WEBHOOK_URL", url), ("WEBHOOK_SECRET", secret)) if not v
        )
        return (
            f"Webhook mode needs {missing}: WEBHOOK_URL is the public https:// address Telegram "
            "posts to, WEBHOOK_SECRET 1-256 letters, digits, _ or -."
        )
    problem = _url_problem(url)
    if problem:
        return (
            f"WEBHOOK_URL must be an absolute https:// URL with a host, like {EXAMPLE_URL} "
            f"({problem})."
        )
    if not SECRET_RULE.fullmatch(secret):
        why = (
            f"it has {len(secret)} characters"
            if len(secret) > 256
            else "it has other characters, such as spaces or punctuation"
        )
        return (
            "WEBHOOK_SECRET must be 1-256 characters, each a letter A-Z or a-z, a digit, "
            f"_ or - ({why}). One way to make one: openssl rand -hex 32"
        )
    return None


def _url_problem(url: str) -> str | None:
    if url != url.strip() or any(c.isspace() or ord(c) < 32 for c in url):
        return "it contains spaces or control characters"
    parts = urlsplit(url)
    if not parts.scheme:
        return "it has no scheme"
    if parts.scheme.lower() != "https":
        # Only the scheme is echoed: the rest of the URL may hold a private path.
        return f"it starts with {parts.scheme.lower()}://" if parts.netloc else "it has no host"
    if not parts.hostname:
        return "it has no host"
    try:
        port = parts.port
    except ValueError:
        return "its port is not a number from 0 to 65535"
    if port is not None and port not in WEBHOOK_PORTS:
        return f"Telegram only posts to ports 443, 80, 88 and 8443, not {port}"
    return None


def api_host(base_url: str) -> str:
    """`host` or `host:port` of a Bot API base URL: never its path, which holds the token."""
    try:
        parts = urlsplit(base_url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "the configured TELEGRAM_API_BASE_URL"
    if not host:
        return "the configured TELEGRAM_API_BASE_URL"
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def _status(err: Exception) -> str:
    """ "401" or a 404 explanation, as far as PTB's InvalidToken tells (it keeps Telegram's
    description, not the status code).

    Telegram answers 401 "Unauthorized" to a well-formed token it does not know and 404
    "Not Found" to a malformed one (or to a base URL that is no Bot API); without a JSON
    body PTB writes "Not Found (404)". Bot.initialize re-raises with the token in the text,
    so only the original error (its cause) is read.
    """
    inner = err.__cause__ if isinstance(err.__cause__, Exception) else err
    if inner is err and "rejected by the server" in str(err):
        return "401"  # nothing else to go on, and the text holds the token
    text = str(inner).lower()
    if "404" in text or "not found" in text:
        return "404: the token is malformed, or TELEGRAM_API_BASE_URL is not a Bot API"
    return "401"


def _kind(err: Exception, telegram_error: type[Exception]) -> str:
    """The most telling type name: the transport's (ConnectError, ReadTimeout...) when PTB
    wrapped one, else PTB's own (NetworkError for a 5xx page, TimedOut, RetryAfter)."""
    cause = err.__cause__
    if cause is not None and not isinstance(cause, telegram_error):
        return type(cause).__name__
    return type(err).__name__


def _retry_seconds(err: Exception) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form is deprecated
        warnings.simplefilter("ignore")
        value = getattr(err, "retry_after", 0)
    return value.total_seconds() if isinstance(value, timedelta) else float(value or 0)
