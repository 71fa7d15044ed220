"""money terms: prices in another currency at a locked rate, the GOM's fee, surcharges per
payment method, deposits and instalments

``go_money`` holds a GO's terms; ``order_terms`` the rate and fee an order was placed
under, written just before the GO's terms change for every order that has none yet. Items
and versions keep their price in the price currency (``source_price_minor``); a payment
keeps the surcharge it included (``surcharge_minor``).

Revision ID: i1802
Revises: i1801
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i1802"
down_revision = "i1801"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_price_minor", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_price_minor", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("surcharge_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
    op.create_table(
        "go_money",
        sa.Column(
            "go_id", sa.Integer(), sa.ForeignKey("group_orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("source_currency", sa.String(length=3), nullable=True),
        sa.Column("rate_num", sa.BigInteger(), nullable=True),
        sa.Column("rate_den", sa.BigInteger(), nullable=True),
        sa.Column("fee_fixed_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("fee_bp", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("surcharges", sa.Text(), server_default="[]", nullable=False),
        sa.Column("deposit_kind", sa.String(length=10), nullable=True),
        sa.Column("deposit_value", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("balance_days", sa.Integer(), server_default=sa.text("14"), nullable=False),
        sa.Column("instalment_dates", sa.Text(), server_default="", nullable=False),
        sa.Column("updated_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("go_id"),
    )
    op.create_table(
        "order_terms",
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source_currency", sa.String(length=3), nullable=True),
        sa.Column("rate_num", sa.BigInteger(), nullable=True),
        sa.Column("rate_den", sa.BigInteger(), nullable=True),
        sa.Column("fee_fixed_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_bp", sa.Integer(), nullable=False),
        sa.Column("stamped_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )


def downgrade() -> None:
    op.drop_table("order_terms")
    op.drop_table("go_money")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("surcharge_minor")
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_column("source_price_minor")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("source_price_minor")
