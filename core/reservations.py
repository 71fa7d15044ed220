"""Taking and giving back slots, stock and per-buyer quota — the only code that races.

Each limit is checked and taken by one conditional UPDATE on the row that holds it, in a
fixed order (group order, items, variants, buyer quota), so concurrent buyers serialise
on the group order row and can never deadlock or oversell (DESIGN rule 4). A refusal
raises; the caller's transaction (or savepoint) rolls back whatever was already taken.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.db.models import BuyerQuota, GroupOrder, Item, Variant
from core.db.upsert import insert_ignoring_conflict
from core.errors import (
    BuyerLimitReached,
    CapacityFull,
    DeadlinePassed,
    InvalidInput,
    NotOpenForOrders,
    OutOfStock,
    UnknownItem,
)
from core.quantities import LineRequest
from core.status import GOStatus

NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class ResolvedLine:
    item_id: int
    variant_id: int | None
    quantity: int
    unit_price_minor: int
    label: str = ""
    token: str = ""


async def load_catalogue(session: AsyncSession, go_id: int) -> list[Item]:
    return list(
        (
            await session.scalars(
                select(Item)
                .where(Item.go_id == go_id)
                .options(selectinload(Item.variants))
                .order_by(Item.position)
            )
        ).all()
    )


def resolve_lines(go: GroupOrder, items: list[Item], requests: list[LineRequest]) -> list[ResolvedLine]:
    """Match typed codes to the GO's items; merge repeats of the same item and variant."""
    by_code = {item.code: item for item in items}
    merged: dict[tuple[int, int | None], ResolvedLine] = {}
    for request in requests:
        item = by_code.get(request.item_code)
        if item is None:
            known = ", ".join(by_code) or "none yet"
            raise UnknownItem(f"{go.code} has no item {request.item_code} (items: {known}).")
        variant = _pick_variant(item, request.variant_code)
        key = (item.id, variant.id if variant else None)
        label = f"{item.name} ({variant.name})" if variant else item.name
        token = f"{item.code}:{variant.code}" if variant else item.code
        previous = merged.get(key)
        quantity = request.quantity + (previous.quantity if previous else 0)
        merged[key] = ResolvedLine(item.id, key[1], quantity, item.price_minor, label, token)
    return list(merged.values())


def _pick_variant(item: Item, code: str | None) -> Variant | None:
    if not item.variants:
        if code is not None:
            raise InvalidInput(f"{item.code} ({item.name}) has no versions; order it as {item.code}.")
        return None
    choices = ", ".join(f"{item.code}:{v.code}" for v in item.variants)
    if code is None:
        raise InvalidInput(f"{item.name} comes in versions; pick one: {choices}.")
    for variant in item.variants:
        if variant.code == code:
            return variant
    raise UnknownItem(f"{item.name} has no version {code} (choose from {choices}).")


async def reserve(
    session: AsyncSession,
    go: GroupOrder,
    buyer_id: int,
    lines: list[ResolvedLine],
    now: datetime,
    *,
    new_order: bool = True,
) -> int:
    """Take every limit the lines need; returns the GO's order sequence number.

    A new order takes the next number; changing an order keeps its own.
    """
    units = sum(line.quantity for line in lines)
    seq = (
        await session.execute(
            update(GroupOrder)
            .where(
                GroupOrder.id == go.id,
                GroupOrder.status == GOStatus.OPEN,
                GroupOrder.deadline > now,
                GroupOrder.reserved_units + units <= GroupOrder.capacity,
            )
            .values(
                reserved_units=GroupOrder.reserved_units + units,
                order_seq=GroupOrder.order_seq + (1 if new_order else 0),
            )
            .returning(GroupOrder.order_seq)
            .execution_options(**NO_SYNC)
        )
    ).scalar()
    if seq is None:
        await _explain_group_order_refusal(session, go, units, now)
    for item_id, quantity in _totals(lines, by_variant=False):
        await _take_stock(session, Item, item_id, quantity)
    for variant_id, quantity in _totals(lines, by_variant=True):
        await _take_stock(session, Variant, variant_id, quantity)
    await _take_quota(session, go, buyer_id, units)
    assert seq is not None
    return int(seq)


async def release(session: AsyncSession, go_id: int, buyer_id: int, lines: list[ResolvedLine]) -> None:
    """Give back what ``reserve`` took; unconditional, the order held it."""
    units = sum(line.quantity for line in lines)
    await session.execute(
        update(GroupOrder)
        .where(GroupOrder.id == go_id)
        .values(reserved_units=GroupOrder.reserved_units - units)
        .execution_options(**NO_SYNC)
    )
    for model, by_variant in ((Item, False), (Variant, True)):
        for row_id, quantity in _totals(lines, by_variant=by_variant):
            await session.execute(
                update(model)
                .where(model.id == row_id)
                .values(reserved=model.reserved - quantity)
                .execution_options(**NO_SYNC)
            )
    await session.execute(
        update(BuyerQuota)
        .where(BuyerQuota.go_id == go_id, BuyerQuota.buyer_id == buyer_id)
        .values(reserved=BuyerQuota.reserved - units)
        .execution_options(**NO_SYNC)
    )


def _totals(lines: list[ResolvedLine], *, by_variant: bool) -> list[tuple[int, int]]:
    """Quantities per row id, in id order so every transaction locks rows alike."""
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        key = line.variant_id if by_variant else line.item_id
        if key is not None:
            totals[key] += line.quantity
    return sorted(totals.items())


async def _take_stock(
    session: AsyncSession, model: type[Item] | type[Variant], row_id: int, quantity: int
) -> None:
    result = await session.execute(
        update(model)
        .where(
            model.id == row_id,
            (model.stock.is_(None)) | (model.reserved + quantity <= model.stock),
        )
        .values(reserved=model.reserved + quantity)
        .execution_options(**NO_SYNC)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        row = (
            await session.execute(select(model.name, model.stock, model.reserved).where(model.id == row_id))
        ).one()
        left = max(0, (row.stock or 0) - row.reserved)
        if left == 0:
            raise OutOfStock(f"{row.name} is sold out. Use /waitlist to queue for a freed slot.")
        raise OutOfStock(f"Only {left} of {row.name} left; you asked for {quantity}.")


async def _take_quota(session: AsyncSession, go: GroupOrder, buyer_id: int, units: int) -> None:
    await session.execute(
        insert_ignoring_conflict(
            session,
            BuyerQuota,
            {"go_id": go.id, "buyer_id": buyer_id, "reserved": 0},
            ["go_id", "buyer_id"],
        )
    )
    condition = [BuyerQuota.go_id == go.id, BuyerQuota.buyer_id == buyer_id]
    if go.per_buyer_limit is not None:
        condition.append(BuyerQuota.reserved + units <= go.per_buyer_limit)
    result = await session.execute(
        update(BuyerQuota)
        .where(*condition)
        .values(reserved=BuyerQuota.reserved + units)
        .execution_options(**NO_SYNC)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        held = await session.scalar(
            select(BuyerQuota.reserved).where(BuyerQuota.go_id == go.id, BuyerQuota.buyer_id == buyer_id)
        )
        left = max(0, (go.per_buyer_limit or 0) - (held or 0))
        raise BuyerLimitReached(
            f"{go.code} allows {go.per_buyer_limit} per buyer; you hold {held or 0}, "
            f"so you can add {left} more."
        )


async def _explain_group_order_refusal(
    session: AsyncSession, go: GroupOrder, units: int, now: datetime
) -> None:
    row = (
        await session.execute(
            select(
                GroupOrder.status,
                GroupOrder.deadline,
                GroupOrder.reserved_units,
                GroupOrder.capacity,
            ).where(GroupOrder.id == go.id)
        )
    ).one()
    if row.status != GOStatus.OPEN:
        raise NotOpenForOrders(f"{go.code} is {row.status}, not taking orders.")
    if row.deadline <= now:
        raise DeadlinePassed(f"{go.code} closed for orders at its deadline.")
    left = row.capacity - row.reserved_units
    if left <= 0:
        raise CapacityFull(f"{go.code} is full. Use /waitlist {go.code} ITEM QTY to queue for a freed slot.")
    raise CapacityFull(f"Only {left} slot(s) left in {go.code}; you asked for {units}.")
