"""A group order's rules: what a GOM promises its buyers and gomflow enforces for them.

Each GO has one policy (its own, else its GOM's default, else ``DEFAULT_POLICY``), read
once per use case with ``policy_of``. Backouts, shortfalls, reminders and late fees all
decide by it, so a buyer can be shown beforehand exactly what will happen.

A GO that runs under a stored policy (its own or its GOM's default) asks each buyer to
agree to it once, before their first order; a buyer the GOM banned cannot order in any
of the GOM's GOs. Both are checked by ``core.gate.gate_plan``, one indexed statement, and
only for a GO the order path has read as ``gated`` (``core.reservations.GO_FACTS``): a
GO with no stored policy whose GOM bans nobody costs the order path nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select

from core.db.models import GOPolicySetting, GroupOrder, Order, PaymentRequest
from core.db.raw import run_session
from core.gate import gate_plan
from core.payments.status import RequestKind
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


class Unclaimed(StrEnum):
    """What happens to units freed by an unpaid claim, or left when the GO closes."""

    WAITLIST = "waitlist"  # offered to the waitlist in turn (as before policies existed)
    REOPEN = "reopen"  # back on sale for anyone
    KEEP = "keep"  # the GOM keeps them


class PolicySource(StrEnum):
    BUILT_IN = "built_in"  # nothing stored: DEFAULT_POLICY
    GOM_DEFAULT = "gom_default"
    OWN = "own"


@dataclass(frozen=True)
class GOPolicy:
    backout: BackoutRule = BackoutRule.REPLACEMENT
    backout_fee_minor: int = 0
    shortfall_rule: ShortfallRule = ShortfallRule.LAST_FIRST
    shortfall_remedy: ShortfallRemedy = ShortfallRemedy.REFUND
    # payment reminder leads in minutes, longest first; () means the configured single lead
    # (``GOMFLOW_PAYMENT_REMINDER_HOURS``), as before policies existed
    reminder_minutes: tuple[int, ...] = ()
    # a late fee per started day (in the GO's timezone) after a payment is due, up to the
    # cap (0: no cap); minor units of ``currency``. 0: no late fee
    late_fee_minor: int = 0
    late_fee_cap_minor: int = 0
    # how long after its payment deadline an unpaid claim is released (0: at the deadline)
    grace_minutes: int = 0
    unclaimed: Unclaimed = Unclaimed.WAITLIST
    # the currency the money fields are in ("" for the built-in policy, which has none)
    currency: str = ""
    # 0 for the built-in policy (nobody is asked to agree to it); else counts the changes
    version: int = 0
    source: PolicySource = PolicySource.BUILT_IN

    @property
    def asks_agreement(self) -> bool:
        return self.source is not PolicySource.BUILT_IN


DEFAULT_POLICY = GOPolicy()


async def policy_of(uow: UnitOfWork, go: GroupOrder) -> GOPolicy:
    """The policy ``go`` runs under, inside the caller's transaction.

    A GOM's default sets its fees in one currency: a GO priced in another takes the
    default's rules without its fees (its GOM sets the GO's own to charge one).
    """
    rows = {
        row.go_id: row
        for row in (
            await uow.session.scalars(
                select(GOPolicySetting).where(
                    GOPolicySetting.gom_id == go.gom_id, GOPolicySetting.go_id.in_([0, go.id])
                )
            )
        ).all()
    }
    own = rows.get(go.id)
    if own is not None:
        return policy_from(own, PolicySource.OWN)
    default = rows.get(0)
    if default is None:
        return DEFAULT_POLICY
    policy = policy_from(default, PolicySource.GOM_DEFAULT)
    if policy.currency != go.currency:
        policy = replace(
            policy, late_fee_minor=0, late_fee_cap_minor=0, backout_fee_minor=0, currency=go.currency
        )
    return policy


def policy_from(row: GOPolicySetting, source: PolicySource) -> GOPolicy:
    return GOPolicy(
        backout=BackoutRule(row.backout),
        backout_fee_minor=row.backout_fee_minor,
        shortfall_rule=ShortfallRule(row.shortfall_rule),
        shortfall_remedy=ShortfallRemedy(row.shortfall_remedy),
        reminder_minutes=tuple(int(m) for m in row.reminders.split(",") if m),
        late_fee_minor=row.late_fee_minor,
        late_fee_cap_minor=row.late_fee_cap_minor,
        grace_minutes=row.grace_minutes,
        unclaimed=Unclaimed(row.unclaimed),
        currency=row.currency,
        version=row.version,
        source=source,
    )


def late_fee_for(policy: GOPolicy, days: int) -> int:
    """What ``days`` started days late cost under ``policy``: the one rounding-free rule."""
    if days <= 0 or policy.late_fee_minor <= 0:
        return 0
    owed = days * policy.late_fee_minor
    return min(owed, policy.late_fee_cap_minor) if policy.late_fee_cap_minor > 0 else owed


async def payable_until(uow: UnitOfWork, order: Order, request: PaymentRequest) -> datetime:
    """Until when ``request`` may be paid: its due time and the GO's grace; a late fee is
    owed until it is paid or its order ends."""
    if request.kind == RequestKind.LATE_FEE:
        return datetime.max.replace(tzinfo=UTC)
    go = await uow.session.get_one(GroupOrder, order.go_id)
    return request.due_at + timedelta(minutes=(await policy_of(uow, go)).grace_minutes)


# --- the gate before an order: bans and "I agree" (``core.gate``, which the desk imports) ---


async def check_gate(uow: UnitOfWork, go: GroupOrder, buyer_id: int) -> None:
    """``core.gate.gate_plan`` inside the caller's unit of work (the waitlist, the rarer paths)."""
    await run_session(uow.session, gate_plan(go.id, go.code, buyer_id))
