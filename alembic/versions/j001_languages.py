"""languages: each person's, and a group order's default for buyers who have none

Revision ID: j001
Revises: i1907
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "j001"
down_revision = "i1907"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("group_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("group_orders", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("language")
