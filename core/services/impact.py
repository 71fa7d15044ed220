"""What closing or cancelling a GO would do, shown to the GOM before it is done.

Closing early, closing below the MOQ and cancelling cannot be undone, so the GOM first
sees how many orders and how much money they touch and confirms with a second command
(a button where the platform has them). The preview is only words: the action checks
everything again under its own lock, and a second tap on confirm finds the GO already
moved and is refused by the compare-and-set on its status.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core.db.models import Order
from core.lookups import load_go
from core.money import format_money
from core.services.accounts import Actor, require_admin
from core.status import ORDER_LIVE, GOStatus, OrderStatus
from core.uow import UnitOfWork
from core.when import local_text


@dataclass(frozen=True)
class GoImpact:
    code: str
    title: str
    status: str
    deadline: str
    before_deadline: bool
    live_orders: int
    units: int
    total: str  # what the live orders owe together
    paid_orders: int
    paid: str  # what the paid ones paid: refunded if the GO does not go ahead
    moq: int

    @property
    def moq_reached(self) -> bool:
        return self.units >= self.moq

    @property
    def asks_first(self) -> bool:
        """Closing asks for confirmation while the GO is open and its deadline is ahead, or
        while it waits below its MOQ for the GOM's decision."""
        return (self.status == GOStatus.OPEN and self.before_deadline) or self.waiting

    @property
    def waiting(self) -> bool:
        return self.status == GOStatus.CLOSED


async def go_impact(uow: UnitOfWork, actor: Actor, go_code: str) -> GoImpact:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        live = Order.go_id == go.id, Order.status.in_(ORDER_LIVE)
        count, units, total = (
            await uow.session.execute(
                select(func.count(Order.id), func.sum(Order.units), func.sum(Order.total_minor)).where(*live)
            )
        ).one()
        paid = Order.go_id == go.id, Order.status == OrderStatus.PAID
        paid_count, paid_total = (
            await uow.session.execute(select(func.count(Order.id), func.sum(Order.total_minor)).where(*paid))
        ).one()
        return GoImpact(
            code=go.code,
            title=go.title,
            status=go.status,
            deadline=local_text(go.deadline, go.timezone),
            before_deadline=go.deadline > uow.now,
            live_orders=int(count),
            units=int(units or 0),
            total=format_money(int(total or 0), go.currency),
            paid_orders=int(paid_count),
            paid=format_money(int(paid_total or 0), go.currency),
            moq=go.moq,
        )
