"""GO policies, buyers' agreements, bans and late fees

``go_policies`` holds a GOM's default rules (``go_id`` 0) and any GO's own: payment
reminder leads, late fee and its cap, the grace before an unpaid claim is released, the
backout and shortfall rules and what happens to unclaimed items. ``policy_agreements``
records that a buyer agreed to a GO's rules (and which version); ``buyer_bans`` the
buyers a GOM takes no orders from, with a reason for the team; ``late_fees`` what each
overdue payment request has run up, grown by a compare-and-set on ``days_charged``.

Revision ID: i1801
Revises: i1902
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i1801"
down_revision = "i1902"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "go_policies",
        sa.Column("gom_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("go_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reminders", sa.String(length=200), nullable=False),
        sa.Column("late_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("late_fee_cap_minor", sa.BigInteger(), nullable=False),
        sa.Column("grace_minutes", sa.Integer(), nullable=False),
        sa.Column("backout", sa.String(length=12), nullable=False),
        sa.Column("backout_fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("shortfall_rule", sa.String(length=12), nullable=False),
        sa.Column("shortfall_remedy", sa.String(length=12), nullable=False),
        sa.Column("unclaimed", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("updated_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("gom_id", "go_id"),
    )
    op.create_table(
        "policy_agreements",
        sa.Column(
            "go_id", sa.Integer(), sa.ForeignKey("group_orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("buyer_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("agreed_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("go_id", "buyer_id"),
    )
    op.create_table(
        "buyer_bans",
        sa.Column("gom_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("buyer_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("banned_by", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("gom_id", "buyer_id"),
    )
    op.create_table(
        "late_fees",
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("payment_requests.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "fee_request_id",
            sa.Integer(),
            sa.ForeignKey("payment_requests.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("days_charged", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_late_fees_fee_request_id", "late_fees", ["fee_request_id"])


def downgrade() -> None:
    op.drop_index("ix_late_fees_fee_request_id", table_name="late_fees")
    op.drop_table("late_fees")
    op.drop_table("buyer_bans")
    op.drop_table("policy_agreements")
    op.drop_table("go_policies")
