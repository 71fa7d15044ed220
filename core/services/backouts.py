"""A buyer backs out of a claim (``/backout ORDER``), as the GO's policy allows.

- An unpaid claim is cancelled, as ``/cancel`` does it.
- A paid claim follows ``policy_of(go).backout``: ``never`` keeps it (the buyer may hand
  it to another buyer), ``replacement`` lets the buyer leave only by a handover, and
  ``fee`` shows the refund first (what was paid less the fee, never below zero) and, once
  confirmed, ends the order: the refund is queued through the refund machinery and the
  slots go to the waitlist like any freed slot.

A paid buyer may back out only before the GOM orders from the supplier: while the GO is
open, closed or confirmed (``BACKOUT_GO``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core import policy as policies
from core.db.models import GroupOrder, Handover, Order, PaymentRequest
from core.errors import OrderLocked, PermissionDenied
from core.lookups import load_order
from core.money import format_money
from core.orders import end_order
from core.payments import handover_money
from core.policy import BackoutRule, GOPolicy
from core.services.accounts import Actor
from core.services.waitlist import promote_waitlist
from core.status import ORDER_LIVE, GOStatus, HandoverStatus, OrderStatus
from core.transitions import transition
from core.uow import UnitOfWork
from core.when import local_text

BACKOUT_GO = frozenset({GOStatus.OPEN, GOStatus.CLOSED, GOStatus.CONFIRMED})


@dataclass(frozen=True)
class Backout:
    """A backout shown (``done`` False: the preview to confirm) or done."""

    number: str
    go_code: str
    units: int
    paid: str  # "" for an unpaid claim
    fee: str
    refund: str
    by_hand: bool  # the GOM sends the refund back by hand
    done: bool


async def backout(uow: UnitOfWork, actor: Actor, number: str, confirmed: bool = False) -> Backout:
    async with uow:
        order = await load_order(uow, number, lock=True)
        go = await uow.session.get_one(GroupOrder, order.go_id)  # locked with the order
        if order.buyer_id != actor.user_id:
            raise PermissionDenied("%(number)s is not your order.", number=order.number)
        if order.status not in ORDER_LIVE:
            raise OrderLocked("%(number)s is already %(status)s.", number=order.number, status=order.status)
        if order.status == OrderStatus.PLACED:
            await _cancel_offers(uow, order, actor)
            await end_order(uow, order, OrderStatus.CANCELLED, actor.user_id, reason="backed out (unpaid)")
            _audit(uow, actor, order, "unpaid: cancelled")
            await promote_waitlist(uow, go)
            done = Backout(order.number, go.code, order.units, "", "", "", False, True)
            await uow.commit()
            return done
        policy = await policies.policy_of(uow, go)
        await _require_paid_backout(uow, go, order, policy)
        payments = await handover_money.paid_payments(uow, await _request_ids(uow, order))
        paid = sum(p.amount_minor for p in payments)
        fee = min(max(0, policy.backout_fee_minor), paid)
        by_hand = any(p.provider in handover_money.BY_HAND for p in payments)

        def shown(done: bool) -> Backout:
            return Backout(
                order.number,
                go.code,
                order.units,
                format_money(paid, order.currency),
                format_money(fee, order.currency),
                format_money(paid - fee, order.currency),
                by_hand,
                done,
            )

        if not confirmed:
            return shown(False)
        await _cancel_offers(uow, order, actor)
        refunded, kept = await handover_money.queue_refunds_keeping(
            uow, payments, fee, f"backed out; fee {format_money(fee, order.currency)} kept"
        )
        await end_order(uow, order, OrderStatus.REFUNDED, actor.user_id, reason="backed out for a fee")
        _audit(uow, actor, order, f"paid {paid}, fee {kept}, refund {refunded} (minor units); policy fee")
        if go.status == GOStatus.OPEN:
            await promote_waitlist(uow, go)
        result = shown(True)
        await uow.commit()
        return result


async def _require_paid_backout(uow: UnitOfWork, go: GroupOrder, order: Order, policy: GOPolicy) -> None:
    """Refuse a paid backout the policy, the GO's stage or a handover under way forbids."""
    awaiting = await uow.session.scalar(
        select(Handover).where(Handover.order_id == order.id, Handover.status == HandoverStatus.AWAITING)
    )
    if awaiting is not None:
        request = await uow.session.get(PaymentRequest, awaiting.request_id or 0)
        due = f" by {local_text(request.due_at, go.timezone)}" if request is not None else ""
        raise OrderLocked(
            (
                "You have not paid for %(number)s yet: if you do not pay%(due)s, it goes back to "
                "the buyer who handed it to you."
            ),
            number=order.number,
            due=due,
        )
    rule = policy.backout
    handover = f"/handover {order.number} @buyer"
    if rule == BackoutRule.NEVER:
        raise OrderLocked(
            (
                "%(code)s's policy: a paid claim is kept, so paid buyers cannot back out. You "
                "can hand it to another buyer instead: %(handover)s"
            ),
            code=go.code,
            handover=handover,
        )
    if rule == BackoutRule.REPLACEMENT:
        raise OrderLocked(
            (
                "%(code)s's policy: a paid buyer leaves only by finding a replacement. Hand it "
                "to another buyer: %(handover)s"
            ),
            code=go.code,
            handover=handover,
        )
    if go.status not in BACKOUT_GO:
        raise OrderLocked(
            (
                "%(code)s is %(status)s: the GOM has ordered from the supplier, so it is too "
                "late to back out. You can still hand it to another buyer: %(handover)s"
            ),
            code=go.code,
            status=go.status,
            handover=handover,
        )


async def _cancel_offers(uow: UnitOfWork, order: Order, actor: Actor) -> None:
    """Offers of the claim nobody answered yet end with it."""
    offered = (
        await uow.session.scalars(
            select(Handover).where(Handover.order_id == order.id, Handover.status == HandoverStatus.OFFERED)
        )
    ).all()
    for handover in offered:
        await transition(uow, handover, HandoverStatus.CANCELLED, actor_id=actor.user_id, detail="backed out")
        await handover_money.tell(uow, handover, "cancelled", ("recipient",))


async def _request_ids(uow: UnitOfWork, order: Order) -> list[int]:
    return list(
        (
            await uow.session.scalars(select(PaymentRequest.id).where(PaymentRequest.order_id == order.id))
        ).all()
    )


def _audit(uow: UnitOfWork, actor: Actor, order: Order, detail: str) -> None:
    uow.audit(actor_id=actor.user_id, entity="order", entity_id=order.id, action="backout", detail=detail)
