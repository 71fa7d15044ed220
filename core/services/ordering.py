"""A buyer's use cases: place, change and cancel an order, and see their orders."""

from __future__ import annotations

from sqlalchemy import select

from core.choices import OrderChoices, order_choices
from core.db.models import BuyerQuota, GroupOrder, Order, User
from core.desk import PlaceOrder, SenderUnknown
from core.errors import InvalidInput, OrderLocked, PermissionDenied
from core.lookups import load_order
from core.order_view import view_of
from core.orders import end_order, held_lines, order_views, replace_lines
from core.payments import terms
from core.payments.ledger import lock_for_change
from core.quantities import LineRequest
from core.reservations import load_catalogue, release, reserve, resolve_lines
from core.services.accounts import Actor, Caller, caller_plan, identify_caller, require_admin
from core.services.waitlist import promote_waitlist
from core.status import ORDER_LIVE, OrderStatus
from core.uow import UnitOfWork
from core.views import GroupOrderView, OrderView


async def place_order(
    uow: UnitOfWork,
    buyer: Actor | Caller,
    go_code: str,
    requests: list[LineRequest],
    expected_prices: dict[str, int] | None = None,
    claim: tuple[str, str] | None = None,
    placed_by: Actor | None = None,
    new_buyer: str | None = None,
) -> OrderView:
    """Place an order through the order desk (group commit).

    ``buyer`` may be a ``Caller`` not yet looked up: the desk looks them up (signing up a
    first contact) in the order's own batch, so the order costs one trip to the desk; a
    first contact whose address is sealed is identified first, then the order is placed.
    ``expected_prices`` (by token, ``ALB`` or ``ALB:A``) are the prices the buyer was
    shown; if one has changed the order is refused with ``PriceChanged``, never placed
    at a price they did not see. ``claim`` (source, id) is recorded with the order, so a
    repeated request (a double tap) is refused with ``AlreadyClaimed``.
    """
    if not requests:
        raise InvalidInput("Say what to order: /order CODE ITEM QTY, e.g. /order SVT-FML ALB:A 1.")
    prices = tuple(sorted((expected_prices or {}).items()))
    if isinstance(buyer, Caller):
        caller = buyer
        try:
            return await uow.desk.place(
                PlaceOrder(
                    0,
                    "",
                    caller.channel,
                    go_code,
                    tuple(requests),
                    prices,
                    claim,
                    who=lambda now: caller_plan(caller, now),
                )
            )
        except SenderUnknown:
            buyer = await identify_caller(uow, caller)
    return await uow.desk.place(
        PlaceOrder(
            buyer.user_id,
            buyer.name,
            buyer.channel,
            go_code,
            tuple(requests),
            prices,
            claim,
            identity_id=buyer.identity_id or None,
            placed_by=(placed_by.user_id, placed_by.name) if placed_by else None,
            new_buyer=new_buyer,
            language=buyer.language,
        )
    )


async def choices_for(uow: UnitOfWork, card: GroupOrderView, buyer_id: int | None) -> OrderChoices:
    """What this buyer may order from ``card`` now (``core.choices``), for every platform.

    The units the buyer already holds are read only when the GO has a per-buyer limit,
    so offering choices costs nothing beyond the card in the common case.
    """
    async with uow:
        held = None
        if card.per_buyer_limit is not None and buyer_id is not None:
            mine = (BuyerQuota.go_id == card.id) & (BuyerQuota.buyer_id == buyer_id)
            held = await uow.session.scalar(select(BuyerQuota.reserved).where(mine))
        return order_choices(card, uow.now, int(held or 0))


async def change_order(uow: UnitOfWork, buyer: Actor, number: str, requests: list[LineRequest]) -> OrderView:
    """Replace the lines of an unpaid order; all or nothing, the old lines stand on refusal."""
    if not requests:
        raise InvalidInput("Give the new lines: /change ORDER ITEM QTY [ITEM QTY …].")
    async with uow:
        order = await _own_order(uow, buyer, number)
        owner = await uow.session.get_one(User, order.buyer_id)
        _require_changeable(order)
        await lock_for_change(uow, order)  # refuses while a proof waits for review
        go = await uow.session.get_one(GroupOrder, order.go_id)  # locked by _own_order
        lines = resolve_lines(go, await load_catalogue(uow.session, go.id), requests)
        old_units = order.units
        await release(uow.session, go.id, order.buyer_id, await held_lines(uow, order))
        await reserve(uow.session, go, order.buyer_id, lines, uow.now, new_order=False)
        await replace_lines(uow, order, lines)
        # priced again at the GO's current prices: the order now keeps the current rate and fee
        await terms.forget(uow, order)
        uow.audit(
            actor_id=buyer.user_id,
            entity="order",
            entity_id=order.id,
            action="changed",
            detail=f"{old_units} -> {order.units} units"
            + ("" if owner.id == buyer.user_id else f", by {buyer.name} for {owner.display_name}"),
        )
        if order.units < old_units:
            await promote_waitlist(uow, go)
        await uow.commit()
        return view_of(go, order, lines, owner.display_name)


async def cancel_order(uow: UnitOfWork, actor: Actor, number: str) -> OrderView:
    """The buyer cancels until paid; the GO's GOM or helpers may cancel any live order."""
    async with uow:
        order = await load_order(uow, number, lock=True)
        go = await uow.session.get_one(GroupOrder, order.go_id)  # locked with the order
        if order.buyer_id != actor.user_id:
            await require_admin(uow, actor, go)
        elif order.status == OrderStatus.PAID:
            raise OrderLocked("%(number)s is paid; ask the GOM for a refund instead.", number=order.number)
        _require_live(order)
        await end_order(uow, order, OrderStatus.CANCELLED, actor.user_id, reason="cancelled")
        await promote_waitlist(uow, go)
        view = (await order_views(uow, [order]))[0]
        await uow.commit()
        return view


async def my_orders(uow: UnitOfWork, buyer: Actor, include_ended: bool = False) -> list[OrderView]:
    async with uow:
        return await order_views_of(uow, buyer, include_ended)


async def order_views_of(uow: UnitOfWork, buyer: Actor, include_ended: bool) -> list[OrderView]:
    """The buyer's latest orders, newest first, inside the caller's unit of work."""
    query = select(Order).where(Order.buyer_id == buyer.user_id).order_by(Order.id.desc()).limit(50)
    if not include_ended:
        query = query.where(Order.status.in_(ORDER_LIVE))
    return await order_views(uow, list((await uow.session.scalars(query)).all()))


async def end_live_orders(uow: UnitOfWork, go: GroupOrder, actor_id: int | None, reason: str) -> int:
    """Unwind every live order of a GO that will not go ahead (failed MOQ, cancelled)."""
    orders = (
        await uow.session.scalars(
            select(Order).where(Order.go_id == go.id, Order.status.in_(ORDER_LIVE)).order_by(Order.id)
        )
    ).all()
    for order in orders:
        await end_order(uow, order, OrderStatus.CANCELLED, actor_id, reason=reason)
    return len(orders)


async def _own_order(uow: UnitOfWork, buyer: Actor, number: str) -> Order:
    """The buyer's order, locked (with its GO) for a change: two changes take turns. The
    GO's GOM and helpers may change it for the buyer (one who wrote to them elsewhere)."""
    order = await load_order(uow, number, lock=True)
    if order.buyer_id != buyer.user_id:
        if not buyer.may_administer:
            raise PermissionDenied("%(number)s is not your order.", number=order.number)
        await require_admin(uow, buyer, await uow.session.get_one(GroupOrder, order.go_id))
    return order


def _require_live(order: Order) -> None:
    if order.status not in ORDER_LIVE:
        raise OrderLocked("%(number)s is already %(status)s.", number=order.number, status=order.status)


def _require_changeable(order: Order) -> None:
    _require_live(order)
    if order.status == OrderStatus.PAID:
        raise OrderLocked("%(number)s is paid and can no longer be changed.", number=order.number)
