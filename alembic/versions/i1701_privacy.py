"""privacy: personal data sealed at rest

Addresses, payout details and proof images already stored are sealed under the data
keys (the same ones ``gomflow run`` loads: GOMFLOW_DATA_KEYS, GOMFLOW_DATA_KEY or the key
file). Address columns become text, as a sealed value is longer than the clear one. The
phone number or email address of an SMS, WhatsApp or email identity moves, sealed, to
``identities.address``; ``external_id`` keeps its blind index.

Revision ID: i1701
Revises: i1504
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from core.config import Settings
from core.privacy.identities import PERSONAL_CHANNELS, stored_id
from core.privacy.keys import Keyring
from core.privacy.setup import DIALECT_ATTRIBUTE, keyring_for, load_keyring

revision = "i1701"
down_revision = "i1504"
branch_labels = None
depends_on = None

PURPOSE = "identities.address"
ADDRESS_COLUMNS = {"recipient": 120, "phone": 20, "line1": 200, "line2": 200, "postal_code": 12}


def _ring() -> Keyring:
    dialect = op.get_bind().dialect
    if getattr(dialect, DIALECT_ATTRIBUTE, None) is None:  # run by the alembic command itself
        settings = Settings.from_env()
        return load_keyring(settings.database_url, settings.data_keys, settings.index_key)
    return keyring_for(dialect)


def _convert(table: str, key: str, columns: list[str], change: str) -> None:
    """Seal (``change="seal"``) or open every value of ``columns``, row by row."""
    ring = _ring()
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT {key}, {', '.join(columns)} FROM {table}")).all()
    for row in rows:
        values: dict[str, object] = {}
        for name, value in zip(columns, row[1:], strict=True):
            purpose = f"{table}.{name}"
            if value is None:
                values[name] = None
            elif isinstance(value, str):
                values[name] = (
                    ring.seal_text(value, purpose) if change == "seal" else ring.open_text(value, purpose)
                )
            else:
                raw = bytes(value)
                values[name] = ring.seal(raw, purpose) if change == "seal" else ring.open(raw, purpose)
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        bind.execute(
            sa.text(f"UPDATE {table} SET {assignments} WHERE {key} = :_key"), {**values, "_key": row[0]}
        )


def _identities(change: str) -> None:
    """Index (``change="seal"``) or restore the platform ids of SMS, WhatsApp and email identities."""
    ring = _ring()
    bind = op.get_bind()
    query = sa.text("SELECT id, channel, external_id, address FROM identities WHERE channel IN :channels")
    channels = sa.bindparam("channels", sorted(PERSONAL_CHANNELS), expanding=True)
    rows = bind.execute(query.bindparams(channels)).all()
    for identity_id, channel, external_id, address in rows:
        if change == "seal":
            values = {"e": stored_id(channel, external_id, ring), "a": ring.seal_text(external_id, PURPOSE)}
        else:
            values = {"e": ring.open_text(address, PURPOSE), "a": None}
        bind.execute(
            sa.text("UPDATE identities SET external_id = :e, address = :a WHERE id = :id"),
            {**values, "id": identity_id},
        )


def upgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.Text(), nullable=True))
    _identities("seal")
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        for name, length in ADDRESS_COLUMNS.items():
            batch_op.alter_column(name, existing_type=sa.String(length=length), type_=sa.Text())
    _convert("addresses", "id", list(ADDRESS_COLUMNS), "seal")
    _convert("payment_settings", "go_id", ["methods"], "seal")
    _convert("payment_proofs", "id", ["image"], "seal")


def downgrade() -> None:
    _identities("open")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_column("address")
    _convert("payment_proofs", "id", ["image"], "open")
    _convert("payment_settings", "go_id", ["methods"], "open")
    _convert("addresses", "id", list(ADDRESS_COLUMNS), "open")
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        for name, length in ADDRESS_COLUMNS.items():
            batch_op.alter_column(name, existing_type=sa.Text(), type_=sa.String(length=length))
