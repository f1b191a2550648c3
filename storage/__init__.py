"""Everything kept between turns: SQLite by default, PostgreSQL by DATABASE_URL.

tables (the SQLModel tables; Alembic migrations in storage/migrations), repository (one
person's turn in one transaction), schedule_store (the sweep's due times), inbox and
outbox (updates in, replies out, durable: docs/delivery.md), sent_journal and
message_log (append-only files that close the crash windows around a send), chat_ids
(the newest message id per chat) and db (engines with every wait bounded). Nothing here
decides what to say: that is dialogs/, which knows no SQL.
"""
