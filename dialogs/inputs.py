"""Turning what a person typed into a value a step can keep, or a clear 'no'."""

from __future__ import annotations

import re
import unicodedata

_TIME = re.compile(
    r"^(?:at\s+)?(\d{1,2})(?:\s*[:.h]\s*(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?$", re.IGNORECASE
)
_NUMBER = re.compile(r"^[+-]?\d{1,6}$")


def parse_time(text: str) -> str | None:
    """'8', '8:30', '08.30', '8am', '8:15 pm', '20h15' -> 'HH:MM' (24 h); else None."""
    match = _TIME.match(text.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").replace(".", "").lower()
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def parse_number(text: str, low: int, high: int) -> int | None:
    cleaned = text.strip().rstrip("%").strip()
    if not _NUMBER.match(cleaned):
        return None
    value = int(cleaned)
    return value if low <= value <= high else None


def fold(text: str) -> str:
    """Lower-case, drop accents, emoji and punctuation so typed labels still match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = [c for c in decomposed if c.isalnum() or c.isspace()]
    return " ".join("".join(kept).split())


def is_blank(text: str) -> bool:
    """Whitespace and invisible format characters only (zero-width spaces and the like)."""
    return all(c.isspace() or unicodedata.category(c) in ("Cf", "Cc") for c in text)
