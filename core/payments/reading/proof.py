"""Read a buyer's transfer screenshot: QR codes, text by OCR, and signs of editing.

``read_proof`` is synchronous and CPU-bound (about a second of OCR): callers run it in a
thread. It works on the ORIGINAL bytes the buyer sent, before ``core.privacy.images``
strips the metadata, because an editor's name in the metadata is one of the signs it looks
for. Without the OCR extra it still decodes QR codes and hashes the image, and says in
``note`` how to get the rest.
"""

from __future__ import annotations

import io
import warnings

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import InvalidInput
from core.money import get_currency
from core.payments.reading import ProofReading, forensics, ocr
from core.payments.reading.fields import OUR_REFERENCE, Fields, parse_fields

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 24_000_000  # as core.privacy.images: a long phone screenshot is ~3.6 MP
FORMATS = ("PNG", "JPEG", "WEBP")
NOT_AN_IMAGE = "That file is not a picture I can read; a screenshot should be a PNG, JPEG or WebP image."
TOO_LARGE = "That file is larger than 20 MB; a screenshot is far smaller."
TOO_MANY_PIXELS = "That image has too many pixels to be a screenshot."
NOTHING_READ = "no amount or reference could be read: this may not be a transfer receipt"


def read_proof(image: bytes, *, expect_currency: str | None = None) -> ProofReading:
    """What the screenshot in ``image`` says was paid, and whether it looks edited.

    ``expect_currency`` (the GO's currency) is used only when the receipt writes no
    currency of its own; an unknown one raises UnknownCurrency. Raises InvalidInput for
    bytes that are not a PNG, JPEG or WebP image of reasonable size; anything else, however
    odd, gives a reading (maybe empty, with a ``note`` saying why)."""
    expect = get_currency(expect_currency).code if expect_currency else None
    picture, fmt = _open(image)
    edited: list[str] = []
    software = forensics.editing_software(image, picture)
    if software:
        edited.append(f"the file says it was saved by an image editor ({software})")
    upright = ImageOps.exif_transpose(picture).convert("RGB")
    image_hash = forensics.dhash(upright)
    payloads = _qr_payloads(upright)
    try:
        lines = ocr.read_lines(upright)
    except ocr.OcrUnavailable as missing:
        return ProofReading(
            reference=_reference_in(payloads),
            qr_payloads=payloads,
            edited=tuple(edited),
            image_hash=image_hash,
            note=str(missing),
        )
    fields = parse_fields(lines, expect_currency=expect)
    if fields.amount_line is not None and fields.amount_span is not None:
        edited.extend(
            forensics.amount_box_signals(
                upright, lines, fields.amount_line, fields.amount_span, jpeg=fmt == "JPEG"
            )
        )
    return _reading(fields, payloads, edited, image_hash, [line.text for line in lines])


def _reading(
    fields: Fields, payloads: tuple[str, ...], edited: list[str], image_hash: str, texts: list[str]
) -> ProofReading:
    reference = fields.reference or _reference_in(payloads)
    notes = list(fields.notes)
    if fields.amount_minor is None and reference is None and fields.txn_id is None:
        notes = [NOTHING_READ, *[n for n in notes if n != "no amount found"]]
    return ProofReading(
        amount_minor=fields.amount_minor,
        currency=fields.currency,
        reference=reference,
        txn_id=fields.txn_id,
        paid_at=fields.paid_at,
        recipient=fields.recipient,
        qr_payloads=payloads,
        confidence=fields.confidence,
        edited=tuple(edited),
        image_hash=image_hash,
        note="; ".join(notes),
        extra={"how": dict(fields.how), "lines": texts},
    )


def _open(data: bytes) -> tuple[Image.Image, str]:
    if len(data) > MAX_BYTES:
        raise InvalidInput(TOO_LARGE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=list(FORMATS))
            if picture.width * picture.height > MAX_PIXELS:
                raise InvalidInput(TOO_MANY_PIXELS)
            picture.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(NOT_AN_IMAGE) from exc
    except Image.DecompressionBombWarning as exc:
        raise InvalidInput(TOO_MANY_PIXELS) from exc
    return picture, picture.format or ""


def _qr_payloads(picture: Image.Image) -> tuple[str, ...]:
    codes = zxingcpp.read_barcodes(
        picture.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return tuple(code.text for code in codes if code.text)


def _reference_in(payloads: tuple[str, ...]) -> str | None:
    for payload in payloads:
        found = OUR_REFERENCE.search(payload)
        if found:
            return found.group(1).upper()
    return None
