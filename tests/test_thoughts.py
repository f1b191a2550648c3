"""Looking back at past evidence tables (/thoughts): newest first, paged, opened by a tap."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakebot import ChatDriver
from tests.telegram_harness import Harness, bridges_on_fake, onboard
from tests.test_reframe import write_entry


@pytest.fixture()
async def tg(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with bridges_on_fake(f"sqlite:///{tmp_path}/bridges.db") as harness:
        yield harness


def entry_buttons(chat: ChatDriver) -> list[str]:
    return [label for label in chat.buttons() if " · " in label]


async def test_no_entries_yet_offers_to_write_one(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    replies = await ada.send("/thoughts")
    assert replies[0].plain_text.startswith("No entries yet.")
    assert replies[0].button_labels == ["✍️ Weigh a new thought", "Close"]
    replies = await ada.click("Weigh a new thought")
    assert replies[-1].plain_text.startswith("Let's look at one harsh thought together.")


async def test_entries_are_listed_newest_first_and_paged(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    for n in range(1, 8):
        await write_entry(ada, f"thought number {n} says I am too quiet", before=str(10 * n))
    replies = await ada.send("/thoughts")
    assert replies[0].plain_text == (
        "Your past thoughts (page 1 of 2), newest first. Tap one to open it."
    )
    assert replies[0].button_labels == [
        "23 Nov 2026 · thought number 7 says I…",
        "23 Nov 2026 · thought number 6 says I…",
        "23 Nov 2026 · thought number 5 says I…",
        "23 Nov 2026 · thought number 4 says I…",
        "23 Nov 2026 · thought number 3 says I…",
        "Older »",
        "✍️ Weigh a new thought",
        "Close",
    ]
    replies = await ada.click("Older »")
    assert replies[0].plain_text.startswith("Your past thoughts (page 2 of 2)")
    assert replies[0].button_labels == [
        "23 Nov 2026 · thought number 2 says I…",
        "23 Nov 2026 · thought number 1 says I…",
        "« Newer",
        "✍️ Weigh a new thought",
        "Close",
    ]
    # Opening one shows its table; back returns to the same page.
    replies = await ada.click("thought number 1")
    table = replies[0].plain_text
    assert table.startswith("🗓 23 Nov 2026\nThought: “thought number 1 says I am too quiet”")
    assert "Belief: 10 → 40" in table
    assert "For\n• a reason it seems true\nAgainst\n• a moment that doesn't fit" in table
    assert replies[0].button_labels == ["« Back to the list", "Close"]
    replies = await ada.click("Back to the list")
    assert replies[0].plain_text.startswith("Your past thoughts (page 2 of 2)")
    await ada.click("« Newer")
    assert entry_buttons(ada)[0] == "23 Nov 2026 · thought number 7 says I…"
    replies = await ada.click("Close")
    assert replies[0].plain_text == "Closed. Send /thoughts whenever you'd like to look back."


async def test_an_entry_shows_the_thanks_that_closed_it(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/reframe")
    for typed in ("I don't fit in anywhere", "70", "lonely", "I sat alone at lunch"):
        await ada.send(typed)
    await ada.click("Done")
    await ada.send("the choir was glad to see me")
    await ada.click("Done")
    await ada.send("I fit in some places more than others")
    await ada.click("50")
    await ada.click("Three small thanks")
    await ada.send("my cat")
    await ada.click("I'm done")
    await ada.send("/thoughts")
    replies = await ada.send("1")  # typing a button's number opens it too
    assert replies[0].plain_text.endswith("Small thanks\n• my cat")


async def test_a_forged_or_stale_entry_id_gets_the_expired_reply(tg: Harness) -> None:
    bob = tg.chat(user_id=2002, first_name="Bob")
    await onboard(bob)
    await write_entry(bob, "Bob's private thought")
    (bobs,) = tg.state(2002).records["thought"]

    ada = tg.chat()
    await onboard(ada)
    for n in range(1, 7):
        await write_entry(ada, f"Ada's thought {n}")
    await ada.send("/thoughts")
    first_page = ada.last
    for forged in (f"c|thoughts|list|e{bobs.id}", "c|thoughts|list|e99999", "c|thoughts|list|eX"):
        before = tg.state()
        replies = await ada.click_data(forged)
        texts = [m.plain_text for m in replies]
        assert texts[0] == "That button has expired. Here's where we are now:"
        assert texts[1].startswith("Your past thoughts (page 1 of 2)")
        assert "Bob" not in "\n".join(texts + replies[1].button_labels)
        assert tg.state() == before
    # A button from an earlier page, tapped after turning the page, is stale too.
    stale = next(b for row in first_page.buttons for b in row if "thought 6" in b.text)
    await ada.click("Older »")
    replies = await ada.click_data(str(stale.callback_data), first_page.message_id)
    assert replies[0].plain_text.startswith("That button has expired.")
    assert "Ada's thought 6" not in replies[1].plain_text
    assert tg.fake.unanswered_callback_queries() == []


async def test_their_words_are_escaped_in_the_list_and_the_table(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await write_entry(ada, "<b>me</b> & {{ x }}")
    replies = await ada.send("/thoughts")
    assert "23 Nov 2026 · <b>me</b> & {{ x }}" in replies[0].button_labels
    replies = await ada.click("<b>me</b>")
    assert "Thought: “<b>me</b> & {{ x }}”" in replies[0].plain_text
    assert "“&lt;b&gt;me&lt;/b&gt; &amp; {{ x }}”" in replies[0].text
