"""shortfalls and store credit: units a supplier never delivered, and credit a buyer holds
with a GOM

Each order line keeps how many of its units went short (``order_lines.short_units``), so
packing lists and exports count what was delivered. ``shortfalls`` records each run a GOM
confirmed with its inputs (rule, seed, what arrived) and totals. Store credit is an
append-only ledger per buyer, GOM and currency (``store_credit_entries``) with its sum kept
on one row (``store_credit_balances``) that spending takes with one conditional UPDATE.

Revision ID: i1805
Revises: i1802
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i1805"
down_revision = "i1802"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("short_units", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_check_constraint("line_short", "short_units >= 0 AND short_units <= quantity")
    op.create_table(
        "shortfalls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "go_id", sa.Integer(), sa.ForeignKey("group_orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("rule", sa.String(length=12), nullable=False),
        sa.Column("remedy", sa.String(length=8), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("received", sa.Text(), nullable=False),
        sa.Column("units_short", sa.Integer(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("refund_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.Column("owed_less_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_shortfalls_go_id", "shortfalls", ["go_id"])
    op.create_table(
        "store_credit_balances",
        sa.Column("buyer_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("gom_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("buyer_id", "gom_id", "currency"),
        sa.CheckConstraint("balance_minor >= 0", name="credit_nonnegative"),
    )
    op.create_table(
        "store_credit_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("buyer_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("gom_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id", ondelete="SET NULL"), nullable=True),
        sa.Column(
            "payment_id", sa.Integer(), sa.ForeignKey("payments.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "shortfall_id", sa.Integer(), sa.ForeignKey("shortfalls.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_store_credit_entries_owner", "store_credit_entries", ["buyer_id", "gom_id", "currency"]
    )


def downgrade() -> None:
    op.drop_index("ix_store_credit_entries_owner", table_name="store_credit_entries")
    op.drop_table("store_credit_entries")
    op.drop_table("store_credit_balances")
    op.drop_index("ix_shortfalls_go_id", table_name="shortfalls")
    op.drop_table("shortfalls")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_constraint("line_short", type_="check")
        batch_op.drop_column("short_units")
