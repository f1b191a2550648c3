"""Injected failures: Telegram's error answers, outages in time, and replies lost in transit.

FaultPlan holds what the tests asked for; FakeBotApi consults it (under its state lock) before
running a method. Two kinds of outcome need the transport's help, so they travel as a WireReply
(a dict, so every existing caller still sees the JSON body):

- an error page instead of JSON (Telegram's nginx answers 502/504 with HTML), and
- a lost reply: the method ran, but the caller must see a timeout or a dropped connection.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

ALL_METHODS = "*"  # every method except getUpdates
_GATEWAY_CODES = frozenset({502, 504})  # answered by Telegram's proxy, not by the Bot API
# What httpx/PTB report when the server closes a connection without answering.
DROPPED_DESCRIPTION = "httpx.RemoteProtocolError: Server disconnected without sending a response."


@dataclass(frozen=True)
class LostReply:
    """The method ran, its answer never reaches the caller.

    drop=False: no answer at all (the client's read timeout fires: PTB raises TimedOut).
    drop=True: the connection closes without an answer (PTB raises NetworkError).
    """

    drop: bool = False


class WireReply(dict[str, Any]):
    """A Bot API response body the transport must deliver specially (see module docstring).

    ``page``: bytes to send instead of the JSON (content type text/html).
    ``lost``: set when the caller must not see this answer at all.
    """

    def __init__(
        self, body: dict[str, Any], *, page: bytes | None = None, lost: LostReply | None = None
    ) -> None:
        super().__init__(body)
        self.page = page
        self.lost = lost


class ApiError(Exception):
    """Raised by method handlers; becomes {"ok": false, ...} with the matching HTTP status."""

    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        *,
        page: bytes | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        # A non-JSON body (e.g. nginx's HTML for 502) the transports send instead of reply().
        self.page = page

    def reply(self) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return self.code, body if self.page is None else WireReply(body, page=self.page)


def gateway_page(error_code: int) -> bytes:
    """The HTML nginx serves for a gateway error (what Telegram's front end sends for 502)."""
    title = f"{error_code} {HTTPStatus(error_code).phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def make_fault(
    error_code: int,
    description: str | None = None,
    retry_after: int | None = None,
    html: bool | None = None,
) -> ApiError:
    """An ApiError with Telegram's wording filled in when description is None.

    429 always carries retry_after (1 s unless given). html=None gives the nginx HTML page for
    502/504 and JSON for everything else.
    """
    if error_code == 429 and retry_after is None:
        retry_after = 1
    if description is None:
        description = {
            400: "Bad Request: chat not found",
            403: "Forbidden: bot was blocked by the user",
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
            504: "Gateway Timeout",
        }.get(error_code, f"Error {error_code}")
    if html is None:
        html = error_code in _GATEWAY_CODES
    page = gateway_page(error_code) if html else None
    return ApiError(error_code, description, retry_after, page=page)


def wire_payload(body: dict[str, Any]) -> tuple[bytes, str]:
    """(payload, content type) to send on the wire for a response body."""
    page = body.page if isinstance(body, WireReply) else None
    if page is not None:
        return page, "text/html"
    return json.dumps(body).encode(), "application/json"


def lost_reply(body: dict[str, Any]) -> LostReply | None:
    return body.lost if isinstance(body, WireReply) else None


class FaultPlan:
    """What should go wrong, and when. Not thread-safe: FakeBotApi calls it under its lock.

    Precedence for a call: a queued failure for its chat, then a queued failure for its method
    (fail_next), then an active outage window for the method, then one for "*". Only a call
    that passes all of these reaches the method, and only such a call can lose its reply.
    """

    def __init__(self) -> None:
        self.next: dict[str, deque[ApiError]] = {}
        self.next_for_chat: dict[tuple[str, int], deque[ApiError]] = {}
        self.windows: dict[str, tuple[float, ApiError]] = {}  # method or "*" -> (until, error)
        self.lost: dict[str, deque[LostReply]] = {}  # method or "*" -> one entry per call

    def clear(self) -> None:
        self.next.clear()
        self.next_for_chat.clear()
        self.windows.clear()
        self.lost.clear()

    def take_error(self, method: str, chat_id: int | None, now: float) -> ApiError | None:
        """The failure this call of `method` (lower-case) must return, consuming queued ones."""
        if chat_id is not None:
            queue = self.next_for_chat.get((method, chat_id))
            if queue:
                return queue.popleft()
        queue = self.next.get(method)
        if queue:
            return queue.popleft()
        keys = [method] if method == "getupdates" else [method, ALL_METHODS]
        for key in keys:
            window = self.windows.get(key)
            if window is None:
                continue
            until, error = window
            if now < until:
                return error
            del self.windows[key]  # over: later calls succeed
        return None

    def take_lost(self, method: str) -> LostReply | None:
        keys = [method] if method == "getupdates" else [method, ALL_METHODS]
        for key in keys:
            queue = self.lost.get(key)
            if queue:
                return queue.popleft()
        return None

    def blocks_poll(self, now: float) -> bool:
        """Whether a getUpdates long poll must answer at once (with its failure)."""
        if self.next.get("getupdates"):
            return True
        window = self.windows.get("getupdates")
        return window is not None and now < window[0]
