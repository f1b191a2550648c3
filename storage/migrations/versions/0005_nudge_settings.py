"""users.nudges, quiet_start, quiet_end, paused_until: the person's nudge settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Server defaults: everyone already here gets the gentle defaults.
    op.add_column(
        "users",
        sa.Column("nudges", sa.String(length=8), nullable=False, server_default="gentle"),
    )
    op.add_column(
        "users",
        sa.Column("quiet_start", sa.String(length=5), nullable=False, server_default="21:00"),
    )
    op.add_column(
        "users",
        sa.Column("quiet_end", sa.String(length=5), nullable=False, server_default="08:00"),
    )
    op.add_column("users", sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("users") as batch:
        for name in ("paused_until", "quiet_end", "quiet_start", "nudges"):
            batch.drop_column(name)
