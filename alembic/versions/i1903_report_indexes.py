"""report indexes: a GO's orders in order, so a page of /orders or a chunk of /export is
read from an index instead of sorting every order of the GO

Revision ID: i1903
Revises: i1602
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

from alembic import op

revision = "i1903"
down_revision = "i1602"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_go_id", "orders", ["go_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_orders_go_id", table_name="orders")
