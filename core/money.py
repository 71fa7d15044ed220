"""Exact money: integer minor units per ISO 4217, parsed from and formatted for chat.

Floats never touch an amount. Parsing works on the typed characters and ``int`` only, so
"0.1 + 0.2" style drift cannot creep into prices, totals or payment payloads.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from core.errors import InvalidAmount, UnknownCurrency

__all__ = [
    "CURRENCIES",
    "Currency",
    "Money",
    "format_money",
    "get_currency",
    "minor_to_plain",
    "parse_amount",
]


@dataclass(frozen=True)
class Currency:
    """How one currency is stored (``exponent``) and how people write it (the rest)."""

    code: str
    exponent: int
    symbol: str
    thousands: str
    decimal: str
    show_minor: bool
    symbol_after: bool


def _currency(
    code: str,
    exponent: int,
    symbol: str,
    *,
    local_style: bool = False,
    show_minor: bool | None = None,
    symbol_after: bool = False,
) -> Currency:
    """Build a Currency with the usual defaults so the table below stays readable."""
    return Currency(
        code=code,
        exponent=exponent,
        symbol=symbol,
        thousands="." if local_style else ",",
        decimal="," if local_style else ".",
        show_minor=exponent > 0 if show_minor is None else show_minor,
        symbol_after=symbol_after,
    )


CURRENCIES: Mapping[str, Currency] = MappingProxyType(
    {
        c.code: c
        for c in (
            _currency("SGD", 2, "S$"),
            _currency("MYR", 2, "RM"),
            _currency("PHP", 2, "₱"),
            # ISO says IDR has 2 minor digits, but sen are never shown in everyday prices.
            _currency("IDR", 2, "Rp", local_style=True, show_minor=False),
            _currency("THB", 2, "฿"),
            _currency("VND", 0, "₫", local_style=True, symbol_after=True),
            _currency("USD", 2, "US$"),
            _currency("KRW", 0, "₩"),
            _currency("JPY", 0, "¥"),
        )
    }
)

# Other ways people mark the currency in chat, accepted by parse_amount only.
_EXTRA_MARKS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "SGD": ("$",),
        "USD": ("$",),
        "IDR": ("Rp.",),
        "VND": ("đ",),
        "KRW": ("원",),
        "JPY": ("円",),
    }
)

_ASCII_DIGITS = frozenset("0123456789")
_MINUS_SIGNS = ("-", "\u2212", "\u2013")  # hyphen-minus, minus sign, en dash
_MAX_INTEGER_DIGITS = 15
_MAX_INPUT_LENGTH = 64


def get_currency(code: str) -> Currency:
    """Look up a currency the way users type it: any case, stray spaces allowed."""
    wanted = code.strip()
    found = CURRENCIES.get(wanted.upper())
    if found is None:
        supported = ", ".join(sorted(CURRENCIES))
        problem = f"{_quote(wanted)} isn't a currency I know." if wanted else "No currency given."
        raise UnknownCurrency("%(problem)s Use one of: %(supported)s.", problem=problem, supported=supported)
    return found


def _check_minor(minor: int) -> None:
    """Refuse floats and bools at runtime too, since a stray float would silently lose cents."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"money amounts must be int minor units, got {type(minor).__name__}")


def _group(whole: int, separator: str) -> str:
    """Write a non-negative int with a separator every three digits."""
    return f"{whole:,}".replace(",", separator)


def format_money(minor: int, currency: str) -> str:
    """Render an amount the way a buyer in that currency expects to read it."""
    _check_minor(minor)  # before the cache: 2590.0 would find 2590's entry
    return _formatted(minor, currency)


@lru_cache(maxsize=1024)
def _formatted(minor: int, currency: str) -> str:
    """A drop writes the same few prices and totals into every reply: each is worked out once.

    An unknown currency raises, and a raise is not kept."""
    cur = get_currency(currency)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**cur.exponent)
    text = _group(whole, cur.thousands)
    if cur.exponent > 0 and (cur.show_minor or fraction):
        text += cur.decimal + str(fraction).zfill(cur.exponent)
    if cur.symbol_after:
        return f"{sign}{text}{cur.symbol}"
    return f"{sign}{cur.symbol}{text}"


def minor_to_plain(minor: int, currency: str) -> str:
    """Render the unambiguous machine form (ISO exponent, '.' decimal) for CSVs and payments."""
    _check_minor(minor)
    cur = get_currency(currency)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**cur.exponent)
    if cur.exponent == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{str(fraction).zfill(cur.exponent)}"


def _quote(text: str) -> str:
    """Echo user input back briefly, so an error names what was typed without flooding chat."""
    shown = text if len(text) <= 24 else text[:23] + "…"
    return f"'{shown}'"


def _example(cur: Currency) -> str:
    """A sample amount written in the currency's own style, for error messages."""
    if cur.exponent == 0 or not cur.show_minor:
        return _group(15000 if cur.thousands == "." else 1500, cur.thousands)
    return f"12{cur.decimal}50"


def _style_hint(cur: Currency) -> str:
    """Remind users of currencies that swap '.' and ',' which one means what."""
    if cur.decimal == ".":
        return ""
    return f" In {cur.code}, '{cur.thousands}' separates thousands and '{cur.decimal}' decimals."


def _strip_mark(body: str, cur: Currency) -> str:
    """Drop one currency code or symbol written before or after the number."""
    marks = sorted({cur.code, cur.symbol, *_EXTRA_MARKS.get(cur.code, ())}, key=len, reverse=True)
    for mark in marks:
        if body[: len(mark)].casefold() == mark.casefold():
            return body[len(mark) :].lstrip()
    for mark in marks:
        if len(body) > len(mark) and body[-len(mark) :].casefold() == mark.casefold():
            return body[: -len(mark)].rstrip()
    return body


def _parse_integer_part(part: str, text: str, cur: Currency) -> str:
    """Return the bare digits of the whole part, insisting on proper groups of three."""
    if cur.thousands not in part:
        return part
    groups = part.split(cur.thousands)
    head, tail = groups[0], groups[1:]
    if not 1 <= len(head) <= 3 or any(len(group) != 3 for group in tail):
        raise InvalidAmount(
            (
                "%(quote)s has a misplaced '%(thousands)s': thousands are grouped in threes, "
                "like %(group)s.%(style_hint)s"
            ),
            quote=_quote(text),
            thousands=cur.thousands,
            group=_group(1200, cur.thousands),
            style_hint=_style_hint(cur),
        )
    return "".join(groups)


# full-width marks (Chinese, Korean and Japanese keyboards) as the ASCII ones they stand for
_WIDE_MARKS = {ord("．"): ".", ord("，"): ",", ord("－"): "-"}


def _western(text: str) -> str:
    """Digits of any script (Thai ๑๒, full-width １２, Arabic-Indic ١٢) as 0-9, and full-width
    points and commas as ASCII ones; other numerals (², ½) stay, and are refused."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text).translate(
        _WIDE_MARKS
    )


def _decimal_comma(body: str, cur: Currency) -> str:
    """``25,90`` in a currency written ``25.90``: a comma that can only be a decimal mark (the
    only one, no point, at most the currency's decimals after it, so never a group of three)
    is read as one, the way Indonesian and Vietnamese write decimals."""
    if cur.decimal != "." or cur.exponent == 0 or "." in body or body.count(",") != 1:
        return body
    whole, fraction = body.split(",")
    if whole.isdigit() and fraction.isdigit() and len(fraction) <= cur.exponent:
        return f"{whole}.{fraction}"
    return body


def parse_amount(text: str, currency: str) -> int:
    """Turn what someone typed in chat into exact minor units, or explain what's wrong.

    Only the currency's own separators are honoured, so "15.000" is fifteen thousand
    rupiah but, in SGD, a decimal with too many digits. Anything finer than the ISO
    exponent is refused, even trailing zeros: "1,200" typed for IDR (or "1.200" for SGD)
    is more likely a misplaced thousands separator than a price, so we ask rather than guess.
    """
    cur = get_currency(currency)
    raw = _western(text).strip()
    ask = f"Please give an amount like {_example(cur)}."
    if not raw:
        raise InvalidAmount(ask)
    if len(raw) > _MAX_INPUT_LENGTH:
        raise InvalidAmount("That's too long to be an amount. %(ask)s", ask=ask)
    if any(ch.isnumeric() and ch not in _ASCII_DIGITS for ch in raw):
        raise InvalidAmount(
            "Please type the amount with the digits 0-9, like %(example)s.", example=_example(cur)
        )

    negative = InvalidAmount("Amounts can't be negative.")
    if raw.startswith(_MINUS_SIGNS):
        raise negative
    body = _strip_mark(raw, cur)
    if body.startswith(_MINUS_SIGNS):  # "S$-12.50"
        raise negative
    if not body:
        raise InvalidAmount(ask)
    body = _decimal_comma(body, cur)
    if any(ch not in _ASCII_DIGITS and ch not in (cur.thousands, cur.decimal) for ch in body):
        raise InvalidAmount(
            "%(quote)s isn't an amount I understand. %(ask)s%(style_hint)s",
            quote=_quote(raw),
            ask=ask,
            style_hint=_style_hint(cur),
        )

    point = "point" if cur.decimal == "." else "comma"
    if body.count(cur.decimal) > 1:
        raise InvalidAmount(
            "%(quote)s has more than one decimal %(point)s. %(ask)s%(style_hint)s",
            quote=_quote(raw),
            point=point,
            ask=ask,
            style_hint=_style_hint(cur),
        )
    integer_part, has_fraction, fraction = body.partition(cur.decimal)
    if not integer_part or (has_fraction and not fraction):
        raise InvalidAmount(
            "%(quote)s is missing digits around the decimal %(point)s. %(ask)s",
            quote=_quote(raw),
            point=point,
            ask=ask,
        )
    if cur.thousands in fraction:
        raise InvalidAmount(
            ("%(quote)s has a '%(thousands)s' after the decimal %(point)s. %(ask)s%(style_hint)s"),
            quote=_quote(raw),
            thousands=cur.thousands,
            point=point,
            ask=ask,
            style_hint=_style_hint(cur),
        )

    digits = _parse_integer_part(integer_part, raw, cur)
    if len(digits.lstrip("0")) > _MAX_INTEGER_DIGITS:
        raise InvalidAmount("%(quote)s is too large.", quote=_quote(raw))

    if fraction and cur.exponent == 0:
        raise InvalidAmount(
            "%(quote)s has decimals, but %(code)s amounts are whole numbers.%(style_hint)s",
            quote=_quote(raw),
            code=cur.code,
            style_hint=_style_hint(cur),
        )
    if len(fraction) > cur.exponent:
        raise InvalidAmount(
            "%(quote)s has more decimals than %(code)s allows (%(exponent)s).%(style_hint)s",
            quote=_quote(raw),
            code=cur.code,
            exponent=cur.exponent,
            style_hint=_style_hint(cur),
        )
    # Shifting the decimal point is string concatenation: exact by construction.
    return int(digits + fraction.ljust(cur.exponent, "0"))


@dataclass(frozen=True)
class Money:
    """An amount tied to its currency, so sums across currencies fail loudly instead of lying."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        _check_minor(self.minor)
        # Normalise "sgd " to "SGD" so equal amounts compare and hash equal.
        object.__setattr__(self, "currency", get_currency(self.currency).code)

    def _same_currency(self, other: Money, verb: str) -> None:
        if other.currency != self.currency:
            raise ValueError(f"can't {verb} {self.currency} and {other.currency} amounts")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "add")
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other, "subtract")
        return Money(self.minor - other.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def __str__(self) -> str:
        return format_money(self.minor, self.currency)
