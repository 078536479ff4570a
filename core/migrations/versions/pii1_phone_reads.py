"""phone_reads: who was shown whose full phone number

Revision ID: pii1
Revises: 0002
Create Date: 2026-12-05 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pii1"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "phone_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("door", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_phone_reads_at", "phone_reads", ["at"])
    op.create_index("ix_phone_reads_actor", "phone_reads", ["actor"])
    op.create_index("ix_phone_reads_subject", "phone_reads", ["subject", "subject_id", "at"])


def downgrade() -> None:
    op.drop_table("phone_reads")
