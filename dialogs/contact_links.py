"""Telegram usernames and phone numbers: check what a person typed, build one-tap links.

Pure helpers: a check returns the normalised value, or a short problem code (with
the details a prompt needs) so the reply can say exactly what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

USERNAME_MIN, USERNAME_MAX = 5, 32  # Telegram's limits for public usernames
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 7, 15  # 15 is the E.164 maximum

_USERNAME_CHAR = re.compile(r"[A-Za-z0-9_]")
_LETTER = re.compile(r"[A-Za-z]")
# Links people copy from a profile: t.me/name, https://telegram.me/name/, www.t.me/name
_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t|telegram)\.me/([^/?#]*)/?(?:[?#].*)?$", re.I)
_PHONE_CHAR = re.compile(r"[0-9+\s\-().]")  # dots too: "06.12.34.56.78"
# "+44 (0)20 ...": the bracketed 0 is dialled only from inside the country.
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")


@dataclass(frozen=True)
class Check:
    """The outcome of checking one typed value."""

    value: str | None = None  # the normalised form, when it is valid
    problem: str | None = None  # otherwise why not, as a code the prompt explains
    chars: tuple[str, ...] = ()  # characters that are not allowed, in typed order
    count: int = 0  # the username's length, or the number of digits

    @property
    def ok(self) -> bool:
        """True when the typed value is valid: `value` holds it, `problem` is None."""
        return self.problem is None


def _unwanted(text: str, allowed: re.Pattern[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for c in text if not allowed.fullmatch(c)))


def check_username(typed: str) -> Check:
    """'@anna_k', 'anna_k', 't.me/anna_k' -> 'anna_k'; else a problem code.

    Codes: empty, looks_like_phone, spaces, bad_chars, bad_start, too_short,
    too_long, bad_end. Source of the limits: Telegram's API, account.updateUsername
    (a-z, 0-9 and _, 5-32 characters); a letter first and no _ last are Telegram's
    practice, not stated on that page.
    """
    text = typed.strip()
    link = _LINK.match(text)
    name = (link.group(1) if link else text).removeprefix("@")
    if not name:
        return Check(problem="empty")
    if not link and _phone(text).ok:
        return Check(problem="looks_like_phone")
    return _username(name)


def _username(name: str) -> Check:
    if any(c.isspace() for c in name):
        return Check(problem="spaces")
    bad = _unwanted(name, _USERNAME_CHAR)
    if bad:
        return Check(problem="bad_chars", chars=bad)
    if not _LETTER.fullmatch(name[0]):
        return Check(problem="bad_start", chars=(name[0],))
    if len(name) < USERNAME_MIN:
        return Check(problem="too_short", count=len(name))
    if len(name) > USERNAME_MAX:
        return Check(problem="too_long", count=len(name))
    if name.endswith("_"):
        return Check(problem="bad_end")
    return Check(value=name, count=len(name))


def check_phone(typed: str) -> Check:
    """'+44 (0)20 7946-0958' -> '+442079460958'; else a problem code.

    Codes: empty, looks_like_username, bad_chars, plus_position, too_few_digits,
    too_many_digits. 7 to 15 digits: 15 is the longest international number ITU-T
    E.164 allows; 7 is this project's floor (no source: shorter is taken as a typo).
    """
    text = typed.strip()
    if not text:
        return Check(problem="empty")
    if text.startswith("@") or _LINK.match(text) or _username(text).ok:
        return Check(problem="looks_like_username")
    return _phone(text)


def _phone(text: str) -> Check:
    bad = _unwanted(text, _PHONE_CHAR)
    if bad:
        return Check(problem="bad_chars", chars=bad)
    if "+" in text[1:]:
        return Check(problem="plus_position")
    if text.startswith("+"):
        text = _TRUNK_ZERO.sub("", text, count=1)
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) < PHONE_MIN_DIGITS:
        return Check(problem="too_few_digits", count=len(digits))
    if len(digits) > PHONE_MAX_DIGITS:
        return Check(problem="too_many_digits", count=len(digits))
    return Check(value=("+" if text.startswith("+") else "") + digits, count=len(digits))


def chat_url(username: str) -> str:
    """A link that opens the chat with this (already checked) username."""
    return f"https://t.me/{username}"


def share_url(message: str) -> str:
    """A link that lets the person pick a chat and finds `message` ready to send.

    The message goes in `url` and `text` is left out: Telegram Desktop ignores a
    share link whose `url` is empty, and every client puts `url` first in the draft.
    """
    return "https://t.me/share/url?url=" + quote(message, safe="")
