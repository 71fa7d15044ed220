"""Money the GOM received outside gomflow (cash at a meet-up, a transfer seen in the bank
app), recorded with ``/markpaid ORDER AMOUNT [NOTE]``.

The amount is read in the order's currency and credited exactly by the ledger
(``core.payments.ledger.credit``): a part payment leaves the rest owed on the same request,
the last part pays the order. More than is still owed is refused rather than kept as a
credit: money that no order owes would have to be found again by hand, while the GOM
holding the cash can simply hand the difference back.

A double tap (or the GOM and a helper recording the same envelope) is counted once: under
the order's lock, the same amount with the same note on the same request within
``REPEAT_WINDOW`` is answered with the payment already recorded. A second, real payment of
the same amount is recorded by giving it another note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from core.db.models import GroupOrder, Payment, PaymentBundle, PaymentRequest, User
from core.errors import InvalidInput, OrderLocked
from core.lookups import load_order, lock_order
from core.money import format_money, parse_amount
from core.payments import bundles, ledger
from core.payments.status import PAYABLE, AttemptStatus
from core.services.accounts import Actor, require_admin
from core.services.payments import request_to_pay
from core.status import ORDER_LIVE
from core.uow import UnitOfWork
from core.when import local_text

NOTE_LIMIT = 200
REPEAT_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class MarkedPaid:
    """What ``/markpaid`` recorded (or, for a repeat, had already recorded)."""

    number: str
    buyer: str
    amount: str
    reference: str  # the payment request it was credited to
    note: str
    remaining: str  # still owed on that request; "" once it is paid
    recorded_at: str  # in the GO's timezone
    repeat: bool = False


async def mark_paid(uow: UnitOfWork, actor: Actor, number: str, amount_text: str, note: str) -> MarkedPaid:
    note = " ".join(note.split())[:NOTE_LIMIT]
    async with uow:
        bundle = await bundles.find(uow, number)
        if bundle is not None:
            return await _mark_bundle_paid(uow, actor, bundle, amount_text, note)
        found = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, found.go_id)
        await require_admin(uow, actor, go)
        order = await lock_order(uow, found.id)
        amount = _amount(amount_text, order.currency)
        if order.status not in ORDER_LIVE:
            raise OrderLocked(
                ("%(number)s is %(status)s; nothing was recorded. Hand the money back to the buyer."),
                number=order.number,
                status=order.status,
            )
        buyer = await uow.session.get_one(User, order.buyer_id)
        earlier = await _same_payment(uow, order.id, amount, note)
        if earlier is not None:
            paid_to = await uow.session.get_one(PaymentRequest, earlier.request_id)
            still = await ledger.outstanding(uow, paid_to) if paid_to.status in PAYABLE else 0
            return _view(
                order.number, buyer, paid_to.reference, earlier, amount, still, go.timezone, repeat=True
            )
        request = await request_to_pay(uow, order)
        owed = await ledger.outstanding(uow, request)
        if amount > owed:
            raise InvalidInput(
                (
                    "Only %(owed)s is still owed on %(number)s (%(reference)s); %(amount)s is more, "
                    "so nothing was recorded. Record what is owed and hand the rest back."
                ),
                owed=format_money(owed, order.currency),
                number=order.number,
                reference=request.reference,
                amount=format_money(amount, order.currency),
            )
        count = await _payments_where(uow, Payment.request_id == request.id)
        payment = await ledger.manual_payment(
            uow,
            request,
            amount,
            key=f"{ledger.MARKED_KEY}{request.token[:16]}-{count + 1}",
            provider_ref=None,
            charge_ref=note or None,
            note=f"marked paid by {actor.name}",
        )
        _audit(uow, actor, payment, f"{format_money(amount, order.currency)} by {actor.name}: {note}")
        done = await ledger.credit(
            uow, order, request, payment, actor.user_id, f"marked paid by {actor.name}"
        )
        view = _view(
            order.number, buyer, request.reference, payment, amount, done.remaining_minor, go.timezone
        )
        await uow.commit()
        return view


async def _mark_bundle_paid(
    uow: UnitOfWork, actor: Actor, bundle: PaymentBundle, amount_text: str, note: str
) -> MarkedPaid:
    """/markpaid against a bundle's reference: shared out over its orders, oldest first."""
    go = await uow.session.get_one(GroupOrder, bundle.go_id)
    await require_admin(uow, actor, go)
    amount = _amount(amount_text, bundle.currency)
    buyer = await uow.session.get_one(User, bundle.buyer_id)
    await bundles.covered_by(uow, bundle)  # locks the orders before anything is read
    earlier = await _same_bundle_payment(uow, bundle, note)
    if earlier is not None and earlier[1] == amount:
        still = bundle.amount_minor - await bundles.paid_on(uow, bundle)
        return _view(
            bundle.reference, buyer, bundle.reference, earlier[0], amount, still, go.timezone, repeat=True
        )
    count = await _payments_where(uow, Payment.bundle_id == bundle.id)
    shared = await bundles.pay(
        uow,
        bundle,
        amount,
        key=f"{ledger.MARKED_KEY}b{bundle.id}-{count + 1}",
        note=note,
        actor_id=actor.user_id,
        why=f"marked paid by {actor.name} on {bundle.reference}",
    )
    total = format_money(amount, bundle.currency)
    for payment in shared.payments:
        part = format_money(payment.amount_minor, bundle.currency)
        _audit(uow, actor, payment, f"{part} of {total} on {bundle.reference} by {actor.name}: {note}")
    first = shared.payments[0]
    view = _view(
        bundle.reference, buyer, bundle.reference, first, amount, shared.remaining_minor, go.timezone
    )
    await uow.commit()
    return view


async def _same_bundle_payment(
    uow: UnitOfWork, bundle: PaymentBundle, note: str
) -> tuple[Payment, int] | None:
    """The last /markpaid on the bundle if it was just recorded with the same note, and its total."""
    last = await uow.session.scalar(
        select(Payment)
        .where(
            Payment.bundle_id == bundle.id,
            Payment.idempotency_key.like(f"{ledger.MARKED_KEY}%"),
            Payment.status == AttemptStatus.SUCCEEDED,
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )
    if last is None or (last.charge_ref or "") != note or last.created_at < uow.now - REPEAT_WINDOW:
        return None
    mark = last.idempotency_key.rsplit("-", 1)[0]  # one /markpaid: its parts share this
    total = await uow.session.scalar(
        select(func.sum(Payment.amount_minor)).where(
            Payment.bundle_id == bundle.id, Payment.idempotency_key.like(f"{mark}-%")
        )
    )
    return last, int(total or 0)


def _amount(text: str, currency: str) -> int:
    amount = parse_amount(text, currency)
    if amount <= 0:
        raise InvalidInput("The amount received must be more than zero.")
    return amount


async def _payments_where(uow: UnitOfWork, where: Any) -> int:
    return int(await uow.session.scalar(select(func.count()).select_from(Payment).where(where)) or 0)


def _audit(uow: UnitOfWork, actor: Actor, payment: Payment, detail: str) -> None:
    """The audit row naming who recorded money by hand (``gomflow check`` looks for it)."""
    uow.audit(
        actor_id=actor.user_id,
        entity="payment",
        entity_id=payment.id,
        action=ledger.MARKED_PAID,
        detail=detail.rstrip(": "),
    )


async def _same_payment(uow: UnitOfWork, order_id: int, amount: int, note: str) -> Payment | None:
    """A payment just recorded by /markpaid for the same order, amount and note."""
    return await uow.session.scalar(
        select(Payment)
        .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
        .where(
            PaymentRequest.order_id == order_id,
            Payment.idempotency_key.like(f"{ledger.MARKED_KEY}%"),
            Payment.status == AttemptStatus.SUCCEEDED,
            Payment.amount_minor == amount,
            Payment.charge_ref.is_(None) if not note else Payment.charge_ref == note,
            Payment.created_at >= uow.now - REPEAT_WINDOW,
        )
        .order_by(Payment.id.desc())
        .limit(1)
    )


def _view(
    number: str,
    buyer: User,
    reference: str,
    payment: Payment,
    amount: int,
    remaining: int,
    timezone: str,
    *,
    repeat: bool = False,
) -> MarkedPaid:
    return MarkedPaid(
        number=number,
        buyer=buyer.display_name,
        amount=format_money(amount, payment.currency),
        reference=reference,
        note=payment.charge_ref or "",
        remaining=format_money(remaining, payment.currency) if remaining else "",
        recorded_at=local_text(payment.created_at, timezone),
        repeat=repeat,
    )
