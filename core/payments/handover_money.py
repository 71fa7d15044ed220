"""The money of a claim that changes hands or is given up for a fee.

A buyer who backs out for a fee, or hands a paid claim to another buyer, gets back what
they paid less the fee. The fee is kept once, from the latest payments first
(``split_fee``), so every payment still gets its own refund row (the books say what is
owed back for each) and no refund is ever negative. A payment the fee takes whole is
recorded as refunded at once, with nothing sent.

For a handed-over paid claim the giver's money stays on the order's own payment
requests (those up to ``Handover.giver_request_id``) until the recipient's request is
paid; only then are the giver's refunds queued, in the same transaction that records
the recipient's payment (``on_request_paid``, called by ``ledger.settle``). So the GOM
holds the giver's money until the recipient's arrives, and never both for long: from
that moment the giver's is recorded as owed back.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import exists, func, select

from core.db.models import GroupOrder, Handover, Order, Payment, PaymentRequest, Refund, StaffMember, User
from core.money import format_money
from core.payments.status import AttemptStatus, RefundStatus, RequestStatus, whole_refund_key
from core.status import HandoverStatus
from core.transitions import transition
from core.uow import UnitOfWork

# providers whose money the GOM sends back by hand (``ledger.MANUAL_PROVIDERS`` and Telegram)
BY_HAND = frozenset({"manual", "paynow", "promptpay", "bankqr", "statement", "telegram"})
KEPT_AS_FEE = "kept as the fee"


def split_fee(amounts: list[int], fee_minor: int) -> list[int]:
    """What goes back of each payment (in the order given) when ``fee_minor`` is kept.

    The fee is taken from the last payments first; a fee larger than everything paid
    keeps everything. The refunds and the fee kept always add up to what was paid.
    """
    left = max(0, fee_minor)
    back = list(amounts)
    for i in range(len(back) - 1, -1, -1):
        taken = min(left, back[i])
        back[i] -= taken
        left -= taken
    return back


async def paid_payments(uow: UnitOfWork, request_ids: list[int]) -> list[Payment]:
    """The money that settled these requests and is not owed back, oldest first: a
    payment with a refund queued (an earlier holder's, say) is no longer anyone's to give."""
    if not request_ids:
        return []
    refunded = exists().where(Refund.payment_id == Payment.id)
    return list(
        (
            await uow.session.scalars(
                select(Payment)
                .where(
                    Payment.request_id.in_(request_ids),
                    Payment.status == AttemptStatus.SUCCEEDED,
                    ~refunded,
                )
                .order_by(Payment.id)
            )
        ).all()
    )


async def queue_refunds_keeping(
    uow: UnitOfWork, payments: list[Payment], fee_minor: int, reason: str
) -> tuple[int, int]:
    """Queue one refund per payment, keeping ``fee_minor`` in all; returns (refunded, kept).

    A payment that already has a refund is left alone (the key is the one every refund of
    a payment uses), so a repeat queues nothing. The caller holds the order's lock.
    """
    fresh = [
        p
        for p in payments
        if await uow.session.scalar(select(Refund.id).where(Refund.idempotency_key == _key(p))) is None
    ]
    back = split_fee([p.amount_minor for p in fresh], fee_minor)
    for payment, amount in zip(fresh, back, strict=True):
        whole = amount == 0
        refund = Refund(
            payment_id=payment.id,
            amount_minor=amount,
            currency=payment.currency,
            status=RefundStatus.SUCCEEDED
            if whole
            else (RefundStatus.MANUAL if payment.provider in BY_HAND else RefundStatus.PENDING),
            idempotency_key=_key(payment),
            reference=KEPT_AS_FEE if whole else "",
            reason=reason[:500],
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(refund)
        await uow.session.flush()
        uow.audit(
            actor_id=None,
            entity="refund",
            entity_id=refund.id,
            action="queued",
            to_status=refund.status,
            detail=f"{reason}; {payment.amount_minor - amount} of {payment.amount_minor} kept as the fee",
        )
        if whole:  # nothing to send: the fee took this payment whole
            await transition(uow, payment, AttemptStatus.REFUNDED, actor_id=None, detail=KEPT_AS_FEE)
            await _refunded_when_nothing_left(uow, payment.request_id)
    refunded = sum(back)
    return refunded, sum(p.amount_minor for p in fresh) - refunded


async def on_request_paid(uow: UnitOfWork, request: PaymentRequest) -> Handover | None:
    """A recipient's request for a handed-over paid claim was paid: queue the giver's
    refund (what they paid less the fee) and complete the handover; None for any other
    request. Called by ``ledger.settle`` under the order's lock."""
    handover = await uow.session.scalar(
        select(Handover)
        .where(Handover.request_id == request.id, Handover.status == HandoverStatus.AWAITING)
        .execution_options(populate_existing=True)
    )
    if handover is None:
        return None
    payments = await paid_payments(uow, await giver_requests(uow, handover))
    refunded, kept = await queue_refunds_keeping(
        uow, payments, handover.fee_minor, f"handed over; {request.reference} paid by the recipient"
    )
    await transition(
        uow,
        handover,
        HandoverStatus.COMPLETED,
        actor_id=None,
        detail=f"{request.reference} paid; giver refund {refunded}, fee kept {kept} (minor units)",
        also={"refund_minor": refunded},
    )
    await tell(uow, handover, "completed", ("giver", "recipient", "staff"))
    return handover


async def giver_requests(uow: UnitOfWork, handover: Handover) -> list[int]:
    """The order's requests the giver paid before handing it over."""
    return list(
        (
            await uow.session.scalars(
                select(PaymentRequest.id).where(
                    PaymentRequest.order_id == handover.order_id,
                    PaymentRequest.id <= (handover.giver_request_id or 0),
                )
            )
        ).all()
    )


async def payer_of(uow: UnitOfWork, request: PaymentRequest, order: Order) -> int:
    """Who paid ``request``: the buyer who held the order when it was asked, which is the
    giver of the first handover made after it (or the order's buyer if none was)."""
    giver = await uow.session.scalar(
        select(Handover.giver_id)
        .where(
            Handover.order_id == order.id,
            Handover.giver_request_id >= request.id,
            Handover.status.in_([HandoverStatus.AWAITING, HandoverStatus.COMPLETED, HandoverStatus.DONE]),
        )
        .order_by(Handover.id)
        .limit(1)
    )
    return order.buyer_id if giver is None else int(giver)


async def _refunded_when_nothing_left(uow: UnitOfWork, request_id: int) -> None:
    request = await uow.session.get_one(PaymentRequest, request_id)
    still = await uow.session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(Payment.request_id == request_id, Payment.status == AttemptStatus.SUCCEEDED)
    )
    if request.status == RequestStatus.PAID and not still:
        await transition(uow, request, RequestStatus.REFUNDED, actor_id=None, detail=KEPT_AS_FEE)


def _key(payment: Payment) -> str:
    return whole_refund_key(payment.id)


async def tell(
    uow: UnitOfWork,
    handover: Handover,
    event: str,
    to: tuple[str, ...],
    extra: Mapping[str, object] | None = None,
) -> None:
    """Queue the ``handover_notice`` of ``event`` for each of ``to``: "giver", "recipient",
    "staff" (the GO's GOM and team). Each is queued once per handover and event."""
    order = await uow.session.get_one(Order, handover.order_id)
    go = await uow.session.get_one(GroupOrder, handover.go_id)
    names = await names_of(uow, handover)
    context: dict[str, object] = {
        "event": event,
        "number": order.number,
        "go_code": go.code,
        "giver": names.get(handover.giver_id, "?"),
        "recipient": names.get(handover.recipient_id, "?"),
        "units": handover.units,
        "paid": format_money(handover.paid_minor, order.currency) if handover.paid_minor else "",
        "fee": format_money(handover.fee_minor, order.currency) if handover.fee_minor else "",
        "refund": format_money(handover.refund_minor, order.currency) if handover.paid_minor else "",
        "handover_id": handover.id,
        **(extra or {}),
    }
    people = {"giver": [handover.giver_id], "recipient": [handover.recipient_id]}
    if "staff" in to:
        people["staff"] = sorted(
            set(
                (
                    await uow.session.scalars(
                        select(StaffMember.member_id).where(StaffMember.gom_id == go.gom_id)
                    )
                ).all()
            )
        )
    for role in to:
        for user_id in people[role]:
            await uow.notify_user(
                user_id,
                "handover_notice",
                {**context, "role": role},
                dedupe_key=f"handover:{handover.id}:{event}:{role}:{user_id}",
                prefer_channel=order.channel if role != "staff" else None,
            )


async def names_of(uow: UnitOfWork, handover: Handover) -> dict[int, str]:
    """The giver's and the recipient's names, by user id."""
    rows = await uow.session.execute(
        select(User.id, User.display_name).where(User.id.in_([handover.giver_id, handover.recipient_id]))
    )
    return {user_id: name for user_id, name in rows}
