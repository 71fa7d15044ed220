"""Per-buyer totals of a GO: what each buyer owes, has paid, got back and still has to pay
across all their orders, with the references they pay with. ``/payments`` shows them and
``/payments CODE csv`` gives them as a spreadsheet (``core.services.buyer_sheet``); both
read the same totals from here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, func, select

from core.db.models import GroupOrder, Order, Payment, PaymentRequest, Refund, User
from core.money import format_money
from core.payments import terms
from core.payments.status import PART_KINDS, PAYABLE, AttemptStatus, RefundStatus, RequestKind, RequestStatus
from core.status import ORDER_LIVE, OrderStatus
from core.uow import UnitOfWork
from core.views import BuyerTotal
from core.when import local_stamp

ENDED_REQUEST = (RequestStatus.VOID, RequestStatus.EXPIRED)


async def orders_with_buyers(
    uow: UnitOfWork, go_id: int, buyers: Collection[int] | None = None
) -> list[tuple[Order, str]]:
    """Every order of a GO (of ``buyers`` only, when given), oldest first, with its buyer's name."""
    query = select(Order, User.display_name).join(User, User.id == Order.buyer_id).where(Order.go_id == go_id)
    if buyers is not None:
        query = query.where(Order.buyer_id.in_(list(buyers)))
    rows = await uow.session.execute(query.order_by(Order.id))
    return [(order, name) for order, name in rows.all()]


async def requests_of(
    uow: UnitOfWork, go_id: int, buyers: Collection[int] | None = None
) -> list[PaymentRequest]:
    """Every payment request of a GO's orders (``buyers``' only, when given), oldest first."""
    in_go = _orders_of(go_id, buyers)
    query = select(PaymentRequest).where(PaymentRequest.order_id.in_(in_go)).order_by(PaymentRequest.id)
    return list((await uow.session.scalars(query)).all())


def _orders_of(go_id: int, buyers: Collection[int] | None) -> Select[int]:
    query = select(Order.id).where(Order.go_id == go_id)
    return query if buyers is None else query.where(Order.buyer_id.in_(list(buyers)))


async def buyer_totals(
    uow: UnitOfWork, go: GroupOrder, buyers: Collection[int] | None = None
) -> list[BuyerTotal]:
    """Every buyer of the GO (or those of ``buyers``) in the order of their first order,
    inside the caller's unit of work."""
    orders = await orders_with_buyers(uow, go.id, buyers)
    requests = await requests_of(uow, go.id, buyers)
    in_go = _orders_of(go.id, buyers)
    fees = await terms.fees_by_order(uow, go, [order.id for order, _ in orders])
    # a method's surcharge is paid on top of a request, never to it: counted apart
    surcharges: dict[int, int] = defaultdict(int)
    credited_amount = Payment.amount_minor - Payment.surcharge_minor
    arrived = {
        request_id: (int(kept), int(credited or 0), moment)
        for request_id, kept, credited, moment in (
            await uow.session.execute(
                select(
                    Payment.request_id,
                    func.sum(credited_amount),
                    func.sum(credited_amount).filter(Payment.status == AttemptStatus.SUCCEEDED),
                    func.max(Payment.updated_at),
                )
                .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .where(
                    PaymentRequest.order_id.in_(in_go),
                    Payment.status.in_([AttemptStatus.SUCCEEDED, AttemptStatus.REFUNDED]),
                )
                .group_by(Payment.request_id)
            )
        ).all()
    }
    sent_back = dict(
        (
            await uow.session.execute(
                select(Payment.request_id, func.sum(Refund.amount_minor))
                .join(Payment, Payment.id == Refund.payment_id)
                .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .where(PaymentRequest.order_id.in_(in_go), Refund.status == RefundStatus.SUCCEEDED)
                .group_by(Payment.request_id)
            )
        ).all()
    )
    for request_id, extra in (
        await uow.session.execute(
            select(Payment.request_id, func.sum(Payment.surcharge_minor))
            .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
            .where(PaymentRequest.order_id.in_(in_go), Payment.status == AttemptStatus.SUCCEEDED)
            .group_by(Payment.request_id)
        )
    ).all():
        surcharges[request_id] = int(extra or 0)
    by_order: dict[int, list[PaymentRequest]] = defaultdict(list)
    for request in requests:
        by_order[request.order_id].append(request)
    sums: dict[int, _Sums] = {}
    for order, name in orders:
        buyer = sums.setdefault(order.buyer_id, _Sums(name))
        buyer.add(order, by_order[order.id], arrived, sent_back, fees.get(order.id, 0))
        buyer.surcharges += sum(surcharges.get(r.id, 0) for r in by_order[order.id])
    return [s.view(go) for s in sums.values()]


class _Sums:
    """The running totals of one buyer while their orders are read."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.orders: list[str] = []
        self.owed = self.paid = self.refunded = self.due = self.fees = self.surcharges = 0
        self.references: list[tuple[int, str]] = []
        self.last: datetime | None = None

    def add(
        self,
        order: Order,
        requests: list[PaymentRequest],
        arrived: dict[int, tuple[int, int, datetime]],
        sent_back: dict[int, int],
        fee: int = 0,
    ) -> None:
        self.orders.append(order.number)
        live = order.status in ORDER_LIVE
        items_live = False
        if live:
            self.owed += order.total_minor + fee
            self.fees += fee
        for request in requests:
            kept, credited, moment = arrived.get(request.id, (0, 0, None))
            self.paid += kept
            self.refunded += int(sent_back.get(request.id) or 0)
            if moment is not None and (self.last is None or moment > self.last):
                self.last = moment
            if request.status not in ENDED_REQUEST or kept:
                self.references.append((request.id, request.reference))
            if not live or request.status in ENDED_REQUEST:
                continue
            if request.kind == RequestKind.ITEMS or request.kind in PART_KINDS:
                items_live = True
                self.owed += request.adjust_minor  # a unique amount's cents are owed too
            else:
                self.owed += request.amount_minor
            if request.status in PAYABLE:
                self.due += max(0, request.amount_minor - credited)
        if order.status == OrderStatus.PLACED and not items_live:
            self.due += order.total_minor + fee  # the items are owed before any request is opened

    def view(self, go: GroupOrder) -> BuyerTotal:
        def money(minor: int) -> str:
            return format_money(minor, go.currency)

        return BuyerTotal(
            buyer=self.name,
            orders=self.orders,
            currency=go.currency,
            owed_minor=self.owed,
            paid_minor=self.paid,
            refunded_minor=self.refunded,
            due_minor=self.due,
            owed=money(self.owed),
            paid=money(self.paid),
            refunded=money(self.refunded),
            due=money(self.due),
            references=[reference for _, reference in sorted(self.references)],
            last_paid=local_stamp(self.last, go.timezone) if self.last else "",
            fee_minor=self.fees,
            surcharge_minor=self.surcharges,
        )
