"""delivery: shipping options, pickup slots, addresses and parcels

Revision ID: i1401
Revises: i903
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i1401"
down_revision = "i1301"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, core.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "shipping_options",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("go_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("tiers", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _when("created_at"),
        sa.CheckConstraint("fee_minor >= 0", name="shipopt_fee"),
        sa.ForeignKeyConstraint(["go_id"], ["group_orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("go_id", "code"),
    )
    op.create_index("ix_shipping_options_go_id", "shipping_options", ["go_id"])
    op.create_table(
        "pickup_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        _when("starts_at"),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.CheckConstraint("reserved >= 0 AND reserved <= capacity", name="slot_capacity"),
        sa.ForeignKeyConstraint(["option_id"], ["shipping_options.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("option_id", "position"),
    )
    op.create_index("ix_pickup_slots_option_id", "pickup_slots", ["option_id"])
    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=12), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_addresses_user_id", "addresses", ["user_id"])
    op.create_table(
        "parcels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("go_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=True),
        sa.Column("address_id", sa.Integer(), nullable=True),
        sa.Column("weight_grams", sa.Integer(), nullable=True),
        sa.Column("fee_request_id", sa.Integer(), nullable=True),
        sa.Column("carrier", sa.String(length=20), nullable=True),
        sa.Column("tracking", sa.String(length=40), nullable=True),
        _when("shipped_at", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["go_id"], ["group_orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["buyer_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["option_id"], ["shipping_options.id"]),
        sa.ForeignKeyConstraint(["slot_id"], ["pickup_slots.id"]),
        sa.ForeignKeyConstraint(["address_id"], ["addresses.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["fee_request_id"], ["payment_requests.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("go_id", "buyer_id"),
    )
    op.create_index("ix_parcels_buyer_id", "parcels", ["buyer_id"])
    op.create_table(
        "tracking_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("go_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _when("created_at"),
        _when("applied_at", nullable=True),
        sa.ForeignKeyConstraint(["go_id"], ["group_orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tracking_imports_go_id", "tracking_imports", ["go_id"])
    op.create_table(
        "packing_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("go_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        sa.ForeignKeyConstraint(["go_id"], ["group_orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_packing_links_go_id", "packing_links", ["go_id"])


def downgrade() -> None:
    op.drop_index("ix_packing_links_go_id", table_name="packing_links")
    op.drop_table("packing_links")
    op.drop_index("ix_tracking_imports_go_id", table_name="tracking_imports")
    op.drop_table("tracking_imports")
    op.drop_index("ix_parcels_buyer_id", table_name="parcels")
    op.drop_table("parcels")
    op.drop_index("ix_addresses_user_id", table_name="addresses")
    op.drop_table("addresses")
    op.drop_index("ix_pickup_slots_option_id", table_name="pickup_slots")
    op.drop_table("pickup_slots")
    op.drop_index("ix_shipping_options_go_id", table_name="shipping_options")
    op.drop_table("shipping_options")
