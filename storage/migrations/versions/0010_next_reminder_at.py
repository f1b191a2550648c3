"""users.next_reminder_at: when the next small-steps reminder is due (issue 12)

The earliest of a person's planned-step reminder, "how did it go?" question, weekly
review, loneliness measure and connection window (dialogs/reminders.py), in one indexed
column the sweep reads like the check-in's. What is planned lives in records (kinds
"step_plan" and "rhythm"), which need no migration. A time only, never content.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_users_next_reminder_at",
        "users",
        ["next_reminder_at"],
        postgresql_where=sa.text("next_reminder_at IS NOT NULL"),
        sqlite_where=sa.text("next_reminder_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_users_next_reminder_at", table_name="users")
    # Batch mode: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("next_reminder_at")
