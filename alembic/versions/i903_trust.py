"""trust: staff invites, fresh handles, linked channels awaiting confirmation

Revision ID: i903
Revises: i501
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i903"
down_revision = "i905"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("handle_seen_at", core.db.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("linked_channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=10), server_default="confirmed", nullable=False)
        )
        batch_op.add_column(sa.Column("confirm_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("confirm_expires_at", core.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_linked_channels_confirm_hash", ["confirm_hash"], unique=True)
    op.create_table(
        "staff_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gom_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.Column("used_at", core.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["gom_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["used_by"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    with op.batch_alter_table("staff_invites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_invites_gom_id"), ["gom_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_invites_gom_id"))
    op.drop_table("staff_invites")
    with op.batch_alter_table("linked_channels", schema=None) as batch_op:
        batch_op.drop_index("ix_linked_channels_confirm_hash")
        batch_op.drop_column("confirm_expires_at")
        batch_op.drop_column("confirm_hash")
        batch_op.drop_column("status")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_column("handle_seen_at")
