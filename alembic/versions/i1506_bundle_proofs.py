"""bundle proofs: a proof of payment sent for a bundle (all of a buyer's orders in a GO)

Revision ID: i1506
Revises: i1503
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "i1506"
down_revision = "i1503"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_proofs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bundle_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_payment_proofs_bundle_id", ["bundle_id"])
        batch_op.create_foreign_key(
            "fk_payment_proofs_bundle_id", "payment_bundles", ["bundle_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_proofs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_payment_proofs_bundle_id", type_="foreignkey")
        batch_op.drop_index("ix_payment_proofs_bundle_id")
        batch_op.drop_column("bundle_id")
