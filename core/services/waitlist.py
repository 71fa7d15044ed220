"""The waitlist: buyers queue for a sold-out GO or item; freed slots go to them in turn."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db.models import BuyerBan, GroupOrder, Item, Variant, WaitlistEntry
from core.errors import AlreadyWaitlisted, GomflowError, InvalidInput, NotOpenForOrders
from core.lookups import load_go
from core.order_view import view_of
from core.orders import create_order
from core.policy import check_gate
from core.quantities import LineRequest
from core.reservations import ResolvedLine, load_catalogue, resolve_lines
from core.services.accounts import Actor
from core.status import GOStatus, WaitlistStatus
from core.transitions import transition
from core.uow import UnitOfWork
from core.views import WaitlistView


async def join_waitlist(uow: UnitOfWork, buyer: Actor, go_code: str, request: LineRequest) -> WaitlistView:
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        if go.status != GOStatus.OPEN or go.deadline <= uow.now:
            raise NotOpenForOrders(
                "%(code)s is not taking orders, so there is no waitlist to join.", code=go.code
            )
        await check_gate(uow, go, buyer.user_id)  # banned, or not agreed to the GO's policy yet
        (line,) = resolve_lines(go, await load_catalogue(uow.session, go.id), [request])
        if go.per_buyer_limit is not None and line.quantity > go.per_buyer_limit:
            raise InvalidInput(
                "%(code)s allows %(per_buyer_limit)s per buyer.",
                code=go.code,
                per_buyer_limit=go.per_buyer_limit,
            )
        if await _room_for(uow, go, line):
            raise InvalidInput(
                "There is still room: order it with /order %(code)s %(token)s %(quantity)s.",
                code=go.code,
                token=line.token,
                quantity=line.quantity,
            )
        already = await uow.session.scalar(
            select(WaitlistEntry.id).where(
                WaitlistEntry.go_id == go.id,
                WaitlistEntry.buyer_id == buyer.user_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
            )
        )
        if already is not None:
            raise AlreadyWaitlisted(
                "You are already on the %(code)s waitlist (/waitlist shows your place).", code=go.code
            )
        entry = WaitlistEntry(
            go_id=go.id,
            buyer_id=buyer.user_id,
            item_id=line.item_id,
            variant_id=line.variant_id,
            quantity=line.quantity,
            status=WaitlistStatus.WAITING,
            channel=buyer.channel,
            created_at=uow.now,
        )
        uow.session.add(entry)
        await uow.session.flush()
        view = WaitlistView(
            entry.id,
            go.code,
            line.token,
            line.label,
            line.quantity,
            await _position(uow, entry),
            entry.status,
        )
        await uow.commit()
        return view


async def leave_waitlist(uow: UnitOfWork, buyer: Actor, go_code: str) -> None:
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        entry = await uow.session.scalar(
            select(WaitlistEntry).where(
                WaitlistEntry.go_id == go.id,
                WaitlistEntry.buyer_id == buyer.user_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
            )
        )
        if entry is None:
            raise InvalidInput("You are not on the %(code)s waitlist.", code=go.code)
        await transition(uow, entry, WaitlistStatus.LEFT, actor_id=buyer.user_id)
        await uow.commit()


async def my_waitlist(uow: UnitOfWork, buyer: Actor) -> list[WaitlistView]:
    async with uow:
        rows = (
            await uow.session.execute(
                select(WaitlistEntry, GroupOrder.code, Item.code, Item.name, Variant.code, Variant.name)
                .join(GroupOrder, GroupOrder.id == WaitlistEntry.go_id)
                .join(Item, Item.id == WaitlistEntry.item_id)
                .outerjoin(Variant, Variant.id == WaitlistEntry.variant_id)
                .where(
                    WaitlistEntry.buyer_id == buyer.user_id,
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                )
                .order_by(WaitlistEntry.id)
            )
        ).all()
        return [
            WaitlistView(
                entry.id,
                go_code,
                f"{item_code}:{v_code}" if v_code else item_code,
                f"{item_name} ({v_name})" if v_name else item_name,
                entry.quantity,
                await _position(uow, entry),
                entry.status,
            )
            for entry, go_code, item_code, item_name, v_code, v_name in rows
        ]


async def promote_waitlist(uow: UnitOfWork, go: GroupOrder) -> int:
    """Offer freed slots to waiting buyers, first come first served among those that fit.

    The caller holds the GO's row lock (it just freed the slots), so two promotions take
    turns. Each attempt runs in a savepoint: one buyer who no longer fits (stock of their item
    still gone, their own limit reached) is skipped without undoing the others.
    """
    if go.status != GOStatus.OPEN:
        return 0
    entries = (
        await uow.session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.go_id == go.id, WaitlistEntry.status == WaitlistStatus.WAITING)
            .order_by(WaitlistEntry.id)
        )
    ).all()
    banned = set(
        (await uow.session.scalars(select(BuyerBan.buyer_id).where(BuyerBan.gom_id == go.gom_id))).all()
    )
    promoted = 0
    for entry in entries:
        if entry.buyer_id in banned:  # banned since they queued: passed over, told nothing
            continue
        left = await uow.session.scalar(
            select(GroupOrder.capacity - GroupOrder.reserved_units).where(GroupOrder.id == go.id)
        )
        if not left:
            break
        line = await _line_for(uow, entry)
        try:
            async with uow.session.begin_nested():
                order = await create_order(uow, go, entry.buyer_id, entry.channel, [line])
        except GomflowError:
            continue
        await transition(uow, entry, WaitlistStatus.PROMOTED, actor_id=None, detail=order.number)
        entry.order_id = order.id
        view = view_of(go, order, [line], "")
        await uow.notify_user(
            entry.buyer_id,
            "waitlist_promoted",
            {
                "number": view.number,
                "go_code": go.code,
                "go_title": go.title,
                "total": view.total,
                "payment_due": view.payment_due,
                "lines": [f"{x.quantity} × {x.label}" for x in view.lines],
            },
            dedupe_key=f"waitlist_promoted:{entry.id}",
            prefer_channel=entry.channel,
            priority=0,
        )
        promoted += 1
    return promoted


async def _line_for(uow: UnitOfWork, entry: WaitlistEntry) -> ResolvedLine:
    item = await uow.session.get_one(Item, entry.item_id)
    variant = await uow.session.get(Variant, entry.variant_id) if entry.variant_id else None
    label = f"{item.name} ({variant.name})" if variant else item.name
    token = f"{item.code}:{variant.code}" if variant else item.code
    own = variant.price_minor if variant is not None else None
    price = item.price_minor if own is None else own
    return ResolvedLine(item.id, entry.variant_id, entry.quantity, price, label, token)


async def _room_for(uow: UnitOfWork, go: GroupOrder, line: ResolvedLine) -> bool:
    if go.capacity - go.reserved_units < line.quantity:
        return False
    for model, row_id in ((Item, line.item_id), (Variant, line.variant_id)):
        if row_id is None:
            continue
        stock, reserved = (
            await uow.session.execute(select(model.stock, model.reserved).where(model.id == row_id))
        ).one()
        if stock is not None and stock - reserved < line.quantity:
            return False
    return True


async def _position(uow: UnitOfWork, entry: WaitlistEntry) -> int:
    ahead = await uow.session.scalar(
        select(func.count()).where(
            WaitlistEntry.go_id == entry.go_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.id < entry.id,
        )
    )
    return int(ahead or 0) + 1
