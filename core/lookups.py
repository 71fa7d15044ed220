"""Finding the rows people name in chat, with the answer to give when there is none."""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import GroupOrder, Order
from core.errors import UnknownGroupOrder, UnknownOrder
from core.uow import UnitOfWork


async def load_go(uow: UnitOfWork, go_code: str) -> GroupOrder:
    code = go_code.strip().upper()
    go = await uow.session.scalar(select(GroupOrder).where(GroupOrder.code == code)) if code else None
    if go is None:
        raise UnknownGroupOrder(
            f"There is no group order {code[:20] or '(none given)'}. /browse lists open ones."
        )
    return go


async def load_order(uow: UnitOfWork, number: str) -> Order:
    cleaned = number.strip().upper().lstrip("#")
    order = await uow.session.scalar(select(Order).where(Order.number == cleaned)) if cleaned else None
    if order is None:
        raise UnknownOrder(f"There is no order {cleaned[:32] or '(none given)'}. /myorders lists yours.")
    return order
