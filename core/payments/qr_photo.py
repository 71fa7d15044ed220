"""Reading a GOM's static bank QR from a photo of it, so she need not decode it herself.

The only module in core that touches pixels: Pillow opens the image (PNG, JPEG or WebP,
as chat apps send them) and zxing-cpp finds and decodes the QR code in it.
"""

from __future__ import annotations

import io
import warnings

import zxingcpp
from PIL import Image, UnidentifiedImageError

from core.errors import InvalidInput
from core.payments import emvco
from core.render import N_

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a phone photo is 12-50 MP; anything larger is not worth decoding
NOT_AN_IMAGE = "That file is not a photo I can read; send the QR as a PNG, JPEG or WebP picture."
NO_QR = (
    "I could not find a QR code in that photo. Send a sharp, straight photo or screenshot of "
    "your bank QR, filling most of the picture."
)
NOT_PAYMENT = N_(
    "That QR code is not a payment QR (it holds '%(text)s'). Send your bank app's receive-money "
    "QR: PayNow, PromptPay, DuitNow, QR Ph or another EMVCo QR."
)


def read_payment_qr(photo: bytes) -> str:
    """The EMVCo payload of the payment QR in ``photo``; refuses a photo with no QR code,
    or with one that is not a payment QR (a link, a wrong checksum), saying which."""
    texts = _qr_texts(photo)
    if not texts:
        raise InvalidInput(NO_QR)
    for text in texts:
        try:
            emvco.parse_static(text)
        except InvalidInput:
            continue
        return text.strip()
    shown = " ".join(texts[0].split())
    raise InvalidInput(NOT_PAYMENT, text=shown[:40] + ("…" if len(shown) > 40 else ""))


def _qr_texts(photo: bytes) -> list[str]:
    if len(photo) > MAX_PHOTO_BYTES:
        raise InvalidInput("That photo is larger than 5 MB; send a smaller one.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(photo))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InvalidInput("That photo is too large to read; send a smaller one.")
            grey = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise InvalidInput(NOT_AN_IMAGE) from exc
    codes = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    return [code.text for code in codes if code.text]
