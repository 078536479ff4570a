"""agent's desk: ticket attachments, console presence, review-queue index

Revision ID: desk1
Revises: 0002
Create Date: 2026-12-05 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "desk1"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tickets_open_unreviewed", "tickets", ["status", "reviewed_at"])
    op.create_index("ix_tickets_reported", "tickets", ["reported_at"])
    op.create_index("ix_tickets_status_created", "tickets", ["status", "created_at"])
    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=160), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_ticket_attachments_ticket", "ticket_attachments", ["ticket_id", "id"]
    )
    op.create_table(
        "console_ticket_presence",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id", "actor"),
    )
    op.create_index(
        "ix_console_ticket_presence_seen_at", "console_ticket_presence", ["seen_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_console_ticket_presence_seen_at", table_name="console_ticket_presence")
    op.drop_table("console_ticket_presence")
    op.drop_index("ix_ticket_attachments_ticket", table_name="ticket_attachments")
    op.drop_table("ticket_attachments")
    op.drop_index("ix_tickets_status_created", table_name="tickets")
    op.drop_index("ix_tickets_reported", table_name="tickets")
    op.drop_index("ix_tickets_open_unreviewed", table_name="tickets")
