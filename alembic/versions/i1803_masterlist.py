"""masterlist: buyers' nicknames, masterlist posts kept up to date, and outbox messages
that edit a post in place

Revision ID: i1803
Revises: i1804
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

import core.db.types
from alembic import op

revision = "i1803"
down_revision = "i1804"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, core.db.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nickname", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("nickname_key", sa.String(length=80), nullable=True))
    op.create_table(
        "masterlist_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("go_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("message_ids", sa.Text(), nullable=False),
        sa.Column("editable", sa.Boolean(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("refreshes", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        _when("created_at"),
        _when("sent_at", nullable=True),
        sa.ForeignKeyConstraint(["go_id"], ["group_orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["identity_id"], ["identities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("go_id", "identity_id"),
    )
    op.create_index("ix_masterlist_posts_go_id", "masterlist_posts", ["go_id"])
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("masterlist_post_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_masterlist_post_id",
            "masterlist_posts",
            ["masterlist_post_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_outbox_masterlist_post_id", ["masterlist_post_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_masterlist_post_id")
        batch_op.drop_constraint("fk_outbox_masterlist_post_id", type_="foreignkey")
        batch_op.drop_column("masterlist_post_id")
    op.drop_index("ix_masterlist_posts_go_id", table_name="masterlist_posts")
    op.drop_table("masterlist_posts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("nickname_key")
        batch_op.drop_column("nickname")
