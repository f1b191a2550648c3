"""A fake Telegram Bot API for driving a real PTB Application end to end in tests/benchmarks.

In-process (deterministic)::

    fake = FakeBotApi()
    app = fake_builder(fake).build()      # token + InProcessRequest for both request slots
    ...add handlers...
    async with running(app):
        ada = ChatDriver(app, fake, user_id=1001)
        await ada.send("/start")
        await ada.click("Tell me more")
        print(ada.transcript())

Over real HTTP on 127.0.0.1 (what the benchmark uses)::

    async with LoopbackBotApiServer(fake) as server:
        app = fake_builder(fake, server).build()
        async with running(app, polling=True):
            ada = ChatDriver(app, fake, mode="http")
            await ada.send("/start")
"""

from tests.fakebot.api import FakeBotApi
from tests.fakebot.driver import BotHandlerError, ChatDriver, fake_builder, running
from tests.fakebot.formatting import html_error, strip_html
from tests.fakebot.methods import BOT_ID, BOT_USERNAME, FAKE_TOKEN, ApiError
from tests.fakebot.models import (
    Button,
    Call,
    CallbackAnswer,
    HistoryEntry,
    SentMessage,
    UploadedFile,
    UserAction,
)
from tests.fakebot.request import InProcessRequest
from tests.fakebot.server import LoopbackBotApiServer
from tests.fakebot.updates import SenderOptions, UpdateFactory

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "FAKE_TOKEN",
    "ApiError",
    "BotHandlerError",
    "Button",
    "Call",
    "CallbackAnswer",
    "ChatDriver",
    "FakeBotApi",
    "HistoryEntry",
    "InProcessRequest",
    "LoopbackBotApiServer",
    "SenderOptions",
    "SentMessage",
    "UpdateFactory",
    "UploadedFile",
    "UserAction",
    "fake_builder",
    "html_error",
    "running",
    "strip_html",
]
