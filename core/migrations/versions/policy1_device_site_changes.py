"""device site changes: the history of a device's address and coordinates

Revision ID: policy1
Revises: d01
Create Date: 2026-12-05 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "policy1"
down_revision: str | None = "d01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "device_site_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hardware_id", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("before", JSON, nullable=False),
        sa.Column("after", JSON, nullable=False),
        sa.ForeignKeyConstraint(["hardware_id"], ["devices.hardware_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_device_site_changes_device", "device_site_changes", ["hardware_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_device_site_changes_device", table_name="device_site_changes")
    op.drop_table("device_site_changes")
