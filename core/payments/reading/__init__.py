"""Reading a buyer's transfer screenshot: what it says was paid, to whom, and whether it looks edited.

``read_proof`` (in ``core.payments.reading.proof``) turns image bytes into a ``ProofReading``;
the review flow stores it beside the proof and the payment policy decides from it. Every
field may be missing: a reading is evidence for the GOM, never proof by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ProofReading:
    """What one screenshot was read to say."""

    amount_minor: int | None = None
    currency: str | None = None
    reference: str | None = None
    txn_id: str | None = None
    paid_at: datetime | None = None
    recipient: str | None = None
    # Decoded payloads of any QR codes in the image (a receipt's own QR often holds the txn id).
    qr_payloads: tuple[str, ...] = ()
    # 0..1: how sure the reader is of the amount and reference it found.
    confidence: float = 0.0
    # Why the image looks edited or reused, in words a GOM understands; empty when nothing did.
    edited: tuple[str, ...] = ()
    # 64-bit perceptual hash as 16 hex digits, for "the same picture sent twice".
    image_hash: str | None = None
    # Why nothing could be read (no OCR installed, not a receipt…), shown to the GOM as is.
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The reading as ``gomflow proof read`` prints it and the database stores it."""
        return {
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "reference": self.reference,
            "txn_id": self.txn_id,
            "datetime": self.paid_at.isoformat() if self.paid_at else None,
            "recipient": self.recipient,
            "qr_payloads": list(self.qr_payloads),
            "confidence": round(self.confidence, 3),
            "edited": list(self.edited),
            "image_hash": self.image_hash,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProofReading:
        when = data.get("datetime")
        return cls(
            amount_minor=data.get("amount_minor"),
            currency=data.get("currency"),
            reference=data.get("reference"),
            txn_id=data.get("txn_id"),
            paid_at=datetime.fromisoformat(when) if when else None,
            recipient=data.get("recipient"),
            qr_payloads=tuple(data.get("qr_payloads") or ()),
            confidence=float(data.get("confidence") or 0.0),
            edited=tuple(data.get("edited") or ()),
            image_hash=data.get("image_hash"),
            note=data.get("note") or "",
        )


def hash_distance(first: str, second: str) -> int:
    """Bits that differ between two perceptual hashes; a few or fewer means the same picture."""
    return bin(int(first, 16) ^ int(second, 16)).count("1")
