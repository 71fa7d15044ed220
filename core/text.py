"""Text from outside made safe to store, compare and show: one cleaning for every edge.

Platforms hand us whatever their users typed. A lone UTF-16 surrogate cannot be encoded
to UTF-8 (so neither the database nor any platform accepts it), PostgreSQL refuses NUL in
text, other control characters garble replies, and the same letter typed two ways must
compare equal. A name is shown in other people's messages, so it also loses the
bidirectional overrides that would make it reverse the text around it.
"""

from __future__ import annotations

import re
import unicodedata

REPLACEMENT = "\ufffd"
MAX_NAME = 120

# C0 controls except tab and newline, DEL, and the C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI) and the
# Arabic letter mark: in a name they would reorder the message around it.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u061c]")
_SPACES = re.compile(r"\s+")


def clean_text(value: str, limit: int | None = None) -> str:
    """Drop NUL and control characters (newline and tab stay), replace lone surrogates with
    U+FFFD, normalise to NFC, then cut to ``limit`` characters when one is given."""
    if not (value.isascii() and value.isprintable()):
        value = _without_lone_surrogates(value)
        value = _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
        value = unicodedata.normalize("NFC", value)
    return value if limit is None else value[:limit]


def clean_name(value: str, limit: int = MAX_NAME) -> str:
    """A display name or handle: clean text on one line, runs of spaces made one, and no
    bidirectional controls, so it reads the same wherever it is shown."""
    value = _BIDI.sub("", clean_text(value))
    return _SPACES.sub(" ", value).strip()[:limit]


def _without_lone_surrogates(value: str) -> str:
    """A surrogate pair that arrived as two code points becomes its character; a lone
    half becomes U+FFFD."""
    if not any("\ud800" <= c <= "\udfff" for c in value):
        return value
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
