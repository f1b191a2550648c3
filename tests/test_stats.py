"""`bridges stats`: the counts are right and nothing about any person is printed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.cli import main
from storage import outbox
from storage.db import make_engine
from storage.migrate import upgrade
from storage.tables import InboxRow, RecordRow, User

SECRET_NAME = "Ada Lovelace"
IDS = ["7070707070", "8080808080", "9090909090"]


def _seed(url: str) -> None:
    now = datetime.now(UTC)
    engine = make_engine(url)
    upgrade(engine)
    seen = [now - timedelta(hours=1), now - timedelta(days=3), now - timedelta(days=30)]
    with Session(engine) as session:
        users = [
            User(
                channel="telegram",
                external_id=ext,
                created_at=now - timedelta(days=60),
                last_seen_at=last,
            )
            for ext, last in zip(IDS, seen, strict=True)
        ]
        session.add_all(users)
        session.flush()
        first, second, _ = users

        def record(user: User, kind: str, at: datetime, data: dict[str, object]) -> RecordRow:
            assert user.id is not None
            return RecordRow(user_id=user.id, kind=kind, created_at=at, updated_at=at, data=data)

        session.add_all(
            [
                record(first, "mood", now, {"mood": 2, "at": now.isoformat()}),
                record(second, "mood", now, {"mood": 4, "at": now.isoformat()}),
                record(second, "mood", now - timedelta(days=1), {"mood": 3}),  # yesterday
                record(first, "contact", now, {"name": SECRET_NAME}),  # not a check-in
            ]
        )
        session.commit()
    _seed_delivery(engine, now)
    engine.dispose()


def _seed_delivery(engine: Engine, now: datetime) -> None:
    """One update waiting, one answered; two replies queued (their words never printed)."""
    with engine.begin() as conn:
        for update_id, done in ((1, None), (2, now)):
            conn.execute(
                InboxRow.__table__.insert().values(
                    update_id=update_id, channel="telegram", external_id=IDS[0],
                    chat_id=int(IDS[0]), kind="message", received_at=now, done_at=done,
                    payload={"message": {"text": SECRET_NAME}} if done is None else None,
                )
            )  # fmt: skip
        outbox.add(conn, int(IDS[0]), IDS[0], "turn", [{"text": SECRET_NAME}] * 2, now)


def test_stats_prints_counts_and_what_they_mean_without_personal_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/bridges.db"
    _seed(url)

    assert main(["--database-url", url, "stats"]) == 0
    out = capsys.readouterr().out

    assert out.splitlines() == [
        "People: 3 (everyone who has ever written to Bridges)",
        "Active: 2 (wrote in the last 7 days)",
        "Check-ins answered today: 2 (moods recorded since midnight UTC; sent check-ins are not stored)",
        "Updates waiting for their turn: 1 (stored, not yet answered; see docs/delivery.md)",
        "Replies waiting to be sent: 2",
    ]
    for private in [SECRET_NAME, "telegram", *IDS]:
        assert private not in out


def test_stats_on_an_empty_database_says_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/bridges.db"
    upgrade(make_engine(url))
    assert main(["--database-url", url, "stats"]) == 0
    out = capsys.readouterr().out
    assert "People: 0" in out and "Active: 0" in out and "answered today: 0" in out
