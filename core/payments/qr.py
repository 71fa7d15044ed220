"""QR images of payment payloads, as PNG bytes for the chat reply and the pay page."""

from __future__ import annotations

import io

import segno


def qr_png(payload: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
