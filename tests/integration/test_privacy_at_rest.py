"""Personal data is sealed at rest: the database itself (the SQLite file's bytes, the
PostgreSQL columns read raw) holds no phone number, address, payout detail or image."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from sqlalchemy import select, text

from alembic import command
from bots.chat import Attachment, ChatRequest
from bots.dispatch import handle
from core.db.migrate import alembic_config, upgrade
from core.db.models import Address, Identity, PaymentProof, PaymentSettings
from core.services.accounts import identify
from main import App
from tests.conftest import POSTGRES_URL, START, open_go, say
from tests.images import screenshot

PHONE = "+6591234567"
PAYNOW = "+6587654321"
LINE1 = "1 Orchard Rd #05-01 Tanglin"
RECIPIENT = "Trần Thị Bình"
POSTAL = "238823"


# The revision personal data was sealed after (the privacy migration's down_revision).
BEFORE_SEALING = "i1504"


async def _personal_data(app: App) -> bytes:
    """Write an address, payout details and a proof image through the chat commands."""
    await open_go(app, moq=1)
    assert "⚠️" not in (await say(app, "gina", f"/paymethods SVT-FML paynow:{PAYNOW} manual")).text
    reply = await say(
        app,
        "ana",
        f'/address add name="{RECIPIENT}" phone={PHONE} line1="{LINE1}" postal={POSTAL} country=SG',
    )
    assert "⚠️" not in reply.text, reply.text
    assert "⚠️" not in (await say(app, "ana", "/order SVT-FML ALB:A 1")).text
    image = screenshot()
    proof = await handle(
        app.bot,
        ChatRequest(
            "console",
            "ana",
            "ana",
            "/paid SVT-FML-1 DBS-991",
            handle="ana",
            chat_id="ana",
            attachment=Attachment("proof.png", image, "image/png"),
        ),
    )
    assert "⚠️" not in proof.text, proof.text
    return image


PERSONAL_COLUMNS = (
    "SELECT recipient, phone, line1, postal_code FROM addresses",
    "SELECT methods FROM payment_settings",
    "SELECT image FROM payment_proofs",
)


async def _raw_columns(url: str, queries: tuple[str, ...]) -> bytes:
    """The columns as PostgreSQL holds them, read with asyncpg (no gomflow type in between)."""
    connection = await asyncpg.connect(url)
    try:
        rows = [row for query in queries for row in await connection.fetch(query)]
    finally:
        await connection.close()
    return b"".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row)


async def _stored_bytes(app: App, tmp_path: Path, *queries: str) -> bytes:
    """SQLite: the database file and its write-ahead log, byte for byte; PostgreSQL: the columns."""
    if app.core.db.is_sqlite:
        await app.core.db.dispose()
        return b"".join(p.read_bytes() for p in tmp_path.glob("gomflow.db*") if not p.name.endswith(".keys"))
    assert POSTGRES_URL is not None
    return await _raw_columns(POSTGRES_URL, queries or PERSONAL_COLUMNS)


async def test_no_phone_address_payout_or_image_is_stored_in_clear(any_app: App, tmp_path: Path) -> None:
    app = any_app
    image = await _personal_data(app)
    async with app.core.reader() as uow:  # gomflow itself reads them back whole
        address = await uow.session.scalar(select(Address))
        proof = await uow.session.scalar(select(PaymentProof))
        methods = await uow.session.scalar(select(PaymentSettings.methods))
    assert address is not None and address.phone == PHONE
    assert (address.line1, address.recipient) == (LINE1, RECIPIENT)
    assert proof is not None and proof.image is not None and proof.image[:8] == image[:8]
    assert methods is not None and PAYNOW in methods
    stored = await _stored_bytes(app, tmp_path)
    assert len(stored) > 300
    for secret in (PHONE, PAYNOW, LINE1, RECIPIENT, "91234567", "87654321", "Orchard"):
        assert secret.encode() not in stored, secret
    assert proof.image[8:40] not in stored and image[16:48] not in stored


async def test_phone_and_email_identities_are_found_by_blind_index_and_kept_sealed(
    any_app: App, tmp_path: Path
) -> None:
    app = any_app
    by_mail = await identify(app.core.uow(), "email", "Ana.Lim@Example.com", "Ana")
    by_sms = await identify(app.core.uow(), "sms", PHONE, "…4567")
    assert (await identify(app.core.uow(), "email", " ana.lim@example.COM", "Ana")).user_id == by_mail.user_id
    assert (await identify(app.core.uow(), "sms", PHONE, "x")).identity_id == by_sms.identity_id
    async with app.core.reader() as uow:
        rows = (await uow.session.scalars(select(Identity).order_by(Identity.id))).all()
    assert [(i.channel, i.address) for i in rows] == [("email", "Ana.Lim@Example.com"), ("sms", PHONE)]
    assert all(i.external_id.startswith("bi:") for i in rows)
    stored = await _stored_bytes(app, tmp_path, "SELECT external_id, address FROM identities")
    for secret in (PHONE, "91234567", "Ana.Lim", "ana.lim", "Example.com", "example.com"):
        assert secret.encode() not in stored, secret


async def test_the_migration_seals_what_was_stored_in_clear(any_app: App) -> None:
    app = any_app
    await app.core.db.dispose()
    async with app.core.db.engine.begin() as connection:
        for table in ("identities", "addresses", "payment_proofs", "payment_settings", "users"):
            await connection.execute(text(f"DELETE FROM {table}"))
        # back to the schema just before personal data was sealed, as a database of then was
        await connection.run_sync(lambda sync: command.downgrade(alembic_config(sync), BEFORE_SEALING))
        await connection.execute(
            text(
                "INSERT INTO users (id, display_name, is_gom, created_at, muted) VALUES (1, 'A', :f, :t, :f)"
            ),
            {"f": False, "t": START},
        )
        await connection.execute(
            text(
                "INSERT INTO identities (user_id, channel, external_id, reachable, created_at, kind) "
                "VALUES (1, 'whatsapp', :p, :y, :t, 'person'), (1, 'telegram', '5551', :y, :t, 'person')"
            ),
            {"p": PHONE, "y": True, "t": START},
        )
        await connection.execute(
            text(
                "INSERT INTO addresses (user_id, recipient, phone, line1, line2, postal_code, country, "
                "created_at, updated_at) VALUES (1, :r, :p, :l, '', :c, 'SG', :t, :t)"
            ),
            {"r": RECIPIENT, "p": PHONE, "l": LINE1, "c": POSTAL, "t": START},
        )
    await upgrade(app.core.db)
    async with app.core.reader() as uow:
        address = await uow.session.scalar(select(Address))
        identities = (await uow.session.scalars(select(Identity).order_by(Identity.id))).all()
    assert address is not None and (address.recipient, address.phone, address.line1) == (
        RECIPIENT,
        PHONE,
        LINE1,
    )
    assert [(i.channel, i.address) for i in identities] == [("whatsapp", PHONE), ("telegram", None)]
    assert identities[1].external_id == "5551"
    assert (await identify(app.core.uow(), "whatsapp", PHONE, "Ana")).user_id == 1
    async with app.core.db.engine.connect() as connection:
        raw = (await connection.execute(text("SELECT phone, line1 FROM addresses"))).one()
        ids = (await connection.execute(text("SELECT external_id, address FROM identities"))).all()
    assert PHONE not in repr(raw) + repr(ids) and "Orchard" not in repr(raw)
