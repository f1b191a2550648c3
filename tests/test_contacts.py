"""The reach-out list (/contacts) as a person lives it: the real PTB Application, fake Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from dialogs.model import Record
from tests.fakebot import ChatDriver, FakeBotApi
from tests.fakebot.models import SentMessage
from tests.telegram_harness import Harness, bridges_on_fake, onboard

TRICKY = "<b>Jo</b> & {{ 7*7 }}"  # HTML, an ampersand and template braces, as typed
EXPIRED = "That button has expired."


@pytest.fixture()
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/bridges.db"


@pytest.fixture()
async def tg(db: str) -> AsyncIterator[Harness]:
    async with bridges_on_fake(db) as harness:
        yield harness


def links(message: SentMessage) -> list[tuple[str, str | None]]:
    return [(b.text, b.url) for row in message.buttons for b in row if b.url]


def shared_text(url: str | None) -> str:
    """What a share link puts in the message box, decoded back from the URL."""
    assert url is not None and url.startswith("https://t.me/share/url?")
    return parse_qs(urlsplit(url).query)["url"][0]


def contacts(tg: Harness) -> list[Record]:
    return tg.state().records.get("contact", [])


def names(tg: Harness) -> list[str]:
    return [r.data["name"] for r in contacts(tg)]


async def add(chat: ChatDriver, name: str, way: str, handle: str, note: str | None = None) -> None:
    """From the list's menu: add one person with the buttons, as most people will."""
    await chat.click("Add someone")
    await chat.send(name)
    await chat.click(way)
    await chat.send(handle)
    if note is None:
        await chat.click("Skip")
    else:
        await chat.send(note)
    await chat.click("See my list")


async def with_people(chat: ChatDriver, *people: tuple[str, str]) -> None:
    """Onboarded, with these (name, username) people on the list, at the list's menu."""
    await onboard(chat)
    await chat.send("/contacts")
    first, *rest = people
    await chat.send(first[0])
    await chat.click("Telegram username")
    await chat.send(first[1])
    await chat.click("Skip")
    await chat.click("See my list")
    for name, username in rest:
        await add(chat, name, "Telegram username", username)


# --- the happy path -------------------------------------------------------------------


async def test_happy_path_from_onboarding_to_a_list_with_links(tg: Harness) -> None:
    # What the person reads: tests/transcripts/contacts_from_onboarding.chat.
    ada = tg.chat()
    await ada.send("/start")
    await ada.click("Tell me more")
    await ada.click("Okay, got it")
    await ada.click("Yes, keep my answers")
    await ada.send("Lisbon")
    await ada.click("8:00")
    await ada.click("Skip for now")  # the loneliness measure offered after "You're all set"
    await ada.click("Add someone now")
    await ada.send("Anna")
    await ada.click("Telegram username")
    await ada.send("@anna_k")
    await ada.send("good listener, mornings")
    await ada.click("Add someone else")
    await ada.send("Ben")
    await ada.click("Phone number")
    await ada.send("+44 (0)7700 900-123")
    await ada.click("Skip")
    listed = await ada.click("See my list")
    await ada.click("Done")

    ask = "https://t.me/share/url?url=Need%20a%20quick%20chat%3F"
    assert links(listed[0]) == [
        ("💬 Open chat with Anna", "https://t.me/anna_k"),
        ("📤 Send Anna your message", ask),
        ("📤 Send Ben your message", ask),
    ]
    assert [r.data for r in contacts(tg)] == [
        {"name": "Anna", "reach": "telegram", "handle": "anna_k",
         "note": "good listener, mornings", "message": None},
        {"name": "Ben", "reach": "phone", "handle": "+447700900123", "note": None,
         "message": None},
    ]  # fmt: skip
    assert tg.state().stack == []
    assert ada.reply_keyboard() == [["Need a quick chat?"], ["☰ Menu"]]
    assert tg.fake.unanswered_callback_queries() == []


async def test_an_empty_list_goes_straight_to_adding_and_not_now_closes(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    replies = await ada.send("/contacts")
    assert "A reach-out list is a few people" in replies[0].plain_text
    assert replies[1].plain_text.startswith("Who's someone you could reach out to?")
    replies = await ada.click("Not now")
    # The menu it was opened from is a screen to read: not brought back afterwards.
    assert [m.plain_text.split("\n")[0] for m in replies] == [
        "Your list is saved. Send /contacts whenever you want it, and tap Need a quick chat? "
        "on a heavy day.",
    ]
    assert contacts(tg) == [] and tg.state().stack == []


async def test_another_way_keeps_their_own_words(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/contacts")
    await ada.send("Gran")
    await ada.click("Another way")
    await ada.send("landline, Sundays after lunch")
    await ada.click("Skip")
    listed = await ada.click("See my list")
    assert "1. Gran: landline, Sundays after lunch" in listed[0].plain_text
    assert "tap a number" not in listed[0].plain_text
    assert [label for label, _ in links(listed[0])] == ["📤 Send Gran your message"]


# --- detours --------------------------------------------------------------------------

BAD_USERNAMES = [
    ("anna k", "A username has no spaces, and “anna k” has some."),
    ("anna.k!", "A username uses only English letters, digits and _, so “.”, “!” can't be"),
    ("1anna", "A username starts with a letter, and “1anna” starts with “1”."),
    ("@ann", "A username has at least 5 characters, and that one has 3."),
    ("a" * 33, "A username has at most 32 characters, and that one has 33."),
    ("anna_", "A username can't end with _."),
    ("+44 7700 900123", "“+44 7700 900123” looks like a phone number."),
    ("@", "There is no username in that yet."),
]


@pytest.mark.parametrize(("typed", "says"), BAD_USERNAMES, ids=[b[0] for b in BAD_USERNAMES])
async def test_a_bad_username_says_what_is_wrong_and_changes_nothing(
    tg: Harness, typed: str, says: str
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/contacts")
    await ada.send("Anna")
    await ada.click("Telegram username")
    before = tg.state()
    replies = await ada.send(typed)
    assert len(replies) == 1 and replies[0].plain_text.startswith(says)
    assert replies[0].button_labels == ["« Choose another way"]
    assert tg.state() == before
    await ada.send("https://t.me/anna_k")  # the re-ask takes a good answer as usual
    assert "Anything you'd like to remember about Anna?" in ada.last.plain_text


BAD_PHONES = [
    ("12-34", "That has 4 digits, and a phone number has at least 7."),
    ("0770 ABC 123", "A phone number has only digits, spaces, dashes, brackets and a + at"),
    ("44+7700900123", "The + can only go at the very start of the number."),
    ("1234567890123456", "That has 16 digits, and a phone number has at most 15."),
    ("@ben_b", "“@ben_b” looks like a Telegram username."),
]


@pytest.mark.parametrize(("typed", "says"), BAD_PHONES, ids=[b[0] for b in BAD_PHONES])
async def test_a_bad_phone_number_says_what_is_wrong_and_changes_nothing(
    tg: Harness, typed: str, says: str
) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/contacts")
    await ada.send("Ben")
    await ada.click("Phone number")
    before = tg.state()
    replies = await ada.send(typed)
    assert len(replies) == 1 and replies[0].plain_text.startswith(says)
    assert tg.state() == before
    await ada.send("020 7946 0958")
    assert contacts(tg) == []  # not saved until the note step is answered
    await ada.click("Skip")
    assert contacts(tg)[0].data["handle"] == "02079460958"


async def test_choosing_another_way_after_a_mistake(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/contacts")
    await ada.send("Ben")
    await ada.click("Telegram username")
    await ada.send("+44 7700 900123")
    await ada.click("Choose another way")
    await ada.click("Phone number")
    await ada.send("+44 7700 900123")
    await ada.click("Skip")
    assert contacts(tg)[0].data["handle"] == "+447700900123"


async def test_editing_a_contacts_note_and_ready_message(tg: Harness) -> None:
    # What the person reads: tests/transcripts/contacts_change.chat.
    ada = tg.chat()
    await with_people(ada, ("Anna", "anna_k"), ("Ben", "ben_b"))
    await ada.click("Change, move or remove someone")
    await ada.click("Anna")
    await ada.click("Note")
    await ada.send("best after 6pm")
    await ada.click("Ready message")
    await ada.send("Fancy a walk this week?")
    listed = await ada.click("Back to the list")
    assert shared_text(links(listed[0])[1][1]) == "Fancy a walk this week?"
    assert contacts(tg)[0].data == {"name": "Anna", "reach": "telegram", "handle": "anna_k",
                                    "note": "best after 6pm",
                                    "message": "Fancy a walk this week?"}  # fmt: skip

    # And back again: the usual message, no note.
    await ada.click("Change, move or remove someone")
    await ada.click("Anna")
    await ada.click("Ready message")
    await ada.click("Use “Need a quick chat?”")
    await ada.click("Note")
    await ada.click("Remove the note")
    assert "Note:" not in ada.last.plain_text
    assert (contacts(tg)[0].data["message"], contacts(tg)[0].data["note"]) == (None, None)


async def test_changing_a_name_and_how_to_reach_them(tg: Harness) -> None:
    ada = tg.chat()
    await with_people(ada, ("Anna", "anna_k"))
    await ada.click("Change, move or remove someone")
    await ada.click("Anna")
    await ada.click("Name")
    await ada.send("Annie")
    await ada.click("How to reach")
    assert ada.last.plain_text == "How can you reach Annie now?"
    await ada.click("Phone number")
    before = tg.state()
    await ada.send("12")  # still checked when changing
    assert tg.state() == before
    await ada.send("+351 912 345 678")
    assert ada.last.plain_text.startswith("Annie, number 1 of 1 on your list\nPhone: +351912345678")
    await ada.click("How to reach")
    await ada.click("Back")  # changed their mind: back to the card, nothing changed
    assert ada.last.plain_text.startswith("Annie, number 1")
    assert contacts(tg)[0].data["handle"] == "+351912345678"
    assert contacts(tg)[0].data["reach"] == "phone"


async def test_removing_asks_first_and_can_be_cancelled(tg: Harness) -> None:
    ada = tg.chat()
    await with_people(ada, ("Anna", "anna_k"), ("Ben", "ben_b"))
    await ada.click("Change, move or remove someone")
    await ada.click("Ben")
    replies = await ada.click("Remove")
    assert replies[0].plain_text == (
        "Remove Ben from your list? Their note and ready message go too."
    )
    assert replies[0].button_labels == ["🗑 Yes, remove Ben", "No, keep Ben"]
    await ada.click("No, keep Ben")
    assert ada.last.plain_text.startswith("Ben, number 2 of 2")
    assert names(tg) == ["Anna", "Ben"]
    await ada.click("Remove")
    await ada.click("Yes, remove Ben")
    assert ada.last.plain_text == "Done: Ben is off your list."
    assert names(tg) == ["Anna"]
    listed = await ada.click("Back to the list")
    assert "Ben" not in listed[0].plain_text


async def test_removing_the_last_person_leaves_an_empty_list(tg: Harness) -> None:
    ada = tg.chat()
    await with_people(ada, ("Anna", "anna_k"))
    await ada.click("Change, move or remove someone")
    await ada.click("Anna")
    await ada.click("Remove")
    await ada.click("Yes, remove Anna")
    assert "It's empty now" in ada.last.plain_text
    await ada.click("Done")
    assert contacts(tg) == [] and tg.state().stack == []  # the menu is not brought back


async def test_reordering_moves_someone_up(tg: Harness) -> None:
    ada = tg.chat()
    await with_people(ada, ("Anna", "anna_k"), ("Ben", "ben_b"), ("Cleo", "cleo_c"))
    await ada.click("Change, move or remove someone")
    await ada.click("Cleo")
    await ada.click("Move up")
    assert ada.last.plain_text.startswith("Cleo, number 2 of 3")
    await ada.click("Move up")
    assert ada.last.plain_text.startswith("Cleo, number 1 of 3")
    assert "⬆️ Move up" not in ada.buttons()  # already first
    assert names(tg) == ["Cleo", "Anna", "Ben"]
    listed = await ada.click("Back to the list")
    assert [label for label, _ in links(listed[0])][::2] == [
        "💬 Open chat with Cleo", "💬 Open chat with Anna", "💬 Open chat with Ben"
    ]  # fmt: skip


async def test_a_sixth_person_is_refused_kindly(tg: Harness) -> None:
    ada = tg.chat()
    five = [(n, f"{n.lower()}_friend") for n in ("Anna", "Ben", "Cleo", "Dev", "Eli")]
    await with_people(ada, *five)
    assert len(contacts(tg)) == 5
    before = tg.state()
    replies = await ada.click("Add someone")
    assert replies[0].plain_text.startswith("Your list already holds 5 people, the most it keeps")
    assert "remove someone first" in replies[0].plain_text
    assert replies[1].button_labels[0] == "➕ Add someone"  # no dead end: the menu again
    assert tg.state() == before


async def test_the_fifth_person_fills_the_list_and_says_so(tg: Harness) -> None:
    ada = tg.chat()
    await with_people(ada, *[(n, f"{n.lower()}_friend") for n in ("Anna", "Ben", "Cleo", "Dev")])
    await ada.click("Add someone")
    await ada.send("Eli")
    await ada.click("Telegram username")
    await ada.send("eli_friend")
    await ada.click("Skip")
    assert "Your list is full now, with 5 people." in ada.last.plain_text
    await ada.click("Add someone else")
    assert ada.messages()[-2].plain_text.startswith("Your list already holds 5 people")


async def test_leaving_midway_and_resuming_after_a_restart(db: str) -> None:
    fake = FakeBotApi()
    async with bridges_on_fake(db, fake) as tg:
        ada = tg.chat()
        await onboard(ada)
        await ada.send("/contacts")
        await ada.send("Anna")
        await ada.click("Telegram username")
        await ada.send("/menu")  # off to somewhere else, half-way
        assert ada.last.plain_text == "What would you like to do?"
    # A new process: new Application, same database, same Telegram chat.
    async with bridges_on_fake(db, fake) as tg:
        ada = tg.chat()
        replies = await ada.send("/contacts")
        # One message: the line with the question in short.
        assert [m.plain_text for m in replies] == [
            "Welcome back. Where we left off: What's Anna's Telegram username? "
            "For example @anna_k.",
        ]
        assert replies[0].button_labels == ["« Choose another way"]
        await ada.send("anna_k")
        await ada.click("Skip")
        assert names(tg) == ["Anna"]


async def test_typing_a_label_or_its_number_works_like_tapping(tg: Harness) -> None:
    ada = tg.chat()
    await with_people(ada, ("Anna", "anna_k"), ("Ben", "ben_b"))
    await ada.send("2")  # "Change, move or remove someone"
    assert ada.last.plain_text == "Who would you like to change, move or remove?"
    await ada.send("ben")  # a person's name, as on their button
    assert ada.last.plain_text.startswith("Ben, number 2 of 2")
    await ada.send("move up")
    assert names(tg) == ["Ben", "Anna"]
    await ada.send("6")  # "Back to the list", the sixth button now that Move up is gone
    assert ada.messages()[-2].plain_text.startswith("Your reach-out list")
    await ada.send("add someone")
    await ada.send("Cleo")
    await ada.send("3")  # "Another way"
    await ada.send("at choir on Thursdays")
    await ada.send("skip")
    assert contacts(tg)[-1].data["reach"] == "other"
    assert "choir" in contacts(tg)[-1].data["handle"]


async def test_their_own_words_come_back_exactly_as_typed(tg: Harness) -> None:
    ada = tg.chat()
    await onboard(ada)
    await ada.send("/contacts")
    await ada.send(TRICKY)
    assert f"How do you usually reach {TRICKY}?" in ada.last.plain_text
    assert "&lt;b&gt;Jo&lt;/b&gt; &amp; {{ 7*7 }}" in ada.last_text  # escaped, never rendered
    await ada.click("Telegram username")
    await ada.send("jo_jo_jo")
    await ada.send("likes <i>puns</i> & {% raw %}")
    await ada.click("See my list")
    await ada.click("Change, move or remove someone")
    await ada.click(TRICKY)
    await ada.click("Ready message")
    await ada.send("{{ hi }} <b>you</b> & me?")
    listed = await ada.click("Back to the list")

    text = listed[0]
    assert f"1. {TRICKY}: @jo_jo_jo" in text.plain_text
    assert "likes <i>puns</i> & {% raw %}" in text.plain_text
    assert "“{{ hi }} <b>you</b> & me?”" in text.plain_text
    assert "<b>&lt;b&gt;Jo&lt;/b&gt; &amp; {{ 7*7 }}</b>" in (text.text or "")
    assert links(text)[0] == (f"💬 Open chat with {TRICKY}", "https://t.me/jo_jo_jo")
    label, url = links(text)[1]
    assert label == f"📤 Send {TRICKY} your message"  # plain text: labels are not HTML
    assert (
        url
        == "https://t.me/share/url?url=%7B%7B%20hi%20%7D%7D%20%3Cb%3Eyou%3C%2Fb%3E%20%26%20me%3F"
    )
    assert shared_text(url) == "{{ hi }} <b>you</b> & me?"
    assert contacts(tg)[0].data["name"] == TRICKY
    assert contacts(tg)[0].data["note"] == "likes <i>puns</i> & {% raw %}"


# --- buttons that are not (or no longer) theirs ---------------------------------------


async def test_buttons_for_someone_not_on_their_list_have_expired(tg: Harness) -> None:
    bob = tg.chat(user_id=2002)
    await with_people(bob, ("Zed", "zed_zed"))
    bobs = tg.state(2002).records["contact"][0].id

    ada = tg.chat()
    await with_people(ada, ("Anna", "anna_k"))
    anna = contacts(tg)[0].id
    await ada.click("Change, move or remove someone")
    forged = [
        f"c|contacts|pick|{bobs}",  # someone else's person
        "c|contacts|pick|999",  # made up
        "c|contacts|pick|anna",  # not even a number
    ]
    for data in forged:
        before = tg.state()
        replies = await ada.click_data(data)
        assert replies[0].plain_text.startswith(EXPIRED), data
        assert replies[1].plain_text == "Who would you like to change, move or remove?"
        assert tg.state() == before

    await ada.click("Anna")
    for action in ("remove", "rename", "up", "message"):
        for other in (bobs, 999):
            before = tg.state()
            replies = await ada.click_data(f"c|contacts|person|{action}.{other}")
            assert replies[0].plain_text.startswith(EXPIRED), (action, other)
            assert tg.state() == before

    await ada.click("Remove")
    replies = await ada.click_data(f"c|contacts|confirm_remove|yes.{bobs}")
    assert replies[0].plain_text.startswith(EXPIRED)
    assert replies[1].plain_text.startswith("Remove Anna from your list?")
    await ada.click_data(f"c|contacts|confirm_remove|yes.{anna}")  # their own: works
    assert names(tg) == [] and [r.data["name"] for r in tg.state(2002).records["contact"]] == [
        "Zed"
    ]


async def test_a_removed_persons_old_buttons_have_expired(tg: Harness) -> None:
    ada = tg.chat()
    await with_people(ada, ("Anna", "anna_k"), ("Ben", "ben_b"))
    await ada.click("Change, move or remove someone")
    await ada.click("Ben")
    card = ada.last.message_id
    ben = contacts(tg)[1].id
    await ada.click("Remove")
    await ada.click("Yes, remove Ben")
    await ada.click("Back to the list")
    await ada.click("Change, move or remove someone")
    replies = await ada.click_data(f"c|contacts|pick|{ben}")  # an old copy of the pick list
    assert replies[0].plain_text.startswith(EXPIRED)
    replies = await ada.click_data(f"c|contacts|person|note.{ben}", message_id=card)
    assert replies[0].plain_text.startswith(EXPIRED)
    assert names(tg) == ["Anna"]
