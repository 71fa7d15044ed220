"""Proof images are decoded and drawn again: metadata gone, garbage behind a header refused."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from core.errors import InvalidInput
from core.privacy.images import MAX_PIXELS, clean_image
from tests.images import GPS_IFD, screenshot


@pytest.mark.parametrize(
    ("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_exif_and_gps_are_stripped_and_the_pixels_kept(fmt: str, mime: str) -> None:
    original = screenshot(fmt, exif=True)
    assert b"PhoneMaker" in original
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(GPS_IFD)
    cleaned = clean_image(original)
    assert cleaned.mime_type == mime and b"PhoneMaker" not in cleaned.content
    with Image.open(io.BytesIO(cleaned.content)) as after:
        assert after.format == fmt and after.size == (40, 30)
        assert not after.getexif() and "exif" not in after.info and "icc_profile" not in after.info
        blue, white = after.convert("RGB").getpixel((5, 5)), after.convert("RGB").getpixel((35, 5))
        assert blue[2] > 150 > blue[0] and min(white) > 200  # the picture itself is still there


def _noise_png() -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (100, 100), random.Random(7).randbytes(30_000)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + b"\0" * 64,  # a PNG's signature, then nothing of a PNG
        b"\xff\xd8\xff\xe0" + b"garbage" * 50,
        _noise_png()[:20_000],  # a real image cut short
        b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x01" * 80,
        b"GIF89a" + b"\0" * 64,  # a format proofs are not taken in
        "привет".encode(),
        b"",
    ],
)
def test_anything_that_only_starts_like_an_image_is_refused(content: bytes) -> None:
    with pytest.raises(InvalidInput, match="PNG, JPEG or WebP"):
        clean_image(content)


def test_an_image_with_absurdly_many_pixels_is_refused_before_decoding() -> None:
    side = int(MAX_PIXELS**0.5) + 10
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")  # small file, huge picture
    with pytest.raises(InvalidInput, match="too many pixels"):
        clean_image(out.getvalue())
