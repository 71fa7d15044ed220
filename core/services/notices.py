"""Telling buyers about their group order: queued in the outbox, sent after commit."""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import GroupOrder, Order
from core.status import ORDER_LIVE
from core.uow import UnitOfWork
from core.when import local_text


def go_context(go: GroupOrder) -> dict[str, str | int]:
    return {
        "code": go.code,
        "title": go.title,
        "status": go.status,
        "deadline": local_text(go.deadline, go.timezone),
        "reserved": go.reserved_units,
        "moq": go.moq,
        "capacity": go.capacity,
    }


async def notify_go_buyers(uow: UnitOfWork, go: GroupOrder, template: str) -> int:
    """One message per buyer holding a live order in the GO; returns how many were queued."""
    rows = (
        await uow.session.execute(
            select(Order.buyer_id, Order.channel)
            .where(Order.go_id == go.id, Order.status.in_(ORDER_LIVE))
            .order_by(Order.id)
        )
    ).all()
    seen: set[int] = set()
    context = go_context(go)
    for buyer_id, channel in rows:
        if buyer_id in seen:
            continue
        seen.add(buyer_id)
        await uow.notify_user(
            buyer_id,
            template,
            context,
            prefer_channel=channel,
            dedupe_key=f"{template}:{go.id}:{go.status}:{buyer_id}",
        )
    return len(seen)
