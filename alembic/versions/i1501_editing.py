"""editing: a price per version, retired items and versions, a GO's catalogue version

Revision ID: i1501
Revises: i1401
Create Date: 2026-12-02 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "i1501"
down_revision = "i1401"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("group_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("catalogue_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("price_minor", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("retired", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_column("retired")
        batch_op.drop_column("price_minor")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("retired")
    with op.batch_alter_table("group_orders", schema=None) as batch_op:
        batch_op.drop_column("catalogue_version")
