"""The crisis reply that needs nothing but the message: no database, no person, no coach.

When a turn cannot run (the database is down or hung, a timeout, a bug), a message that
screens as crisis must still get helplines at once. Everything here comes from the update
itself and from files shipped with the bot (the screening patterns, the helpline data, the
templates), so it works with no database at all: this module imports nothing from
`storage`, and nothing it imports does either (tests/test_fallback.py checks that). For that
reason it reads an update's words itself (words_in) rather than through
bot/telegram_app.py, which reaches the inbox tables. Nothing here logs what anyone wrote.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from telegram import Message, Update

from dialogs import helplines
from dialogs.hooks.helplines import _lines_view, country_name
from dialogs.safety import assess
from prompts import Catalog

log = logging.getLogger("bridges.fallback")

TEMPLATE = "common/crisis_fallback"
# An IETF language tag is at most a few dozen characters; anything longer is not one.
_MAX_TAG = 35
_SUBTAG = re.compile(r"[a-z0-9]{1,8}")
# A region some clients write that ISO 3166 spells otherwise.
_REGION_ALIASES = {"UK": "GB"}


def crisis_text(catalog: Catalog, words: str, language_code: str | None) -> str | None:
    """The crisis reply for `words` as HTML, or None when they do not screen as at risk.

    `words`: what the person wrote (a text or a caption). `language_code`: Telegram's
    `from.language_code`, an IETF tag ("en", "en-GB", "pt-br") or None; its region, when
    it has one, picks the country whose lines are shown (region_of). At risk means
    dialogs.safety.assess grades the words "crisis" or "concern", for themselves or
    someone else. Never raises for a screening failure (logged by exception type, and
    taken as not at risk: the caller then sends its ordinary apology). Rendered without
    any database, in the language of their app (`language_code`: "es-MX" is Spanish;
    English for a language we have no prompts for).
    """
    if not _at_risk(words):
        return None
    return _render(catalog, language_code)


def _render(catalog: Catalog, language_code: str | None) -> str:
    locale = catalog.locale_for(language_code)
    ctx = _context(region_of(language_code), catalog, locale)
    try:
        return catalog.render(locale, TEMPLATE, ctx)
    except Exception as err:
        if not ctx:
            raise  # the template itself is broken: nothing better to send
        # A country's data that the template could not show must not cost the person
        # the reply: the general lines need nothing from the data file.
        log.error("crisis fallback for a country failed with %s", type(err).__name__)
        return catalog.render(locale, TEMPLATE, {})


def crisis_text_for_update(catalog: Catalog, update: Update) -> str | None:
    """crisis_text for a Telegram update: the words of its message or edited message
    (text or caption, words_in) and its sender's language_code.

    Also for a tap in the crisis dialog that says they may not be safe (CRISIS_TAPS).
    None for other updates without words (other taps, stickers...) and words not at risk.
    Meant for private chats: a group's crisis reply is common/group_crisis.
    """
    user = update.effective_user
    language = user.language_code if user else None
    query = update.callback_query
    if query is not None and _crisis_tap(query.data or ""):
        return _render(catalog, language)
    return crisis_text(catalog, words_in(update), language)


# Taps in the crisis dialog that say they may not be safe ("No, I'm not safe", "I'm not
# sure", "yes" to "are you thinking of ending your life?"): callback data is
# "c|<dialog>|<step>|<choice>" (dialogs/spec.py), the choices are in dialogs/flows/crisis.yaml.
CRISIS_TAPS = frozenset({"unsafe", "unsure", "yes", "more"})


def _crisis_tap(data: str) -> bool:
    parts = data.split("|")
    return len(parts) == 4 and parts[1] == "crisis" and parts[3] in CRISIS_TAPS


def words_in(update: Update) -> str:
    """What the person wrote in a message or an edited message: its text, else its
    caption; "" for anything else. The same as bot.telegram_app.words_in (a test keeps
    them alike), without its imports."""
    message: Message | None = update.message or update.edited_message
    if message is None:
        return ""
    return message.text or message.caption or ""


def region_of(language_code: str | None) -> str | None:
    """The country code (ISO 3166-1 alpha-2) in an IETF language tag, else None.

    "en-GB" -> "GB", "pt-br" -> "BR", "sr-Latn-RS" -> "RS"; "en", "de", "zh-hans" -> None.
    A language alone never names a country: English is written from Lagos to Sydney,
    Portuguese in Brazil and Portugal, German in three countries with different
    emergency numbers, and Telegram sends the language of the app, not of the place. A
    wrong country's lines would send someone in crisis to a number that does not
    answer where they are, so without a region they get the general lines and the
    international directory. A numeric region ("es-419", Latin America) is an area, not
    a country, and counts as none.
    """
    if not language_code or len(language_code) > _MAX_TAG:
        return None
    parts = language_code.strip().lower().replace("_", "-").split("-")
    if len(parts) < 2 or not all(_SUBTAG.fullmatch(part) for part in parts):
        return None
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            code = part.upper()
            return _REGION_ALIASES.get(code, code)
        if len(part) in (3, 4) and part.isalpha():
            continue  # an extended language ("zh-yue") or a script ("Latn") comes first
        return None  # a numeric area, a variant or a private-use part: no country
    return None


def _at_risk(words: str) -> bool:
    if not words or not words.strip():
        return False
    try:
        return assess(words).level != "none"
    except Exception as err:  # the screen must never be what breaks a reply
        log.error("screening failed with %s", type(err).__name__)
        return False


def _context(code: str | None, catalog: Catalog, locale: str) -> dict[str, Any]:
    """`helplines` for common/_helplines.j2 (the shape of the `helplines` enter hook),
    for a country in our data; {} (the general lines) for none or one we know nothing of.
    """
    if code is None:
        return {}
    try:
        data = helplines.load()
        found = data.countries.get(code)
        if found is None:
            # A country with neither lines nor a confirmed emergency number: the general
            # list (988, Samaritans, the usual emergency numbers) helps more than its name.
            return {}
        view = {
            "code": found.code,
            "country": country_name(found.code, found.name, locale, catalog),
            "guessed": False,  # "going by your time zone" would be untrue here
            "emergency": found.emergency,
            "emergency_number": found.emergency,
            "emergency_mobile": found.emergency_mobile,
            "lines": _lines_view(found.lines),
            "abuse_lines": _lines_view(found.abuse_lines),
            "directory": {"name": data.directory.name, "url": data.directory.url},
        }
    except Exception as err:  # a broken data file still leaves the general lines
        log.error("helplines for the fallback failed with %s", type(err).__name__)
        return {}
    return {"helplines": view, "emergency": view["emergency"], "from_language": True}
