"""Creating and unwinding orders; shared by ordering and waitlist promotion."""

from __future__ import annotations

from sqlalchemy import delete, select

from core.db.models import GroupOrder, InclusionRanking, Item, Order, OrderLine, User, Variant
from core.db.raw import run_session
from core.lookups import lock_go
from core.money import format_money
from core.payments import terms
from core.payments.ledger import on_order_ended
from core.payments.parts import fee_for_line
from core.reservations import GoFacts, PlacedOrder, ResolvedLine, place_plan, release
from core.status import OrderStatus
from core.transitions import transition
from core.uow import UnitOfWork
from core.views import LineView, OrderView
from core.when import local_text


def facts_of(go: GroupOrder) -> GoFacts:
    return GoFacts(
        go.id,
        go.code,
        go.title,
        go.currency,
        go.timezone,
        go.per_buyer_limit,
        go.payment_window_hours,
        catalogue_version=go.catalogue_version,
    )


async def create_order(
    uow: UnitOfWork, go: GroupOrder, buyer_id: int, channel: str, lines: list[ResolvedLine]
) -> PlacedOrder:
    """Reserve, then write the order and its lines; raises (and writes nothing) on refusal.

    For orders placed inside a wider unit of work (waitlist promotion); buyers' own
    orders go through the order desk, which runs the same plan in batches.
    """
    return await run_session(uow.session, place_plan(facts_of(go), buyer_id, channel, lines, uow.now))


async def held_lines(uow: UnitOfWork, order: Order) -> list[ResolvedLine]:
    rows = (await uow.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    return [ResolvedLine(r.item_id, r.variant_id, r.quantity, r.unit_price_minor) for r in rows]


async def replace_lines(uow: UnitOfWork, order: Order, lines: list[ResolvedLine]) -> None:
    """Write the order's new lines; a buyer's ranking of an item's inclusions stays with
    the item's new lines."""
    rows = await uow.session.execute(
        select(OrderLine.item_id, InclusionRanking.ranking)
        .join(InclusionRanking, InclusionRanking.line_id == OrderLine.id)
        .where(OrderLine.order_id == order.id)
    )
    ranked = {item_id: ranking for item_id, ranking in rows.all()}
    await uow.session.execute(delete(OrderLine).where(OrderLine.order_id == order.id))
    written = [
        OrderLine(
            order_id=order.id,
            item_id=line.item_id,
            variant_id=line.variant_id,
            quantity=line.quantity,
            unit_price_minor=line.unit_price_minor,
        )
        for line in lines
    ]
    uow.session.add_all(written)
    if ranked:
        await uow.session.flush()
        uow.session.add_all(
            InclusionRanking(line_id=row.id, ranking=ranked[row.item_id], updated_at=uow.now)
            for row in written
            if row.item_id in ranked
        )
    order.units = sum(line.quantity for line in lines)
    order.total_minor = sum(line.quantity * line.unit_price_minor for line in lines)
    order.updated_at = uow.now


async def end_order(
    uow: UnitOfWork, order: Order, target: OrderStatus, actor_id: int | None, reason: str = ""
) -> None:
    """Move a live order to a final status and give back everything it held.

    The status changes first, as a compare-and-set: only the command that wins it reads
    the lines and releases them, so two at once can never release twice.
    """
    await lock_go(uow, order.go_id)
    await transition(uow, order, target, actor_id=actor_id, detail=reason)
    await release(uow.session, order.go_id, order.buyer_id, await held_lines(uow, order))
    await on_order_ended(uow, order, actor_id, reason)


async def order_views(uow: UnitOfWork, orders: list[Order]) -> list[OrderView]:
    """Read models for many orders, with one query each for their lines, GOs and buyers."""
    if not orders:
        return []
    by_id = {o.id: o for o in orders}
    rows = (
        await uow.session.execute(
            select(
                OrderLine.order_id,
                OrderLine.quantity,
                OrderLine.unit_price_minor,
                Item.code,
                Item.name,
                Variant.code,
                Variant.name,
            )
            .join(Item, Item.id == OrderLine.item_id)
            .outerjoin(Variant, Variant.id == OrderLine.variant_id)
            .where(OrderLine.order_id.in_(by_id))
            .order_by(OrderLine.id)
        )
    ).all()
    gos = {
        go.id: go
        for go in (
            await uow.session.scalars(select(GroupOrder).where(GroupOrder.id.in_({o.go_id for o in orders})))
        ).all()
    }
    buyers: dict[int, str] = {
        user_id: name
        for user_id, name in (
            await uow.session.execute(
                select(User.id, User.display_name).where(User.id.in_({o.buyer_id for o in orders}))
            )
        ).all()
    }
    locked: dict[int, terms.Terms] = {}
    for go in gos.values():
        locked |= await terms.terms_by_order(uow, go, [o.id for o in orders if o.go_id == go.id])
    fees: dict[int, int] = dict.fromkeys(by_id, 0)
    lines: dict[int, list[LineView]] = {order_id: [] for order_id in by_id}
    for order_id, qty, price, item_code, item_name, variant_code, variant_name in rows:
        held = locked[order_id]
        fees[order_id] += fee_for_line(qty, price, held.fee_fixed_minor, held.fee_bp)
        lines[order_id].append(
            LineView(
                label=f"{item_name} ({variant_name})" if variant_name else item_name,
                token=f"{item_code}:{variant_code}" if variant_code else item_code,
                quantity=qty,
                amount=format_money(qty * price, by_id[order_id].currency),
            )
        )
    return [
        OrderView(
            number=o.number,
            go_code=gos[o.go_id].code,
            go_title=gos[o.go_id].title,
            status=o.status,
            units=o.units,
            total=format_money(o.total_minor, o.currency),
            payment_due=local_text(o.payment_due_at, gos[o.go_id].timezone),
            buyer=buyers.get(o.buyer_id, "?"),
            lines=lines[o.id],
            money_lines=_money_lines(o, locked[o.id], fees[o.id]),
        )
        for o in orders
    ]


def _money_lines(order: Order, held: terms.Terms, fee: int) -> list[str]:
    said = []
    if fee:
        owed = format_money(order.total_minor + fee, order.currency)
        said.append(f"GOM fee {format_money(fee, order.currency)} · with the fee {owed}")
    if held.rate is not None:
        said.append(f"Prices at {held.rate.text()}, locked when ordered")
    return said
