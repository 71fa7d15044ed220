"""Duplicating a GO for the next drop: its set-up, never its orders.

A GOM runs the same kind of GO again and again (the next comeback, the next restock).
``/copygo OLD NEW`` makes a draft with the old GO's words, limits, items, versions,
prices, stock and payment methods; nothing of its orders, reservations or waitlist.
Retired items and versions stay behind: they were retired for a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.db.models import Item, PaymentSettings, Variant
from core.lookups import load_go
from core.services.accounts import Actor, require_admin
from core.services.group_orders import add_draft, normalise_go_code
from core.uow import UnitOfWork


@dataclass(frozen=True)
class CopiedGO:
    code: str
    source: str
    items: int
    deadline_passed: bool  # the old deadline is kept; a passed one must be moved before /open


async def copy_group_order(uow: UnitOfWork, actor: Actor, old_code: str, new_code: str) -> CopiedGO:
    code = normalise_go_code(new_code)
    async with uow:
        old = await load_go(uow, old_code)
        await require_admin(uow, actor, old)
        go = await add_draft(
            uow,
            actor.user_id,
            detail=f"copied from {old.code}",
            code=code,
            gom_id=old.gom_id,
            title=old.title,
            description=old.description,
            currency=old.currency,
            timezone=old.timezone,
            moq=old.moq,
            capacity=old.capacity,
            per_buyer_limit=old.per_buyer_limit,
            deadline=old.deadline,
            payment_window_hours=old.payment_window_hours,
        )
        items = await _copy_items(uow, old.id, go.id)
        settings = await uow.session.get(PaymentSettings, old.id)
        if settings is not None:
            uow.session.add(PaymentSettings(go_id=go.id, methods=settings.methods, updated_at=uow.now))
        await uow.commit()
        return CopiedGO(code, old.code, items, old.deadline <= uow.now)


async def _copy_items(uow: UnitOfWork, old_id: int, new_id: int) -> int:
    """Every item and version still offered, with prices and stock, nothing reserved."""
    items = (
        await uow.session.scalars(
            select(Item)
            .where(Item.go_id == old_id, Item.retired.is_(False))
            .options(selectinload(Item.variants))
            .order_by(Item.position)
        )
    ).all()
    for position, item in enumerate(items):
        copy = Item(
            go_id=new_id,
            code=item.code,
            name=item.name,
            price_minor=item.price_minor,
            stock=item.stock,
            reserved=0,
            position=position,
        )
        uow.session.add(copy)
        await uow.session.flush()
        uow.session.add_all(
            Variant(
                item_id=copy.id,
                code=variant.code,
                name=variant.name,
                price_minor=variant.price_minor,
                stock=variant.stock,
                reserved=0,
                position=index,
            )
            for index, variant in enumerate(v for v in item.variants if not v.retired)
        )
    return len(items)
