"""Finding the rows people name in chat, with the answer to give when there is none.

A writer that will change what it finds asks for ``lock=True``. Rows are then locked in
one global order — group order, then order (then payment request, payment, proof or
refund) — so that on PostgreSQL two commands on the same order wait for each other
instead of both acting on what they read, and never deadlock. The locked row is read
afresh, so its status is the one the winner left behind. SQLite ignores ``FOR UPDATE``:
its writers are serialised by ``BEGIN IMMEDIATE`` and the in-process write lock.
"""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import GroupOrder, Order
from core.errors import UnknownGroupOrder, UnknownOrder
from core.uow import UnitOfWork


async def load_go(uow: UnitOfWork, go_code: str, *, lock: bool = False) -> GroupOrder:
    code = go_code.strip().upper()
    query = select(GroupOrder).where(GroupOrder.code == code)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    go = await uow.session.scalar(query) if code else None
    if go is None:
        raise UnknownGroupOrder(
            "There is no group order %(code)s. /browse lists open ones.", code=code[:20] or "(none given)"
        )
    return go


async def lock_go(uow: UnitOfWork, go_id: int) -> GroupOrder:
    """Lock a group order row (a no-op when this transaction holds it already)."""
    return await uow.session.get_one(GroupOrder, go_id, with_for_update=True, populate_existing=True)


async def load_order(uow: UnitOfWork, number: str, *, lock: bool = False) -> Order:
    cleaned = number.strip().upper().lstrip("#")
    order = await uow.session.scalar(select(Order).where(Order.number == cleaned)) if cleaned else None
    if order is None:
        raise UnknownOrder(
            "There is no order %(number)s. /myorders lists yours.", number=cleaned[:32] or "(none given)"
        )
    return await lock_order(uow, order.id) if lock else order


async def lock_order(uow: UnitOfWork, order_id: int) -> Order:
    """Lock the order's group order, then the order, and return the order as it is now."""
    go_id = await uow.session.scalar(select(Order.go_id).where(Order.id == order_id))
    if go_id is None:
        raise UnknownOrder("That order no longer exists.")
    await lock_go(uow, go_id)
    return await uow.session.get_one(Order, order_id, with_for_update=True, populate_existing=True)
