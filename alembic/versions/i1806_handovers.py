"""handovers: a buyer hands one claim to another buyer, both confirming

One row per offer: who gives, who receives, the units, and for a paid claim what the
giver paid, the fee kept and the refund due once the recipient's payment request is paid.

Revision ID: i1806
Revises: i1805
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i1806"
down_revision = "i1805"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "go_id", sa.Integer(), sa.ForeignKey("group_orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("giver_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("recipient_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("refund_minor", sa.BigInteger(), nullable=False),
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("payment_requests.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("giver_request_id", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_handovers_order_id", "handovers", ["order_id"])
    op.create_index("ix_handovers_giver_id", "handovers", ["giver_id"])
    op.create_index("ix_handovers_recipient_id", "handovers", ["recipient_id"])
    op.create_index("ix_handovers_status_expires", "handovers", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_table("handovers")
