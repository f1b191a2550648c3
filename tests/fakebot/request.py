"""InProcessRequest: PTB's network layer replaced by direct calls into a FakeBotApi."""

from __future__ import annotations

import json
from typing import IO, cast
from urllib.parse import unquote, urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from tests.fakebot.api import FakeBotApi
from tests.fakebot.faults import DROPPED_DESCRIPTION, lost_reply, wire_payload
from tests.fakebot.models import UploadedFile

_NOT_FOUND = json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode()


def _read(content: object) -> bytes:
    # PTB >= 21.5 may hand over an open file handle instead of bytes.
    if isinstance(content, bytes):
        return content
    return cast(IO[bytes], content).read()


def uploads_from(request_data: RequestData | None) -> dict[str, UploadedFile]:
    if request_data is None:
        return {}
    files: dict[str, UploadedFile] = {}
    for name, field_tuple in request_data.multipart_data.items():
        filename, content, *rest = field_tuple
        mime_type = rest[0] if rest else "application/octet-stream"
        files[name] = UploadedFile(filename or name, _read(content), mime_type)
    return files


class InProcessRequest(BaseRequest):
    """Answers PTB requests from a FakeBotApi without sockets: deterministic and fast.

    Use one instance for ``.request(...)`` and another for ``.get_updates_request(...)``.
    getUpdates long-polls on the event loop (never blocks it). Injected faults reach PTB as
    they would over HTTP: error pages as the same bytes, lost replies as TimedOut (at once,
    without waiting for the read timeout) or NetworkError (drop=True).
    """

    def __init__(self, fake: FakeBotApi, read_timeout: float = 5.0) -> None:
        self.fake = fake
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up: there is no connection pool."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        path = unquote(urlsplit(url).path)
        if "/file/bot" in path:  # File.download_* -> {base_file_url}{token}/{file_path}
            file_path = path.split("/file/bot", 1)[1].split("/", 1)[-1]
            content = self.fake.download(file_path)
            return (200, content) if content is not None else (404, _NOT_FOUND)
        api_method = path.rstrip("/").rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        status, body = await self.fake.handle_async(api_method, params, uploads_from(request_data))
        lost = lost_reply(body)
        if lost is not None:  # timeout_after_delivery: what HTTPXRequest raises over HTTP
            raise NetworkError(DROPPED_DESCRIPTION) if lost.drop else TimedOut()
        return status, wire_payload(body)[0]
