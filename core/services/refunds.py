"""Refunds: the GOM refunds an order (money held included), refunds queued through a
gateway are sent outside any transaction, and ones sent by hand are confirmed with a reference."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from core.db.models import GroupOrder, Order, Payment, PaymentRequest, Refund, User
from core.errors import GatewayError, InvalidInput
from core.lookups import load_order, lock_order
from core.money import format_money
from core.orders import end_order
from core.payments import ledger
from core.payments.gateway import PaymentGateway, RefundRequest
from core.payments.status import AttemptStatus, RefundStatus, whole_refund_key
from core.services.accounts import Actor, require_admin
from core.services.payments import UowFactory
from core.services.waitlist import promote_waitlist
from core.status import GOStatus, OrderStatus
from core.transitions import transition
from core.uow import UnitOfWork
from core.views import RefundView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefundPreview:
    """What ``/refund ORDER`` would do, shown before the GOM confirms it: money leaves once."""

    number: str
    buyer: str
    amount: str
    providers: tuple[str, ...]  # how the money came in, so how it goes back
    by_hand: bool  # some of it the GOM sends back herself, then records with /refunded
    frees_units: int  # a paid order's units go back to the GO (0 for money held on an ended order)


async def preview_refund(uow: UnitOfWork, actor: Actor, number: str) -> RefundPreview:
    """The money a refund of this order would send back, refused as ``refund_order`` would be."""
    async with uow:
        order = await load_order(uow, number)
        await require_admin(uow, actor, await uow.session.get_one(GroupOrder, order.go_id))
        kind = AttemptStatus.SUCCEEDED if order.status == OrderStatus.PAID else AttemptStatus.HELD
        payments = (
            await uow.session.scalars(
                select(Payment)
                .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .where(PaymentRequest.order_id == order.id, Payment.status == kind)
                .order_by(Payment.id)
            )
        ).all()
        if not payments:
            raise InvalidInput("%(number)s has no payment to refund.", number=order.number)
        buyer = await uow.session.get_one(User, order.buyer_id)
        providers = tuple(dict.fromkeys(p.provider for p in payments))
        return RefundPreview(
            number=order.number,
            buyer=buyer.display_name,
            # less any part already given back (a shortfall)
            amount=format_money(
                sum([p.amount_minor - await ledger.refunded_of(uow, p.id) for p in payments]), order.currency
            ),
            providers=providers,
            by_hand=any(p in ledger.MANUAL_PROVIDERS | {"telegram"} for p in providers),
            frees_units=order.units if order.status == OrderStatus.PAID else 0,
        )


async def refund_order(uow: UnitOfWork, actor: Actor, number: str, reason: str = "") -> list[RefundView]:
    """The GOM refunds a paid order: its slots go back and a refund is queued per payment."""
    async with uow:
        found = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, found.go_id)
        await require_admin(uow, actor, go)
        order = await lock_order(uow, found.id)  # a second tap waits, then finds it refunded
        if order.status == OrderStatus.PAID:
            await end_order(uow, order, OrderStatus.REFUNDED, actor.user_id, reason or "refunded by the GOM")
            if go.status == GOStatus.OPEN:
                await promote_waitlist(uow, go)
        else:  # an ended order with money still held (a late or mismatched payment)
            await _refund_held(uow, order, reason or "refunded by the GOM")
        views = await _refunds_of(uow, order)
        if not views:
            raise InvalidInput("%(number)s has no payment to refund.", number=order.number)
        await uow.commit()
        return views


async def _refund_held(uow: UnitOfWork, order: Order, reason: str) -> None:
    """Held money goes back; the caller holds the order's lock."""
    held = (
        await uow.session.scalars(
            select(Payment)
            .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
            .where(PaymentRequest.order_id == order.id, Payment.status == AttemptStatus.HELD)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    for payment in held:
        # money we hold; the refund row settles it
        await transition(uow, payment, AttemptStatus.SUCCEEDED, actor_id=None, detail=reason)
        uow.session.add(
            Refund(
                payment_id=payment.id,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                status=RefundStatus.MANUAL
                if payment.provider in ledger.MANUAL_PROVIDERS
                else RefundStatus.PENDING,
                idempotency_key=whole_refund_key(payment.id),
                reason=reason,
                created_at=uow.now,
                updated_at=uow.now,
            )
        )
    await uow.session.flush()


async def _refunds_of(uow: UnitOfWork, order: Order) -> list[RefundView]:
    rows = (
        await uow.session.execute(
            select(Refund, Payment.provider)
            .join(Payment, Payment.id == Refund.payment_id)
            .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
            .where(PaymentRequest.order_id == order.id)
            .order_by(Refund.id)
        )
    ).all()
    return [
        RefundView(order.number, format_money(r.amount_minor, r.currency), provider, r.status)
        for r, provider in rows
    ]


async def refunds_of(uow: UnitOfWork, actor: Actor, number: str) -> list[RefundView]:
    async with uow:
        order = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        if order.buyer_id != actor.user_id:
            await require_admin(uow, actor, go)
        return await _refunds_of(uow, order)


async def run_pending_refunds(
    make_uow: UowFactory, gateways: Mapping[str, PaymentGateway], number: str | None = None
) -> int:
    """Send queued gateway refunds (outside any transaction), all or one order's; returns
    how many went out. Two runs at once may both call the provider (with the same
    idempotency key, so it refunds once); only one records it."""
    async with make_uow() as uow:
        query = (
            select(Refund.id, Refund.idempotency_key, Refund.amount_minor, Refund.currency, Payment)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.status == RefundStatus.PENDING)
            .order_by(Refund.id)
            .limit(100)
        )
        if number is not None:
            query = (
                query.join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(Order.number == number.strip().upper().lstrip("#"))
            )
        rows = (await uow.session.execute(query)).all()
    sent = 0
    for refund_id, key, amount, currency, payment in rows:
        gateway = gateways.get(payment.provider)
        if gateway is None:
            continue
        try:
            result = await gateway.refund(
                RefundRequest(key, payment.provider_ref, payment.charge_ref, amount, currency)
            )
        except GatewayError as exc:
            log.warning(
                "refund %s through %s failed, will retry: %s", refund_id, payment.provider, exc.message
            )
            continue  # tried again on the next run, with the same idempotency key
        async with make_uow() as uow:
            order_id = await uow.session.scalar(
                select(PaymentRequest.order_id).where(PaymentRequest.id == payment.request_id)
            )
            await lock_order(uow, int(order_id or 0))
            refund = await ledger.locked(uow, Refund, refund_id)
            if refund.status == RefundStatus.PENDING:  # another run may have finished it meanwhile
                refund.provider_ref = result.provider_ref
                await ledger.finish_refund(uow, refund, result.provider_ref, None)
                await uow.commit()
                sent += 1
    return sent


async def confirm_manual_refund(
    uow: UnitOfWork, actor: Actor, number: str, reference: str
) -> list[RefundView]:
    """The GOM sent the money back by hand: record the transfer reference, tell the buyer."""
    reference = " ".join(reference.split())[:200]
    if not reference:
        raise InvalidInput("Give the transfer reference: /refunded %(number)s REFERENCE", number=number)
    async with uow:
        found = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, found.go_id)
        await require_admin(uow, actor, go)
        order = await lock_order(uow, found.id)
        refunds = (
            await uow.session.scalars(
                select(Refund)
                .join(Payment, Payment.id == Refund.payment_id)
                .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .where(PaymentRequest.order_id == order.id, Refund.status == RefundStatus.MANUAL)
                .execution_options(populate_existing=True)
            )
        ).all()
        if not refunds:
            raise InvalidInput("%(number)s has no refund waiting to be sent by hand.", number=order.number)
        for refund in refunds:
            await ledger.finish_refund(uow, refund, reference, actor.user_id)
        views = await _refunds_of(uow, order)
        await uow.commit()
        return views
