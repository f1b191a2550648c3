"""The newest message id known in each person's chat, kept in `users.last_message_id`.

bot/probe.py needs, before a reply goes, an id that every earlier message of the bot in
that chat is at or below. In memory it knows the chats it has heard from or sent to since
it started (and, from the message log, what the process before it sent); for a check-in
to someone quiet since then, it reads the id kept here. Maintenance writes the ids it
learnt every few seconds, in one batch; anything newer is in the message log.
"""

from __future__ import annotations

from sqlalchemy import Engine, bindparam, case, select, update

from storage.tables import User

USERS = User.__table__
CHANNEL = "telegram"


def fold(engine: Engine, newest: dict[str, int]) -> None:
    """Raise each person's kept id to the given one where it is higher.

    `newest`: external id (a Telegram private chat id as text) -> message id."""
    if not newest:
        return
    column = USERS.c.last_message_id
    raised = case(
        (column.is_(None), bindparam("mid")),
        (column < bindparam("mid"), bindparam("mid")),
        else_=column,
    )
    statement = (
        update(USERS)
        .where(USERS.c.channel == CHANNEL, USERS.c.external_id == bindparam("ext"))
        .values(last_message_id=raised)
    )
    with engine.begin() as conn:
        conn.execute(statement, [{"ext": ext, "mid": mid} for ext, mid in newest.items()])


def newest(engine: Engine, external_id: str) -> int | None:
    """The kept id of one person's chat, or None (never written, or no such person)."""
    query = select(USERS.c.last_message_id).where(
        USERS.c.channel == CHANNEL, USERS.c.external_id == external_id
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()
