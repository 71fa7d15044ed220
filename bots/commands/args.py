"""Reading arguments the way people type them on a phone."""

from __future__ import annotations

import re
import shlex

from core.errors import InvalidInput
from core.render import Phrase

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_SHLEX_SPACE = re.compile(r"[ \t\r\n]+")  # what shlex splits on, and only that


def split_args(text: str) -> list[str]:
    """Words, keeping "double-quoted phrases" together; curly double quotes count too.

    Apostrophes are letters here (``Jin's GO``), not quotes, and a backslash is just a
    backslash: people type on phones, not in a shell.
    """
    normalised = text.translate(_SMART_QUOTES)
    if '"' not in normalised:  # nothing quoted (nearly every message): the same words, faster
        return [word for word in _SHLEX_SPACE.split(normalised) if word]
    lexer = shlex.shlex(normalised, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.escape = ""
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return normalised.split()


def key_values(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split ``moq=20 cap=100 Title words`` into positional words and options."""
    positional: list[str] = []
    options: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key.isidentifier():
            options[key.lower()] = value
        else:
            positional.append(word)
    return positional, options


def whole_number(text: str, label: str, *, minimum: int = 0, maximum: int = 1_000_000) -> int:
    """``text`` as a whole number in bounds; ``label`` (``N_("Capacity")``) names it in a refusal."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 9:
        raise InvalidInput(
            "%(label)s must be a whole number, not '%(text)s'.", label=Phrase(label), text=text[:20]
        )
    value = int(cleaned)
    if not minimum <= value <= maximum:
        raise InvalidInput(
            "%(label)s must be between %(minimum)s and %(maximum)s.",
            label=Phrase(label),
            minimum=format(minimum, ","),
            maximum=format(maximum, ","),
        )
    return value


def need(args: list[str], count: int, usage: str) -> None:
    if len(args) < count:
        raise InvalidInput("Usage: %(usage)s", usage=usage)
