"""How an SMS is carried: its encoding (GSM-7 or UCS-2), its segments, and long texts split.

A text made only of the GSM 03.38 alphabet travels as GSM-7: 160 characters in one
segment, 153 per segment once it is split (characters of the extension table, such as
``€`` or ``[``, take two). Any other character (Thai, Korean, an emoji) makes the whole
message UCS-2: 70 UTF-16 units in one segment, 67 per segment after that (an emoji is two
units). Twilio joins up to 1,600 characters into one message; a longer text is sent as
several, split on word boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)
MAX_MESSAGE = 1600  # characters Twilio accepts in one message body

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsShape:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def encoding(text: str) -> Encoding:
    return "GSM-7" if all(c in _BASIC or c in _EXTENSION for c in text) else "UCS-2"


def shape(text: str) -> SmsShape:
    """The encoding, length in units and segment count of ``text`` sent as one SMS."""
    kind = encoding(text)
    if kind == "GSM-7":
        units = sum(2 if c in _EXTENSION else 1 for c in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    segments = 1 if units <= single else -(-units // multi)
    return SmsShape(kind, units, segments)


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at a line break or a space
    where there is one (a single word longer than ``limit`` is cut inside)."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max(window.rfind("\n"), window.rfind(" "))
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts
