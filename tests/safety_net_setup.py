"""Setting up a person's safety net the way they would: through the conversations themselves.

Shared by the "Need a quick chat?", crisis, plan and kit transcript tests.
"""

from __future__ import annotations

from tests.fakebot import ChatDriver
from tests.fakebot.models import SentMessage, UserAction


async def add_person(chat: ChatDriver, name: str, username: str) -> None:
    """Put one person on an empty reach-out list (from anywhere, via /contacts)."""
    await chat.send("/contacts")
    await chat.send(name)
    await chat.click("Telegram username")
    await chat.send(username)
    await chat.click("Skip")
    await chat.click("Done for now")


async def add_by_phone(chat: ChatDriver, name: str, number: str, first: bool = True) -> None:
    """One person reached by phone: the first on the list, or one more (`first=False`)."""
    await chat.send("/contacts")
    if not first:
        await chat.click("Add someone")
    await chat.send(name)
    await chat.click("Phone number")
    await chat.send(number)
    await chat.click("Skip")
    await chat.click("Done for now")


async def fill_kit(chat: ChatDriver) -> str:
    """A kit with a few words, a song link and a photo; returns the photo's file id."""
    await chat.send("/kit")
    await chat.click("Add a few words")
    await chat.send("This feeling is a wave. It passes.")
    await chat.click("Add something else")
    await chat.click("Add a link")
    await chat.send("https://youtu.be/calm-song")
    await chat.send("the song from our trip")
    await chat.click("Add something else")
    await chat.click("Add a photo")
    await chat.send_photo(caption="Biscuit asleep")
    photo_id = last_photo_sent(chat)
    await chat.click("Done for now")
    return photo_id


async def fill_plan(chat: ChatDriver) -> None:
    """A first walk through /plan: some parts written, the others skipped."""
    await chat.send("/plan")
    await chat.click("Let's start")
    await chat.send("I stop answering messages")
    await chat.click("Next part")
    await chat.send("a hot shower")
    await chat.click("Next part")
    await chat.click("Skip for now")  # people and places
    await chat.click("Next part")  # people to ask: the reach-out list
    await chat.send("Dr Mendes, 555 0134")
    await chat.click("Next part")
    await chat.click("Skip for now")  # a safer space
    await chat.send("my niece's wedding in May")
    await chat.click("Save")
    await chat.click("Done")


def last_photo_sent(chat: ChatDriver) -> str:
    """Telegram's file id of the largest size of the photo the person sent last."""
    for entry in reversed(chat.fake.history(chat.chat_id)):
        if isinstance(entry, UserAction) and "photo" in (entry.update.get("message") or {}):
            return str(entry.update["message"]["photo"][-1]["file_id"])
    raise AssertionError("the person has not sent a photo")


def photo_of(message: SentMessage) -> str | None:
    """The file id a photo message carries, or None for a text message."""
    if message.method != "sendPhoto":
        return None
    return str(message.raw["photo"][-1]["file_id"])


def labels(message: SentMessage) -> list[str]:
    return [b.text for row in message.buttons for b in row]


def links(message: SentMessage) -> list[str]:
    return [b.url for row in message.buttons for b in row if b.url]
