"""Many buyers at once for delivery tests: rows written in bulk, not through the chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, insert, select

from channels.dispatcher import Dispatcher
from core.app import Core
from core.db.models import (
    BuyerQuota,
    GroupOrder,
    Identity,
    Item,
    Order,
    OrderLine,
    OutboxMessage,
    User,
    Variant,
)
from core.privacy.identities import sealed_address, stored_id


async def seed_buyers(
    core: Core, go_code: str, count: int, channel: str, address: Callable[[int], str]
) -> None:
    """``count`` buyers, each with one placed order of the GO's first item (and version) and
    an identity on ``channel``; the GO's counters hold them, as if each had ordered."""
    async with core.uow() as uow:
        go = await uow.session.scalar(select(GroupOrder).where(GroupOrder.code == go_code))
        assert go is not None
        item = await uow.session.scalar(select(Item).where(Item.go_id == go.id).order_by(Item.position))
        assert item is not None
        variant = await uow.session.scalar(
            select(Variant).where(Variant.item_id == item.id).order_by(Variant.position)
        )
        first = (await uow.session.scalar(select(func.max(User.id))) or 0) + 1
        now = uow.now
        users = [
            {"id": first + i, "display_name": f"fan{i}", "is_gom": False, "created_at": now}
            for i in range(count)
        ]
        identities = [
            {
                "user_id": first + i,
                "channel": channel,
                "external_id": stored_id(channel, address(i)),
                "address": sealed_address(channel, address(i)),
                "handle": f"fan{i}",
                "reachable": True,
                "created_at": now,
                "kind": "person",
            }
            for i in range(count)
        ]
        orders = [
            {
                "number": f"{go.code}-X{first + i}",
                "go_id": go.id,
                "buyer_id": first + i,
                "status": "placed",
                "units": 1,
                "total_minor": item.price_minor,
                "currency": go.currency,
                "channel": channel,
                "placed_at": now,
                "payment_due_at": now + timedelta(hours=48),
                "updated_at": now,
            }
            for i in range(count)
        ]
        for model, rows in ((User, users), (Identity, identities), (Order, orders)):
            for start in range(0, len(rows), 1000):
                await uow.session.execute(insert(model), rows[start : start + 1000])
        order_ids = (
            await uow.session.scalars(
                select(Order.id).where(Order.number.like(f"{go.code}-X%")).order_by(Order.id)
            )
        ).all()[-count:]
        lines = [
            {
                "order_id": order_id,
                "item_id": item.id,
                "variant_id": variant.id if variant else None,
                "quantity": 1,
                "unit_price_minor": item.price_minor,
            }
            for order_id in order_ids
        ]
        quotas = [{"go_id": go.id, "buyer_id": first + i, "reserved": 1} for i in range(count)]
        for start in range(0, count, 1000):
            await uow.session.execute(insert(OrderLine), lines[start : start + 1000])
            await uow.session.execute(insert(BuyerQuota), quotas[start : start + 1000])
        go.capacity = max(go.capacity, go.reserved_units + count)
        go.reserved_units += count
        item.reserved += count
        if variant is not None:
            variant.reserved += count
        await uow.commit()


async def outbox_counts(core: Core, *, broadcasts_only: bool = False) -> dict[str, int]:
    """Outbox rows by status; ``broadcasts_only`` leaves out what a running scheduler adds
    beside a broadcast (the GOM told that the MOQ was reached, say)."""
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if broadcasts_only:
        query = query.where(OutboxMessage.broadcast_id.is_not(None))
    async with core.reader() as uow:
        rows = await uow.session.execute(query)
        return {status: n for status, n in rows.all()}


async def deliver_all(core: Core, dispatcher: Dispatcher, timeout: float) -> float:
    """Run the dispatcher until nothing is pending; returns the seconds it took."""
    started = time.monotonic()
    while True:
        await dispatcher.run_once()
        if not (await outbox_counts(core)).get("pending"):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            async with core.reader() as uow:
                stuck = (
                    await uow.session.execute(
                        select(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.last_error).where(
                            OutboxMessage.status == "pending"
                        )
                    )
                ).all()[:5]
            raise AssertionError(f"still pending after {timeout}s: {await outbox_counts(core)} {stuck}")
        await asyncio.sleep(0.05)
