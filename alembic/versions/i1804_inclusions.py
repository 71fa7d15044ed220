"""inclusions: random photocards and pre-order benefits, buyers' rankings, the lottery
seed and its commitment, and each item's allocation with its inputs and result

Revision ID: i1804
Revises: i1806
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from core.db import types

revision = "i1804"
down_revision = "i1806"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inclusions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=True),
        sa.Column("created_at", types.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("item_id", "name"),
        sa.CheckConstraint("received IS NULL OR received >= 0", name="inclusion_received"),
    )
    op.create_index("ix_inclusions_item_id", "inclusions", ["item_id"])
    op.create_table(
        "inclusion_rankings",
        sa.Column(
            "line_id", sa.Integer(), sa.ForeignKey("order_lines.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("ranking", sa.Text(), nullable=False),
        sa.Column("updated_at", types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "inclusion_settings",
        sa.Column(
            "go_id", sa.Integer(), sa.ForeignKey("group_orders.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("rankings_locked_at", types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seed", sa.Text(), nullable=True),
        sa.Column("seed_commitment", sa.String(64), nullable=True),
        sa.Column("seed_committed_at", types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seed_revealed_at", types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", types.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "go_id", sa.Integer(), sa.ForeignKey("group_orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("tie_break", sa.String(12), nullable=False),
        sa.Column("seed", sa.Text(), nullable=True),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("allocated_at", types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("announced_at", types.UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("item_id"),
    )
    op.create_index("ix_allocations_go_id", "allocations", ["go_id"])
    op.create_table(
        "allocated_units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "allocation_id",
            sa.Integer(),
            sa.ForeignKey("allocations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("claim", sa.String(48), nullable=False),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("draw", sa.Integer(), nullable=False),
        sa.Column(
            "inclusion_id", sa.Integer(), sa.ForeignKey("inclusions.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("inclusion_name", sa.String(80), nullable=True),
        sa.UniqueConstraint("allocation_id", "claim"),
    )
    op.create_index("ix_allocated_units_order_id", "allocated_units", ["order_id"])


def downgrade() -> None:
    op.drop_table("allocated_units")
    op.drop_table("allocations")
    op.drop_table("inclusion_settings")
    op.drop_table("inclusion_rankings")
    op.drop_table("inclusions")
