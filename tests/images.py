"""Real images for tests, made with Pillow: proofs are decoded, so magic bytes are not enough."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
CAMERA_MAKE = 0x010F


def screenshot(fmt: str = "PNG", *, size: tuple[int, int] = (40, 30), exif: bool = False) -> bytes:
    """A small picture, blue on its left half and white on its right; with ``exif``, a
    camera make and a GPS position in its metadata, as a phone photo has."""
    image = Image.new("RGB", size, (250, 250, 250))
    image.paste((10, 120, 200), (0, 0, size[0] // 2, size[1]))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[CAMERA_MAKE] = "PhoneMaker"
        data.get_ifd(GPS_IFD).update({1: "N", 2: (1.0, 17.0, 30.0), 3: "E", 4: (103.0, 51.0, 0.0)})
        image.save(out, fmt, exif=data)
    else:
        image.save(out, fmt)
    return out.getvalue()
