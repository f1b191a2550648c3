"""Request bodies as Bot API clients send them: JSON, urlencoded form or multipart/form-data."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from tests.fakebot.models import UploadedFile

_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?')
_DISPOSITION_PARAM_RE = re.compile(r'(\w+)\*?="?([^";]*)"?')


def parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Split multipart/form-data into text fields and files (filename + raw bytes kept).

    Hand-rolled instead of the email package so binary payloads (CRLFs, NULs) stay byte-exact.
    """
    match = _BOUNDARY_RE.search(content_type)
    if not match:
        raise ValueError("multipart body without boundary")
    delimiter = b"--" + match.group(1).encode()
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):  # closing delimiter
            break
        head, _, payload = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        payload = payload.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = dict(_DISPOSITION_PARAM_RE.findall(headers.get("content-disposition", "")))
        name = disposition.get("name", "")
        if "filename" in disposition:
            mime_type = headers.get("content-type", "application/octet-stream")
            # httpx escapes '"' in filenames as %22.
            filename = disposition["filename"].replace("%22", '"')
            files[name] = UploadedFile(filename, payload, mime_type)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files


def parse_body(
    content_type: str, body: bytes, query: str = ""
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Params (query string + body) and uploaded files; raises ValueError on garbage."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    if content_type.startswith("application/json"):
        decoded = json.loads(body or b"{}")
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params.update(decoded)
    elif content_type.startswith("multipart/form-data"):
        fields, files = parse_multipart(content_type, body)
        params.update(fields)
    elif body:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return params, files
