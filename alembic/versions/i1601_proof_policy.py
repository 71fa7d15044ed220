"""proof policy and unique amounts: what a screenshot was read to say, who decided the
proof, and payment requests that each ask a unique amount

Each proof keeps the reading (JSON text), the image's perceptual hash and the bank's
transaction id (both indexed: "sent before?" is asked of every new proof), and whether a
person or the GOM's policy decided it. ``proof_policies`` holds a GOM's default policy
(``go_id`` 0) and any GO's own. A GO may ask unique amounts (``unique_amount_settings``):
each request's adjustment is kept (``payment_requests.adjust_minor``) and the amount it
asks is claimed in ``amount_claims``, whose primary key keeps two open requests of one GOM
in one currency from asking the same.

Revision ID: i1601
Revises: i1903
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i1601"
down_revision = "i1903"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_proofs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reading", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("image_hash", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("txn_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=10), nullable=True))
        batch_op.create_index("ix_payment_proofs_image_hash", ["image_hash"])
        batch_op.create_index("ix_payment_proofs_txn_id", ["txn_id"])
    op.create_table(
        "proof_policies",
        sa.Column("gom_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("go_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=8), nullable=False),
        sa.Column("updated_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("gom_id", "go_id"),
    )
    with op.batch_alter_table("payment_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("adjust_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
    op.create_table(
        "unique_amount_settings",
        sa.Column(
            "go_id", sa.Integer(), sa.ForeignKey("group_orders.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("max_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", core.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("go_id"),
    )
    op.create_table(
        "amount_claims",
        sa.Column("gom_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("payment_requests.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("gom_id", "currency", "amount_minor"),
        sa.UniqueConstraint("request_id"),
    )


def downgrade() -> None:
    op.drop_table("amount_claims")
    op.drop_table("unique_amount_settings")
    with op.batch_alter_table("payment_requests", schema=None) as batch_op:
        batch_op.drop_column("adjust_minor")
    op.drop_table("proof_policies")
    with op.batch_alter_table("payment_proofs", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_proofs_txn_id")
        batch_op.drop_index("ix_payment_proofs_image_hash")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("txn_id")
        batch_op.drop_column("image_hash")
        batch_op.drop_column("reading")
