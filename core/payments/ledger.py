"""Bookkeeping every provider shares: requests an order owes, attempts, settling, refunds.

These functions run inside the caller's unit of work and never commit; services and the
order lifecycle (``core.orders.end_order``) call them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select

from core.db.models import GroupOrder, Order, Payment, PaymentProof, PaymentRequest, Refund
from core.errors import NotFound, OrderLocked
from core.lookups import lock_order
from core.money import CURRENCIES, format_money
from core.payments import handover_money, store_credit, terms, unique_amounts
from core.payments.status import (
    PAYABLE,
    SECURING_KINDS,
    AttemptStatus,
    EventKind,
    ProofStatus,
    RefundStatus,
    RequestKind,
    RequestStatus,
    whole_refund_key,
)
from core.shortfalls import spread
from core.status import ORDER_LIVE, OrderStatus
from core.transitions import transition, transition_all
from core.uow import UnitOfWork

MANUAL_PROVIDERS = frozenset({"manual", "paynow", "promptpay", "bankqr", "statement"})
REFERENCE_LIMIT = 25
# money a GOM recorded by hand (/markpaid): its payments' key prefix and audit action
MARKED_KEY = "gf-mark-"
MARKED_PAID = "marked_paid"
PENDING_PROOF = ProofStatus.PENDING
Row = TypeVar("Row", Order, PaymentRequest, Payment, PaymentProof, Refund)


# --- locks -------------------------------------------------------------------------
#
# Two commands on one order interleave on PostgreSQL (READ COMMITTED). Every payment
# command therefore locks its rows in one global order — group order, order, payment
# request, payment, proof or refund — re-reads them under the lock, and only then
# decides; a status change is also a compare-and-set (``core.transitions``), so a writer that skipped a lock
# still cannot overwrite a change it did not see. SQLite ignores FOR UPDATE; its
# IMMEDIATE write transactions and the in-process write lock serialise writers there.


async def locked(uow: UnitOfWork, table: type[Row], row_id: int) -> Row:
    """The row, locked for the rest of the transaction and re-read from the database."""
    row = await uow.session.scalar(
        select(table).where(table.id == row_id).with_for_update().execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(
            "That %(replace)s no longer exists.", replace=table.__tablename__.rstrip("s").replace("_", " ")
        )
    return row


async def received(uow: UnitOfWork, request_id: int) -> int:
    """Money credited to a request and not sent back (minor units); a method's surcharge
    paid on top is the provider's, not the request's."""
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_minor - Payment.surcharge_minor), 0)).where(
            Payment.request_id == request_id, Payment.status == AttemptStatus.SUCCEEDED
        )
    )
    return int(total or 0)


async def outstanding(uow: UnitOfWork, request: PaymentRequest) -> int:
    """What is still owed on a request: its amount less what has arrived."""
    return max(0, request.amount_minor - await received(uow, request.id))


async def pending_proofs(uow: UnitOfWork, order: Order) -> list[PaymentProof]:
    return list(
        (
            await uow.session.scalars(
                select(PaymentProof)
                .join(PaymentRequest, PaymentRequest.id == PaymentProof.request_id)
                .where(PaymentRequest.order_id == order.id, PaymentProof.status == PENDING_PROOF)
                .order_by(PaymentProof.id)
            )
        ).all()
    )


async def proof_pending(uow: UnitOfWork, order: Order) -> bool:
    """Whether a proof of payment for the order waits for the GOM's review."""
    return bool(await pending_proofs(uow, order))


async def lock_for_change(uow: UnitOfWork, order: Order) -> None:
    """Called by ``change_order`` before it touches the lines: locks the order, and refuses
    while it is no longer unpaid or a proof for its current amount waits for review (the
    proof would otherwise be approved against an amount the buyer no longer owes)."""
    current = await lock_order(uow, order.id)
    if current.status != OrderStatus.PLACED:
        raise OrderLocked(
            "%(number)s is %(status)s and can no longer be changed.",
            number=current.number,
            status=current.status,
        )
    if await proof_pending(uow, current):
        raise OrderLocked(
            (
                "%(number)s has a proof of payment waiting for review; ask the GOM to review it "
                "before changing."
            ),
            number=current.number,
        )
    part_paid = await uow.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_minor), 0))
        .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
        .where(
            PaymentRequest.order_id == current.id,
            PaymentRequest.status.in_(PAYABLE),
            Payment.status == AttemptStatus.SUCCEEDED,
        )
    )
    if part_paid:  # a new amount would leave what arrived on a request no longer owed
        raise OrderLocked(
            ("%(number)s is part paid (%(part_paid)s received); ask the GOM before changing it."),
            number=current.number,
            part_paid=format_money(int(part_paid), current.currency),
        )


async def manual_payment(
    uow: UnitOfWork,
    request: PaymentRequest,
    amount_minor: int,
    *,
    key: str,
    provider_ref: str | None,
    charge_ref: str | None,
    note: str,
) -> Payment:
    """A payment no gateway reports (an approved proof, cash the GOM recorded), written as
    just created: ``credit`` then takes exactly its amount."""
    payment = Payment(
        request_id=request.id,
        provider="manual",
        status=AttemptStatus.CREATED,
        idempotency_key=key,
        provider_ref=provider_ref,
        charge_ref=charge_ref,
        amount_minor=amount_minor,
        currency=request.currency,
        note=note,
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(payment)
    await uow.session.flush()
    return payment


def new_token() -> str:
    """An unguessable pay-page token (192 random bits)."""
    return secrets.token_urlsafe(24)


async def open_request(
    uow: UnitOfWork,
    order: Order,
    kind: RequestKind,
    amount_minor: int,
    *,
    due_at: object = None,
    unique: bool = True,
) -> PaymentRequest:
    """A new open request of the order. ``unique``: it takes part in the GO's unique amounts
    (``core.payments.unique_amounts``), as every request does whose amount never changes."""
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
    go = await uow.session.get_one(GroupOrder, order.go_id)
    adjust = await unique_amounts.claim(uow, go, request) if unique else 0
    uow.audit(
        actor_id=None,
        entity="payment_request",
        entity_id=request.id,
        action="opened",
        to_status=RequestStatus.OPEN,
        detail=f"{kind} {format_money(amount_minor, order.currency)}"
        + (f" {adjust:+d} unique" if adjust else ""),
    )
    return request


async def items_request(uow: UnitOfWork, order: Order) -> PaymentRequest | None:
    """The live items request of an unpaid order, opened (or renewed after a change) on demand.

    It asks the lines' total plus the GOM's fee (``terms.items_owed``). The order is locked
    first, so two taps on Pay at once open one request, not two.
    """
    order = await lock_order(uow, order.id)
    parts = await terms.parts_of(uow, order)
    if parts:  # paid in parts (a deposit, instalments): the first still owed stands for them
        return next((p for p in parts if p.status in PAYABLE), None)
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
    owed = await terms.items_owed(uow, order)
    if current is not None and current.amount_minor - current.adjust_minor == owed:
        return current
    if current is not None:  # the order changed since: the old amount may no longer be paid
        await set_request_status(uow, current, RequestStatus.VOID, None, "order changed")
    return await open_request(uow, order, RequestKind.ITEMS, owed)


async def set_request_status(
    uow: UnitOfWork, request: PaymentRequest, target: RequestStatus, actor_id: int | None, why: str = ""
) -> None:
    also = {"paid_at": uow.now} if target == RequestStatus.PAID else None
    await transition(uow, request, target, actor_id=actor_id, detail=why, also=also)
    if target in (RequestStatus.VOID, RequestStatus.EXPIRED):
        await transition_all(
            uow,
            Payment,
            Payment.request_id == request.id,
            AttemptStatus.CREATED,
            AttemptStatus.VOID if target == RequestStatus.VOID else AttemptStatus.EXPIRED,
        )


async def settle(uow: UnitOfWork, request: PaymentRequest, actor_id: int | None, why: str) -> Order:
    """Mark a request paid; a paid items request, deposit or instalment secures the claim
    and makes its order PAID."""
    await set_request_status(uow, request, RequestStatus.PAID, actor_id, why)
    order = await uow.session.get_one(Order, request.order_id, with_for_update=True)
    if request.kind in SECURING_KINDS and order.status == OrderStatus.PLACED:
        await transition(uow, order, OrderStatus.PAID, actor_id=actor_id, detail=why)
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
    await handover_money.on_request_paid(uow, request)  # a handed-over claim: the giver's refund
    return order


@dataclass(frozen=True)
class Credit:
    """What money that arrived did: paid the request, paid part of it, paid more than it,
    came for an order that has ended (refund due), or waits for the GOM (held)."""

    result: str  # "paid", "partial", "overpaid", "refund_due", "held"
    remaining_minor: int = 0
    over_minor: int = 0


async def credit(
    uow: UnitOfWork, order: Order, request: PaymentRequest, payment: Payment, actor_id: int | None, why: str
) -> Credit:
    """Credit exactly what arrived (``payment.amount_minor``) to ``request``.

    The caller holds the order's lock and has written the payment row. The request is
    paid only once what arrived covers it; a shortfall stays owed on the same request
    (the pay page asks for the rest), an excess is shown as overpaid, and money for an
    order that has ended is kept on the books with a refund queued.
    """
    if order.status not in ORDER_LIVE:
        await transition(uow, payment, AttemptStatus.SUCCEEDED, actor_id=actor_id, detail=why)
        await queue_refunds(uow, request, f"arrived after the order was {order.status}")
        return Credit("refund_due")
    if request.status not in PAYABLE and request.status != RequestStatus.PAID:
        await _hold(uow, payment, request, order, f"arrived after the request became {request.status}")
        return Credit("held")
    await transition(uow, payment, AttemptStatus.SUCCEEDED, actor_id=actor_id, detail=why)
    got = await received(uow, request.id)
    if request.status == RequestStatus.PAID:
        return Credit("overpaid", over_minor=got - request.amount_minor)
    if got >= request.amount_minor:
        await settle(uow, request, actor_id, why)
        over = got - request.amount_minor
        return Credit("overpaid" if over else "paid", over_minor=over)
    still_reviewed = await uow.session.scalar(
        select(PaymentProof.id)
        .where(PaymentProof.request_id == request.id, PaymentProof.status == PENDING_PROOF)
        .limit(1)
    )
    if request.status == RequestStatus.REVIEW and still_reviewed is None:
        await set_request_status(uow, request, RequestStatus.OPEN, actor_id, "part paid")
    remaining = request.amount_minor - got
    await uow.notify_user(
        order.buyer_id,
        "payment_received",
        {
            "number": order.number,
            "kind": request.kind,
            "amount": format_money(payment.amount_minor, payment.currency),
            "reference": request.reference,
            "remaining": format_money(remaining, request.currency),
        },
        dedupe_key=f"credit:{payment.id}",
    )
    return Credit("partial", remaining_minor=remaining)


async def on_order_ended(uow: UnitOfWork, order: Order, actor_id: int | None, reason: str) -> None:
    """Called by ``end_order``: void what is still owed, queue a refund of every payment
    kept (a paid request's, or part of one still open), and when the buyer ended it while
    money or a proof was in, tell the GOM and helpers."""
    requests = (
        await uow.session.scalars(
            select(PaymentRequest).where(PaymentRequest.order_id == order.id).order_by(PaymentRequest.id)
        )
    ).all()
    queued: list[Refund] = []
    for request in requests:
        if request.status in PAYABLE:
            await set_request_status(uow, request, RequestStatus.VOID, actor_id, f"order {order.status}")
        queued += await queue_refunds(uow, request, reason or f"order {order.status}")
    waiting = await pending_proofs(uow, order)
    if actor_id == order.buyer_id and (queued or waiting):
        await notify_staff(
            uow,
            order,
            "order_ended_with_money",
            {
                "number": order.number,
                "status": order.status,
                "proofs": len(waiting),
                "refund_due": format_money(sum(r.amount_minor for r in queued), order.currency)
                if queued
                else "",
            },
            dedupe=f"ended:{order.id}",
        )


async def queue_refunds(uow: UnitOfWork, request: PaymentRequest, reason: str) -> list[Refund]:
    """One refund per succeeded payment of the request, of what is left of it after any
    part already given back (a shortfall); a repeat call queues nothing new."""
    payments = (
        await uow.session.scalars(
            select(Payment).where(Payment.request_id == request.id, Payment.status == AttemptStatus.SUCCEEDED)
        )
    ).all()
    queued = []
    for payment in payments:
        key = whole_refund_key(payment.id)
        if await uow.session.scalar(select(Refund.id).where(Refund.idempotency_key == key)) is not None:
            continue
        left = payment.amount_minor - await refunded_of(uow, payment.id)
        if left > 0:
            queued.append(_new_refund(uow, payment, left, key, reason))
    await _queued(uow, queued, reason)
    return queued


async def queue_part_refunds(
    uow: UnitOfWork, request: PaymentRequest, amount_minor: int, reason: str, key: str
) -> list[Refund]:
    """Give back ``amount_minor`` of what the request received (a shortfall): shared over its
    succeeded payments, newest first, each at most what is left of it; one refund per
    payment keyed ``key-PAYMENT``, so a repeat queues nothing new."""
    payments = (
        await uow.session.scalars(
            select(Payment)
            .where(Payment.request_id == request.id, Payment.status == AttemptStatus.SUCCEEDED)
            .order_by(Payment.id.desc())
        )
    ).all()
    room = [p.amount_minor - await refunded_of(uow, p.id) for p in payments]
    queued = []
    for payment, part in zip(payments, spread(amount_minor, room), strict=True):
        each_key = f"{key}-{payment.id}"
        if part <= 0 or await uow.session.scalar(select(Refund.id).where(Refund.idempotency_key == each_key)):
            continue
        queued.append(_new_refund(uow, payment, part, each_key, reason))
    await _queued(uow, queued, reason)
    return queued


async def refunded_of(uow: UnitOfWork, payment_id: int) -> int:
    """What refunds of a payment give back (or will: queued and sent, never failed ones)."""
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.payment_id == payment_id, Refund.status != RefundStatus.FAILED
        )
    )
    return int(total or 0)


def _new_refund(uow: UnitOfWork, payment: Payment, amount_minor: int, key: str, reason: str) -> Refund:
    by_hand = payment.provider in MANUAL_PROVIDERS | {"telegram", store_credit.PROVIDER}
    refund = Refund(
        payment_id=payment.id,
        amount_minor=amount_minor,
        currency=payment.currency,
        status=RefundStatus.MANUAL if by_hand else RefundStatus.PENDING,
        idempotency_key=key,
        reason=reason[:500],
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(refund)
    return refund


async def _queued(uow: UnitOfWork, queued: list[Refund], reason: str) -> None:
    """Audit the new refunds; money paid with store credit goes back to credit at once."""
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
        payment = await uow.session.get_one(Payment, refund.payment_id)
        if payment.provider == store_credit.PROVIDER:
            await _back_to_credit(uow, refund, payment, reason)


async def _back_to_credit(uow: UnitOfWork, refund: Refund, payment: Payment, reason: str) -> None:
    request = await uow.session.get_one(PaymentRequest, payment.request_id)
    order = await uow.session.get_one(Order, request.order_id)
    go = await uow.session.get_one(GroupOrder, order.go_id)
    await store_credit.grant(
        uow,
        buyer_id=order.buyer_id,
        gom_id=go.gom_id,
        currency=refund.currency,
        amount_minor=refund.amount_minor,
        kind=store_credit.CreditKind.REFUND,
        actor_id=None,
        reason=f"{order.number}: {reason}",
        order_id=order.id,
        payment_id=payment.id,
    )
    await finish_refund(uow, refund, "store credit", None)


async def finish_refund(uow: UnitOfWork, refund: Refund, reference: str, actor_id: int | None) -> None:
    """A refund went out: the payment (once all of it has gone back) and, once nothing paid
    is left, the request are refunded.

    The caller holds the order's lock; both changes are compare-and-sets all the same.
    """
    await transition(
        uow,
        refund,
        RefundStatus.SUCCEEDED,
        actor_id=actor_id,
        detail=reference,
        also={"reference": reference[:200]},
    )
    payment = await uow.session.get_one(Payment, refund.payment_id)
    given_back = await uow.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.payment_id == payment.id, Refund.status == RefundStatus.SUCCEEDED
        )
    )
    # A part given back (a shortfall) keeps it paid; its whole refund ends it, even less a
    # fee kept (a backout or a handover keeps the policy's fee, never sent back)
    if refund.idempotency_key == whole_refund_key(payment.id) or int(given_back or 0) >= payment.amount_minor:
        await transition(uow, payment, AttemptStatus.REFUNDED, actor_id=actor_id, detail=reference)
    request = await uow.session.get_one(PaymentRequest, payment.request_id)
    still_paid = await uow.session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(Payment.request_id == request.id, Payment.status == AttemptStatus.SUCCEEDED)
    )
    if request.status == RequestStatus.PAID and not still_paid:
        await set_request_status(uow, request, RequestStatus.REFUNDED, actor_id, reference)
    order = await uow.session.get_one(Order, request.order_id)
    await uow.notify_user(
        await handover_money.payer_of(uow, request, order),  # the order may have changed hands
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
    kind: EventKind,
    provider_ref: str | None,
    our_reference: str | None,
    amount_minor: int | None,
    currency: str | None,
    charge_ref: str | None,
) -> Outcome:
    """Apply one verified provider event to its attempt; order-independent and repeat-safe.

    The attempt is found without a lock, then its order, request and the attempt itself
    are locked in that order (the global lock order), and everything is decided on what
    was re-read under the locks: a cancel or a second delivery racing this one waits.
    """
    found = None
    if provider_ref:
        found = await _attempt_of(uow, provider, Payment.provider_ref == provider_ref)
    if found is None and our_reference:
        found = await _attempt_of(uow, provider, Payment.idempotency_key == our_reference)
    if found is None:
        return Outcome("unknown")
    payment_id, request_id, order_id = found
    order = await lock_order(uow, order_id)
    request = await locked(uow, PaymentRequest, request_id)
    payment = await locked(uow, Payment, payment_id)
    if kind in (EventKind.EXPIRED, EventKind.FAILED):
        if payment.status == AttemptStatus.CREATED:  # never undoes a payment already taken
            ended = AttemptStatus.EXPIRED if kind == EventKind.EXPIRED else AttemptStatus.FAILED
            await transition(uow, payment, ended, actor_id=None, detail=f"{provider} {kind}")
            return Outcome("noted", order.number)
        return Outcome("ignored", order.number)
    if kind != EventKind.PAID:
        return Outcome("ignored", order.number)
    if payment.status in (AttemptStatus.SUCCEEDED, AttemptStatus.HELD, AttemptStatus.REFUNDED):
        return Outcome("duplicate", order.number)
    payment.charge_ref = charge_ref or payment.charge_ref
    payment.provider_ref = payment.provider_ref or provider_ref
    payment.updated_at = uow.now
    problem = ""
    owed = await outstanding(uow, request)
    if request.status not in PAYABLE:
        problem = f"paid after the request became {request.status}"
    elif amount_minor != owed + payment.surcharge_minor or (currency or "").upper() != request.currency:
        shown = (
            f"{amount_minor} {currency}"
            if amount_minor is not None
            else f"an unreadable amount in {currency}"
        )
        expected = owed + payment.surcharge_minor
        problem = f"paid {shown}, expected {expected} {request.currency} (minor units)"
    if problem:
        arrived = (currency or "").upper()
        if amount_minor is not None and arrived in CURRENCIES:
            # record what actually arrived, for refunds and the books
            payment.amount_minor, payment.currency = amount_minor, arrived
        return await _hold(uow, payment, request, order, problem)
    await transition(uow, payment, AttemptStatus.SUCCEEDED, actor_id=None, detail=provider)
    await settle(uow, request, None, f"{provider} {provider_ref or ''}".strip())
    return Outcome("paid", order.number)


async def _attempt_of(uow: UnitOfWork, provider: str, match: Any) -> tuple[int, int, int] | None:
    """(payment id, request id, order id) of one provider's attempt, read without a lock."""
    row = (
        await uow.session.execute(
            select(Payment.id, PaymentRequest.id, PaymentRequest.order_id)
            .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
            .where(Payment.provider == provider, match)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def hold(
    uow: UnitOfWork, payment: Payment, request: PaymentRequest, order: Order, problem: str
) -> None:
    """Keep money that arrived on the books for the GOM to decide (``payment_held``),
    crediting no order: for money that cannot be applied as it was meant."""
    await _hold(uow, payment, request, order, problem)


async def _hold(
    uow: UnitOfWork, payment: Payment, request: PaymentRequest, order: Order, problem: str
) -> Outcome:
    await transition(
        uow, payment, AttemptStatus.HELD, actor_id=None, detail=problem, action="held", also={"note": problem}
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
