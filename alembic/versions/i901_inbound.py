"""inbound updates: what a chat platform handed us, durable before it is acknowledged

Revision ID: i901
Revises: i501
Create Date: 2026-12-02 06:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i901"
down_revision = "i501"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id"),
    )
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_updates_handled_at"), ["handled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_updates_handled_at"))
    op.drop_table("inbound_updates")
