"""notices: each GOM's and helper's digest hour, opt-in and muted GOs

Revision ID: i1504
Revises: i1501
Create Date: 2026-12-02 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i1504"
down_revision = "i1501"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, core.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "notice_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest_hour", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("helper_opt_in", sa.Boolean(), server_default=sa.false(), nullable=False),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "notice_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("go_id", sa.Integer(), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(["go_id"], ["group_orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "go_id"),
    )
    op.create_index("ix_notice_mutes_user_id", "notice_mutes", ["user_id"])
    op.create_index("ix_notice_mutes_go_id", "notice_mutes", ["go_id"])


def downgrade() -> None:
    op.drop_index("ix_notice_mutes_go_id", table_name="notice_mutes")
    op.drop_index("ix_notice_mutes_user_id", table_name="notice_mutes")
    op.drop_table("notice_mutes")
    op.drop_table("notice_preferences")
