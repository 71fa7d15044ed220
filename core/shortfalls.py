"""Who goes short when fewer units arrive than were claimed, and what each is owed back.

Pure rules, no database: the service (``core.services.shortfalls``) reads the claims and
writes what these decide. A claim is one order line with the units it still expects; it
is ordered by placement time (the order id breaks ties). The lottery gives every unit a
ticket whose number is the SHA-256 of the seed and the unit, so anyone holding the seed
and the claims can draw it again and get the same result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.policy import ShortfallRule


@dataclass(frozen=True)
class Claim:
    """One order line waiting for ``units`` more units (ordered less already short)."""

    line_id: int
    order_id: int
    number: str  # the order's number: public, stable, part of each lottery ticket
    placed_at: datetime
    units: int
    unit_price_minor: int


def ticket(seed: str, claim: Claim, unit: int) -> str:
    """The lottery number of one unit of a claim: lowest numbers go short first."""
    return hashlib.sha256(f"{seed}\n{claim.number}\n{claim.line_id}\n{unit}".encode()).hexdigest()


def choose_short(claims: Sequence[Claim], short: int, rule: ShortfallRule, seed: str) -> dict[int, int]:
    """Units short per line id: ``short`` units taken from ``claims`` by ``rule``.

    Last-first takes from the latest claim first, first-first from the earliest; a claim
    of several units gives up as many as still needed before the next claim is touched.
    The lottery draws single units, so a claim of three holds three tickets.
    """
    if short < 0:
        raise ValueError("a shortfall is a count of units, never negative")
    available = sum(c.units for c in claims)
    if short > available:
        raise ValueError(f"{short} units cannot go short of {available} claimed")
    taken: dict[int, int] = {}
    if rule == ShortfallRule.LOTTERY:
        tickets = sorted((ticket(seed, c, u), c.line_id) for c in claims for u in range(c.units))
        for _, line_id in tickets[:short]:
            taken[line_id] = taken.get(line_id, 0) + 1
        return taken
    by_time = sorted(claims, key=lambda c: (c.placed_at, c.order_id, c.line_id))
    if rule == ShortfallRule.LAST_FIRST:
        by_time.reverse()
    left = short
    for claim in by_time:
        if left == 0:
            break
        units = min(left, claim.units)
        if units:
            taken[claim.line_id] = units
            left -= units
    return taken


@dataclass(frozen=True)
class Remedy:
    """What one order's undelivered value becomes: first less owed on what it has not
    paid, and only the rest given back (refunded or as store credit)."""

    value_minor: int
    less_owed_minor: int
    back_minor: int


def remedy_for(value_minor: int, owed_minor: int) -> Remedy:
    """Split the value not delivered; the two parts always add up to it exactly."""
    if value_minor < 0 or owed_minor < 0:
        raise ValueError("amounts are never negative")
    less = min(value_minor, owed_minor)
    return Remedy(value_minor, less, value_minor - less)


def spread(amount_minor: int, room: Sequence[int]) -> list[int]:
    """Share ``amount_minor`` over payments that can each give back at most ``room[i]``,
    filling them in the order given; the parts add up to ``amount_minor`` exactly."""
    if amount_minor > sum(room):
        raise ValueError("more to give back than was paid")
    parts = []
    left = amount_minor
    for most in room:
        part = min(left, max(0, most))
        parts.append(part)
        left -= part
    return parts
