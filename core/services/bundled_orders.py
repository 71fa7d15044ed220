"""``/myorders``: a buyer's orders, and for each GO where two or more are unpaid, one
total and one reference to pay them all at once (``core.payments.bundles``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import func, select

from core.db.models import GroupOrder, Order, User
from core.payments import bundles, methods
from core.services.accounts import Actor
from core.services.ordering import order_views_of
from core.services.payments import methods_of
from core.status import OrderStatus
from core.uow import UnitOfWork
from core.views import OrderView


@dataclass(frozen=True)
class MyOrders:
    """The buyer's orders, and one bundle offer per GO where two or more are unpaid."""

    orders: list[OrderView]
    bundles: list[bundles.BundleOffer]


async def my_orders(uow: UnitOfWork, buyer: Actor, include_ended: bool = False) -> MyOrders:
    async with uow:
        go_ids = (
            await uow.session.scalars(
                select(Order.go_id)
                .where(Order.buyer_id == buyer.user_id, Order.status == OrderStatus.PLACED)
                .group_by(Order.go_id)
                .having(func.count() >= 2)  # one unpaid order is paid with /pay
                .order_by(Order.go_id)
            )
        ).all()
        offers = []
        for go_id in go_ids:
            offered = await bundles.offer(uow, await uow.session.get_one(GroupOrder, go_id), buyer.user_id)
            if offered is not None:
                offers.append(await _with_qr(uow, go_id, offered))
        views = await order_views_of(uow, buyer, include_ended)
        await uow.commit()
        return MyOrders(views, offers)


async def _with_qr(uow: UnitOfWork, go_id: int, offer: bundles.BundleOffer) -> bundles.BundleOffer:
    """The offer with the GO's QR (PayNow, PromptPay, a bank QR) for its total and reference."""
    chosen = await methods_of(uow, go_id)
    offer = replace(offer, takes_proof=methods.takes_transfers(chosen))
    qr = next((m for m in chosen if m.method in methods.QR_METHODS), None)
    if qr is None:
        return offer
    go = await uow.session.get_one(GroupOrder, go_id)
    gom = await uow.session.get_one(User, go.gom_id)
    payload = methods.qr_payload(
        qr,
        amount_minor=offer.amount_minor,
        currency=go.currency,
        reference=offer.reference,
        name=gom.display_name,
    )
    return replace(offer, qr_payload=payload)
