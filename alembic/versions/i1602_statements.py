"""statements: bank statement exports read, matched and applied

Revision ID: i1602
Revises: i1506
Create Date: 2026-12-02 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from core.db import types

revision = "i1602"
down_revision = "i1506"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statement_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("layout", sa.String(8), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("created_at", types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", types.UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("author_id", "content_hash"),
    )
    op.create_index("ix_statement_imports_author_id", "statement_imports", ["author_id"])
    op.create_table(
        "statement_lines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "import_id",
            sa.Integer(),
            sa.ForeignKey("statement_imports.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("posted_on", sa.String(10), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("how", sa.String(20), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column(
            "request_id",
            sa.Integer(),
            sa.ForeignKey("payment_requests.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "payment_id", sa.Integer(), sa.ForeignKey("payments.id", ondelete="SET NULL"), nullable=True
        ),
    )
    op.create_index("ix_statement_lines_import_id", "statement_lines", ["import_id"])
    op.create_index("ix_statement_lines_request_id", "statement_lines", ["request_id"])
    op.create_index("ix_statement_lines_payment_id", "statement_lines", ["payment_id"])


def downgrade() -> None:
    op.drop_table("statement_lines")
    op.drop_table("statement_imports")
