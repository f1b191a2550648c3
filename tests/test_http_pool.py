"""build_application's HTTP clients: small pools of its own, or what the caller passes."""

from __future__ import annotations

import ssl
from pathlib import Path

from telegram.request import HTTPXRequest

from bot.core import Bridges
from bot.startup import tls_context
from bot.telegram_app import POLL_CONNECTIONS, SEND_CONNECTIONS, build_application
from tests.fakebot import FAKE_TOKEN, FakeBotApi
from tests.fakebot.request import InProcessRequest


def pool_of(request: object) -> tuple[int | None, float | None]:
    assert isinstance(request, HTTPXRequest)
    kwargs = request._client_kwargs  # what httpx.AsyncClient is made with
    return kwargs["limits"].max_connections, kwargs["timeout"].pool


def test_sends_and_polls_get_small_pools_of_their_own(tmp_path: Path) -> None:
    bridges = Bridges.open(f"sqlite:///{tmp_path}/b.db")
    try:
        app = build_application(bridges, FAKE_TOKEN)
        updates, sends = app.bot._request
        assert pool_of(sends) == (SEND_CONNECTIONS, None)  # PTB's default: 256 and 1 s
        assert SEND_CONNECTIONS <= 32
        assert pool_of(updates)[0] == POLL_CONNECTIONS == 1
        assert sends is not updates
        # One TLS context for both (and the start-up token check): not one each (issue 15).
        assert isinstance(sends, HTTPXRequest) and isinstance(updates, HTTPXRequest)
        shared = sends._client_kwargs["verify"]
        assert isinstance(shared, ssl.SSLContext) and shared is tls_context()
        assert updates._client_kwargs["verify"] is shared
    finally:
        bridges.close()


def test_a_callers_requests_are_kept(tmp_path: Path) -> None:
    bridges = Bridges.open(f"sqlite:///{tmp_path}/b.db")
    fake = FakeBotApi()
    mine, my_updates = InProcessRequest(fake), InProcessRequest(fake)
    try:
        app = build_application(bridges, FAKE_TOKEN, request=mine, updates_request=my_updates)
        assert app.bot._request == (my_updates, mine)
    finally:
        bridges.close()
