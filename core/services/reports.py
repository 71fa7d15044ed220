"""What buyers and GOMs look at: GO cards, progress, order lists and the CSV export; the
GOM's payments report and the reconciliation CSV."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.db.models import (
    GroupOrder,
    Identity,
    Item,
    Order,
    OrderLine,
    OutboxMessage,
    Payment,
    PaymentProof,
    PaymentRequest,
    Refund,
    User,
)
from core.errors import UnknownGroupOrder
from core.lookups import load_go
from core.money import format_money, minor_to_plain
from core.payments import ledger, terms
from core.payments.status import PAYABLE, AttemptStatus, RefundStatus, RequestStatus
from core.privacy.identities import reach
from core.services.accounts import Actor, is_admin_of, require_admin
from core.services.buyer_totals import buyer_totals, orders_with_buyers, requests_of
from core.services.service_window import WAITING
from core.services.settlement import how_settled, proof_evidence, statement_evidence
from core.status import ORDER_LIVE, GOStatus, OrderStatus
from core.uow import UnitOfWork
from core.views import (
    GroupOrderView,
    ItemView,
    PaymentRow,
    PaymentsReport,
    ProgressView,
    VariantView,
)
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
    "GOM fee",  # the line's share of the GOM's fee
    "surcharge paid",  # on each order's first line: methods' fees paid on top
    "rate",  # the rate the order is locked to, when the GO is priced in another currency
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
            raise UnknownGroupOrder(
                "There is no group order %(code)s. /browse lists open ones.", code=go.code
            )
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
                    VariantView(
                        v.code,
                        v.name,
                        None if v.stock is None else v.stock - v.reserved,
                        None if v.price_minor is None else format_money(v.price_minor, go.currency),
                        v.price_minor,
                        v.retired,
                    )
                    for v in item.variants
                ],
                retired=item.retired,
            )
            for item in items
        ],
    )


# --- the GOM's view ---------------------------------------------------------------------


async def payments_report(uow: UnitOfWork, actor: Actor, go_code: str) -> PaymentsReport:
    """Who paid and who owes; every proof still to review (cancelled orders' too); held
    money; refunds due; overpayments. Nothing received is ever left out."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        orders = await orders_with_buyers(uow, go.id)
        requests = await requests_of(uow, go.id)
        kept = dict(
            (
                await uow.session.execute(
                    # a method's surcharge is paid on top of a request, not to it
                    select(Payment.request_id, func.sum(Payment.amount_minor - Payment.surcharge_minor))
                    .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                    .join(Order, Order.id == PaymentRequest.order_id)
                    .where(Order.go_id == go.id, Payment.status == AttemptStatus.SUCCEEDED)
                    .group_by(Payment.request_id)
                )
            ).all()
        )
        proofs = (
            await uow.session.execute(
                select(Order.id, PaymentProof, PaymentRequest.currency)
                .join(PaymentRequest, PaymentRequest.id == PaymentProof.request_id)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(Order.go_id == go.id)
                .order_by(PaymentProof.id)
            )
        ).all()
        held = (
            await uow.session.execute(
                select(Order.number, Order.status, Payment.amount_minor, Payment.currency, Payment.note)
                .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(Order.go_id == go.id, Payment.status == AttemptStatus.HELD)
                .order_by(Payment.id)
            )
        ).all()
        refunds_due = (
            await uow.session.execute(
                select(Order.number, Refund.status, Refund.amount_minor, Refund.currency)
                .join(Payment, Payment.id == Refund.payment_id)
                .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(Order.go_id == go.id, Refund.status.in_([RefundStatus.MANUAL, RefundStatus.PENDING]))
                .order_by(Refund.id)
            )
        ).all()
        waiting = (
            await uow.session.execute(
                select(User.display_name, Identity.channel, OutboxMessage.template)
                .join(Identity, Identity.id == OutboxMessage.identity_id)
                .join(User, User.id == Identity.user_id)
                .where(
                    OutboxMessage.status == WAITING,
                    OutboxMessage.broadcast_id.is_(None),
                    Identity.user_id.in_(select(Order.buyer_id).where(Order.go_id == go.id)),
                )
                .order_by(OutboxMessage.id)
            )
        ).all()
        buyers = await buyer_totals(uow, go)
        fees = await terms.fees_by_order(uow, go, [order.id for order, _ in orders])
    by_order: dict[int, list[PaymentRequest]] = {}
    for request in requests:
        by_order.setdefault(request.order_id, []).append(request)
    numbers = {order.id: order for order, _ in orders}
    rows: list[PaymentRow] = []
    paid = unpaid = paid_count = unpaid_count = 0
    overpaid: list[str] = []
    for order, buyer in orders:
        shown = [r for r in by_order.get(order.id, []) if r.status != RequestStatus.VOID]
        if not shown and order.status == OrderStatus.PLACED:
            rows.append(
                PaymentRow(
                    order.number,
                    buyer,
                    order.status,
                    "items",
                    format_money(order.total_minor + fees.get(order.id, 0), order.currency),
                    "unpaid",
                )
            )
            unpaid += order.total_minor + fees.get(order.id, 0)
            unpaid_count += 1
        for request in shown:
            got = int(kept.get(request.id) or 0)
            status = request.status
            if request.status in PAYABLE:
                owed = max(0, request.amount_minor - got)
                unpaid += owed
                unpaid_count += 1
                if got:
                    status = (
                        f"{status}, {format_money(got, request.currency)} received, "
                        f"{format_money(owed, request.currency)} owed"
                    )
            elif request.status == RequestStatus.PAID:
                paid += request.amount_minor
                paid_count += 1
                if got > request.amount_minor and order.status in ORDER_LIVE:
                    overpaid.append(
                        f"{order.number}: {format_money(got - request.amount_minor, request.currency)}"
                    )
            rows.append(
                PaymentRow(
                    order.number,
                    buyer,
                    order.status,
                    request.kind,
                    format_money(request.amount_minor, request.currency),
                    status,
                )
            )
    review: list[str] = []
    ordinals: dict[int, int] = {}
    for order_id, proof, currency in proofs:
        ordinals[order_id] = ordinals.get(order_id, 0) + 1
        if proof.status != ledger.PENDING_PROOF:
            continue
        order = numbers[order_id]
        line = f"{order.number} #{ordinals[order_id]} {format_money(proof.amount_minor, currency)}"
        line += f" ref {proof.reference}" if proof.reference else ""
        if order.status not in ORDER_LIVE:
            line += f" (order {order.status}: refund due if approved)"
        review.append(line)
    return PaymentsReport(
        go_code=go.code,
        rows=rows,
        paid_total=format_money(paid, go.currency),
        unpaid_total=format_money(unpaid, go.currency),
        paid_count=paid_count,
        unpaid_count=unpaid_count,
        to_review=review,
        waiting=[f"{name} ({channel}): {template.replace('_', ' ')}" for name, channel, template in waiting],
        held=[
            f"{number}: {format_money(amount, currency)}, {note}"
            + ("" if status in ORDER_LIVE else f"; order {status}: refund due")
            for number, status, amount, currency, note in held
        ],
        refunds_to_send=[
            f"{number}: {format_money(a, c)}"
            for number, status, a, c in refunds_due
            if status == RefundStatus.MANUAL
        ],
        refunds_queued=[
            f"{number}: {format_money(a, c)}"
            for number, status, a, c in refunds_due
            if status == RefundStatus.PENDING
        ],
        overpaid=overpaid,
        review_orders=list(dict.fromkeys(line.split(" ")[0] for line in review)),
        buyers=buyers,
    )


RECONCILIATION_COLUMNS = [
    "order",
    "buyer",
    "contact",
    "request",
    "reference",
    "request status",
    "provider",
    "payment status",
    "amount",
    "currency",
    "provider reference",
    "charge reference",
    "refund status",
    "refund reference",
    "created (UTC)",
    "updated (UTC)",
    "note",
    "settled by",
    "evidence",
]


async def reconciliation_csv(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[str, bytes]:
    """Every payment attempt with its provider reference and any refund, for the books."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        rows = (
            await uow.session.execute(
                select(Order.number, User.display_name, User.id, PaymentRequest, Payment, Refund)
                .join(User, User.id == Order.buyer_id)
                .join(PaymentRequest, PaymentRequest.order_id == Order.id)
                .join(Payment, Payment.request_id == PaymentRequest.id)
                .outerjoin(Refund, Refund.payment_id == Payment.id)
                .where(Order.go_id == go.id)
                .order_by(Order.id, PaymentRequest.id, Payment.id)
            )
        ).all()
        proofs = (
            await uow.session.execute(
                select(Order.number, User.display_name, User.id, PaymentRequest, PaymentProof)
                .join(User, User.id == Order.buyer_id)
                .join(PaymentRequest, PaymentRequest.order_id == Order.id)
                .join(PaymentProof, PaymentProof.request_id == PaymentRequest.id)
                .where(Order.go_id == go.id, PaymentProof.status == ledger.PENDING_PROOF)
                .order_by(PaymentProof.id)
            )
        ).all()
        ended = set(
            (
                await uow.session.scalars(
                    select(Order.number).where(Order.go_id == go.id, Order.status.not_in(ORDER_LIVE))
                )
            ).all()
        )
        contacts = await _contacts(uow, {row[2] for row in rows} | {row[2] for row in proofs})
        lines_of = await statement_evidence(uow, [row[4].id for row in rows])
        readings = await proof_evidence(uow, [row[4] for row in rows])
    kept: dict[int, int] = {}
    for _number, _buyer, _who, request, payment, _refund in rows:
        if payment.status == AttemptStatus.SUCCEEDED:
            kept[request.id] = kept.get(request.id, 0) + payment.amount_minor
    lines = [
        (
            number,
            buyer,
            contacts.get(who, ""),
            request.kind,
            request.reference,
            request.status,
            payment.provider,
            payment.status,
            minor_to_plain(payment.amount_minor, payment.currency),
            payment.currency,
            payment.provider_ref or "",
            payment.charge_ref or "",
            refund.status if refund else "",
            (refund.reference or refund.provider_ref or "") if refund else "",
            payment.created_at.strftime("%Y-%m-%d %H:%M"),
            payment.updated_at.strftime("%Y-%m-%d %H:%M"),
            "; ".join(
                n for n in (payment.note, _money_note(number in ended, request, payment, refund, kept)) if n
            ),
            *how_settled(payment, lines_of.get(payment.id), readings.get(payment.id)),
        )
        for number, buyer, who, request, payment, refund in rows
    ]
    lines += [  # money a buyer says they sent, not yet credited: on the books as pending
        (
            number,
            buyer,
            contacts.get(who, ""),
            request.kind,
            request.reference,
            request.status,
            "manual",
            "proof pending",
            minor_to_plain(proof.amount_minor, request.currency),
            request.currency,
            f"proof-{proof.id}",
            proof.reference,
            "",
            "",
            proof.created_at.strftime("%Y-%m-%d %H:%M"),
            proof.created_at.strftime("%Y-%m-%d %H:%M"),
            f"waiting for review; order {'ended: refund due if approved' if number in ended else 'live'}",
            "proof pending",
            f"proof-{proof.id}, reference typed: {proof.reference}"
            if proof.reference
            else f"proof-{proof.id}",
        )
        for number, buyer, who, request, proof in proofs
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, SPREADSHEET)
    writer.writerow(RECONCILIATION_COLUMNS)
    for line in lines:
        writer.writerow([safe_cell(v) for v in line])
    return f"{go.code}-payments.csv", b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


async def _contacts(uow: UnitOfWork, user_ids: set[int]) -> dict[int, str]:
    """How the GOM's sheets name each buyer's contact: ``channel:handle`` (or the platform
    id, or the address, opened here), the first in order when they have several."""
    identities = await uow.session.scalars(select(Identity).where(Identity.user_id.in_(user_ids)))
    labels: dict[int, str] = {}
    for identity in identities:
        label = f"{identity.channel}:{identity.handle or reach(identity.external_id, identity.address)}"
        if identity.user_id not in labels or label < labels[identity.user_id]:
            labels[identity.user_id] = label
    return labels


def _money_note(
    ended: bool, request: PaymentRequest, payment: Payment, refund: Refund | None, kept: dict[int, int]
) -> str:
    """What the books must act on for one payment: a refund due, or an overpayment."""
    if refund is not None and refund.status in (RefundStatus.MANUAL, RefundStatus.PENDING):
        return "refund due"
    if payment.status == AttemptStatus.HELD:
        return "held: refund due" if ended else "held for the GOM"
    over = kept.get(request.id, 0) - request.amount_minor
    if request.status == RequestStatus.PAID and payment.status == AttemptStatus.SUCCEEDED and over > 0:
        return f"overpaid {format_money(over, request.currency)}: refund or credit due"
    return ""
