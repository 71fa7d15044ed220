"""A page of a masterlist drawn as a PNG, for GOMs who post a picture of it.

Drawn with Pillow in the font Pillow carries itself (``ImageFont.load_default`` at a
size, a FreeType font since Pillow 10.1), so nothing is looked for on the machine. A
page holds a fixed number of rows at a size that stays readable on a phone; long lists
are several pages. Text wider than its column is cut with an ellipsis.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

WIDTH = 1080
MARGIN = 32
ROW = 34
HEADER = 120
FONT_SIZE = 22
TITLE_SIZE = 30
# column: (heading, x offset from the margin, width)
COLUMNS = (("#", 0, 60), ("Buyer", 60, 300), ("Item", 360, 400), ("Qty", 760, 70), ("Payment", 830, 186))
STATUS_COLOURS = {
    "paid": (22, 128, 61),
    "part paid": (180, 110, 0),
    "checking": (30, 90, 170),
    "unpaid": (180, 30, 30),
    "refunded": (110, 110, 110),
}
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def draw_page(title: str, summary: str, rows: Sequence[tuple[str, str, int, str]], first: int) -> bytes:
    """A page of rows (label, item with its version, quantity, payment status), the first
    numbered ``first``, under a title and a summary line, as PNG bytes."""
    height = HEADER + ROW * (len(rows) + 1) + MARGIN * 2
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    font, title_font = _font(FONT_SIZE), _font(TITLE_SIZE)
    draw.text(
        (MARGIN, MARGIN), _fit(draw, title, title_font, WIDTH - 2 * MARGIN), fill="black", font=title_font
    )
    draw.text((MARGIN, MARGIN + 48), summary, fill=(80, 80, 80), font=font)
    y = MARGIN + HEADER
    for heading, x, _ in COLUMNS:
        draw.text((MARGIN + x, y), heading, fill="black", font=font)
    draw.line((MARGIN, y + ROW - 6, WIDTH - MARGIN, y + ROW - 6), fill=(160, 160, 160), width=2)
    for n, (label, item, quantity, status) in enumerate(rows, start=first):
        y += ROW
        if n % 2 == 0:
            draw.rectangle((MARGIN, y - 4, WIDTH - MARGIN, y + ROW - 8), fill=(244, 244, 248))
        cells = (str(n), label, item, str(quantity), status)
        for column, ((_, x, width), cell) in enumerate(zip(COLUMNS, cells, strict=True)):
            colour = STATUS_COLOURS.get(status, (0, 0, 0)) if column == len(COLUMNS) - 1 else (0, 0, 0)
            draw.text((MARGIN + x, y), _fit(draw, cell, font, width - 12), fill=colour, font=font)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> str:
    """``text``, cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"
