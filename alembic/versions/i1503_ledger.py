"""ledger: one payment for all of a buyer's orders in a GO (payment bundles)

Revision ID: i1503
Revises: i1702
Create Date: 2026-12-02 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i1503"
down_revision = "i1702"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_bundles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("go_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=25), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["go_id"], ["group_orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_payment_bundles_go_id", "payment_bundles", ["go_id"])
    op.create_index("ix_payment_bundles_buyer_id", "payment_bundles", ["buyer_id"])
    op.create_table(
        "bundle_requests",
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["bundle_id"], ["payment_bundles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["payment_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("bundle_id", "request_id"),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bundle_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_payments_bundle_id", ["bundle_id"])
        batch_op.create_foreign_key(
            "fk_payments_bundle_id", "payment_bundles", ["bundle_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint("fk_payments_bundle_id", type_="foreignkey")
        batch_op.drop_index("ix_payments_bundle_id")
        batch_op.drop_column("bundle_id")
    op.drop_table("bundle_requests")
    op.drop_index("ix_payment_bundles_buyer_id", table_name="payment_bundles")
    op.drop_index("ix_payment_bundles_go_id", table_name="payment_bundles")
    op.drop_table("payment_bundles")
