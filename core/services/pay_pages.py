"""The hosted pay page: everything a buyer needs to pay one request, and then the receipt.

Behind an unguessable token, so it names nothing personal beyond what the buyer already
holds: the GO, its GOM, the order's lines and the payee the GOM publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.db.models import GroupOrder, Order, User
from core.orders import order_views
from core.services.payments import pay_view, request_by_token
from core.uow import UnitOfWork
from core.views import OrderView, PayView
from core.when import local_text


@dataclass(frozen=True)
class PayPage:
    pay: PayView
    gom: str
    order: OrderView  # its lines and total
    due_at: datetime  # the moment the page counts down to
    language: str | None  # the buyer's (core.languages), when they have one
    paid_at: str = ""  # when the request was paid, for the receipt; "" until then

    @property
    def payable(self) -> bool:
        return self.pay.payable


async def pay_page(uow: UnitOfWork, token: str) -> PayPage:
    async with uow:
        request = await request_by_token(uow, token)
        order = await uow.session.get_one(Order, request.order_id)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        gom = await uow.session.scalar(select(User.display_name).where(User.id == go.gom_id))
        language = await uow.session.scalar(select(User.language).where(User.id == order.buyer_id))
        [shown] = await order_views(uow, [order])
        return PayPage(
            pay=await pay_view(uow, go, order, request),
            gom=gom or "",
            order=shown,
            due_at=request.due_at,
            language=language,
            paid_at=local_text(request.paid_at, go.timezone) if request.paid_at else "",
        )


async def pay_status(uow: UnitOfWork, token: str) -> str:
    """The request's status alone, for a page that waits for the payment to arrive."""
    async with uow:
        return (await request_by_token(uow, token)).status
