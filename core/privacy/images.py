"""Proof images: decoded whole and drawn again, so only pixels are stored.

A buyer's screenshot or photo of a transfer can carry where it was taken (EXIF GPS), the
phone that took it, a colour profile, text chunks, or anything appended after the image.
Decoding it completely refuses a file that only starts like an image, and encoding the
pixels again keeps none of the rest. Decoding is bounded twice: by the bytes (the caller's
size limit) and by the pixels, read from the header before anything is decompressed.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import InvalidInput

# A long phone screenshot is about 1290 × 2796 (3.6 megapixels); far more is not a proof.
MAX_PIXELS = 24_000_000
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
NOT_AN_IMAGE = "Please send the proof as a PNG, JPEG or WebP image (that file could not be read as one)."


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    mime_type: str


def clean_image(content: bytes) -> CleanImage:
    """The image drawn again without metadata, in the format it came in; refuses anything
    that does not decode completely as a PNG, JPEG or WebP of reasonable size."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=list(FORMATS)) as image:
                fmt = image.format or ""
                if image.width * image.height > MAX_PIXELS:
                    raise InvalidInput("That image has too many pixels; please send a screenshot.")
                image.load()
                upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput(NOT_AN_IMAGE) from exc
    except Image.DecompressionBombWarning as exc:
        raise InvalidInput("That image has too many pixels; please send a screenshot.") from exc
    return CleanImage(_encode(upright, fmt), FORMATS[fmt])


def _encode(image: Image.Image, fmt: str) -> bytes:
    pixels = image.copy()
    pixels.info = {}  # no ICC profile, EXIF, XMP or text chunk comes along
    if fmt == "JPEG" and pixels.mode not in ("RGB", "L"):
        pixels = pixels.convert("RGB")
    out = io.BytesIO()
    if fmt == "JPEG":
        pixels.save(out, fmt, quality=90)
    else:
        pixels.save(out, fmt)
    return out.getvalue()
