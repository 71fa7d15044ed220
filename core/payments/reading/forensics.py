"""Signs that a screenshot was edited or is a picture seen before.

Three simple checks a GOM can follow:

- **metadata**: the file says an editor wrote it (EXIF Software, XMP CreatorTool). Read from
  the original bytes: gomflow strips metadata when it stores a proof.
- **the amount's box**: an amount typed over the real one sits on a patch whose background
  differs from what surrounds it, is written in another ink or size than its label on the
  same row, or, in a JPEG, carries a different compression error than the other text.
- **perceptual hash** (dHash, 64 bits): the same picture sent twice, even re-compressed or
  resized, hashes within a few bits.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from PIL import Image, ImageChops, ImageOps, ImageStat

from core.payments.reading.lines import TextLine

EDITORS = (
    "photoshop", "lightroom", "gimp", "snapseed", "picsart", "canva", "pixlr", "photopea",
    "affinity", "paint.net", "inshot", "meitu", "facetune", "fotor", "photodirector",
    "polarr", "vsco", "krita", "pixelmator", "illustrator", "capcut", "remini",
)  # fmt: skip
_XMP_TOOL = re.compile(rb"(?:CreatorTool|softwareAgent)(?:=\"|>)([^\"<]{1,120})", re.I)
_EXIF_SOFTWARE = 0x0131
# Thresholds, on 0-255 channels: a background step larger than this around the amount, an
# ink colour this far from the label's, a glyph height ratio outside these bounds.
BACKGROUND_STEP = 18.0
INK_DISTANCE = 60.0
HEIGHT_RATIO = (0.7, 1.45)
ELA_RATIO = 2.2


def editing_software(original: bytes, image: Image.Image) -> str | None:
    """The editor named in the file's metadata, or None."""
    names: list[str] = []
    try:
        software = image.getexif().get(_EXIF_SOFTWARE)
    except (OSError, ValueError, SyntaxError):
        software = None
    if isinstance(software, str | bytes):
        names.append(software.decode("latin-1") if isinstance(software, bytes) else software)
    for key in ("Software", "software", "XML:com.adobe.xmp"):
        value = image.info.get(key)
        if isinstance(value, str | bytes):
            names.append(value.decode("latin-1", "replace") if isinstance(value, bytes) else value)
    names.extend(m.group(1).decode("latin-1", "replace") for m in _XMP_TOOL.finditer(original[:2_000_000]))
    for name in names:
        low = name.casefold()
        for editor in EDITORS:
            if editor in low:
                return name.strip()[:60]
    return None


def dhash(image: Image.Image) -> str:
    """64-bit difference hash as 16 hex digits: each bit says whether a cell of the 9×8 grey
    thumbnail is brighter than its right neighbour.

    The thumbnail is taken of the drawn part only (cropped to where the pixels differ from
    the corner's background) after stretching the contrast, so two receipts of one app
    differ in more bits than a plain thumbnail of two mostly blank screens would."""
    grey = ImageOps.autocontrast(image.convert("L"))
    corner = grey.getpixel((1, 1))
    background = Image.new("L", grey.size, corner if isinstance(corner, int) else 0)
    drawn = ImageChops.difference(grey, background).point(lambda v: 255 if v > 40 else 0)
    box = drawn.getbbox()
    if box and box[2] - box[0] >= 9 and box[3] - box[1] >= 8:
        grey = grey.crop(box)
    pixels = grey.resize((9, 8), Image.Resampling.LANCZOS).tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (1 if pixels[row * 9 + col] > pixels[row * 9 + col + 1] else 0)
    return f"{bits:016x}"


def amount_box_signals(
    image: Image.Image,
    lines: Sequence[TextLine],
    amount_line: int,
    span: tuple[int, int],
    *,
    jpeg: bool,
) -> list[str]:
    """Why the amount's region looks pasted in, in words; [] when it matches the rest.

    The amount is compared with the values of the other rows (the right-hand cells of
    "label  value" rows): bank apps draw them in one ink and one size."""
    line = lines[amount_line]
    if line.box is None:
        return []
    rgb = image.convert("RGB")
    box = _amount_box(line, span)
    found: list[str] = []
    step = _background_step(rgb, box)
    if step > BACKGROUND_STEP:
        found.append(
            f"the amount sits on a patch whose background differs from around it (by {step:.0f}/255)"
        )
    values = [
        _box_of(other.cells[-1]) for i, other in enumerate(lines) if i != amount_line and len(other.cells) > 1
    ]
    if values:
        mine = _ink(rgb, box)
        gap = min(_distance(mine, _ink(rgb, other)) for other in values)
        if gap > INK_DISTANCE:
            found.append(f"the amount is written in another colour than the other values (by {gap:.0f}/255)")
        heights = sorted(_glyph_height(rgb, other) for other in values)
        ratio = _glyph_height(rgb, box) / max(1.0, heights[len(heights) // 2])
        if not HEIGHT_RATIO[0] <= ratio <= HEIGHT_RATIO[1]:
            found.append(f"the amount's letters are {ratio:.1f}× the height of the other values'")
        if jpeg:
            ratio = _ela_ratio(rgb, box, values)
            if ratio > ELA_RATIO:
                found.append(
                    f"the amount's area was compressed differently from the other text ({ratio:.1f}×)"
                )
    return found


Box = tuple[int, int, int, int]


def _box_of(line: TextLine) -> Box:
    assert line.box is not None
    left, top, right, bottom = line.box
    return int(left), int(top), int(right), int(bottom)


def _amount_box(line: TextLine, span: tuple[int, int]) -> Box:
    """The part of the amount's cell holding the amount, by its share of the characters."""
    cell, offset = line.cell_at(span[0])
    left, top, right, bottom = _box_of(cell)
    width = max(1, right - left)
    count = max(1, len(cell.text))
    first = max(0, span[0] - offset)
    last = min(count, span[1] - offset)
    start = left + width * first // count
    end = left + width * last // count
    return start, top, max(start + 4, end), bottom


def _background_step(rgb: Image.Image, box: Box) -> float:
    """Colour difference between the box's own background (the median of its pixels: text
    covers less than half of them) and a thin ring a few pixels outside it."""
    left, top, right, bottom = box
    pad = max(4, (bottom - top) // 3)
    inside = _rgb_pixels(rgb.crop(box))
    outer = _ring(rgb, (left - pad, top - pad, right + pad, bottom + pad), 0, 3)
    if not inside or not outer:
        return 0.0
    return _distance(_median(inside), _median(outer))


def _ring(rgb: Image.Image, box: Box, inset: int, thickness: int) -> list[tuple[int, int, int]]:
    left, top, right, bottom = (
        max(0, box[0] + inset),
        max(0, box[1] + inset),
        min(rgb.width - 1, box[2] - inset),
        min(rgb.height - 1, box[3] - inset),
    )
    if right - left < 4 or bottom - top < 4:
        return []
    pixels: list[tuple[int, int, int]] = []
    for band in (
        (left, top, right, top + thickness),
        (left, bottom - thickness, right, bottom),
        (left, top, left + thickness, bottom),
        (right - thickness, top, right, bottom),
    ):
        pixels.extend(_rgb_pixels(rgb.crop(band)))
    return pixels


def _rgb_pixels(rgb: Image.Image) -> list[tuple[int, int, int]]:
    raw = rgb.tobytes()
    return [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw) - 2, 3)]


def _median(pixels: list[tuple[int, int, int]]) -> tuple[float, float, float]:
    middle = len(pixels) // 2
    return (
        float(sorted(p[0] for p in pixels)[middle]),
        float(sorted(p[1] for p in pixels)[middle]),
        float(sorted(p[2] for p in pixels)[middle]),
    )


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5)


def _ink(rgb: Image.Image, box: Box) -> tuple[float, float, float]:
    """The text colour: the mean of the pixels farthest from the box's background colour."""
    crop = rgb.crop(box)
    pixels = _rgb_pixels(crop)
    if not pixels:
        return (0.0, 0.0, 0.0)
    background = _median(pixels)
    ranked = sorted(pixels, key=lambda p: _distance(p, background), reverse=True)
    top = ranked[: max(1, len(ranked) // 12)]
    return (
        sum(p[0] for p in top) / len(top),
        sum(p[1] for p in top) / len(top),
        sum(p[2] for p in top) / len(top),
    )


def _glyph_height(rgb: Image.Image, box: Box) -> float:
    """Rows of the box that hold ink: the height of the letters, whatever the box padding."""
    crop = rgb.crop(box).convert("L")
    if crop.width < 2 or crop.height < 2:
        return 1.0
    raw = crop.tobytes()
    background = sorted(raw)[len(raw) // 2]
    rows = sum(
        1
        for y in range(crop.height)
        if max(abs(v - background) for v in raw[y * crop.width : (y + 1) * crop.width]) > 60
    )
    return float(max(rows, 1))


def _ela_ratio(rgb: Image.Image, box: Box, others: Sequence[Box]) -> float:
    """Error level analysis: compress once more at quality 90 and compare how much the
    amount's box changed with how much the other text changed. Text compressed as many
    times as the rest changes alike; pasted-in text compressed fewer times changes more."""
    if not others:
        return 0.0
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=90)
    again = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    diff = ImageChops.difference(rgb, again).convert("L")
    mine = ImageStat.Stat(diff.crop(box)).mean[0]
    theirs = sorted(ImageStat.Stat(diff.crop(b)).mean[0] for b in others if b[2] > b[0] and b[3] > b[1])
    if not theirs:
        return 0.0
    typical = theirs[len(theirs) // 2]
    return float(mine / max(typical, 0.25))
