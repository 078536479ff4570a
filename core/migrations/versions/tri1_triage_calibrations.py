"""triage calibrations fitted on the KB

Revision ID: tri1
Revises: 0002
Create Date: 2026-12-05 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "tri1"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "triage_calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("encoder", sa.String(length=200), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("kb_entries", sa.Integer(), nullable=False),
        sa.Column("kb_checksum", sa.Integer(), nullable=False),
        sa.Column("pseudo_calls", sa.Integer(), nullable=False),
        sa.Column("verdicts", sa.Integer(), nullable=False),
        sa.Column("weights", JSON, nullable=False),
        sa.Column("bias", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_triage_calibrations_encoder", "triage_calibrations", ["encoder", "id"])


def downgrade() -> None:
    op.drop_index("ix_triage_calibrations_encoder", table_name="triage_calibrations")
    op.drop_table("triage_calibrations")
