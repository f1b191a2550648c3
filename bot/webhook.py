"""Webhook mode: a small tornado server that hands Telegram's updates to the bot.

PTB's own `run_webhook` serves only the webhook route; we also need a health endpoint,
so (as in PTB's custom-webhook examples) we run our own server. Any number of replicas
can serve the same webhook behind a load balancer: each update arrives at exactly one.

The webhook refuses before it reads: the secret header is checked as soon as the
headers have arrived, and a refused request is answered and its connection closed
without reading the body. Accepted bodies are streamed and capped at
`WEBHOOK_MAX_BODY`, so no request can make the process hold more than that.

What happens to an update is pluggable (`Accept`): by default it goes straight onto
`application.update_queue`; a durable inbox can answer 200 only once it is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import signal
from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Engine, text
from telegram import Update
from telegram.ext import Application
from tornado.http1connection import HTTP1Connection
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApp
from tornado.web import RequestHandler, stream_request_body

log = logging.getLogger("bridges.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/health"
# Telegram's updates are a few KB; 1 MB is plenty and bounds what one request can cost us.
WEBHOOK_MAX_BODY = 1_048_576
# A health check answers within this many seconds, even when the database hangs.
HEALTH_TIMEOUT_SECONDS = 3
# A refusal is a few hundred bytes, so flushing it is instant unless the peer is stuck.
_REFUSAL_FLUSH_SECONDS = 5
_DIGITS = re.compile(r"[0-9]+")
AnyApp = Application[Any, Any, Any, Any, Any, Any]
Accept = Callable[[dict[str, Any]], Awaitable[int]]
"""Takes one parsed update (Telegram's JSON object) and returns the HTTP status to answer:
200 once the update is durably accepted, 503 when it cannot be stored now (Telegram retries).
An exception counts as 503."""


def webhook_path(url: str) -> str:
    """The path Telegram posts to: the path of WEBHOOK_URL, or /telegram if it has none."""
    path = urlsplit(url).path.rstrip("/")
    return path or "/telegram"


def database_ok(engine: Engine) -> bool:
    """True if the database answers `SELECT 1`; blocking, so run it in a thread."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # any failure means "not reachable" to a health check
        log.warning("health: database unreachable (%s)", type(err).__name__)
        return False
    return True


def queue_accept(app: AnyApp) -> Accept:
    """The default hand-off: decode the update and put it on the app's update queue (200).

    An object that is not a valid Update is answered 400, as Telegram would not send one.
    """

    async def accept(data: dict[str, Any]) -> int:
        try:
            update = Update.de_json(data, app.bot)
        except Exception as err:  # never log the update: it holds what people wrote
            log.warning("webhook: unreadable update (%s)", type(err).__name__)
            return 400
        await app.update_queue.put(update)
        return 200

    return accept


@stream_request_body
class _UpdateHandler(RequestHandler):
    """POST <path>: checks the secret from the headers alone, then streams a capped body."""

    def initialize(self, secret: str, accept: Accept) -> None:
        self.secret = secret
        self.accept = accept
        self.chunks: list[bytes] = []
        self.size = 0

    async def prepare(self) -> None:
        # Runs once the headers are in and before tornado reads any of the body.
        given = self.request.headers.get(SECRET_HEADER, "")
        # Constant-time compare, so the secret can't be guessed byte by byte.
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            await self._refuse(403, before_body=True)
            return
        if self.request.method != "POST":
            await self._refuse(405, before_body=True)
            return
        length = self.request.headers.get("Content-Length", "").strip()
        # Plain ASCII digits only (anything else tornado itself rejects with 400); a long
        # string of digits is too big without converting it, which Python limits anyway.
        if _DIGITS.fullmatch(length) and (len(length) > 9 or int(length) > WEBHOOK_MAX_BODY):
            await self._refuse(413, before_body=True)
            return
        # Tornado's own cap (set on the server) answers a raw 400 when a chunked body
        # announces more than it allows; lift it for this authenticated request so that
        # data_received enforces the same cap byte by byte and answers 413. Memory stays
        # bounded: a streamed body reaches us in pieces of tornado's chunk size (64 KB).
        self._connection().set_max_body_size(2**62)

    async def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        self.size += len(chunk)
        if self.size > WEBHOOK_MAX_BODY:
            self.chunks.clear()
            await self._refuse(413, before_body=False)
            return
        self.chunks.append(chunk)

    async def post(self) -> None:
        body, self.chunks = b"".join(self.chunks), []
        try:
            data = json.loads(body)
        except ValueError as err:  # the body is never logged: it holds what people wrote
            log.warning("webhook: unreadable update (%s)", type(err).__name__)
            self.send_error(400)
            return
        if not isinstance(data, dict):
            log.warning("webhook: unreadable update (%s)", type(data).__name__)
            self.send_error(400)
            return
        try:
            status = await self.accept(data)
        except Exception as err:  # Telegram retries a 503 later; the update is not lost
            log.warning("webhook: update not accepted (%s)", type(err).__name__)
            status = 503
        if status >= 400:
            self.send_error(status)
        else:
            self.set_status(status)

    def _connection(self) -> HTTP1Connection:
        # HTTPServer always serves HTTP/1.x; the abstract interface lacks close/detach.
        return cast(HTTP1Connection, self.request.connection)

    async def _refuse(self, status: int, *, before_body: bool) -> None:
        """Answer `status` and close the connection, leaving the rest of the body unread."""
        self.set_status(status)
        self.set_header("Connection", "close")
        with contextlib.suppress(Exception):  # the peer may be gone already; we close anyway
            await asyncio.wait_for(self.finish(), _REFUSAL_FLUSH_SECONDS)
        conn = self._connection()
        if before_body and conn.stream is not None:
            # Still inside headers_received: detaching makes tornado stop this request
            # quietly instead of going on to read (and discard) the body.
            conn.detach().close()
        else:
            # Mid-body: closing makes tornado's next read fail, which ends the request.
            conn.close()

    def log_exception(self, *args: Any) -> None:
        """Tornado would log the request; ours may hold personal text, so say nothing."""


class _HealthCheck:
    """At most one database check in flight; a hung one is reported, not piled up.

    The check is a blocking call in a thread. `asyncio.wait_for` stops *waiting* for it
    after HEALTH_TIMEOUT_SECONDS, but the thread keeps running until the driver gives up
    (the dialog manager's own connect and statement timeouts bound that). Later checks wait on
    the same thread instead of starting new ones, so a load balancer polling a hung
    database cannot fill the default executor that the bot's own work also uses.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.running: asyncio.Future[bool] | None = None

    async def status(self) -> str:
        """One of "ok", "unreachable" or "timeout"."""
        if self.running is None or self.running.done():
            self.running = asyncio.ensure_future(asyncio.to_thread(database_ok, self.engine))
        try:
            # shield: giving up on waiting must not cancel the check other requests share.
            ok = await asyncio.wait_for(asyncio.shield(self.running), HEALTH_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("health: database did not answer within %ds", HEALTH_TIMEOUT_SECONDS)
            return "timeout"
        return "ok" if ok else "unreachable"


class _HealthHandler(RequestHandler):
    def initialize(self, check: _HealthCheck) -> None:
        self.check = check

    async def get(self) -> None:
        status = await self.check.status()
        self.set_status(200 if status == "ok" else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"database": status}))


def make_web_app(
    app: AnyApp, secret: str, path: str, engine: Engine, accept: Accept | None = None
) -> WebApp:
    """The webhook route (`path`) and /health.

    `accept` receives each authenticated update's JSON object and returns the status to
    answer (see `Accept`); None puts the update on `app.update_queue` and answers 200.
    """
    handoff = accept if accept is not None else queue_accept(app)
    return WebApp(
        [
            (path, _UpdateHandler, {"secret": secret, "accept": handoff}),
            (HEALTH_PATH, _HealthHandler, {"check": _HealthCheck(engine)}),
        ],
        log_function=lambda handler: None,  # access logs would show paths and ids only; skip
    )


def make_http_server(web: WebApp) -> HTTPServer:
    """An HTTPServer for `web` that never buffers more than WEBHOOK_MAX_BODY of one request.

    max_body_size caps bodies on every route (a non-streaming route, such as a 404, would
    otherwise buffer up to tornado's default of 100 MB); max_buffer_size caps the socket's
    read buffer, which in practice holds at most a 64 KB read.
    """
    return HTTPServer(web, max_body_size=WEBHOOK_MAX_BODY, max_buffer_size=WEBHOOK_MAX_BODY)


def listen(web: WebApp, port: int, address: str = "0.0.0.0") -> HTTPServer:
    """Serve `web` on `address`:`port` (TCP) on the running event loop; the server, to stop
    later. Raises OSError if the port can't be bound.
    """
    server = make_http_server(web)
    server.listen(port, address)
    return server


async def serve(
    app: AnyApp,
    engine: Engine,
    url: str,
    secret: str,
    port: int,
    accept: Accept | None = None,
) -> None:
    """Run the bot in webhook mode until SIGINT/SIGTERM, with the app's full lifecycle.

    `accept` is passed to `make_web_app` (None: straight onto the update queue).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        await app.bot.set_webhook(url, secret_token=secret, allowed_updates=Update.ALL_TYPES)
        await app.start()  # also starts the job queue, hence the sweep
        web = make_web_app(app, secret, webhook_path(url), engine, accept)
        server = listen(web, port)
        log.info("Bridges is listening for webhooks on port %d", port)
        try:
            await stop.wait()
        finally:
            server.stop()
            # The webhook stays set: other replicas keep serving it.
            await app.stop()
    finally:
        await app.shutdown()
