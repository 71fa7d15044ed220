"""A drop: hundreds of buyers order the same GO at once, through the whole chat path."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import func, select

from core.db.models import BuyerQuota, GroupOrder, Item, Order, OrderLine
from main import App
from tests.conftest import open_go, say

BUYERS = 300
CAPACITY = 100
PER_BUYER = 2
POB_STOCK = 40
CLEAR_REFUSALS = ("is full", "slot(s) left", "sold out", "left; you asked", "per buyer")


async def test_three_hundred_concurrent_buyers_never_oversell(any_app: App) -> None:
    app = any_app
    await open_go(
        app,
        moq=10,
        cap=CAPACITY,
        limit=PER_BUYER,
        items=('ALB 25.90 "FML album"', f'POB 3 "Photocard" stock={POB_STOCK}'),
    )
    rng = random.Random(7)
    wishes = [rng.choice(["POB 1 ALB 1", "POB 2", "ALB 2", "ALB 1", "POB 1"]) for _ in range(BUYERS)]
    # the first 20 buyers also fire a second order at the same instant, to race their own limit
    messages = [(f"fan{i}", f"/order SVT-FML {wish}") for i, wish in enumerate(wishes)]
    messages += [(f"fan{i}", "/order SVT-FML ALB 2") for i in range(20)]
    rng.shuffle(messages)

    replies = await asyncio.gather(*(say(app, who, text) for who, text in messages))

    placed = [r for r in replies if r.text.startswith("✅ Order placed!")]
    refused = [r for r in replies if not r.text.startswith("✅")]
    assert len(placed) + len(refused) == len(messages)
    for reply in refused:
        assert reply.text.startswith("⚠️") and any(f in reply.text for f in CLEAR_REFUSALS), reply.text
    assert placed and refused

    async with app.core.reader() as uow:
        s = uow.session
        go = await s.scalar(select(GroupOrder).where(GroupOrder.code == "SVT-FML"))
        assert go is not None
        live_units = await s.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.go_id == go.id)
        )
        pob = await s.scalar(select(Item).where(Item.code == "POB"))
        pob_lines = (
            await s.scalar(
                select(func.coalesce(func.sum(OrderLine.quantity), 0)).where(OrderLine.item_id == pob.id)
            )
            if pob
            else None
        )
        per_buyer = (
            await s.execute(select(Order.buyer_id, func.sum(Order.units)).group_by(Order.buyer_id))
        ).all()
        quotas = dict((await s.execute(select(BuyerQuota.buyer_id, BuyerQuota.reserved))).all())
        orders = await s.scalar(select(func.count()).select_from(Order))

    assert pob is not None
    assert go.reserved_units == live_units <= CAPACITY
    assert pob.reserved == pob_lines <= POB_STOCK
    assert all(units <= PER_BUYER for _, units in per_buyer)
    assert all(quotas[buyer_id] == units for buyer_id, units in per_buyer)
    assert orders == len(placed)
    assert go.reserved_units == CAPACITY  # demand far exceeds supply: every slot is taken
