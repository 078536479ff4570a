"""desk at volume: a text index for the ticket search, indexes for the supervisors' pages

SQLite: an FTS5 trigram table over the searched columns, kept in step with `tickets` by
triggers (contentless: it holds the index only), and its term list for one- and two-character
words. PostgreSQL: pg_trgm GIN indexes on the same columns, which LIKE/ILIKE use directly.
Both carry the `search_` prefix that autogenerate skips (core.db.include_in_autogenerate).

Revision ID: desk2
Revises: desk1, fl1, gap1, geo1, imp1, j01, lf1, pbx2, slacal1, tri1
Create Date: 2026-12-05 16:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "desk2"
down_revision: str | Sequence[str] | None = (
    "desk1",
    "fl1",
    "gap1",
    "geo1",
    "imp1",
    "j01",
    "lf1",
    "pbx2",
    "slacal1",
    "tri1",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns the desk's search box reads (tickets.search.text_condition).
COLUMNS = ("number", "phone", "hardware_id", "model", "customer_name", "address", "description")
# Two characters after every value, so a word of one or two characters at its end still
# begins a trigram (found through the term list, tickets.search).
PAD = "char(1, 1)"
INDEXES = (
    ("ix_review_corrections_predicted", "review_corrections",
     ["predicted_kb_id", "diagnosis_correct", "corrected_kb_id"]),
    ("ix_tickets_kb_reported", "tickets", ["kb_id", "reported_at"]),
    ("ix_sla_tickets_unanswered", "sla_tickets", ["responded_at", "response_deadline_at"]),
)


def _values(row: str) -> str:
    return ", ".join(f"{row}.{c} || {PAD}" for c in COLUMNS)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for c in COLUMNS:
            op.execute(
                f"CREATE INDEX search_tickets_{c}_trgm ON tickets USING gin ({c} gin_trgm_ops)"
            )
        return
    if op.get_bind().dialect.name != "sqlite":
        return
    cols = ", ".join(COLUMNS)
    op.execute(
        f"CREATE VIRTUAL TABLE search_tickets USING fts5({cols}, content='', tokenize='trigram')"
    )
    op.execute("CREATE VIRTUAL TABLE search_tickets_terms USING fts5vocab(search_tickets, instance)")
    insert = f"INSERT INTO search_tickets(rowid, {cols}) VALUES (new.id, {_values('new')});"
    delete = (
        f"INSERT INTO search_tickets(search_tickets, rowid, {cols}) "
        f"VALUES ('delete', old.id, {_values('old')});"
    )
    op.execute(f"CREATE TRIGGER search_tickets_insert AFTER INSERT ON tickets BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER search_tickets_delete AFTER DELETE ON tickets BEGIN {delete} END")
    op.execute(
        f"CREATE TRIGGER search_tickets_update AFTER UPDATE OF {cols} ON tickets "
        f"BEGIN {delete} {insert} END"
    )
    op.execute(
        f"INSERT INTO search_tickets(rowid, {cols}) "
        f"SELECT id, {_values('tickets')} FROM tickets"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for c in COLUMNS:
            op.execute(f"DROP INDEX IF EXISTS search_tickets_{c}_trgm")
    elif op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS search_tickets_{trigger}")
        op.execute("DROP TABLE IF EXISTS search_tickets_terms")
        op.execute("DROP TABLE IF EXISTS search_tickets")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
