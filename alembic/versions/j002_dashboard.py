"""dashboard sign-ins: one-time links from the bot, and the sessions they open

Revision ID: j002
Revises: j001
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "j002"
down_revision = "j001"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, core.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "dashboard_sign_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("link_expires_at"),
        _when("used_at", nullable=True),
        sa.Column("session_hash", sa.String(length=64), nullable=True),
        _when("session_expires_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_hash"),
        sa.UniqueConstraint("session_hash"),
    )
    op.create_index("ix_dashboard_sign_ins_user_id", "dashboard_sign_ins", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_sign_ins_user_id", table_name="dashboard_sign_ins")
    op.drop_table("dashboard_sign_ins")
