"""``/payments`` on a GO of any size: the money counted by the database, one page of rows.

A GO whose orders fit in one message gets the full report (``reports.payments_report``)
as before. A larger one gets what was paid and what is still owed from a few aggregates,
how many proofs, held payments and refunds wait (their lists are in ``/reconcile``), and
the payment rows of one page of orders, read through the ``(go_id, id)`` index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, exists, func, select

from core.db.models import GroupOrder, Order, Payment, PaymentProof, PaymentRequest, Refund, User
from core.errors import InvalidInput
from core.lookups import load_go
from core.money import format_money
from core.payments import ledger
from core.payments.status import PAYABLE, AttemptStatus, RefundStatus, RequestStatus
from core.services.accounts import Actor, require_admin
from core.services.order_pages import (
    FITS_IN_ONE_MESSAGE,
    PAGE_SIZE,
    SHOWN_STATUSES,
    OrderQuery,
    Show,
    buyers_with_handle,
    page_ids,
)
from core.services.reports import payments_report
from core.status import OrderStatus
from core.uow import UnitOfWork
from core.views import PaymentRow, PaymentsReport


@dataclass(frozen=True)
class MoneySummary:
    paid_count: int
    paid_total: str
    unpaid_count: int
    unpaid_total: str
    to_review: int
    held: int
    refunds_due: int


@dataclass(frozen=True)
class PaymentsPage:
    """One page of a GO's payment rows with the GO's totals, or the whole report."""

    go_code: str
    query: OrderQuery
    page: int = 1
    pages: int = 1
    matching: int = 0
    summary: MoneySummary | None = None
    rows: list[PaymentRow] = field(default_factory=list)
    whole: PaymentsReport | None = None  # a GO small enough for the full report

    @property
    def label(self) -> str:
        return self.query.label

    @property
    def command(self) -> str:
        return self.query.command("payments", self.go_code)


async def payments_page(uow: UnitOfWork, actor: Actor, go_code: str, query: OrderQuery) -> PaymentsPage:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        counts = dict(
            (
                await uow.session.execute(
                    select(Order.status, func.count()).where(Order.go_id == go.id).group_by(Order.status)
                )
            ).all()
        )
        total = sum(counts.values())
        if not (query.plain and total <= FITS_IN_ONE_MESSAGE):
            return await _page(uow, go, query, counts)
    return PaymentsPage(go.code, query, whole=await payments_report(uow, actor, go_code))


async def _page(uow: UnitOfWork, go: GroupOrder, query: OrderQuery, counts: dict[str, int]) -> PaymentsPage:
    where: list[ColumnElement[bool]] = [Order.go_id == go.id]
    if query.show is not Show.ALL:
        statuses = SHOWN_STATUSES[query.show]
        where.append(Order.status.in_([s.value for s in statuses]))
        matching = sum(counts.get(s.value, 0) for s in statuses)
    else:
        matching = sum(counts.values())
    if query.buyer:
        where.append(Order.buyer_id.in_(buyers_with_handle(query.buyer)))
        matching = int(await uow.session.scalar(select(func.count()).where(*where)) or 0)
    pages = max(1, -(-matching // PAGE_SIZE))
    page = query.page or 1
    if page > pages:
        raise InvalidInput(
            (
                "There is no page %(page)s: the payments of %(code)s fill %(pages)s page(s). Try "
                "/payments %(code)s page %(pages2)s."
            ),
            page=format(page, ","),
            code=go.code,
            pages=format(pages, ","),
            pages2=pages,
        )
    orders = (
        await uow.session.execute(
            select(Order, User.display_name)
            .join(User, User.id == Order.buyer_id)
            .where(Order.id.in_(page_ids(where, page)))
            .order_by(Order.id)
        )
    ).all()
    ids = [order.id for order, _ in orders]
    requests = (
        await uow.session.scalars(
            select(PaymentRequest).where(PaymentRequest.order_id.in_(ids)).order_by(PaymentRequest.id)
        )
    ).all()
    kept = dict(
        (
            await uow.session.execute(
                select(Payment.request_id, func.sum(Payment.amount_minor))
                .where(
                    Payment.request_id.in_([r.id for r in requests]),
                    Payment.status == AttemptStatus.SUCCEEDED,
                )
                .group_by(Payment.request_id)
            )
        ).all()
    )
    by_order: dict[int, list[PaymentRequest]] = {}
    for request in requests:
        by_order.setdefault(request.order_id, []).append(request)
    rows = [
        row for order, buyer in orders for row in order_rows(order, buyer, by_order.get(order.id, []), kept)
    ]
    return PaymentsPage(go.code, query, page, pages, matching, await summarise_money(uow, go), rows)


def order_rows(
    order: Order, buyer: str, requests: list[PaymentRequest], kept: dict[int, int]
) -> list[PaymentRow]:
    """An order's lines in the payments list, as ``reports.payments_report`` shows them."""
    shown = [r for r in requests if r.status != RequestStatus.VOID]
    rows: list[PaymentRow] = []
    if not shown and order.status == OrderStatus.PLACED:
        total = format_money(order.total_minor, order.currency)
        rows.append(PaymentRow(order.number, buyer, order.status, "items", total, "unpaid"))
    for request in shown:
        got = int(kept.get(request.id) or 0)
        status = str(request.status)
        if request.status in PAYABLE and got:
            owed = max(0, request.amount_minor - got)
            status = (
                f"{status}, {format_money(got, request.currency)} received, "
                f"{format_money(owed, request.currency)} owed"
            )
        amount = format_money(request.amount_minor, request.currency)
        rows.append(PaymentRow(order.number, buyer, order.status, request.kind, amount, status))
    return rows


async def summarise_money(uow: UnitOfWork, go: GroupOrder) -> MoneySummary:
    """Paid and owed over the whole GO in a few aggregates (the totals the full report adds
    up row by row): owed is what payable requests still lack, plus the items of placed
    orders that have no request yet."""
    in_go = and_(PaymentRequest.order_id == Order.id, Order.go_id == go.id)
    by_status = {
        status: (int(count), int(amount or 0))
        for status, count, amount in (
            await uow.session.execute(
                select(PaymentRequest.status, func.count(), func.sum(PaymentRequest.amount_minor))
                .join(Order, in_go)
                .group_by(PaymentRequest.status)
            )
        ).all()
    }
    credited = await uow.session.scalar(
        select(func.sum(Payment.amount_minor))
        .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
        .join(Order, in_go)
        .where(PaymentRequest.status.in_(list(PAYABLE)), Payment.status == AttemptStatus.SUCCEEDED)
    )
    live_request = exists().where(
        PaymentRequest.order_id == Order.id, PaymentRequest.status != RequestStatus.VOID
    )
    waiting_count, waiting_total = (
        await uow.session.execute(
            select(func.count(), func.sum(Order.total_minor)).where(
                Order.go_id == go.id, Order.status == OrderStatus.PLACED, ~live_request
            )
        )
    ).one()
    payable = [by_status.get(s, (0, 0)) for s in PAYABLE]
    paid_count, paid = by_status.get(RequestStatus.PAID, (0, 0))
    unpaid = sum(a for _, a in payable) - int(credited or 0) + int(waiting_total or 0)
    unpaid_count = sum(c for c, _ in payable) + int(waiting_count or 0)

    async def how_many(model: type[PaymentProof] | type[Payment] | type[Refund], *where: object) -> int:
        query = select(func.count()).select_from(model)
        if model is PaymentProof:
            query = query.join(PaymentRequest, PaymentRequest.id == PaymentProof.request_id)
        else:
            query = query.join(Payment, Payment.id == Refund.payment_id) if model is Refund else query
            query = query.join(PaymentRequest, PaymentRequest.id == Payment.request_id)
        return int(await uow.session.scalar(query.join(Order, in_go).where(*where)) or 0)  # type: ignore[arg-type]

    return MoneySummary(
        paid_count=paid_count,
        paid_total=format_money(paid, go.currency),
        unpaid_count=unpaid_count,
        unpaid_total=format_money(unpaid, go.currency),
        to_review=await how_many(PaymentProof, PaymentProof.status == ledger.PENDING_PROOF),
        held=await how_many(Payment, Payment.status == AttemptStatus.HELD),
        refunds_due=await how_many(Refund, Refund.status.in_([RefundStatus.MANUAL, RefundStatus.PENDING])),
    )
