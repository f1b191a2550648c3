"""users.risk_level, risk_at, unsafe_at, followup_at: safety memory and the crisis follow-up

Only a level and times are kept, never what the person wrote (issue 9):
risk_level/risk_at let a concern soon after another concern or a crisis count as a
crisis; unsafe_at keeps the emergency number on screen after "No, I'm not safe";
followup_at is when the sweep sends a gentle follow-up after a crisis screen.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMES = ("risk_at", "unsafe_at", "followup_at")


def upgrade() -> None:
    op.add_column("users", sa.Column("risk_level", sa.String(length=8), nullable=True))
    for name in TIMES:
        op.add_column("users", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    # Partial, like the other due times: only people with a follow-up planned are indexed.
    where = sa.text("followup_at IS NOT NULL")
    op.create_index(
        "ix_users_followup_at", "users", ["followup_at"], postgresql_where=where, sqlite_where=where
    )


def downgrade() -> None:
    op.drop_index("ix_users_followup_at", table_name="users")
    # Batch mode: SQLite before 3.35 cannot drop a column in place.
    with op.batch_alter_table("users") as batch:
        for name in reversed(TIMES):
            batch.drop_column(name)
        batch.drop_column("risk_level")
