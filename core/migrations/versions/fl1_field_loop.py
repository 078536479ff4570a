"""field loop: customer rating on tickets, field visits and app actions, console user ↔ technician

Revision ID: fl1
Revises: c01_console, d01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "fl1"
# Needs the tickets and technicians (d01) and the console accounts (c01_console).
down_revision: str | Sequence[str] | None = ("c01_console", "d01")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("rating_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rating_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("rated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("console_users") as batch:
        batch.add_column(sa.Column("technician_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_console_users_technician", "technicians", ["technician_id"], ["id"]
        )
        batch.create_unique_constraint("uq_console_users_technician", ["technician_id"])
    op.create_table(
        "dispatch_field_visits",
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), primary_key=True),
        sa.Column(
            "assignment_id", sa.Integer(), sa.ForeignKey("dispatch_assignments.id"), nullable=True
        ),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("eta_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_way_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused", sa.String(length=32), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("photos", JSON, nullable=False),
        sa.Column("signature", JSON, nullable=True),
        sa.Column("parts_used", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "dispatch_field_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("action_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column(
            "technician_id", sa.Integer(), sa.ForeignKey("technicians.id"), nullable=False
        ),
        sa.Column(
            "assignment_id",
            sa.Integer(),
            sa.ForeignKey("dispatch_assignments.id"),
            nullable=False,
        ),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("result", JSON, nullable=False),
    )
    op.create_index(
        "ix_dispatch_field_actions_ticket", "dispatch_field_actions", ["ticket_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_dispatch_field_actions_ticket", table_name="dispatch_field_actions")
    op.drop_table("dispatch_field_actions")
    op.drop_table("dispatch_field_visits")
    with op.batch_alter_table("console_users") as batch:
        batch.drop_constraint("uq_console_users_technician", type_="unique")
        batch.drop_constraint("fk_console_users_technician", type_="foreignkey")
        batch.drop_column("technician_id")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("rated_at")
        batch.drop_column("rating_reason")
        batch.drop_column("rating_score")
