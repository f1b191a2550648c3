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

Faults (the same in-process and over HTTP; PTB raises what it would against Telegram)::

    fake.fail_next(method, error_code=403, description=None, retry_after=None, *, html=None)
        The next call of `method` fails (queued per method). description=None: Telegram's
        wording (403 blocked, 429 "Too Many Requests: retry after N", 400 chat not found...).
        e.g. fail_next("answerCallbackQuery", 400, "Bad Request: query is too old and response
        timeout expired or query ID is invalid") -> BadRequest; 429 -> RetryAfter.
    fake.fail_next_for_chat(method, chat_id, error_code=429, description=None, retry_after=None)
        Same, for one chat only (chat_id param, or the chat a callback query came from);
        other chats' calls succeed. Checked before fail_next.
    fake.fail_for(method, seconds, error_code=502, description=None, *,
                  retry_after=None, html=None)
        An outage: every call fails for `seconds` of fake.clock() (time.monotonic; assign a
        callable to fake.clock to move time by hand), then calls succeed. "*" = every method
        but getUpdates. 502/504 answer with nginx's HTML page (PTB: NetworkError "Bad Gateway
        (502). Parsing the server response b'<html>...' failed"); html=False gives JSON
        (NetworkError "Bad Gateway"). 5xx are NetworkError, never TimedOut.
    fake.timeout_after_delivery(method, count=1, *, drop=False)
        The next `count` calls are performed (the message is in fake.messages(chat)) but the
        answer is lost: PTB raises TimedOut (in-process at once; over HTTP the server says
        nothing until the client's read timeout fires, so pass e.g. read_timeout=0.3).
        drop=True closes the connection instead: NetworkError "httpx.RemoteProtocolError:
        Server disconnected without sending a response." Calls failed by the faults above
        do not use up the count. Call.reply_lost marks such calls in fake.calls.
    fake.clear_faults()
        Forget all of the above.

Failed calls perform nothing and are in fake.calls with Call.error_code set.

Delivery log: fake.deliveries(chat_id) (every SentMessage as first delivered, deleted ones
included, edits not), fake.sent_texts(chat_id) (their visible texts; media as "[document
a.txt, 3 bytes] caption"), fake.duplicate_messages(chat_id) (deliveries repeating the previous
one with no user update in between; [] = nothing said twice). Text limits are 4,096 / 1,024
(captions) UTF-16 code units of the visible text after HTML parsing.

The reply check (tests/fakebot/lint.py): every text, caption and edit the fake receives is
read by lint_reply(text, kind) -> [problems] (doubled punctuation such as "?.", empty lines
at the ends, the limits above); violations are kept until take_violations(), which
tests/conftest.py calls after each test to fail the one that produced them.
"""

from tests.fakebot.api import FakeBotApi
from tests.fakebot.driver import BotHandlerError, ChatDriver, fake_builder, running
from tests.fakebot.faults import LostReply, WireReply
from tests.fakebot.formatting import html_error, strip_html
from tests.fakebot.lint import Violation, lint_reply, take_violations
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
    "LostReply",
    "SenderOptions",
    "SentMessage",
    "UpdateFactory",
    "UploadedFile",
    "UserAction",
    "Violation",
    "WireReply",
    "fake_builder",
    "html_error",
    "lint_reply",
    "running",
    "strip_html",
    "take_violations",
]
