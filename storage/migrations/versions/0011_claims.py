"""claims, and the due-time indexes in (due time, id) order: claiming a batch cheaply (issue 15)

claims: a sweeper's hold on a due person, one narrow row each (user id, kind, until).
Claiming a batch used to hold people by rewriting their due column in `users` to the
claim's "until": a hundred wide rows scattered over the table, with every index on
them, rewritten per batch. Now the due columns are written only when a person is taken.
No data to move: a hold an older version left in a due column is a time some seconds
ahead, and the person is simply due again once it passes. No foreign key (checking one
per held person costs PostgreSQL more than the rest of the INSERT); deleting a person
deletes their rows (storage.repository). UNLOGGED on PostgreSQL (see upgrade).

The four partial due-time indexes gain the id: a claim reads a page in (due time, id)
order, and PostgreSQL then stops after the page instead of sorting everyone due at the
same instant first.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE_COLUMNS = ("next_checkin_at", "next_nudge_at", "next_reminder_at", "followup_at")


def _index(name: str, columns: list[str]) -> None:
    where = sa.text(f"{name} IS NOT NULL")
    op.create_index(
        f"ix_users_{name}", "users", columns, postgresql_where=where, sqlite_where=where
    )


def upgrade() -> None:
    # UNLOGGED on PostgreSQL: no WAL, so a claim's statement commits without waiting for
    # a WAL flush. After a crash of PostgreSQL the table comes back empty: every hold in
    # flight is then simply over (a turn whose claim row is gone takes no one; the person
    # is due again and claimed anew), which a 30-second lease can afford.
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "claims",
        sa.Column("user_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(length=8), primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        prefixes=unlogged,
    )
    for name in DUE_COLUMNS:
        op.drop_index(f"ix_users_{name}", table_name="users")
        _index(name, [name, "id"])


def downgrade() -> None:
    for name in DUE_COLUMNS:
        op.drop_index(f"ix_users_{name}", table_name="users")
        _index(name, [name])
    op.drop_table("claims")
