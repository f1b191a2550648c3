"""Webhook mode: a small tornado server that feeds Telegram's updates to the Application.

PTB's own `run_webhook` serves only the webhook route; we also need a health endpoint,
so (as in PTB's custom-webhook examples) we run our own server and put each update
on `application.update_queue`. Any number of replicas can serve the same webhook
behind a load balancer: each update arrives at exactly one of them.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, text
from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApp
from tornado.web import RequestHandler

log = logging.getLogger("bridges.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/health"
AnyApp = Application[Any, Any, Any, Any, Any, Any]


def webhook_path(url: str) -> str:
    """The path Telegram posts to: the path of WEBHOOK_URL, or /telegram if it has none."""
    path = urlsplit(url).path.rstrip("/")
    return path or "/telegram"


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # any failure means "not reachable" to a health check
        log.warning("health: database unreachable (%s)", type(err).__name__)
        return False
    return True


class _UpdateHandler(RequestHandler):
    def initialize(self, app: AnyApp, secret: str) -> None:
        self.app = app
        self.secret = secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        # Constant-time compare, so the secret can't be guessed byte by byte.
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.send_error(403)
            return
        try:
            data = json.loads(self.request.body)
            update = Update.de_json(data, self.app.bot)
        except Exception as err:  # the body is never logged: it holds what people wrote
            log.warning("webhook: unreadable update (%s)", type(err).__name__)
            self.send_error(400)
            return
        await self.app.update_queue.put(update)
        self.set_status(200)

    def log_exception(self, *args: Any) -> None:
        """Tornado would log the request; ours may hold personal text, so say nothing."""


class _HealthHandler(RequestHandler):
    def initialize(self, engine: Engine) -> None:
        self.engine = engine

    async def get(self) -> None:
        ok = await asyncio.to_thread(database_ok, self.engine)
        self.set_status(200 if ok else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"database": "ok" if ok else "unreachable"}))


def make_web_app(app: AnyApp, secret: str, path: str, engine: Engine) -> WebApp:
    return WebApp(
        [
            (path, _UpdateHandler, {"app": app, "secret": secret}),
            (HEALTH_PATH, _HealthHandler, {"engine": engine}),
        ],
        log_function=lambda handler: None,  # access logs would show paths and ids only; skip
    )


def listen(web: WebApp, port: int, address: str = "0.0.0.0") -> HTTPServer:
    server = HTTPServer(web)
    server.listen(port, address)
    return server


async def serve(app: AnyApp, engine: Engine, url: str, secret: str, port: int) -> None:
    """Run the bot in webhook mode until SIGINT/SIGTERM, with the app's full lifecycle."""
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
        server = listen(make_web_app(app, secret, webhook_path(url), engine), port)
        log.info("Bridges is listening for webhooks on port %d", port)
        try:
            await stop.wait()
        finally:
            server.stop()
            # The webhook stays set: other replicas keep serving it.
            await app.stop()
    finally:
        await app.shutdown()
