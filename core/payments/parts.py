"""The arithmetic of a GO's money terms, written once: splitting an amount into parts,
shares by percentage, conversion at a locked rate, the GOM's fee and a method's surcharge.

Every function is pure and works on ``int`` minor units and exact ratios only. One
rounding rule serves them all: ``round_half_up`` (halves go up; every amount here is
non-negative), so the same inputs give the same cents on every machine and every call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from core.errors import InvalidInput
from core.money import get_currency

__all__ = [
    "BP",
    "MAX_PARTS",
    "Rate",
    "convert",
    "fee_for_line",
    "parse_percent",
    "parse_rate",
    "percent_text",
    "round_half_up",
    "share",
    "split",
    "surcharge_for",
]

BP = 10_000  # basis points in a whole: 30% is 3,000
MAX_PARTS = 4
MAX_BP = 100 * 100  # a percentage is at most 100%
_PERCENT = re.compile(r"^(\d{1,3})(?:\.(\d{1,2}))?%$", re.ASCII)
_RATE = re.compile(
    r"^(\d{1,12}(?:\.\d{1,12})?)\s*([A-Za-z]{3})\s*=\s*(\d{1,12}(?:\.\d{1,12})?)\s*([A-Za-z]{3})$", re.ASCII
)
RATE_USAGE = (
    "/rate CODE 1000 KRW = 0.98 SGD (what an amount in the price currency costs in the GO's currency)"
)


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` to the nearest whole number, halves up (both non-negative)."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def split(total_minor: int, parts: int) -> list[int]:
    """``total_minor`` in ``parts`` near-equal parts that sum to it exactly: the remainder's
    minor units go to the first part, so the first is never smaller than the others."""
    if not 1 <= parts <= MAX_PARTS:
        raise ValueError(f"an amount splits into 1 to {MAX_PARTS} parts")
    if total_minor < 0:
        raise ValueError("only a non-negative amount splits")
    base, remainder = divmod(total_minor, parts)
    return [base + remainder] + [base] * (parts - 1)


def share(amount_minor: int, basis_points: int) -> int:
    """``basis_points`` of ``amount_minor`` (3,000 = 30%), halves up."""
    return round_half_up(amount_minor * basis_points, BP)


def parse_percent(text: str) -> int:
    """``30%`` or ``2.5%`` as basis points (3,000, 250); up to two decimals, at most 100%."""
    found = _PERCENT.match(text.strip())
    if found is None:
        raise InvalidInput(
            "'%(strip)s' isn't a percentage; write it like 30%% or 2.5%%.", strip=text.strip()[:24]
        )
    whole, fraction = found.group(1), found.group(2) or ""
    points = int(whole) * 100 + int(fraction.ljust(2, "0"))
    if points > MAX_BP:
        raise InvalidInput("A percentage can be at most 100%.")
    return points


def percent_text(basis_points: int) -> str:
    """3,000 → ``30%``, 250 → ``2.5%``."""
    whole, rest = divmod(basis_points, 100)
    return f"{whole}%" if not rest else f"{whole}.{str(rest).zfill(2).rstrip('0')}%"


@dataclass(frozen=True)
class Rate:
    """What one unit (major) of ``source`` costs in ``target``, as an exact ratio."""

    source: str
    target: str
    numerator: int
    denominator: int

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.numerator, self.denominator)

    def text(self) -> str:
        """``1 KRW = 0.00098 SGD``, or ``1000 KRW = 0.98 SGD`` when one unit is too small to read."""
        for amount in (1, 100, 1000, 10_000, 100_000, 1_000_000):
            value = self.ratio * amount
            shown = _decimal_text(value)
            if shown is not None and (value >= Fraction(1, 100) or amount == 1_000_000):
                return f"{amount} {self.source} = {shown} {self.target}"
        return f"1 {self.source} = {self.numerator}/{self.denominator} {self.target}"


def _decimal_text(value: Fraction) -> str | None:
    """An exact fraction as a terminating decimal with at most 12 places, else None."""
    scaled = value * 10**12
    if scaled.denominator != 1:
        return None
    text = str(Decimal(scaled.numerator).scaleb(-12).normalize())
    return f"{Decimal(text):f}"


def parse_rate(text: str, target: str) -> Rate:
    """``1000 KRW = 0.98 SGD`` (any spaces around '='): exact, no float. ``target`` is the
    GO's currency, which the right-hand side must name."""
    found = _RATE.match(text.strip())
    if found is None:
        raise InvalidInput("I couldn't read that rate. %(rate_usage)s", rate_usage=RATE_USAGE)
    left, source, right, named = found.groups()
    source_code, named_code = get_currency(source).code, get_currency(named).code
    if named_code != target:
        raise InvalidInput(
            ("The rate must be in this GO's currency, %(target)s: e.g. 1000 %(source_code)s = … %(target)s."),
            target=target,
            source_code=source_code,
        )
    if source_code == target:
        raise InvalidInput(
            ("The price currency must differ from %(target)s; /rate CODE off prices it in %(target)s."),
            target=target,
        )
    try:
        ratio = Fraction(Decimal(right)) / Fraction(Decimal(left))
    except (InvalidOperation, ZeroDivisionError) as exc:
        raise InvalidInput(
            "A rate needs two amounts above zero. %(rate_usage)s", rate_usage=RATE_USAGE
        ) from exc
    if ratio <= 0:
        raise InvalidInput("A rate needs two amounts above zero. %(rate_usage)s", rate_usage=RATE_USAGE)
    return Rate(source_code, target, ratio.numerator, ratio.denominator)


def convert(source_minor: int, rate: Rate) -> int:
    """``source_minor`` (in ``rate.source``) in ``rate.target``'s minor units, halves up.

    The ISO 4217 exponents are applied exactly: 18,000 KRW (exponent 0) at 0.00098 SGD
    is 17.64 SGD, 1,764 minor units.
    """
    shift_from = get_currency(rate.source).exponent
    shift_to = get_currency(rate.target).exponent
    numerator = source_minor * rate.numerator * 10**shift_to
    denominator = rate.denominator * 10**shift_from
    return round_half_up(numerator, denominator)


def fee_for_line(quantity: int, unit_price_minor: int, fixed_minor: int, basis_points: int) -> int:
    """The GOM's fee on one order line: a fixed amount and a percentage of each unit's price
    (rounded per unit, halves up), times the quantity."""
    return quantity * (fixed_minor + share(unit_price_minor, basis_points))


def surcharge_for(amount_minor: int, fixed_minor: int, basis_points: int) -> int:
    """What paying ``amount_minor`` by a method with this pass-through fee adds: a fixed
    amount and a percentage of the amount, halves up."""
    if amount_minor <= 0:
        return 0
    return fixed_minor + share(amount_minor, basis_points)
