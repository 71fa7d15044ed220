"""Money as transfer receipts write it: "S$1,250.00", "Rp 150.000", "1,250.00 บาท", "500.000₫".

Each number is found with the currency mark written beside it, then turned into exact minor
units by ``core.money.parse_amount`` after its separators are read: the last '.' or ','
followed by one or two digits is the decimal mark, a separator followed by three digits
groups thousands. Floats never touch an amount.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.errors import InvalidAmount, UnknownCurrency
from core.money import get_currency, parse_amount

# Marks written before the number, longest first. OCR reads ₱ as "P" and ฿ as "B": those
# count only when stuck to the digits, where no word would be.
_BEFORE: tuple[tuple[str, str], ...] = (
    ("US$", "USD"),
    ("S$", "SGD"),
    ("SGD", "SGD"),
    ("MYR", "MYR"),
    ("RM", "MYR"),
    ("THB", "THB"),
    ("฿", "THB"),
    ("IDR", "IDR"),
    ("Rp.", "IDR"),
    ("Rp", "IDR"),
    ("RP", "IDR"),
    ("PHP", "PHP"),
    ("Php", "PHP"),
    ("₱", "PHP"),
    ("VND", "VND"),
    ("USD", "USD"),
    ("$", "$"),
)
_STUCK_BEFORE = {"P": "PHP", "B": "THB"}
_AFTER: tuple[tuple[str, str], ...] = (
    ("บาท", "THB"),
    ("baht", "THB"),
    ("THB", "THB"),
    ("SGD", "SGD"),
    ("MYR", "MYR"),
    ("IDR", "IDR"),
    ("PHP", "PHP"),
    ("VNĐ", "VND"),
    ("VND", "VND"),
    ("₫", "VND"),
    ("đ", "VND"),
    ("d", "VND"),
)

_NUMBER = re.compile(
    r"(?P<int>\d{1,3}(?:(?P<sep>[.,\u00a0\u202f'])\d{3})(?:(?P=sep)\d{3})*|\d+)"
    r"(?:(?P<dec>[.,])(?P<frac>\d{1,2}))?(?!\d)"
)
# A plain number glued to these is part of a date, a time, an id or a reference, not money.
_NOT_BEFORE = set("0123456789/:-_#.,")
_NOT_AFTER = set("0123456789/:-_%")


@dataclass(frozen=True)
class AmountSeen:
    """One amount written in the text: its exact value once a currency is known."""

    integer: str  # the digits before the decimal mark, separators removed
    fraction: str  # the digits after it, '' when none
    currency: str | None  # from the mark beside it; '$' when only a dollar sign
    start: int
    end: int
    raw: str

    @property
    def marked(self) -> bool:
        return self.currency is not None

    def minor(self, currency: str) -> int | None:
        """Exact minor units in ``currency``, or None when the number cannot be that money
        (decimals VND does not have, more digits than any transfer)."""
        try:
            cur = get_currency(currency)
            text = self.integer + (cur.decimal + self.fraction if self.fraction else "")
            return parse_amount(text, cur.code)
        except (InvalidAmount, UnknownCurrency):
            return None


def ascii_digits(text: str) -> str:
    """Digits of any script (Thai ๑๒๓, full-width １２３) as 0-9, so "๔๙.๐๐" reads as 49.00.

    Full-width forms (U+FF01-FF5E: "＄４９．００") fold to ASCII; nothing else is normalised,
    so Thai vowels keep the code points the labels are written with."""
    out = []
    for ch in text:
        if ch.isdecimal() and not ch.isascii():
            out.append(str(unicodedata.decimal(ch)))
        elif "\uff01" <= ch <= "\uff5e":
            out.append(unicodedata.normalize("NFKC", ch))
        else:
            out.append(ch)
    return "".join(out)


def amounts_in(text: str) -> list[AmountSeen]:
    """Every number in ``text`` that could be money, with the currency marked beside it.

    A number with no mark is kept only when it looks like money on its own: decimals
    ("1,250.00") or thousands groups ("150.000")."""
    found: list[AmountSeen] = []
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        before_mark, before_at = _mark_before(text, start)
        after_mark, after_end = _mark_after(text, end)
        currency = before_mark or after_mark
        if currency is None:
            if start and (text[start - 1] in _NOT_BEFORE or text[start - 1].isupper()):
                continue
            if end < len(text) and (text[end] in _NOT_AFTER or _letter_after(text[end], match)):
                continue
            if not match.group("frac") and not match.group("sep"):
                continue
        elif start and text[start - 1] in _NOT_BEFORE and before_mark is None:
            continue
        integer, fraction = _read_separators(match)
        if integer is None:
            continue
        first = before_at if before_mark else start
        last = after_end if after_mark and not before_mark else end
        found.append(AmountSeen(integer, fraction, currency, first, last, text[first:last].strip()))
    return found


def _letter_after(char: str, match: re.Match[str]) -> bool:
    """A letter right after a plain number makes it an id ("123ABC"), except lowercase after
    decimals: OCR's reading of a unit it cannot read, like "595.53unn" for "595.53 บาท"."""
    return char.isalpha() and not (match.group("frac") and char.islower())


def _read_separators(match: re.Match[str]) -> tuple[str | None, str]:
    """Digits before and after the decimal mark; None when the separators contradict."""
    integer = match.group("int")
    sep = match.group("sep")
    dec = match.group("dec")
    if sep and dec and sep == dec:
        return None, ""
    digits = re.sub(r"\D", "", integer)
    return digits, match.group("frac") or ""


def _mark_before(text: str, start: int) -> tuple[str | None, int]:
    head = text[:start].rstrip(" ")
    gap = start - len(head)
    if gap <= 1:
        for mark, code in _BEFORE:
            if head.endswith(mark):
                at = len(head) - len(mark)
                if mark.isalpha() and at and head[at - 1].isalpha() and head[at - 1].isupper():
                    continue  # "KPOPRM1" is an id, not ringgit
                return code, at
        if gap == 0 and head[-1:] in _STUCK_BEFORE:
            at = len(head) - 1
            if not at or head[at - 1].isspace():
                return _STUCK_BEFORE[head[-1]], at
    return None, start


def _mark_after(text: str, end: int) -> tuple[str | None, int]:
    tail = text[end:]
    body = tail.lstrip(" ")
    if len(tail) - len(body) > 1:
        return None, end
    for mark, code in _AFTER:
        if body.casefold().startswith(mark.casefold()) and (mark != "d" or body[:1] == "d"):
            rest = body[len(mark) :]
            if mark.isascii() and rest[:1].isascii() and rest[:1].isalpha():
                continue  # "49.00 SGDX" or "5 days": the mark must end there
            return code, end + (len(tail) - len(body)) + len(mark)
    return None, end
