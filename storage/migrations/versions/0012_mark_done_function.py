"""PostgreSQL: bridges_mark_done(update_id, at), a turn's "done" mark that fails when the
update was already done (issue 15)

A turn marks its update done in its own transaction, and must be rolled back if another
worker marked it first (bot/intake.py `AlreadyDone`). The turn read the UPDATE's row count
before committing, so the COMMIT was a round trip of its own. This function makes the same
UPDATE and raises SQLSTATE BR001 when it changed no row: the check happens in the
database, the statement's failure aborts the transaction, and the turn's COMMIT can go to
the server in the same message as its writes (storage/hot.py `batched(commit=True)`).
SQLite needs nothing: its turns keep reading the row count.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # The table by name, resolved on the caller's search_path like the turn's own
    # statements (a scratch schema in the benches, public otherwise).
    op.execute(
        """
        CREATE OR REPLACE FUNCTION bridges_mark_done(u bigint, at timestamptz)
        RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE inbox SET done_at = at, payload = NULL
            WHERE update_id = u AND done_at IS NULL;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'update already done' USING ERRCODE = 'BR001';
            END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS bridges_mark_done(bigint, timestamptz)")
