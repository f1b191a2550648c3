"""A reply's inline keyboard: built once per distinct set of buttons, shared by sends."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot import sender
from bot.sender import OutButton, Outgoing, markup
from prompts import Catalog

ROWS = (
    (OutButton("Good", "m|1"), OutButton("Bad", "m|2")),
    (OutButton("Help", url="https://x.org"),),
)


def test_the_same_buttons_share_one_keyboard_and_others_get_their_own() -> None:
    catalog = Catalog()
    first = markup(catalog, Outgoing("How are you?", ROWS))
    again = markup(catalog, Outgoing("And now?", ROWS))
    assert isinstance(first, InlineKeyboardMarkup) and again is first
    assert [[b.text for b in row] for row in first.inline_keyboard] == [["Good", "Bad"], ["Help"]]
    assert first.inline_keyboard[0][1].callback_data == "m|2"
    assert first.inline_keyboard[1][0].url == "https://x.org"
    other = markup(catalog, Outgoing("?", ((OutButton("Good", "m|9"),),)))
    assert isinstance(other, InlineKeyboardMarkup) and other is not first
    assert other.inline_keyboard[0][0].callback_data == "m|9"


def test_the_kept_keyboards_are_bounded() -> None:
    catalog = Catalog()
    for i in range(sender.INLINE_KEPT + 10):
        markup(catalog, Outgoing("?", ((OutButton(f"b{i}", f"d|{i}"),),)))
    assert len(sender._inline_markups) == sender.INLINE_KEPT
