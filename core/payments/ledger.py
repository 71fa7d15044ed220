"""Bookkeeping every provider shares: requests an order owes, attempts, settling, refunds.

These functions run inside the caller's unit of work and never commit; services and the
order lifecycle (``core.orders.end_order``) call them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update

from core.db.models import GroupOrder, Order, Payment, PaymentRequest, Refund
from core.money import CURRENCIES, format_money
from core.payments.status import (
    PAYABLE,
    AttemptStatus,
    RefundStatus,
    RequestKind,
    RequestStatus,
    check_request_transition,
)
from core.status import OrderStatus, check_order_transition
from core.uow import UnitOfWork

MANUAL_PROVIDERS = frozenset({"manual", "paynow", "promptpay", "bankqr"})
REFERENCE_LIMIT = 25


def new_token() -> str:
    """An unguessable pay-page token (192 random bits)."""
    return secrets.token_urlsafe(24)


async def open_request(
    uow: UnitOfWork, order: Order, kind: RequestKind, amount_minor: int, *, due_at: object = None
) -> PaymentRequest:
    count = await uow.session.scalar(
        select(func.count()).select_from(PaymentRequest).where(PaymentRequest.order_id == order.id)
    )
    reference = f"{order.number}-{kind.value[0].upper()}{(count or 0) + 1}"
    if len(reference) > REFERENCE_LIMIT:
        reference = "GF" + secrets.token_hex(8).upper()
    request = PaymentRequest(
        order_id=order.id,
        kind=kind,
        amount_minor=amount_minor,
        currency=order.currency,
        status=RequestStatus.OPEN,
        reference=reference,
        token=new_token(),
        due_at=due_at or order.payment_due_at,
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(request)
    await uow.session.flush()
    uow.audit(
        actor_id=None,
        entity="payment_request",
        entity_id=request.id,
        action="opened",
        to_status=RequestStatus.OPEN,
        detail=f"{kind} {format_money(amount_minor, order.currency)}",
    )
    return request


async def items_request(uow: UnitOfWork, order: Order) -> PaymentRequest | None:
    """The live items request of an unpaid order, opened (or renewed after a change) on demand."""
    current = await uow.session.scalar(
        select(PaymentRequest)
        .where(
            PaymentRequest.order_id == order.id,
            PaymentRequest.kind == RequestKind.ITEMS,
            PaymentRequest.status.in_([*PAYABLE, RequestStatus.PAID]),
        )
        .order_by(PaymentRequest.id.desc())
        .limit(1)
    )
    if current is not None and (current.status == RequestStatus.PAID or order.status != OrderStatus.PLACED):
        return current
    if order.status != OrderStatus.PLACED:
        return None
    if current is not None and current.amount_minor == order.total_minor:
        return current
    if current is not None:  # the order changed since: the old amount may no longer be paid
        await set_request_status(uow, current, RequestStatus.VOID, None, "order changed")
    return await open_request(uow, order, RequestKind.ITEMS, order.total_minor)


async def set_request_status(
    uow: UnitOfWork, request: PaymentRequest, target: RequestStatus, actor_id: int | None, why: str = ""
) -> None:
    check_request_transition(request.status, target)
    previous = request.status
    request.status = target
    request.updated_at = uow.now
    if target == RequestStatus.PAID:
        request.paid_at = uow.now
    if target in (RequestStatus.VOID, RequestStatus.EXPIRED):
        await uow.session.execute(
            update(Payment)
            .where(Payment.request_id == request.id, Payment.status == AttemptStatus.CREATED)
            .values(status=AttemptStatus.VOID if target == RequestStatus.VOID else AttemptStatus.EXPIRED)
        )
    uow.audit(
        actor_id=actor_id,
        entity="payment_request",
        entity_id=request.id,
        action="status",
        from_status=previous,
        to_status=target,
        detail=why,
    )


async def settle(uow: UnitOfWork, request: PaymentRequest, actor_id: int | None, why: str) -> Order:
    """Mark a request paid; a paid items request makes its order PAID."""
    await set_request_status(uow, request, RequestStatus.PAID, actor_id, why)
    order = await uow.session.get_one(Order, request.order_id, with_for_update=True)
    if request.kind == RequestKind.ITEMS and order.status == OrderStatus.PLACED:
        check_order_transition(order.status, OrderStatus.PAID)
        order.status = OrderStatus.PAID
        order.updated_at = uow.now
        uow.audit(
            actor_id=actor_id,
            entity="order",
            entity_id=order.id,
            action="status",
            from_status=OrderStatus.PLACED,
            to_status=OrderStatus.PAID,
            detail=why,
        )
    await uow.notify_user(
        order.buyer_id,
        "payment_received",
        {
            "number": order.number,
            "kind": request.kind,
            "amount": format_money(request.amount_minor, request.currency),
            "reference": request.reference,
        },
        dedupe_key=f"paid:{request.id}",
    )
    return order


async def on_order_ended(uow: UnitOfWork, order: Order, actor_id: int | None, reason: str) -> None:
    """Called by ``end_order``: void what is still owed, queue refunds of what was paid."""
    requests = (
        await uow.session.scalars(
            select(PaymentRequest).where(PaymentRequest.order_id == order.id).order_by(PaymentRequest.id)
        )
    ).all()
    for request in requests:
        if request.status in PAYABLE:
            await set_request_status(uow, request, RequestStatus.VOID, actor_id, f"order {order.status}")
        elif request.status == RequestStatus.PAID:
            await queue_refunds(uow, request, reason or f"order {order.status}")


async def queue_refunds(uow: UnitOfWork, request: PaymentRequest, reason: str) -> list[Refund]:
    """One refund per succeeded payment of the request; a repeat call queues nothing new."""
    payments = (
        await uow.session.scalars(
            select(Payment).where(Payment.request_id == request.id, Payment.status == AttemptStatus.SUCCEEDED)
        )
    ).all()
    queued = []
    for payment in payments:
        key = f"gf-refund-{payment.id}"
        if await uow.session.scalar(select(Refund.id).where(Refund.idempotency_key == key)) is not None:
            continue
        refund = Refund(
            payment_id=payment.id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            status=RefundStatus.MANUAL
            if payment.provider in MANUAL_PROVIDERS | {"telegram"}
            else RefundStatus.PENDING,
            idempotency_key=key,
            reason=reason[:500],
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(refund)
        queued.append(refund)
    await uow.session.flush()
    for refund in queued:
        uow.audit(
            actor_id=None,
            entity="refund",
            entity_id=refund.id,
            action="queued",
            to_status=refund.status,
            detail=reason,
        )
    return queued


async def finish_refund(uow: UnitOfWork, refund: Refund, reference: str, actor_id: int | None) -> None:
    """A refund went out: the payment and, once nothing paid is left, the request are refunded."""
    refund.status = RefundStatus.SUCCEEDED
    refund.reference = reference[:200]
    refund.updated_at = uow.now
    payment = await uow.session.get_one(Payment, refund.payment_id)
    payment.status = AttemptStatus.REFUNDED
    payment.updated_at = uow.now
    request = await uow.session.get_one(PaymentRequest, payment.request_id)
    still_paid = await uow.session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(Payment.request_id == request.id, Payment.status == AttemptStatus.SUCCEEDED)
    )
    if request.status == RequestStatus.PAID and not still_paid:
        await set_request_status(uow, request, RequestStatus.REFUNDED, actor_id, reference)
    uow.audit(
        actor_id=actor_id,
        entity="refund",
        entity_id=refund.id,
        action="status",
        to_status=refund.status,
        detail=reference,
    )
    order = await uow.session.get_one(Order, request.order_id)
    await uow.notify_user(
        order.buyer_id,
        "refund_sent",
        {
            "number": order.number,
            "amount": format_money(refund.amount_minor, refund.currency),
            "reference": reference,
        },
        dedupe_key=f"refund:{refund.id}",
    )


@dataclass(frozen=True)
class Outcome:
    """What one webhook event did, for the response and the logs."""

    result: str  # "paid", "held", "duplicate", "unknown", "ignored", "noted"
    order_number: str | None = None


async def apply_event(
    uow: UnitOfWork,
    *,
    provider: str,
    kind: str,
    provider_ref: str | None,
    our_reference: str | None,
    amount_minor: int | None,
    currency: str | None,
    charge_ref: str | None,
) -> Outcome:
    """Apply one verified provider event to its attempt; order-independent and repeat-safe."""
    payment = None
    if provider_ref:
        payment = await uow.session.scalar(
            select(Payment)
            .where(Payment.provider == provider, Payment.provider_ref == provider_ref)
            .with_for_update()
        )
    if payment is None and our_reference:
        payment = await uow.session.scalar(
            select(Payment)
            .where(Payment.provider == provider, Payment.idempotency_key == our_reference)
            .with_for_update()
        )
    if payment is None:
        return Outcome("unknown")
    request = await uow.session.get_one(PaymentRequest, payment.request_id, with_for_update=True)
    order = await uow.session.get_one(Order, request.order_id)
    if kind in ("expired", "failed"):
        if payment.status == AttemptStatus.CREATED:  # never undoes a payment already taken
            payment.status = AttemptStatus.EXPIRED if kind == "expired" else AttemptStatus.FAILED
            payment.updated_at = uow.now
            return Outcome("noted", order.number)
        return Outcome("ignored", order.number)
    if kind != "paid":
        return Outcome("ignored", order.number)
    if payment.status in (AttemptStatus.SUCCEEDED, AttemptStatus.HELD, AttemptStatus.REFUNDED):
        return Outcome("duplicate", order.number)
    payment.charge_ref = charge_ref or payment.charge_ref
    payment.provider_ref = payment.provider_ref or provider_ref
    payment.updated_at = uow.now
    problem = ""
    if amount_minor != request.amount_minor or (currency or "").upper() != request.currency:
        shown = (
            f"{amount_minor} {currency}"
            if amount_minor is not None
            else f"an unreadable amount in {currency}"
        )
        problem = f"paid {shown}, expected {request.amount_minor} {request.currency} (minor units)"
    elif request.status not in PAYABLE:
        problem = f"paid after the request became {request.status}"
    if problem:
        arrived = (currency or "").upper()
        if amount_minor is not None and arrived in CURRENCIES:
            # record what actually arrived, for refunds and the books
            payment.amount_minor, payment.currency = amount_minor, arrived
        return await _hold(uow, payment, request, order, problem)
    payment.status = AttemptStatus.SUCCEEDED
    await settle(uow, request, None, f"{provider} {provider_ref or ''}".strip())
    return Outcome("paid", order.number)


async def _hold(
    uow: UnitOfWork, payment: Payment, request: PaymentRequest, order: Order, problem: str
) -> Outcome:
    payment.status = AttemptStatus.HELD
    payment.note = problem
    uow.audit(
        actor_id=None,
        entity="payment",
        entity_id=payment.id,
        action="held",
        to_status=AttemptStatus.HELD,
        detail=problem,
    )
    await notify_staff(
        uow,
        order,
        "payment_held",
        {"number": order.number, "provider": payment.provider, "problem": problem},
        dedupe=f"held:{payment.id}",
    )
    return Outcome("held", order.number)


async def notify_staff(
    uow: UnitOfWork, order: Order, template: str, context: dict[str, object], *, dedupe: str
) -> None:
    """Tell the GO's GOM and every helper."""
    from core.db.models import StaffMember

    go = await uow.session.get_one(GroupOrder, order.go_id)
    members = (
        await uow.session.scalars(select(StaffMember.member_id).where(StaffMember.gom_id == go.gom_id))
    ).all()
    for member in sorted(set(members)):
        await uow.notify_user(
            member, template, {**context, "go_code": go.code}, dedupe_key=f"{dedupe}:{member}"
        )
