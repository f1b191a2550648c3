"""Start-up problems end in one clear line, never a traceback or the token.

The real `bridges run` command against the loopback fake Bot API: a rejected token, a Bot API
that cannot be reached (and then can), and malformed webhook settings. Then `connect` in
process, to see its backoff and its two log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import telegram

from bot.logs import quiet_libraries
from bot.startup import StartupError, api_host, connect, validate_webhook
from tests.fakebot import FAKE_TOKEN, FakeBotApi, LoopbackBotApiServer
from tests.run_process import start_bridges_run

# The token in every form a log could show it: whole, URL-encoded, and its secret half.
TOKEN_FORMS = [
    FAKE_TOKEN,
    FAKE_TOKEN.replace(":", "%3A"),
    FAKE_TOKEN.split(":")[1],
]
UNREACHABLE = "Cannot reach the Telegram Bot API at"
GOOD_URL = "https://bridges.example.org/telegram"
GOOD_SECRET = "s3cret_Value-42"
LIBRARIES = ["telegram", "httpx", "httpcore", "apscheduler", "alembic"]
LOG = logging.getLogger("bridges.startup")


def lines_of(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if line.strip()]


def token_in(printed: str) -> list[str]:
    return [form for form in TOKEN_FORMS if form.lower() in printed.lower()]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def read_until(stream: asyncio.StreamReader, needle: str, timeout: float) -> str:
    """Everything `stream` printed up to and including the first line containing `needle`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not any(needle in line for line in seen):
        left = deadline - time.monotonic()
        line = await asyncio.wait_for(stream.readline(), timeout=max(left, 0.01))
        if not line:
            break
        seen.append(line.decode())
    return "".join(seen)


@contextlib.asynccontextmanager
async def forwarding(port: int, to_port: int) -> AsyncIterator[None]:
    """Listen on 127.0.0.1:`port` and pipe every connection to 127.0.0.1:`to_port`: the Bot
    API 'comes back' on the address the bot has been trying all along."""
    writers: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", to_port)
        writers.extend([writer, up_writer])
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for writer in writers:
            writer.close()


# --- the real `bridges run` ---------------------------------------------------------------------


async def test_a_rejected_token_is_one_line_and_exit_1(tmp_path: Path) -> None:
    fake = FakeBotApi()
    async with LoopbackBotApiServer(fake) as server:
        fake.fail_next("getMe", 401, "Unauthorized")
        proc = await start_bridges_run(tmp_path, server.base_url)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    printed = (out + err).decode()
    assert proc.returncode == 1, printed
    assert lines_of(printed) == [
        "Telegram rejected the bot token (401). Check TELEGRAM_BOT_TOKEN: "
        "copy it again from @BotFather."
    ]
    assert "Traceback" not in printed
    assert token_in(printed) == []
    assert [c.error_code for c in fake.calls_to("getMe")] == [401], "Telegram was really asked"
    assert not (tmp_path / "run.db").exists(), "nothing is started with a rejected token"


async def test_an_unreachable_bot_api_is_said_once_and_retried(tmp_path: Path) -> None:
    port = closed_port()
    proc = await start_bridges_run(tmp_path, f"http://127.0.0.1:{port}/bot")
    assert proc.stderr is not None
    try:
        said = await read_until(proc.stderr, UNREACHABLE, timeout=60)
        assert UNREACHABLE in said, said
        await asyncio.sleep(4)  # retries at about 1 s and 3 s: they must stay silent
        assert proc.returncode is None, "it keeps trying instead of exiting"
    finally:
        proc.kill()
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    printed = said + (out + err).decode()
    [line] = lines_of(printed)
    assert line.endswith(
        f"WARNING bridges.startup: {UNREACHABLE} 127.0.0.1:{port} (ConnectError); "
        "retrying with backoff..."
    ), line
    assert "Traceback" not in printed
    assert token_in(printed) == []
    assert "/bot" not in printed, "the host only, never the URL"


async def test_when_the_bot_api_comes_back_the_bot_runs(tmp_path: Path) -> None:
    """Nothing listening; then Telegram's front end, answering 502 with its HTML page once;
    then the Bot API. One line for the whole outage, one when it is over."""
    port = closed_port()
    fake = FakeBotApi()
    fake.fail_next("getMe", 502, "Bad Gateway")
    async with LoopbackBotApiServer(fake) as server:
        proc = await start_bridges_run(tmp_path, f"http://127.0.0.1:{port}/bot")
        assert proc.stderr is not None
        try:
            said = await read_until(proc.stderr, UNREACHABLE, timeout=60)
            async with forwarding(port, server.port):
                said += await read_until(proc.stderr, "Reached the Telegram", timeout=60)
                fake.push_update(fake.make_text_update(1001, "/start"))
                [welcome] = await fake.wait_for_messages(1001, 1, timeout=60)
                assert "I'm Bridges" in (welcome.text or "")
                proc.send_signal(signal.SIGINT)
                out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    printed = said + (out + err).decode()
    assert proc.returncode == 0, printed
    assert printed.count(UNREACHABLE) == 1, printed
    assert printed.count("Reached the Telegram Bot API again") == 1, printed
    assert [c.error_code for c in fake.calls_to("getMe")][:2] == [502, None]
    assert "Traceback" not in printed and "<html>" not in printed, printed
    assert token_in(printed) == []


@pytest.mark.parametrize(
    ("url", "secret", "expected"),
    [
        ("http://bridges.example.org/telegram", GOOD_SECRET, "(it starts with http://)"),
        ("https:///telegram", GOOD_SECRET, "(it has no host)"),
        ("not a url at all", GOOD_SECRET, "(it contains spaces or control characters)"),
        ("my-host.test/telegram", GOOD_SECRET, "(it has no scheme)"),
        (GOOD_URL, "my secret words", "(it has other characters, such as spaces"),
        (GOOD_URL, "x" * 300, "(it has 300 characters)"),
    ],
)
async def test_a_malformed_webhook_setting_is_one_line_and_exit_2(
    tmp_path: Path, url: str, secret: str, expected: str
) -> None:
    fake = FakeBotApi()
    async with LoopbackBotApiServer(fake) as server:
        proc = await start_bridges_run(
            tmp_path, server.base_url, "--webhook", WEBHOOK_URL=url, WEBHOOK_SECRET=secret
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    printed = (out + err).decode()
    assert proc.returncode == 2, printed
    [line] = lines_of(printed)
    variable = "WEBHOOK_URL" if secret == GOOD_SECRET else "WEBHOOK_SECRET"
    assert line.startswith(f"{variable} must be"), line
    assert expected in line, line
    assert (url if variable == "WEBHOOK_URL" else secret) not in line, "not repeated"
    assert fake.calls == [], "nothing is started with a bad setting"
    assert "Traceback" not in printed and token_in(printed) == []


# --- validate_webhook ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        GOOD_URL,
        "https://bridges.example.org",
        "HTTPS://Example.org:8443/t?x=1",
        "https://[::1]:88/",
    ],
)
def test_usable_webhook_urls_pass(url: str) -> None:
    assert validate_webhook(url, GOOD_SECRET) is None
    assert validate_webhook(url, "a") is None
    assert validate_webhook(url, "Z" * 256) is None


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [
        ("ftp://bridges.example.org/t", GOOD_SECRET, "it starts with ftp://"),
        ("https://", GOOD_SECRET, "it has no host"),
        ("https://:443/telegram", GOOD_SECRET, "it has no host"),
        ("/telegram", GOOD_SECRET, "it has no scheme"),
        (" https://bridges.example.org/t", GOOD_SECRET, "spaces or control characters"),
        ("https://bridges.example.org/t\n", GOOD_SECRET, "spaces or control characters"),
        ("https://bridges.example.org:99999/t", GOOD_SECRET, "port is not a number"),
        ("https://bridges.example.org:8080/t", GOOD_SECRET, "not 8080"),
        (GOOD_URL, "Z" * 257, "it has 257 characters"),
        (GOOD_URL, "tab\there", "other characters"),
        (GOOD_URL, "dots.are.not.allowed", "other characters"),
        (GOOD_URL, "ümlaut", "other characters"),
        (None, GOOD_SECRET, "needs WEBHOOK_URL:"),
        (GOOD_URL, None, "needs WEBHOOK_SECRET:"),
        ("", "", "needs WEBHOOK_URL and WEBHOOK_SECRET:"),
    ],
)
def test_unusable_webhook_settings_say_what_to_fix(
    url: str | None, secret: str | None, problem: str
) -> None:
    line = validate_webhook(url, secret)
    assert line is not None and problem in line, line
    assert "\n" not in line
    if secret:
        assert secret not in line


def test_api_host_never_includes_the_path() -> None:
    assert api_host(f"https://api.telegram.org/bot{FAKE_TOKEN}") == "api.telegram.org"
    assert api_host(f"http://127.0.0.1:8081/bot{FAKE_TOKEN}") == "127.0.0.1:8081"
    assert api_host(f"http://user:pw@[::1]:81/bot{FAKE_TOKEN}") == "[::1]:81"


# --- connect, in process -------------------------------------------------------------------------


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {self.format(record)}")


@pytest.fixture()
def said() -> Iterator[Lines]:
    """Everything logged at INFO and above, libraries quietened as `bridges run` does."""
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in LIBRARIES}
    handler = Lines()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    quiet_libraries()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


async def test_connect_backs_off_and_says_two_lines_in_all(said: Lines) -> None:
    fake = FakeBotApi()
    for _ in range(4):  # nginx's HTML page, as Telegram's front end sends it
        fake.fail_next("getMe", 502, "Bad Gateway")
    async with LoopbackBotApiServer(fake) as server:
        port = server.port
        bot = telegram.Bot(FAKE_TOKEN, base_url=server.base_url)
        try:
            await connect(bot, log=LOG, first_delay=0.1, max_delay=0.3)
        finally:
            await bot.shutdown()
    calls = fake.calls_to("getMe")
    assert [c.error_code for c in calls] == [502, 502, 502, 502, None]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    # 0.1, 0.2, then capped at 0.3 (and a little more for the round trip).
    for gap, wanted in zip(gaps, [0.1, 0.2, 0.3, 0.3], strict=True):
        assert wanted <= gap < wanted + 0.25, gaps
    # Nothing else: not PTB's "Can not load invalid JSON data" traceback for each HTML page.
    assert said.lines == [
        f"WARNING bridges.startup: {UNREACHABLE} 127.0.0.1:{port} (NetworkError); "
        "retrying with backoff...",
        "INFO bridges.startup: Reached the Telegram Bot API again",
    ]


async def test_connect_says_nothing_when_all_is_well(said: Lines) -> None:
    fake = FakeBotApi()
    async with LoopbackBotApiServer(fake) as server:
        bot = telegram.Bot(FAKE_TOKEN, base_url=server.base_url)
        try:
            await connect(bot, log=LOG)
            assert bot.username, "getMe was answered and kept"
        finally:
            await bot.shutdown()
    assert said.lines == []


@pytest.mark.parametrize(
    ("code", "description", "status"),
    [
        (401, "Unauthorized", "(401)"),
        (404, "Not Found", "(404: the token is malformed, or TELEGRAM_API_BASE_URL"),
    ],
)
async def test_connect_turns_a_rejected_token_into_one_line(
    said: Lines, code: int, description: str, status: str
) -> None:
    fake = FakeBotApi()
    fake.fail_next("getMe", code, description)
    async with LoopbackBotApiServer(fake) as server:
        bot = telegram.Bot(FAKE_TOKEN, base_url=server.base_url)
        try:
            with pytest.raises(StartupError) as caught:
                await connect(bot, log=LOG)
        finally:
            await bot.shutdown()
    message = str(caught.value)
    assert message.startswith(f"Telegram rejected the bot token {status}"), message
    assert "\n" not in message and token_in(message) == []
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert said.lines == []
