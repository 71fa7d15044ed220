"""roles and abuse: a GOM's default per-buyer limit

Staff roles (owner, manager, helper) fit the existing ``staff.role`` column; only the
GOM's default per-buyer limit is new.

Revision ID: i1702
Revises: i1701
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "i1702"
down_revision = "i1701"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_buyer_limit", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("default_buyer_limit")
