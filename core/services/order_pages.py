"""``/orders`` on a GO of any size: a summary from one aggregate and one page of orders.

A GO with 100,000 orders cannot be answered with every order in one message (it took
seconds, megabytes and hundreds of chat messages). The summary is counted by the database
(``GROUP BY status``) and only the orders of the page asked for are read, through the
``(go_id, id)`` index; the whole list is a file (``core.services.report_files``). A GO
whose orders fit in one message is answered with all of them, as it always was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, func, select

from core.db.models import GroupOrder, Identity, Order
from core.errors import InvalidInput
from core.lookups import load_go
from core.money import format_money
from core.orders import order_views
from core.services.accounts import Actor, require_admin
from core.services.reports import _card
from core.status import OrderStatus
from core.uow import UnitOfWork
from core.views import GroupOrderView, OrderView

PAGE_SIZE = 20
# A GO with at most this many orders, asked for without a page or filter, gets every order
# in one message (about 80 characters each: well inside a chat message's 4,096).
FITS_IN_ONE_MESSAGE = 25


class Show(StrEnum):
    """Which orders a page lists."""

    ALL = "all"
    UNPAID = "unpaid"  # placed, waiting for payment
    PAID = "paid"


SHOWN_STATUSES: dict[Show, tuple[OrderStatus, ...]] = {
    Show.UNPAID: (OrderStatus.PLACED,),
    Show.PAID: (OrderStatus.PAID,),
}


@dataclass(frozen=True)
class OrderQuery:
    """What a GOM asked for: a page (1 = the first), which orders, whose."""

    page: int | None = None
    show: Show = Show.ALL
    buyer: str | None = None  # a handle, with or without its @

    @property
    def plain(self) -> bool:
        return self.page is None and self.show is Show.ALL and self.buyer is None

    @property
    def label(self) -> str:
        """How the filter reads after "orders": "unpaid", "of @bob", "unpaid of @bob"."""
        parts = [] if self.show is Show.ALL else [self.show.value]
        if self.buyer:
            parts.append(f"of @{self.buyer}")
        return " ".join(parts)

    def command(self, name: str, go_code: str) -> str:
        """The command that shows another page of the same list, without its page number."""
        words = [f"/{name} {go_code}"]
        if self.show is not Show.ALL:
            words.append(self.show.value)
        if self.buyer:
            words.append(f"@{self.buyer}")
        return " ".join(words)


@dataclass(frozen=True)
class StatusLine:
    status: str
    orders: int
    units: int
    total_minor: int
    total: str


@dataclass(frozen=True)
class OrdersSummary:
    """Counts per order status; money awaiting payment (placed) and paid (paid orders)."""

    orders: int
    units: int
    statuses: list[StatusLine]
    currency: str
    owed_minor: int
    paid_minor: int
    owed: str
    paid: str

    def count(self, statuses: tuple[OrderStatus, ...]) -> int:
        return sum(line.orders for line in self.statuses if line.status in statuses)


@dataclass(frozen=True)
class OrdersPage:
    """One page of a GO's orders, or (``whole``) all of them when they fit in one message."""

    go_code: str
    go_title: str
    summary: OrdersSummary
    query: OrderQuery
    page: int
    pages: int
    matching: int
    orders: list[OrderView] = field(default_factory=list)
    whole: GroupOrderView | None = None  # set when every order is listed, the old way

    @property
    def label(self) -> str:
        return self.query.label

    @property
    def command(self) -> str:
        return self.query.command("orders", self.go_code)


async def orders_page(uow: UnitOfWork, actor: Actor, go_code: str, query: OrderQuery) -> OrdersPage:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        summary = await summarise(uow, go)
        if query.plain and summary.orders <= FITS_IN_ONE_MESSAGE:
            everything = list(
                (
                    await uow.session.scalars(select(Order).where(Order.go_id == go.id).order_by(Order.id))
                ).all()
            )
            views = await order_views(uow, everything)
            return OrdersPage(
                go.code, go.title, summary, query, 1, 1, len(views), views, await _card(uow, go)
            )
        where: list[ColumnElement[bool]] = [Order.go_id == go.id]
        if query.show is not Show.ALL:
            where.append(Order.status.in_([s.value for s in SHOWN_STATUSES[query.show]]))
        if query.buyer:
            where.append(Order.buyer_id.in_(buyers_with_handle(query.buyer)))
            matching = int(await uow.session.scalar(select(func.count()).where(*where)) or 0)
        elif query.show is Show.ALL:
            matching = summary.orders
        else:
            matching = summary.count(SHOWN_STATUSES[query.show])
        pages = max(1, -(-matching // PAGE_SIZE))
        page = query.page or 1
        if page > pages:
            raise InvalidInput(
                (
                    "There is no page %(page)s: %(what)s fill %(pages)s page(s). Try /orders "
                    "%(code)s page %(pages2)s."
                ),
                page=format(page, ","),
                what=_what(go.code, query),
                pages=format(pages, ","),
                code=go.code,
                pages2=pages,
            )
        orders = list(
            (
                await uow.session.scalars(
                    select(Order).where(Order.id.in_(page_ids(where, page))).order_by(Order.id)
                )
            ).all()
        )
        views = await order_views(uow, orders)
    return OrdersPage(go.code, go.title, summary, query, page, pages, matching, views)


async def summarise(uow: UnitOfWork, go: GroupOrder) -> OrdersSummary:
    """One aggregate over the GO's orders, whatever their number."""
    rows = (
        await uow.session.execute(
            select(Order.status, func.count(), func.sum(Order.units), func.sum(Order.total_minor))
            .where(Order.go_id == go.id)
            .group_by(Order.status)
        )
    ).all()
    order = {status.value: i for i, status in enumerate(OrderStatus)}
    statuses = sorted(
        (
            StatusLine(
                status,
                int(count),
                int(units or 0),
                int(total or 0),
                format_money(int(total or 0), go.currency),
            )
            for status, count, units, total in rows
        ),
        key=lambda line: order.get(line.status, len(order)),
    )
    totals = {line.status: line.total_minor for line in statuses}
    owed = totals.get(OrderStatus.PLACED, 0)
    paid = totals.get(OrderStatus.PAID, 0)
    return OrdersSummary(
        orders=sum(line.orders for line in statuses),
        units=sum(line.units for line in statuses),
        statuses=statuses,
        currency=go.currency,
        owed_minor=owed,
        paid_minor=paid,
        owed=format_money(owed, go.currency),
        paid=format_money(paid, go.currency),
    )


def page_ids(where: list[ColumnElement[bool]], page: int) -> Select[int]:
    """The ids of one page's orders, skipped to inside the index; only those rows are read."""
    return select(Order.id).where(*where).order_by(Order.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)


def buyers_with_handle(handle: str) -> Select[int]:
    """The users who go by ``handle`` on any app (case does not matter: @Bob is @bob)."""
    return select(Identity.user_id).where(func.lower(Identity.handle) == handle.lower().lstrip("@"))


def _what(code: str, query: OrderQuery) -> str:
    shown = "" if query.show is Show.ALL else f"{query.show.value} "
    whose = f" of @{query.buyer}" if query.buyer else ""
    return f"the {shown}orders{whose} of {code}"
