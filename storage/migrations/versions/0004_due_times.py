"""users.next_checkin_at, users.next_nudge_at, users.active: the sweep's due times

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE_COLUMNS = ("next_checkin_at", "next_nudge_at")


def upgrade() -> None:
    for name in DUE_COLUMNS:
        op.add_column("users", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    # Everyone already here can be reached until a send says they blocked the bot.
    op.add_column(
        "users", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    for name in DUE_COLUMNS:
        # Partial (SQLite and PostgreSQL): people with nothing planned cost the sweep nothing.
        where = sa.text(f"{name} IS NOT NULL")
        op.create_index(
            f"ix_users_{name}", "users", [name], postgresql_where=where, sqlite_where=where
        )


def downgrade() -> None:
    for name in DUE_COLUMNS:
        op.drop_index(f"ix_users_{name}", table_name="users")
    # Batch mode: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("active")
        for name in DUE_COLUMNS:
            batch.drop_column(name)
