"""Shipping fees: a flat fee per parcel, or a table of weight tiers. Integer minor units."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidInput
from core.money import format_money, parse_amount

MAX_GRAMS = 1_000_000
MAX_TIERS = 20


@dataclass(frozen=True, slots=True)
class Tier:
    up_to_grams: int
    fee_minor: int


def parse_tiers(text: str, currency: str) -> tuple[Tier, ...]:
    """``500:3.50,1000:5,2000:8.20`` (grams up to : fee) → tiers, lightest first.

    Each tier's weight must be heavier than the one before; a fee may not go down.
    """
    tiers: list[Tier] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        grams_text, sep, fee_text = part.partition(":")
        grams_text = grams_text.strip().lower().removesuffix("g")
        if not sep or not grams_text.isascii() or not grams_text.isdigit():
            raise InvalidInput(
                "A weight tier looks like 500:3.50 (up to 500 g costs 3.50), not '%(part)s'.", part=part[:30]
            )
        grams = int(grams_text)
        if not 0 < grams <= MAX_GRAMS:
            raise InvalidInput(
                "A tier's weight must be between 1 and %(max_grams)s grams.", max_grams=format(MAX_GRAMS, ",")
            )
        fee = parse_amount(fee_text, currency)
        if tiers and grams <= tiers[-1].up_to_grams:
            raise InvalidInput("List the weight tiers from lightest to heaviest, each heavier than the last.")
        if tiers and fee < tiers[-1].fee_minor:
            raise InvalidInput("A heavier tier cannot cost less than a lighter one.")
        tiers.append(Tier(grams, fee))
    if len(tiers) > MAX_TIERS:
        raise InvalidInput("At most %(max_tiers)s weight tiers.", max_tiers=MAX_TIERS)
    return tuple(tiers)


def encode_tiers(tiers: tuple[Tier, ...]) -> str:
    return ",".join(f"{t.up_to_grams}:{t.fee_minor}" for t in tiers)


def decode_tiers(stored: str) -> tuple[Tier, ...]:
    pairs = (p.split(":") for p in stored.split(",") if p)
    return tuple(Tier(int(grams), int(fee)) for grams, fee in pairs)


def parcel_fee(flat_minor: int, tiers: tuple[Tier, ...], weight_grams: int | None) -> int | None:
    """The fee for one parcel; None while a weight-tiered parcel has not been weighed."""
    if not tiers:
        return flat_minor
    if weight_grams is None:
        return None
    for tier in tiers:
        if weight_grams <= tier.up_to_grams:
            return tier.fee_minor
    raise InvalidInput(
        (
            "A parcel of %(weight_grams)s g is heavier than the heaviest tier "
            "(%(up_to_grams)s g); add a heavier tier or enter the fee by hand."
        ),
        weight_grams=format(weight_grams, ","),
        up_to_grams=format(tiers[-1].up_to_grams, ","),
    )


def describe_fee(flat_minor: int, tiers: tuple[Tier, ...], currency: str) -> str:
    """``SGD 3.50`` or ``up to 500 g SGD 3.50 · up to 1,000 g SGD 5.00``."""
    if not tiers:
        return format_money(flat_minor, currency) if flat_minor else "free"
    return " · ".join(f"up to {t.up_to_grams:,} g {format_money(t.fee_minor, currency)}" for t in tiers)
