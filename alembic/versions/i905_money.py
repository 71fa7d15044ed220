"""money: a proof of payment records the amount it is for

Revision ID: i905
Revises: i501
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "i905"
down_revision = "i901"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_proofs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amount_minor", sa.BigInteger(), nullable=True))
    # proofs sent before amounts were recorded were for their request's amount
    op.execute(
        "UPDATE payment_proofs SET amount_minor = (SELECT payment_requests.amount_minor"
        " FROM payment_requests WHERE payment_requests.id = payment_proofs.request_id)"
    )
    with op.batch_alter_table("payment_proofs", schema=None) as batch_op:
        batch_op.alter_column("amount_minor", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_proofs", schema=None) as batch_op:
        batch_op.drop_column("amount_minor")
