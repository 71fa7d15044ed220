"""Personal data is sealed at rest: the database itself (the SQLite file's bytes, the
PostgreSQL columns read raw) holds no phone number, address, payout detail or image."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from sqlalchemy import select

from bots.chat import Attachment, ChatRequest
from bots.dispatch import handle
from core.db.models import Address, PaymentProof, PaymentSettings
from main import App
from tests.conftest import POSTGRES_URL, open_go, say
from tests.images import screenshot

PHONE = "+6591234567"
PAYNOW = "+6587654321"
LINE1 = "1 Orchard Rd #05-01 Tanglin"
RECIPIENT = "Trần Thị Bình"
POSTAL = "238823"


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


async def _raw_columns(url: str) -> bytes:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT recipient, phone, line1, postal_code FROM addresses")
        rows += await connection.fetch("SELECT methods FROM payment_settings")
        images = await connection.fetch("SELECT image FROM payment_proofs")
    finally:
        await connection.close()
    text = "".join(str(value) for row in rows for value in row).encode()
    return text + b"".join(bytes(row["image"]) for row in images)


async def _stored_bytes(app: App, tmp_path: Path) -> bytes:
    if app.core.db.is_sqlite:
        await app.core.db.dispose()  # checkpoint nothing away: read the file and its WAL as they are
        return b"".join(p.read_bytes() for p in tmp_path.glob("gomflow.db*") if not p.name.endswith(".keys"))
    assert POSTGRES_URL is not None
    return await _raw_columns(POSTGRES_URL)


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
