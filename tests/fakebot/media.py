"""JSON for media the bot sends, so PTB can parse the returned Message without complaints."""

from __future__ import annotations

from typing import Any

# Bot API send method (lower-case) -> name of the parameter / Message field holding the media.
MEDIA_METHODS: dict[str, str] = {
    "senddocument": "document",
    "sendphoto": "photo",
    "sendvoice": "voice",
    "sendaudio": "audio",
    "sendvideo": "video",
    "sendanimation": "animation",
    "sendsticker": "sticker",
    "sendvideonote": "video_note",
}

# Fields PTB requires on each media type beyond file_id/file_unique_id.
_REQUIRED_FIELDS: dict[str, dict[str, Any]] = {
    "voice": {"duration": 1, "mime_type": "audio/ogg"},
    "audio": {"duration": 1},
    "video": {"width": 640, "height": 480, "duration": 1},
    "animation": {"width": 320, "height": 240, "duration": 1},
    "sticker": {"width": 512, "height": 512, "is_animated": False, "is_video": False,
                "type": "regular"},
    "video_note": {"length": 240, "duration": 1},
}  # fmt: skip


def media_json(
    kind: str,
    file_id: str,
    unique_id: str,
    size: int,
    file_name: str | None = None,
    mime_type: str | None = None,
) -> Any:
    base: dict[str, Any] = {"file_id": file_id, "file_unique_id": unique_id, "file_size": size}
    if kind == "photo":
        # Telegram returns several sizes; one is enough for PTB and for assertions.
        return [{**base, "width": 1280, "height": 960}]
    if kind == "document":
        if file_name:
            base["file_name"] = file_name
        if mime_type:
            base["mime_type"] = mime_type
        return base
    return {**base, **_REQUIRED_FIELDS.get(kind, {})}


def file_path_for(kind: str, file_id: str) -> str:
    folder = {"photo": "photos", "voice": "voice", "sticker": "stickers"}.get(kind, "documents")
    return f"{folder}/{file_id}"
