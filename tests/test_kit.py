"""The self-soothe kit (/kit) as a person lives it: words, links and photos, kept and shown back.

The real PTB Application on the fake Bot API; photos are kept as Telegram file ids only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.console import format_message
from bot.sender import Outgoing
from tests.safety_net_setup import labels, last_photo_sent, photo_of
from tests.telegram_harness import Harness, bridges_on_fake, onboard


@pytest.fixture()
async def tg(tmp_path: Path) -> AsyncIterator[Harness]:
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


def kit(tg: Harness) -> list[dict[str, object]]:
    return [r.data for r in tg.state().records.get("kit_item", [])]


async def test_a_kit_with_words_a_link_and_a_photo(tg: Harness) -> None:
    # What the person reads: tests/transcripts/kit_link_and_photo.chat.
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/kit")
    await ada.click("Add a few words")
    await ada.send("This feeling is a wave. It <i>passes</i>.")
    await ada.click("Add something else")
    await ada.click("Add a link")
    await ada.send("javascript:alert(1)")
    await ada.send("my favourite song")
    await ada.send("youtube.com/watch?v=abc&t=1")
    await ada.click("Skip")
    await ada.click("Add something else")
    await ada.click("Add a photo")
    await ada.send("here it comes")
    await ada.send_photo(caption="Biscuit asleep")
    await ada.click("Done for now")

    photo_id = last_photo_sent(ada)
    assert kit(tg) == [
        {"type": "text", "text": "This feeling is a wave. It <i>passes</i>."},
        {"type": "link", "url": "https://youtube.com/watch?v=abc&t=1", "label": None},
        {"type": "photo", "file_id": photo_id, "caption": "Biscuit asleep"},
    ]

    # Later: the kit is listed, and the photo comes back as the very same Telegram photo.
    replies = await ada.send("/kit")
    assert replies[0].text == (
        "Your self-soothe kit 🧺\n\n"
        "1. 📝 “This feeling is a wave. It &lt;i&gt;passes&lt;/i&gt;.”\n"
        '2. 🔗 <a href="https://youtube.com/watch?v=abc&amp;t=1">youtube.com/watch?v=abc&amp;t=1</a>\n'
        "3. 🖼 a photo: <i>Biscuit asleep</i>"
    )
    assert "🖼 See my photos (1)" in labels(replies[1])
    replies = await ada.click("See my photos")
    assert [photo_of(m) for m in replies] == [photo_id, None]
    assert replies[0].plain_text == "Biscuit asleep"
    assert replies[1].plain_text == "What would you like to do?"


async def test_a_link_with_a_name_and_removing_an_item(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/kit")
    await ada.click("Add a link")
    await ada.send("https://open.spotify.com/track/42")
    replies = await ada.send("the <b>song</b> from our trip")
    assert replies[0].plain_text.startswith("Your link is in your kit")
    await ada.click("Add something else")
    await ada.click("Add a few words")
    await ada.send("Call Anna, she always picks up")
    await ada.click("Add something else")
    replies = await ada.click("Remove something")
    assert labels(replies[0]) == ["1. 🔗 the <b>song</b> from our trip",
                                  "2. 📝 Call Anna, she always picks up", "« Back"]  # fmt: skip
    replies = await ada.click("1. 🔗")
    # One message: the removal said above the kit's question, with its buttons.
    assert [m.plain_text for m in replies] == [
        "Done, that's out of your kit.\nWhat would you like to do?"
    ]
    assert "🗑 Remove something" in labels(replies[0])
    assert kit(tg) == [{"type": "text", "text": "Call Anna, she always picks up"}]
    # The old button is stale now: nothing else is removed.
    replies = await ada.click_data("c|kit|remove|1")
    assert replies[0].plain_text.startswith("That button has expired.")
    assert len(kit(tg)) == 1


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("https://youtu.be/abc", "https://youtu.be/abc"),
        ("www.example.org/calm", "https://www.example.org/calm"),
        ("<https://example.com/a?b=c>", "https://example.com/a?b=c"),
        ("http://radio.example.net:8000/live", "http://radio.example.net:8000/live"),
    ],
)
async def test_web_links_are_kept(tg: Harness, typed: str, kept: str) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/kit")
    await ada.click("Add a link")
    await ada.send(typed)
    await ada.click("Skip")
    assert kit(tg) == [{"type": "link", "url": kept, "label": None}]


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("mailto:me@example.com", "I can keep links to web pages only"),
        ("ftp://files.example.com/x", "I can keep links to web pages only"),
        ("localhost", "I couldn't find a site name in “localhost”"),
        ("https://nowhere", "I couldn't find a site name"),
        ("https://example.com:99999/", "I couldn't find a site name"),
        ("a song by them", "it has spaces in it"),
    ],
)
async def test_other_links_are_asked_again_and_not_kept(tg: Harness, typed: str, why: str) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/kit")
    await ada.click("Add a link")
    replies = await ada.send(typed)
    assert why in replies[0].plain_text
    assert labels(replies[0]) == ["« Back"]
    assert kit(tg) == [] and typed not in repr(tg.state())


async def test_a_photo_anywhere_else_is_not_kept(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/kit")
    await ada.click("Add a few words")
    before = tg.state()
    replies = await ada.send_photo(caption="my dog")
    assert replies[0].plain_text == (
        "I can only read text and button taps for now, so I can't open that photo."
    )
    assert tg.state() == before


async def test_a_photo_caption_is_screened_and_limited(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/kit")
    await ada.click("Add a photo")
    replies = await ada.send_photo(caption="x" * 201)
    assert (
        replies[0].plain_text == "That's a bit long for me. Could you keep it under 200 characters?"
    )
    replies = await ada.send_photo(caption="the last photo before I kill myself")
    assert replies[0].plain_text.startswith("I'm really glad you told me.")
    assert kit(tg) == [] and "kill myself" not in repr(tg.state())


async def test_a_full_kit_says_so_and_offers_no_more_adding(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/kit")
    for i in range(12):
        await ada.click("Add a few words")
        await ada.send(f"kind words number {i + 1}")
        await ada.click("Add something else")
    replies = ada.messages()[-1:]
    assert replies[0].plain_text.startswith("Your kit is full (12 things).")
    assert labels(replies[0]) == ["🗑 Remove something", "👍 Done"]
    assert len(kit(tg)) == 12


def test_the_terminal_marks_a_photo() -> None:
    text, _ = format_message(Outgoing("<i>Biscuit</i>", photo="file-1"))
    assert text == "[photo] Biscuit"
    assert format_message(Outgoing("", photo="file-1"))[0] == "[photo]"
