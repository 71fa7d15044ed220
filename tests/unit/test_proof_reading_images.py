"""What is read from a screenshot's pixels and metadata without OCR: QR codes, the editor that
saved it, its perceptual hash, and the refusal of files that are not screenshots."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
import segno
from PIL import Image, ImageDraw

from bench.proof_corpus import build, make_sample
from core.errors import InvalidInput, UnknownCurrency
from core.payments.reading import hash_distance, ocr
from core.payments.reading.forensics import dhash, editing_software
from core.payments.reading.proof import MAX_BYTES, read_proof


def screenshot(fmt: str = "PNG", **save: object) -> bytes:
    picture = Image.new("RGB", (360, 640), "white")
    draw = ImageDraw.Draw(picture)
    for y in range(40, 600, 60):
        draw.rectangle((30, y, 30 + (y * 7) % 250, y + 20), fill=(30, 30, 30))
    out = io.BytesIO()
    picture.save(out, fmt, **save)
    return out.getvalue()


def reencoded(data: bytes, quality: int, scale: float) -> Image.Image:
    picture = Image.open(io.BytesIO(data)).convert("RGB")
    smaller = picture.resize((int(picture.width * scale), int(picture.height * scale)))
    out = io.BytesIO()
    smaller.save(out, "JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue()))


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise ocr.OcrUnavailable(ocr.MISSING)

    monkeypatch.setattr(ocr, "_load", missing)


def test_an_editor_named_in_exif_is_reported() -> None:
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.0 (Macintosh)"
    data = screenshot("JPEG", exif=exif)
    assert editing_software(data, Image.open(io.BytesIO(data))) == "Adobe Photoshop 25.0 (Macintosh)"


def test_an_editor_named_in_xmp_is_reported() -> None:
    data = screenshot("PNG") + b'<x:xmpmeta><rdf:Description xmp:CreatorTool="PicsArt 21.4"/></x:xmpmeta>'
    assert editing_software(data, Image.open(io.BytesIO(data))) == "PicsArt 21.4"


def test_a_phone_camera_or_screenshot_tool_is_not_an_editor() -> None:
    exif = Image.Exif()
    exif[0x0131] = "iOS 18.1"
    data = screenshot("JPEG", exif=exif)
    assert editing_software(data, Image.open(io.BytesIO(data))) is None


def test_the_same_screenshot_recompressed_and_resized_hashes_within_a_few_bits() -> None:
    data = make_sample(0, random.Random(3))[1]
    first = dhash(Image.open(io.BytesIO(data)))
    assert len(first) == 16 and int(first, 16) >= 0
    assert hash_distance(first, dhash(reencoded(data, 50, 0.6))) <= 4


def test_two_different_screenshots_hash_far_apart() -> None:
    one = dhash(Image.open(io.BytesIO(make_sample(0, random.Random(3))[1])))
    other = dhash(Image.open(io.BytesIO(make_sample(3, random.Random(4))[1])))
    assert hash_distance(one, other) > 8


def test_without_the_ocr_extra_qr_codes_and_the_hash_are_still_read(no_ocr: None) -> None:
    picture = Image.open(io.BytesIO(screenshot())).convert("RGB")
    qr = Image.open(io.BytesIO(_qr_png("PAID KPOP1-7-P1")))
    picture.paste(qr, (100, 300))
    out = io.BytesIO()
    picture.save(out, "PNG")
    reading = read_proof(out.getvalue())
    assert reading.note == "reading screenshots needs `pip install 'gomflow[ocr]'`"
    assert reading.qr_payloads == ("PAID KPOP1-7-P1",)
    assert reading.reference == "KPOP1-7-P1"
    assert reading.image_hash is not None and reading.amount_minor is None


def _qr_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=5, border=4)
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [b"", b"%PDF-1.7 not a picture", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "ข้อความ".encode()],
    ids=["empty", "pdf", "broken png", "text"],
)
def test_a_file_that_is_not_a_picture_is_refused_clearly(data: bytes) -> None:
    with pytest.raises(InvalidInput, match="not a picture"):
        read_proof(data)


def test_a_file_over_20_mb_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(InvalidInput, match="20 MB"):
        read_proof(b"\xff\xd8" + b"\x00" * MAX_BYTES)


def test_an_image_of_too_many_pixels_is_refused() -> None:
    out = io.BytesIO()
    Image.new("1", (6000, 6000)).save(out, "PNG")
    with pytest.raises(InvalidInput, match="too many pixels"):
        read_proof(out.getvalue())


def test_an_unknown_expected_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        read_proof(screenshot(), expect_currency="XYZ")


def test_the_corpus_draws_every_layout_with_its_truth(tmp_path: Path) -> None:
    samples = build(tmp_path, count=5, edited=1, seed=2)
    assert {s.layout for s in samples} == {"paynow", "duitnow", "promptpay", "qris", "gcash"}
    assert [s.edited for s in samples] == [False] * 5 + [True]
    for sample in samples:
        with Image.open(tmp_path / f"{sample.name}.jpg") as picture:
            assert picture.format == "JPEG" and picture.size == (720, 1280)
        assert isinstance(sample.amount_minor, int) and sample.amount_minor > 0
    assert (tmp_path / "truth.json").exists()
