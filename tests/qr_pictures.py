"""QR codes as a GOM's phone would send them, for the tests that read bank QRs from photos."""

from __future__ import annotations

import io

import segno
from PIL import Image

from core.payments import emvco


def photo_of(text: str, kind: str = "jpeg") -> bytes:
    """A QR code with a margin, saved the way phones send pictures (a JPEG), not gomflow's PNG."""
    png = io.BytesIO()
    segno.make(text, error="m").save(png, kind="png", scale=10, border=6)
    out = io.BytesIO()
    Image.open(io.BytesIO(png.getvalue())).convert("RGB").save(out, format=kind, quality=85)
    return out.getvalue()


def blank_photo() -> bytes:
    """A photo with no QR code in it."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), "white").save(out, format="jpeg")
    return out.getvalue()


def static_qr(fields: list[tuple[str, str]]) -> str:
    """A static bank QR payload of these top-level fields, in order, with its checksum."""
    return emvco.with_crc("".join(emvco.tlv(tag, value) for tag, value in fields))


def static_duitnow() -> str:
    """A Malaysian bank app's static DuitNow QR: format indicator 02, no amount."""
    account = emvco.tlv("00", "A0000006150001") + emvco.tlv("01", "890053") + emvco.tlv("02", "MD00167575")
    fields = [("00", "02"), ("01", "11"), ("26", account), ("52", "5999"), ("53", "458"), ("58", "MY")]
    return static_qr([*fields, ("59", "MEI STORE"), ("60", "KUALA LUMPUR")])


def static_paynow() -> str:
    """A Singapore bank app's static PayNow QR to a mobile number."""
    account = emvco.tlv("00", "SG.PAYNOW") + emvco.tlv("01", "0") + emvco.tlv("02", "+6591234567")
    fields = [("00", "01"), ("01", "11"), ("26", account + emvco.tlv("03", "1")), ("52", "0000")]
    return static_qr([*fields, ("53", "702"), ("58", "SG"), ("59", "GINA TAN"), ("60", "Singapore")])
