"""live calls in progress, for recovery when their process dies

Revision ID: pbx2
Revises: pbx1
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "pbx2"
down_revision: str | None = "pbx1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "live_calls",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("door", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=160), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("spool", sa.String(length=255), nullable=False),
        sa.Column("received_s", sa.Float(), nullable=False),
        sa.Column("finals", JSON, nullable=False),
        sa.Column("notes", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("live_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_live_calls_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_live_calls_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_live_calls_heartbeat_at"), ["heartbeat_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("live_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_calls_heartbeat_at"))
        batch_op.drop_index(batch_op.f("ix_live_calls_status"))
        batch_op.drop_index(batch_op.f("ix_live_calls_call_id"))
    op.drop_table("live_calls")
