"""users.last_message_id: the newest Telegram message id known in each person's chat

Written in batches by maintenance (storage/chat_ids.py), read before a check-in, nudge or
follow-up goes to a chat this process has not heard from, so a restart can look for it
in the chat instead of sending it twice (bot/probe.py, issue 10). An id, never content.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("last_message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_message_id")
