"""The fake Bot API drives a real PTB Application, in-process and over loopback HTTP."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakebot import (
    FAKE_TOKEN,
    BotHandlerError,
    ChatDriver,
    FakeBotApi,
    InProcessRequest,
    LoopbackBotApiServer,
    fake_builder,
    running,
    strip_html,
)
from tests.fakebot.driver import AnyApp, Mode

COMMANDS = [BotCommand("start", "Say hello"), BotCommand("report", "Get a report file")]
REPORT = b"line 1\r\nline 2\n\x00\xff binary tail\r\n"


# --- the tiny echo app under test ---------------------------------------------------------


async def _post_init(app: AnyApp) -> None:
    await app.bot.set_my_commands(COMMANDS)


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Tell me more", callback_data="more")],
            [InlineKeyboardButton("Website", url="https://example.org")],
        ]
    )
    await update.effective_message.reply_text(
        f"You said: {update.effective_message.text}", reply_markup=keyboard
    )


async def _on_click(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    if query.data != "more":
        await query.answer("That button has expired", show_alert=True)
        return
    await query.answer("OK")
    await context.bot.send_message(
        query.message.chat.id, "<b>More</b> &amp; more", parse_mode=ParseMode.HTML
    )


async def _report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_document(
        REPORT, filename="report.txt", caption="Your report"
    )


async def _location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.location
    loc = update.effective_message.location
    await update.effective_message.reply_text(
        f"Got {loc.latitude:.1f},{loc.longitude:.1f}",
        reply_markup=ReplyKeyboardMarkup(
            [[KeyboardButton("Share again", request_location=True), "Skip"]]
        ),
    )


async def _document_size(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    content = await (await message.document.get_file()).download_as_bytearray()
    await message.reply_text(f"{message.document.file_name}: {len(content)} bytes")


def build_echo_app(fake: FakeBotApi, server: LoopbackBotApiServer | None = None) -> AnyApp:
    app = fake_builder(fake, server).post_init(_post_init).build()
    app.add_handler(CommandHandler("report", _report))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    app.add_handler(CommandHandler("start", _echo))
    app.add_handler(MessageHandler(filters.LOCATION, _location))
    app.add_handler(MessageHandler(filters.Document.ALL, _document_size))
    app.add_handler(CallbackQueryHandler(_on_click))
    return app


@pytest.fixture(params=["inprocess", "http", "http-thread"])
async def echo(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeBotApi, AnyApp, Mode]]:
    """The echo app in every transport: in-process, and polling a real loopback server that
    runs on the test's loop or (http-thread) on its own thread."""
    fake = FakeBotApi()
    if request.param == "inprocess":
        app = build_echo_app(fake)
        async with running(app):
            yield fake, app, "inprocess"
        return
    async with LoopbackBotApiServer(fake, own_thread=request.param == "http-thread") as server:
        app = build_echo_app(fake, server)
        async with running(app, polling=True):
            yield fake, app, "http"


# --- end to end through the driver ----------------------------------------------------------


async def test_send_and_click_transcript(echo: tuple[FakeBotApi, AnyApp, Mode]) -> None:
    fake, app, mode = echo
    ada = ChatDriver(app, fake, user_id=1001, mode=mode)

    sent = await ada.send("hello")
    assert [m.text for m in sent] == ["You said: hello"]
    assert ada.buttons() == ["Tell me more", "Website"]
    assert sent[0].buttons[1][0].url == "https://example.org"

    sent = await ada.click("more")  # unique case-insensitive substring
    assert [m.plain_text for m in sent] == ["More & more"]
    assert ada.last_text == "<b>More</b> &amp; more"
    assert fake.callback_answers[-1].text == "OK"
    assert fake.unanswered_callback_queries() == []
    assert ada.transcript() == (
        "you: hello\n"
        "bot: You said: hello\n"
        "     [Tell me more]\n"
        "     [Website]\n"
        "you: [Tell me more]\n"
        "bot (toast): OK\n"
        "bot: <b>More</b> &amp; more"
    )
    with pytest.raises(AssertionError, match="'Tell me more', 'Website'"):
        await ada.click("Nope")


async def test_forged_callback_is_answered(echo: tuple[FakeBotApi, AnyApp, Mode]) -> None:
    fake, app, mode = echo
    eve = ChatDriver(app, fake, user_id=666, first_name="Eve", mode=mode)
    await eve.send("hi")
    # Stale/forged data on a message id that never existed: PTB gets an InaccessibleMessage.
    sent = await eve.click_data("transfer:all", message_id=999, expect=0)
    assert sent == []
    answer = fake.callback_answers[-1]
    assert (answer.text, answer.show_alert, answer.chat_id) == (
        "That button has expired",
        True,
        666,
    )
    assert eve.transcript().endswith(
        "you: [? data='transfer:all']\nbot (alert): That button has expired"
    )


async def test_many_users_are_routed_to_their_own_chats(
    echo: tuple[FakeBotApi, AnyApp, Mode],
) -> None:
    fake, app, mode = echo
    drivers = [ChatDriver(app, fake, user_id=2000 + i, mode=mode) for i in range(25)]
    replies = await asyncio.gather(*(d.send(f"I am {d.user_id}") for d in drivers))
    for driver, sent in zip(drivers, replies, strict=True):
        assert [m.text for m in sent] == [f"You said: I am {driver.user_id}"]
        assert all(m.chat_id == driver.user_id for m in sent)


async def test_location_and_reply_keyboard(echo: tuple[FakeBotApi, AnyApp, Mode]) -> None:
    fake, app, mode = echo
    ada = ChatDriver(app, fake, mode=mode)
    (sent,) = await ada.send_location(52.52, 13.405)
    assert sent.text == "Got 52.5,13.4"
    assert sent.reply_keyboard == [["Share again", "Skip"]]
    assert sent.location_requests == ["Share again"]
    assert "reply_markup" not in sent.raw  # Telegram only echoes inline keyboards


async def test_user_document_is_downloadable(echo: tuple[FakeBotApi, AnyApp, Mode]) -> None:
    fake, app, mode = echo
    ada = ChatDriver(app, fake, mode=mode)
    (sent,) = await ada.send_document("diary.txt", b"twelve bytes")
    assert sent.text == "diary.txt: 12 bytes"


async def test_bot_document_upload_keeps_filename_and_bytes(
    echo: tuple[FakeBotApi, AnyApp, Mode],
) -> None:
    fake, app, mode = echo
    ada = ChatDriver(app, fake, mode=mode)
    (sent,) = await ada.send("/report")
    assert sent.method == "sendDocument"
    assert sent.document is not None
    assert (sent.document.filename, sent.document.content) == ("report.txt", REPORT)
    assert sent.text == "Your report"
    assert sent.raw["document"]["file_size"] == len(REPORT)
    call = fake.calls_to("sendDocument")[-1]
    assert call.files["document"].content == REPORT
    assert call.params["chat_id"] == ada.chat_id  # form string "1001" decoded to int


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB-internal
async def test_fail_next_raises_forbidden_and_retry_after(
    echo: tuple[FakeBotApi, AnyApp, Mode],
) -> None:
    fake, app, mode = echo
    ada = ChatDriver(app, fake, mode=mode, timeout=2.0)
    fake.fail_next("sendMessage", 403)
    with pytest.raises(BotHandlerError) as blocked:
        await ada.send("are you there?", expect=0)
    assert isinstance(blocked.value.errors[0], Forbidden)
    assert "bot was blocked by the user" in str(blocked.value.errors[0])

    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(BotHandlerError) as limited:
        await ada.send("again?", expect=0)
    error = limited.value.errors[0]
    assert isinstance(error, RetryAfter)
    assert "Retry in 7 seconds" in str(error)  # (.retry_after's type is mid-deprecation)

    assert [c.error_code for c in fake.calls_to("sendMessage")] == [403, 429]
    assert [m.text for m in await ada.send("now?")] == ["You said: now?"]


async def test_commands_recorded_from_post_init(echo: tuple[FakeBotApi, AnyApp, Mode]) -> None:
    fake, app, _ = echo
    assert fake.commands == [
        {"command": "start", "description": "Say hello"},
        {"command": "report", "description": "Get a report file"},
    ]
    assert fake.calls_to("getMe")
    assert await app.bot.get_my_commands() == tuple(COMMANDS)


# --- in-process only ------------------------------------------------------------------------


async def test_group_chat_update_shape_and_reply() -> None:
    fake = FakeBotApi()
    update = fake.make_text_update(1001, "/start@bridges_test_bot now", chat_type="group")
    chat = update["message"]["chat"]
    assert chat["id"] < 0 and chat["type"] == "group" and chat["title"]
    assert update["message"]["from"]["id"] == 1001
    entity = update["message"]["entities"][0]
    assert (entity["type"], entity["offset"], entity["length"]) == ("bot_command", 0, 23)

    app = build_echo_app(fake)
    async with running(app):
        parsed = Update.de_json(update, app.bot)
        assert parsed.effective_chat is not None and parsed.effective_chat.type == "group"
        group = ChatDriver(app, fake, user_id=1001, chat_type="group")
        (sent,) = await group.send("/start")
        assert sent.chat_id == group.chat_id < 0
        assert sent.raw["chat"]["type"] == "group"


async def test_every_update_factory_parses_in_ptb() -> None:
    fake = FakeBotApi()
    app = build_echo_app(fake)
    async with running(app):
        text = fake.make_text_update(7, "hi")
        updates = [
            text,
            fake.make_callback_update(7, "x", message_id=1),
            fake.make_location_update(7, 1.5, 2.5),
            fake.make_sticker_update(7),
            fake.make_photo_update(7, caption="me"),
            fake.make_voice_update(7, duration=4),
            fake.make_document_update(7, "a.pdf", b"%PDF", "application/pdf"),
            fake.make_edited_text_update(7, text["message"]["message_id"], "hi!"),
        ]
        ids = [u["update_id"] for u in updates]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        parsed = [Update.de_json(u, app.bot) for u in updates]
    assert parsed[0].message is not None and parsed[0].message.from_user is not None
    assert parsed[0].message.from_user.language_code == "en"
    assert parsed[1].callback_query is not None and parsed[1].callback_query.data == "x"
    assert parsed[2].message is not None and parsed[2].message.location is not None
    assert parsed[3].message is not None and parsed[3].message.sticker is not None
    assert parsed[4].message is not None and parsed[4].message.caption == "me"
    assert parsed[5].message is not None and parsed[5].message.voice is not None
    assert parsed[6].message is not None and parsed[6].message.document is not None
    edited = parsed[7].edited_message
    assert edited is not None and edited.text == "hi!" and edited.edit_date is not None


async def test_handler_exceptions_fail_the_step() -> None:
    fake = FakeBotApi()

    async def bad_html(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        # Unescaped user text inside HTML: real Telegram rejects this with a 400.
        await update.effective_message.reply_html(f"You said <{update.effective_message.text}>")

    app = fake_builder(fake).build()
    app.add_handler(MessageHandler(filters.TEXT, bad_html))
    async with running(app):
        with pytest.raises(BotHandlerError) as caught:
            await ChatDriver(app, fake).send("hello")
    assert isinstance(caught.value.errors[0], BadRequest)
    assert "Can't parse entities" in str(caught.value)
    assert "you: hello" in str(caught.value)  # the transcript is part of the failure


async def test_edits_are_visible_and_not_modified_is_rejected() -> None:
    fake = FakeBotApi()

    async def edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text("Done")
        await query.edit_message_text("Done")  # Telegram: "message is not modified"

    app = build_echo_app(fake)
    app.handlers[0].insert(0, CallbackQueryHandler(edit, pattern="^more$"))
    async with running(app):
        ada = ChatDriver(app, fake, raise_errors=False)
        await ada.send("hey")
        sent = await ada.click("Tell me more")
    assert [(m.text, m.edited, m.buttons) for m in sent] == [("Done", True, [])]
    assert fake.calls_to("editMessageText")[-1].error_code == 400
    assert fake.messages(ada.chat_id)[-1].text == "Done"
    assert "bot (edited #2): Done" in ada.transcript()


# --- the fake and the server directly ---------------------------------------------------------


async def test_get_updates_long_poll_offset_and_limit() -> None:
    fake = FakeBotApi()
    first = fake.push_update(fake.make_text_update(1, "a"))
    fake.push_update(fake.make_text_update(1, "b"))
    status, body = await fake.handle_async("getUpdates", {"limit": "1"})
    assert status == 200 and [u["update_id"] for u in body["result"]] == [first["update_id"]]
    _, body = await fake.handle_async("getUpdates", {"offset": first["update_id"] + 1})
    assert [u["message"]["text"] for u in body["result"]] == ["b"]
    assert fake.pending_updates == 1  # confirmed updates are gone, unconfirmed stay

    last = body["result"][-1]["update_id"]
    started = time.monotonic()
    poll = asyncio.create_task(fake.handle_async("getUpdates", {"offset": last + 1, "timeout": 5}))
    await asyncio.sleep(0.05)
    assert not poll.done()  # long-polling, without blocking this loop
    fake.push_update(fake.make_text_update(1, "c"))
    _, body = await poll
    assert [u["message"]["text"] for u in body["result"]] == ["c"]
    assert time.monotonic() - started < 1


async def test_params_decode_from_form_strings() -> None:
    fake = FakeBotApi()
    markup = json.dumps({"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]})
    status, body = fake.handle(
        "sendMessage", {"chat_id": "5", "text": "42", "reply_markup": markup}
    )
    assert status == 200
    assert body["result"]["text"] == "42"  # a text param is never JSON-decoded
    assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Yes"
    (message,) = await fake.wait_for_messages(5, 1, timeout=1)
    assert message.button_labels == ["Yes"] and message.message_id == 1
    with pytest.raises(TimeoutError):
        await fake.wait_for_messages(5, 2, timeout=0.05)


def _post(url: str, data: bytes, content_type: str) -> dict[str, Any]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))


def test_server_accepts_json_form_and_multipart() -> None:
    fake = FakeBotApi()
    with LoopbackBotApiServer(fake) as server:
        url = f"{server.base_url}{FAKE_TOKEN}"
        ok = _post(f"{url}/sendMessage", b'{"chat_id": 9, "text": "json"}', "application/json")
        assert ok["ok"] and ok["result"]["text"] == "json"
        form = _post(
            f"{url}/sendMessage",
            b"chat_id=9&text=form+%26+more",
            "application/x-www-form-urlencoded",
        )
        assert form["result"]["text"] == "form & more"
        body = (
            b'--XyZ\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n9\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="document"; filename="a.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n\x00\r\n\xff\r\n--XyZ--\r\n"
        )
        doc = _post(f"{url}/sendDocument", body, "multipart/form-data; boundary=XyZ")
        assert doc["result"]["document"]["file_name"] == "a.bin"
        fake.fail_next("sendMessage", 403)
        blocked = _post(
            f"{url}/sendMessage", b"chat_id=9&text=x", "application/x-www-form-urlencoded"
        )
        assert blocked == {
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        }
        assert _post(f"{server.base_url}/nope", b"", "application/json")["error_code"] == 404
    texts = [m.text for m in fake.messages(9)]
    assert texts == ["json", "form & more", None]
    assert fake.messages(9)[-1].document is not None
    assert fake.messages(9)[-1].document.content == b"\x00\r\n\xff"  # type: ignore[union-attr]


def test_server_stop_is_prompt_with_pending_long_poll() -> None:
    fake = FakeBotApi()
    server = LoopbackBotApiServer(fake).start()
    url = f"{server.base_url}{FAKE_TOKEN}/getUpdates"
    result: list[dict[str, Any]] = []
    poller = threading.Thread(
        target=lambda: result.append(_post(url, b"timeout=30", "application/x-www-form-urlencoded"))
    )
    poller.start()
    time.sleep(0.1)
    started = time.monotonic()
    server.stop()
    poller.join(timeout=5)
    assert time.monotonic() - started < 1
    assert result == [{"ok": True, "result": []}]  # answered, not cut off
    with pytest.raises(RuntimeError):
        _ = server.base_url


# --- fault controls, through a real PTB Bot in every transport -------------------------------

ADA, BEA = 1001, 1002  # two private chats
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@pytest.fixture(params=["inprocess", "http", "http-thread"])
async def bot(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FakeBotApi, Bot]]:
    """A bare PTB Bot (HTTPXRequest over loopback, or InProcessRequest) on a fresh fake."""
    fake = FakeBotApi()
    if request.param == "inprocess":
        requests = {
            "request": InProcessRequest(fake),
            "get_updates_request": InProcessRequest(fake),
        }
        async with Bot(FAKE_TOKEN, **requests) as in_process:
            yield fake, in_process
        return
    own_thread = request.param == "http-thread"
    async with (
        LoopbackBotApiServer(fake, own_thread=own_thread) as server,
        Bot(FAKE_TOKEN, server.base_url, server.base_file_url) as over_http,
    ):
        yield fake, over_http


class FakeClock:
    """A monotonic clock the test moves by hand, so a 20 s outage takes no time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_fail_for_502_is_a_network_error_until_the_outage_ends(
    bot: tuple[FakeBotApi, Bot],
) -> None:
    fake, api = bot
    clock = fake.clock = FakeClock()
    fake.fail_for("sendMessage", 20)
    for elapsed in (0.0, 10.0, 19.9):
        clock.now = 1000.0 + elapsed
        with pytest.raises(NetworkError) as caught:
            await api.send_message(ADA, "Good morning")
        # PTB's message for nginx's HTML page: proof the body on the wire was not JSON.
        assert type(caught.value) is NetworkError  # not TimedOut/BadRequest: PTB maps 502 so
        assert "Bad Gateway (502). Parsing the server response b'<html>" in str(caught.value)
    assert await api.get_me()  # other methods still work
    assert fake.messages(ADA) == []  # a failed call performs nothing
    assert [c.error_code for c in fake.calls_to("sendMessage")] == [502, 502, 502]

    clock.now = 1020.0
    sent = await api.send_message(ADA, "Good morning")
    assert sent.text == "Good morning"
    assert [m.text for m in fake.messages(ADA)] == ["Good morning"]


async def test_fail_for_all_methods_spares_get_updates_and_json_errors_keep_text(
    bot: tuple[FakeBotApi, Bot],
) -> None:
    fake, api = bot
    fake.fail_for("*", 0.3, 500, "Internal Server Error")
    with pytest.raises(NetworkError, match=r"^Internal Server Error$"):
        await api.send_message(ADA, "hi")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await api.get_me()
    assert await api.get_updates(timeout=0) == ()  # polling is not part of "*"
    fake.fail_for("sendMessage", 5, 502, "Bad Gateway", html=False)  # Telegram's JSON variant
    with pytest.raises(NetworkError, match=r"^Bad Gateway$"):
        await api.send_message(ADA, "hi")
    fake.fail_for("sendMessage", 0)  # ends that outage
    await asyncio.sleep(0.35)  # real time: the "*" outage is over too
    assert (await api.send_message(ADA, "hi")).text == "hi"


async def test_fail_for_get_updates_answers_a_pending_long_poll(
    bot: tuple[FakeBotApi, Bot],
) -> None:
    fake, api = bot
    poll = asyncio.create_task(api.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    fake.fail_for("getUpdates", 60)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await poll
    assert time.monotonic() - started < 1
    fake.clear_faults()
    fake.push_update(fake.make_text_update(ADA, "still here"))
    (update,) = await api.get_updates(timeout=1)
    assert update.message is not None and update.message.text == "still here"


async def test_timeout_after_delivery_delivers_but_raises_timed_out(
    bot: tuple[FakeBotApi, Bot],
) -> None:
    fake, api = bot
    fake.timeout_after_delivery("sendMessage")
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await api.send_message(ADA, "Are you safe right now?", read_timeout=0.3)
    waited = time.monotonic() - started
    # Telegram has it: the person sees the message although the bot saw a timeout.
    assert [m.text for m in fake.messages(ADA)] == ["Are you safe right now?"]
    assert fake.calls_to("sendMessage")[-1].reply_lost
    assert fake.calls_to("sendMessage")[-1].error_code is None
    assert waited < 2  # over HTTP: the server held the answer until the client gave up
    # A blind retry is exactly how a person gets the question twice.
    await api.send_message(ADA, "Are you safe right now?", read_timeout=0.3)
    assert fake.duplicate_messages(ADA) == ["Are you safe right now?"]
    assert not fake.calls_to("sendMessage")[-1].reply_lost  # count=1 was used up


async def test_timeout_after_delivery_drop_and_count_and_outage_first(
    bot: tuple[FakeBotApi, Bot],
) -> None:
    fake, api = bot
    fake.timeout_after_delivery("sendMessage", count=2, drop=True)
    fake.fail_next("sendMessage", 502)  # never reached Telegram: does not use up the count
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await api.send_message(ADA, "one")
    for text in ("two", "three"):
        with pytest.raises(NetworkError) as caught:
            await api.send_message(ADA, text, read_timeout=5)
        assert not isinstance(caught.value, TimedOut)  # closed at once, not timed out
        assert "Server disconnected without sending a response" in str(caught.value)
    assert (await api.send_message(ADA, "four")).text == "four"
    assert fake.sent_texts(ADA) == ["two", "three", "four"]
    assert [c.reply_lost for c in fake.calls_to("sendMessage")] == [False, True, True, False]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # .retry_after
async def test_fail_next_bad_requests_telegram_sends(bot: tuple[FakeBotApi, Bot]) -> None:
    fake, api = bot
    query_id = fake.make_callback_update(ADA, "not_safe", message_id=1)["callback_query"]["id"]
    fake.fail_next("answerCallbackQuery", 400, TOO_OLD)
    with pytest.raises(BadRequest, match=r"^Query is too old and response timeout expired"):
        await api.answer_callback_query(query_id)
    assert fake.callback_answers == []
    assert await api.answer_callback_query(query_id)  # the fault was for the next call only

    fake.fail_next("sendMessage", 400, "Bad Request: message is too long")
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await api.send_message(ADA, "short, but the fake said so")

    fake.fail_next("sendDocument", 400, "Bad Request: file must be non-empty")
    with pytest.raises(BadRequest, match=r"^File must be non-empty$"):
        await api.send_document(ADA, b"report", filename="export.txt")
    sent = await api.send_document(ADA, b"report", filename="export.txt")
    assert sent.document is not None and sent.document.file_name == "export.txt"
    assert fake.sent_texts(ADA) == ["[document export.txt, 6 bytes]"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # .retry_after
async def test_fail_next_for_chat_hits_one_chat_only(bot: tuple[FakeBotApi, Bot]) -> None:
    fake, api = bot
    fake.fail_next_for_chat("sendMessage", ADA, 429, retry_after=30)
    assert (await api.send_message(BEA, "for Bea")).text == "for Bea"
    with pytest.raises(RetryAfter) as limited:
        await api.send_message(ADA, "for Ada")
    assert "Retry in 30 seconds" in str(limited.value)
    assert (await api.send_message(ADA, "for Ada")).text == "for Ada"
    assert fake.sent_texts(ADA) == ["for Ada"] and fake.sent_texts(BEA) == ["for Bea"]

    # answerCallbackQuery has no chat_id: the chat is the one the query came from.
    ada_query = fake.make_callback_update(ADA, "x", message_id=1)["callback_query"]["id"]
    bea_query = fake.make_callback_update(BEA, "x", message_id=1)["callback_query"]["id"]
    fake.fail_next_for_chat("answerCallbackQuery", ADA, 400, TOO_OLD)
    assert await api.answer_callback_query(bea_query)
    with pytest.raises(BadRequest, match="Query is too old"):
        await api.answer_callback_query(ada_query)


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# Visible "😀𝐁é&" = 7 UTF-16 units but 5 code points: an emoji and a styled letter (2 units,
# 1 code point each), "e" + COMBINING ACUTE ACCENT (2 units, 2 code points) and "&amp;" (1).
_PIECE = "<b>\N{GRINNING FACE}\N{MATHEMATICAL BOLD CAPITAL B}</b>e\N{COMBINING ACUTE ACCENT}&amp;"


async def test_limits_count_utf16_units_after_html_parsing(bot: tuple[FakeBotApi, Bot]) -> None:
    fake, api = bot
    text = _PIECE * 585 + "x"  # 585 * 7 + 1 = 4096 units
    visible = strip_html(text)
    assert (_units(visible), len(visible), len(text)) == (4096, 2926, 9361)
    sent = await api.send_message(ADA, text, parse_mode=ParseMode.HTML)
    assert sent.text == visible
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await api.send_message(ADA, text + "x", parse_mode=ParseMode.HTML)  # 4,097 units
    # Counting len() is not enough: 2,049 emoji are 4,098 units.
    emoji = "\N{GRINNING FACE}"
    assert (await api.send_message(ADA, emoji * 2048)).text == emoji * 2048
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await api.send_message(ADA, emoji * 2049)

    caption = _PIECE * 146 + "xy"  # 146 * 7 + 2 = 1024 units
    assert _units(strip_html(caption)) == 1024
    doc = await api.send_document(ADA, b"x", filename="a.txt", caption=caption, parse_mode="HTML")
    assert doc.caption == strip_html(caption)
    with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
        await api.send_document(
            ADA, b"x", filename="a.txt", caption=caption + "z", parse_mode="HTML"
        )
    assert len(fake.deliveries(ADA)) == 3


# --- the delivery log and the wire, directly ---------------------------------------------------


def test_duplicate_messages_are_repeats_with_nothing_from_the_user_between() -> None:
    fake = FakeBotApi()

    def send(text: str) -> dict[str, Any]:
        status, body = fake.handle("sendMessage", {"chat_id": ADA, "text": text})
        assert status == 200
        return dict(body["result"])

    send("Hello")
    first = send("How are you?")
    send("How are you?")  # a resend: counts
    fake.note_incoming(fake.make_text_update(ADA, "fine"))
    send("How are you?")  # asked again after an answer: not a repeat
    fake.handle("sendMessage", {"chat_id": ADA, "text": "<i>x</i> &amp;", "parse_mode": "HTML"})
    assert fake.handle("sendMessage", {"chat_id": ADA, "text": " "})[0] == 400  # not delivered
    fake.handle("sendMessage", {"chat_id": ADA, "text": "x &amp;", "parse_mode": "HTML"})
    fake.handle("editMessageText", {"chat_id": ADA, "message_id": first["message_id"], "text": "?"})
    fake.handle("deleteMessage", {"chat_id": ADA, "message_id": first["message_id"]})
    assert fake.sent_texts(ADA) == [
        "Hello",
        "How are you?",
        "How are you?",
        "How are you?",
        "x &",
        "x &",
    ]  # edits are not deliveries; a deleted message was still delivered
    assert fake.duplicate_messages(ADA) == ["How are you?", "x &"]
    assert fake.duplicate_messages(BEA) == []


def test_server_sends_nginx_page_for_502_and_drops_lost_replies() -> None:
    fake = FakeBotApi()
    with LoopbackBotApiServer(fake) as server:
        url = f"{server.base_url}{FAKE_TOKEN}/sendMessage"
        request = urllib.request.Request(
            url, data=b"chat_id=9&text=hi", headers={"Content-Type": "text/plain"}
        )
        fake.fail_for("*", 30)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 502
        assert caught.value.headers["Content-Type"] == "text/html"
        assert caught.value.read().startswith(b"<html>\r\n<head><title>502 Bad Gateway</title>")
        fake.clear_faults()
        fake.timeout_after_delivery("sendMessage", drop=True)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            urllib.request.urlopen(request, timeout=5)
    assert [m.text for m in fake.messages(9)] == ["hi"]
