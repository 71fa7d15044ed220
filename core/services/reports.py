"""What buyers and GOMs look at: GO cards, progress, order lists and the CSV export."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.db.models import GroupOrder, Identity, Item, Order, OrderLine, User, Variant
from core.errors import UnknownGroupOrder
from core.lookups import load_go
from core.money import format_money, minor_to_plain
from core.orders import order_views
from core.services.accounts import Actor, is_admin_of, require_admin
from core.status import GOStatus, OrderStatus
from core.uow import UnitOfWork
from core.views import GroupOrderView, ItemView, OrderView, ProgressView, VariantView
from core.when import local_text

CSV_COLUMNS = [
    "order",
    "status",
    "buyer",
    "contact",
    "item",
    "version",
    "quantity",
    "unit price",
    "line total",
    "currency",
    "placed at (UTC)",
    "payment due (UTC)",
]


async def group_order_card(uow: UnitOfWork, go_code: str) -> GroupOrderView:
    """Any GO's card, drafts included: for staff commands that already checked who asks."""
    async with uow:
        return await _card(uow, await load_go(uow, go_code))


async def visible_card(uow: UnitOfWork, viewer: Actor, go_code: str) -> GroupOrderView:
    """The card a person asked to see. A draft is its GOM's and helpers' work in progress:
    to anyone else it does not exist, with the very answer an unknown code gets."""
    async with uow:
        go = await load_go(uow, go_code)
        if go.status == GOStatus.DRAFT and not await is_admin_of(uow, viewer, go):
            raise UnknownGroupOrder(f"There is no group order {go.code}. /browse lists open ones.")
        return await _card(uow, go)


async def browse_open(uow: UnitOfWork) -> list[GroupOrderView]:
    async with uow:
        gos = (
            await uow.session.scalars(
                select(GroupOrder)
                .where(GroupOrder.status == GOStatus.OPEN, GroupOrder.deadline > uow.now)
                .order_by(GroupOrder.deadline)
                .limit(20)
            )
        ).all()
        return [await _card(uow, go) for go in gos]


async def managed_group_orders(uow: UnitOfWork, actor: Actor) -> list[GroupOrderView]:
    """The GOs this GOM or helper may administer, newest first."""
    from core.db.models import StaffMember

    async with uow:
        gom_ids = select(StaffMember.gom_id).where(StaffMember.member_id == actor.user_id)
        gos = (
            await uow.session.scalars(
                select(GroupOrder)
                .where(GroupOrder.gom_id.in_(gom_ids))
                .order_by(GroupOrder.id.desc())
                .limit(30)
            )
        ).all()
        return [await _card(uow, go) for go in gos]


async def progress(uow: UnitOfWork, actor: Actor, go_code: str) -> GroupOrderView:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        return await _card(uow, go)


async def list_orders(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[GroupOrderView, list[OrderView]]:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        orders = list(
            (await uow.session.scalars(select(Order).where(Order.go_id == go.id).order_by(Order.id))).all()
        )
        return await _card(uow, go), await order_views(uow, orders)


async def export_orders_csv(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[str, bytes]:
    """One row per order line; UTF-8 with a BOM and CRLF so spreadsheets open it cleanly."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        filename = f"{go.code}-orders.csv"
        contact = (
            select(func.min(Identity.channel + ":" + func.coalesce(Identity.handle, Identity.external_id)))
            .where(Identity.user_id == User.id)
            .scalar_subquery()
        )
        rows = (
            await uow.session.execute(
                select(
                    Order.number,
                    Order.status,
                    User.display_name,
                    contact,
                    Item.name,
                    Variant.name,
                    OrderLine.quantity,
                    OrderLine.unit_price_minor,
                    Order.currency,
                    Order.placed_at,
                    Order.payment_due_at,
                )
                .join(OrderLine, OrderLine.order_id == Order.id)
                .join(Item, Item.id == OrderLine.item_id)
                .outerjoin(Variant, Variant.id == OrderLine.variant_id)
                .join(User, User.id == Order.buyer_id)
                .where(Order.go_id == go.id)
                .order_by(Order.id, OrderLine.id)
            )
        ).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer, SPREADSHEET)
    writer.writerow(CSV_COLUMNS)
    for number, status, buyer, who, item, variant, qty, price, currency, placed, due in rows:
        writer.writerow(
            [
                safe_cell(v)
                for v in (
                    number,
                    status,
                    buyer,
                    who or "",
                    item,
                    variant or "",
                    qty,
                    minor_to_plain(price, currency),
                    minor_to_plain(price * qty, currency),
                    currency,
                    placed.strftime("%Y-%m-%d %H:%M"),
                    due.strftime("%Y-%m-%d %H:%M"),
                )
            ]
        )
    return filename, b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


class SPREADSHEET(csv.excel):
    """How every CSV gomflow writes is laid out: each field quoted, CRLF line ends.

    Quoting every field keeps a name with a ``;`` or ``,`` in one cell for a spreadsheet
    that honours quotes, whichever separator its locale splits on.
    """

    quoting = csv.QUOTE_ALL
    lineterminator = "\r\n"


# A cell, or any part a spreadsheet could split off at a separator or a line break (past
# spaces and quotes), that begins like a formula.
_FORMULA_START = re.compile(r"(^|[,;\n])([ \"]*)(?=[=+\-@\t\r])")


def safe_cell(value: object) -> str:
    """Keep a buyer's name like ``=HYPERLINK(…)`` or ``x;=cmd|…`` text, not a formula.

    A leading ``'`` makes a spreadsheet read the rest as text. It goes before every place a
    formula could start, not only the first character: a spreadsheet that splits on ``;``
    while the file is quoted for ``,`` (or ignores the quotes) would otherwise find
    ``=cmd|…`` at the start of a cell.
    """
    return _FORMULA_START.sub(r"\1\2'", str(value))


async def _card(uow: UnitOfWork, go: GroupOrder) -> GroupOrderView:
    items = (
        await uow.session.scalars(
            select(Item)
            .where(Item.go_id == go.id)
            .options(selectinload(Item.variants))
            .order_by(Item.position)
        )
    ).all()
    paid_per_item: dict[int, int] = {
        item_id: int(units)
        for item_id, units in (
            await uow.session.execute(
                select(OrderLine.item_id, func.sum(OrderLine.quantity))
                .join(Order, Order.id == OrderLine.order_id)
                .where(Order.go_id == go.id, Order.status == OrderStatus.PAID)
                .group_by(OrderLine.item_id)
            )
        ).all()
    }
    paid = sum(paid_per_item.values())
    reserved = await uow.session.scalar(select(GroupOrder.reserved_units).where(GroupOrder.id == go.id))
    return GroupOrderView(
        id=go.id,
        code=go.code,
        title=go.title,
        description=go.description,
        status=go.status,
        currency=go.currency,
        timezone=go.timezone,
        deadline=local_text(go.deadline, go.timezone),
        deadline_iso=go.deadline.isoformat(),
        per_buyer_limit=go.per_buyer_limit,
        payment_window_hours=go.payment_window_hours,
        progress=ProgressView(
            reserved=int(reserved or 0), paid=int(paid or 0), moq=go.moq, capacity=go.capacity
        ),
        items=[
            ItemView(
                code=item.code,
                name=item.name,
                price=format_money(item.price_minor, go.currency),
                price_minor=item.price_minor,
                paid=paid_per_item.get(item.id, 0),
                left=None if item.stock is None else item.stock - item.reserved,
                reserved=item.reserved,
                variants=[
                    VariantView(v.code, v.name, None if v.stock is None else v.stock - v.reserved)
                    for v in item.variants
                ],
            )
            for item in items
        ],
    )
