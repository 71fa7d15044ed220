"""Payment use cases: pay options, gateway links, proofs and their review, webhooks,
refunds, reminders, expiry, the GOM's report and the reconciliation CSV."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select

from core.db.models import (
    GroupOrder,
    Identity,
    Order,
    Payment,
    PaymentProof,
    PaymentRequest,
    PaymentSettings,
    Refund,
    User,
)
from core.errors import (
    GatewayError,
    InvalidInput,
    NotFound,
    OrderLocked,
    PaymentError,
    PermissionDenied,
)
from core.inbound import first_delivery
from core.lookups import load_go, load_order, lock_order
from core.money import format_money, minor_to_plain, parse_amount
from core.orders import end_order
from core.payments import ledger, methods
from core.payments.gateway import PaymentGateway, PaymentLinkRequest, RefundRequest, WebhookEvent
from core.payments.ledger import Outcome
from core.payments.status import PAYABLE, AttemptStatus, RefundStatus, RequestKind, RequestStatus
from core.services.accounts import Actor, require_admin
from core.services.reports import SPREADSHEET, safe_cell
from core.services.waitlist import promote_waitlist
from core.status import ORDER_LIVE, GOStatus, OrderStatus
from core.transitions import transition
from core.uow import UnitOfWork
from core.when import local_text

log = logging.getLogger(__name__)
MAX_PROOF_BYTES = 5 * 1024 * 1024
MAX_REFERENCE = 200
UowFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class PayView:
    """Everything a buyer needs to pay one request, in the chat or on the pay page."""

    number: str
    go_code: str
    go_title: str
    kind: str
    status: str
    amount: str
    amount_minor: int
    currency: str
    reference: str
    token: str
    due: str
    qr_payload: str | None = None
    qr_label: str | None = None
    manual: bool = False
    gateways: list[tuple[str, str]] = field(default_factory=list)  # (method, label)
    received: str = ""  # what already arrived for this request, when part of it is paid

    @property
    def payable(self) -> bool:
        return self.status in PAYABLE


@dataclass(frozen=True)
class PaymentRow:
    number: str
    buyer: str
    order_status: str
    kind: str
    amount: str
    status: str
    note: str = ""


@dataclass(frozen=True)
class PaymentsReport:
    go_code: str
    rows: list[PaymentRow]
    paid_total: str
    unpaid_total: str
    paid_count: int
    unpaid_count: int
    to_review: list[str]  # one line per pending proof: "TH-1-3 #2 S$22.50 ref DBS123"
    held: list[str]
    refunds_to_send: list[str]  # refund due, sent by hand
    refunds_queued: list[str] = field(default_factory=list)  # refund due, through the gateway
    overpaid: list[str] = field(default_factory=list)  # refund or credit due
    review_orders: list[str] = field(default_factory=list)  # orders with a proof to review


# --- settings ---------------------------------------------------------------------------


async def set_methods(uow: UnitOfWork, actor: Actor, go_code: str, tokens: list[str]) -> list[str]:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        chosen = methods.parse_methods(tokens, go.currency)
        row = await uow.session.get(PaymentSettings, go.id)
        if row is None:
            row = PaymentSettings(go_id=go.id, updated_at=uow.now)
            uow.session.add(row)
        row.methods = methods.dump(chosen)
        row.updated_at = uow.now
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="pay_methods",
            detail=" ".join(m.method for m in chosen),
        )
        await uow.commit()
        return [m.label for m in chosen]


async def methods_of(uow: UnitOfWork, go_id: int) -> list[methods.Method]:
    row = await uow.session.get(PaymentSettings, go_id)
    return methods.load(row.methods if row else None)


# --- paying -----------------------------------------------------------------------------


async def pay_options(uow: UnitOfWork, actor: Actor, number: str) -> PayView:
    """The request an order owes now (items first, then shipping or adjustments)."""
    async with uow:
        order = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        if order.buyer_id != actor.user_id:
            await require_admin(uow, actor, go)
        request = await request_to_pay(uow, order)
        view = await _pay_view(uow, go, order, request)
        await uow.commit()
        return view


async def pay_page(uow: UnitOfWork, token: str) -> PayView:
    """The pay page behind an unguessable token: amount, reference and QR, nothing personal."""
    async with uow:
        request = await uow.session.scalar(select(PaymentRequest).where(PaymentRequest.token == token[:64]))
        if request is None:
            raise NotFound("There is no such payment page.")
        order = await uow.session.get_one(Order, request.order_id)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        return await _pay_view(uow, go, order, request)


async def request_to_pay(uow: UnitOfWork, order: Order) -> PaymentRequest:
    items = await ledger.items_request(uow, order)
    if items is not None and items.status in PAYABLE:
        return items
    later = await uow.session.scalar(
        select(PaymentRequest)
        .where(PaymentRequest.order_id == order.id, PaymentRequest.status.in_(PAYABLE))
        .order_by(PaymentRequest.id)
        .limit(1)
    )
    if later is not None:
        return later
    if order.status == OrderStatus.PAID:
        raise OrderLocked(f"{order.number} is paid; there is nothing more to pay right now.")
    raise OrderLocked(f"{order.number} is {order.status}; it can no longer be paid.")


async def _pay_view(uow: UnitOfWork, go: GroupOrder, order: Order, request: PaymentRequest) -> PayView:
    """What to pay now is what is still owed: the request's amount less what has arrived."""
    accepted = await methods_of(uow, go.id)
    qr = next((m for m in accepted if m.method in methods.QR_METHODS), None)
    got = await ledger.received(uow, request.id)
    owed = max(0, request.amount_minor - got) if request.status in PAYABLE else request.amount_minor
    payload = None
    if qr is not None and request.status in PAYABLE:
        gom = await uow.session.get_one(User, go.gom_id)
        payload = methods.qr_payload(
            qr,
            amount_minor=owed,
            currency=request.currency,
            reference=request.reference,
            name=gom.display_name,
        )
    return PayView(
        number=order.number,
        go_code=go.code,
        go_title=go.title,
        kind=request.kind,
        status=request.status,
        amount=format_money(owed, request.currency),
        amount_minor=owed,
        currency=request.currency,
        reference=request.reference,
        token=request.token,
        due=local_text(request.due_at, go.timezone),
        qr_payload=payload,
        qr_label=qr.label if qr else None,
        manual=qr is not None or any(m.method == "manual" for m in accepted),
        gateways=[(m.method, m.label) for m in accepted if m.method in methods.GATEWAYS],
        received=format_money(got, request.currency) if got and request.status in PAYABLE else "",
    )


async def start_checkout(
    make_uow: UowFactory,
    actor: Actor,
    number: str,
    provider: str,
    gateways: Mapping[str, PaymentGateway],
    base_url: str,
) -> str:
    """A hosted payment link for the buyer's own order."""

    async def find(uow: UnitOfWork) -> Order:
        order = await load_order(uow, number)
        if order.buyer_id != actor.user_id:
            raise PermissionDenied(f"{order.number} is not your order.")
        return order

    return await _checkout(make_uow, find, provider, gateways, base_url)


async def start_checkout_by_token(
    make_uow: UowFactory, token: str, provider: str, gateways: Mapping[str, PaymentGateway], base_url: str
) -> str:
    """The same from the pay page: holding its unguessable token is what lets one pay there."""

    async def find(uow: UnitOfWork) -> Order:
        request = await uow.session.scalar(select(PaymentRequest).where(PaymentRequest.token == token[:64]))
        if request is None:
            raise NotFound("There is no such payment page.")
        return await uow.session.get_one(Order, request.order_id)

    return await _checkout(make_uow, find, provider, gateways, base_url)


async def _checkout(
    make_uow: UowFactory,
    find: Callable[[UnitOfWork], Awaitable[Order]],
    provider: str,
    gateways: Mapping[str, PaymentGateway],
    base_url: str,
) -> str:
    """The attempt (and its idempotency key) is committed before the provider is called, so
    a retry reuses the key and never makes a second charge."""
    gateway = gateways.get(provider)
    if gateway is None:
        raise PaymentError(f"{methods.LABELS.get(provider, provider)} is not set up on this server.")
    async with make_uow() as uow:
        order = await lock_order(uow, (await find(uow)).id)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        if provider not in {m.method for m in await methods_of(uow, go.id)}:
            raise PaymentError(f"{go.code} does not take {methods.LABELS.get(provider, provider)}.")
        request = await request_to_pay(uow, order)
        owed = await ledger.outstanding(uow, request)
        attempt = await uow.session.scalar(
            select(Payment).where(
                Payment.request_id == request.id,
                Payment.provider == provider,
                Payment.status == AttemptStatus.CREATED,
                Payment.amount_minor == owed,
            )
        )
        if attempt is None:
            count = await uow.session.scalar(
                select(func.count()).select_from(Payment).where(Payment.request_id == request.id)
            )
            attempt = Payment(
                request_id=request.id,
                provider=provider,
                status=AttemptStatus.CREATED,
                idempotency_key=f"gf-{request.token[:16]}-{(count or 0) + 1}",
                amount_minor=owed,
                currency=request.currency,
                note="",
                created_at=uow.now,
                updated_at=uow.now,
            )
            uow.session.add(attempt)
        elif attempt.checkout_url:
            return attempt.checkout_url
        await uow.commit()
        link_request = PaymentLinkRequest(
            idempotency_key=attempt.idempotency_key,
            amount_minor=attempt.amount_minor,
            currency=attempt.currency,
            description=f"{go.title} · {order.number} ({request.kind})",
            success_url=f"{base_url}/pay/{request.token}?done=1",
            cancel_url=f"{base_url}/pay/{request.token}",
            expires_in_seconds=max(1800, min(86_400, int((request.due_at - uow.now).total_seconds()))),
        )
        attempt_id = attempt.id
    link = await gateway.create_link(link_request)
    async with make_uow() as uow:
        row = await uow.session.get_one(Payment, attempt_id)
        row.provider_ref, row.checkout_url, row.updated_at = link.provider_ref, link.url, uow.now
        await uow.commit()
    return link.url


# --- webhooks ---------------------------------------------------------------------------


async def record_webhook(make_uow: UowFactory, events: list[WebhookEvent]) -> list[Outcome]:
    """Apply verified events; an event id seen before changes nothing (DESIGN rule 5)."""
    outcomes = []
    for event in events:
        async with make_uow() as uow:
            if not await first_delivery(uow, f"pay:{event.provider}", event.event_id):
                outcomes.append(Outcome("duplicate"))
                continue
            outcome = await ledger.apply_event(
                uow,
                provider=event.provider,
                kind=event.kind,
                provider_ref=event.provider_ref,
                our_reference=event.our_reference,
                amount_minor=event.amount_minor,
                currency=event.currency,
                charge_ref=event.charge_ref,
            )
            if outcome.result != "unknown":  # an attempt not (yet) ours is not marked as seen
                await uow.commit()
            outcomes.append(outcome)
    return outcomes


# --- proofs -----------------------------------------------------------------------------


def image_type(content: bytes) -> str | None:
    """The image type by its magic bytes; None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


# --- second-stage requests --------------------------------------------------------------


async def request_shipping(
    uow: UnitOfWork, actor: Actor, number: str, amount_text: str, kind: RequestKind = RequestKind.SHIPPING
) -> PayView:
    """Ask a paid (or unpaid) order for shipping or an adjustment; reservations are untouched."""
    async with uow:
        found = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, found.go_id)
        await require_admin(uow, actor, go)
        order = await lock_order(uow, found.id)
        if order.status not in (OrderStatus.PLACED, OrderStatus.PAID):
            raise OrderLocked(f"{order.number} is {order.status}; it owes nothing more.")
        amount = parse_amount(amount_text, order.currency)
        if amount <= 0:
            raise InvalidInput("The amount must be more than zero.")
        request = await ledger.open_request(
            uow, order, kind, amount, due_at=uow.now + timedelta(hours=go.payment_window_hours)
        )
        view = await _pay_view(uow, go, order, request)
        await uow.notify_user(
            order.buyer_id,
            "payment_requested",
            {"number": order.number, "kind": kind, "amount": view.amount, "due": view.due},
            dedupe_key=f"requested:{request.id}",
        )
        await uow.commit()
        return view


# --- refunds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundView:
    number: str
    amount: str
    provider: str
    status: str


async def refund_order(uow: UnitOfWork, actor: Actor, number: str, reason: str = "") -> list[RefundView]:
    """The GOM refunds a paid order: its slots go back and a refund is queued per payment."""
    async with uow:
        found = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, found.go_id)
        await require_admin(uow, actor, go)
        order = await lock_order(uow, found.id)  # a second tap waits, then finds it refunded
        if order.status == OrderStatus.PAID:
            await end_order(uow, order, OrderStatus.REFUNDED, actor.user_id, reason or "refunded by the GOM")
            if go.status == GOStatus.OPEN:
                await promote_waitlist(uow, go)
        else:  # an ended order with money still held (a late or mismatched payment)
            await _refund_held(uow, order, reason or "refunded by the GOM")
        views = await _refunds_of(uow, order)
        if not views:
            raise InvalidInput(f"{order.number} has no payment to refund.")
        await uow.commit()
        return views


async def _refund_held(uow: UnitOfWork, order: Order, reason: str) -> None:
    """Held money goes back; the caller holds the order's lock."""
    held = (
        await uow.session.scalars(
            select(Payment)
            .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
            .where(PaymentRequest.order_id == order.id, Payment.status == AttemptStatus.HELD)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    for payment in held:
        # money we hold; the refund row settles it
        await transition(uow, payment, AttemptStatus.SUCCEEDED, actor_id=None, detail=reason)
        uow.session.add(
            Refund(
                payment_id=payment.id,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                status=RefundStatus.MANUAL
                if payment.provider in ledger.MANUAL_PROVIDERS
                else RefundStatus.PENDING,
                idempotency_key=f"gf-refund-{payment.id}",
                reason=reason,
                created_at=uow.now,
                updated_at=uow.now,
            )
        )
    await uow.session.flush()


async def _refunds_of(uow: UnitOfWork, order: Order) -> list[RefundView]:
    rows = (
        await uow.session.execute(
            select(Refund, Payment.provider)
            .join(Payment, Payment.id == Refund.payment_id)
            .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
            .where(PaymentRequest.order_id == order.id)
            .order_by(Refund.id)
        )
    ).all()
    return [
        RefundView(order.number, format_money(r.amount_minor, r.currency), provider, r.status)
        for r, provider in rows
    ]


async def refunds_of(uow: UnitOfWork, actor: Actor, number: str) -> list[RefundView]:
    async with uow:
        order = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        if order.buyer_id != actor.user_id:
            await require_admin(uow, actor, go)
        return await _refunds_of(uow, order)


async def run_pending_refunds(
    make_uow: UowFactory, gateways: Mapping[str, PaymentGateway], number: str | None = None
) -> int:
    """Send queued gateway refunds (outside any transaction), all or one order's; returns
    how many went out. Two runs at once may both call the provider (with the same
    idempotency key, so it refunds once); only one records it."""
    async with make_uow() as uow:
        query = (
            select(Refund.id, Refund.idempotency_key, Refund.amount_minor, Refund.currency, Payment)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(Refund.status == RefundStatus.PENDING)
            .order_by(Refund.id)
            .limit(100)
        )
        if number is not None:
            query = (
                query.join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(Order.number == number.strip().upper().lstrip("#"))
            )
        rows = (await uow.session.execute(query)).all()
    sent = 0
    for refund_id, key, amount, currency, payment in rows:
        gateway = gateways.get(payment.provider)
        if gateway is None:
            continue
        try:
            result = await gateway.refund(
                RefundRequest(key, payment.provider_ref, payment.charge_ref, amount, currency)
            )
        except GatewayError as exc:
            log.warning(
                "refund %s through %s failed, will retry: %s", refund_id, payment.provider, exc.message
            )
            continue  # tried again on the next run, with the same idempotency key
        async with make_uow() as uow:
            order_id = await uow.session.scalar(
                select(PaymentRequest.order_id).where(PaymentRequest.id == payment.request_id)
            )
            await lock_order(uow, int(order_id or 0))
            refund = await ledger.locked(uow, Refund, refund_id)
            if refund.status == RefundStatus.PENDING:  # another run may have finished it meanwhile
                refund.provider_ref = result.provider_ref
                await ledger.finish_refund(uow, refund, result.provider_ref, None)
                await uow.commit()
                sent += 1
    return sent


async def confirm_manual_refund(
    uow: UnitOfWork, actor: Actor, number: str, reference: str
) -> list[RefundView]:
    """The GOM sent the money back by hand: record the transfer reference, tell the buyer."""
    reference = " ".join(reference.split())[:200]
    if not reference:
        raise InvalidInput(f"Give the transfer reference: /refunded {number} REFERENCE")
    async with uow:
        found = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, found.go_id)
        await require_admin(uow, actor, go)
        order = await lock_order(uow, found.id)
        refunds = (
            await uow.session.scalars(
                select(Refund)
                .join(Payment, Payment.id == Refund.payment_id)
                .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .where(PaymentRequest.order_id == order.id, Refund.status == RefundStatus.MANUAL)
                .execution_options(populate_existing=True)
            )
        ).all()
        if not refunds:
            raise InvalidInput(f"{order.number} has no refund waiting to be sent by hand.")
        for refund in refunds:
            await ledger.finish_refund(uow, refund, reference, actor.user_id)
        views = await _refunds_of(uow, order)
        await uow.commit()
        return views


# --- reminders and expiry (the scheduler calls the *_due functions) ----------------------


async def remind_unpaid(uow: UnitOfWork, actor: Actor, go_code: str) -> int:
    """Nudge every buyer of the GO who still owes something."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        orders = (
            await uow.session.scalars(
                select(Order).where(
                    Order.go_id == go.id, Order.status.in_([OrderStatus.PLACED, OrderStatus.PAID])
                )
            )
        ).all()
        sent = 0
        for order in orders:
            try:
                request = await request_to_pay(uow, order)
            except OrderLocked:
                continue
            sent += await _remind(uow, go, order, request, stamp=uow.now.strftime("%Y%m%d%H%M"))
        await uow.commit()
        return sent


async def remind_due(
    uow: UnitOfWork, within: timedelta = timedelta(hours=12), except_kinds: tuple[str, ...] = ()
) -> int:
    """Remind once for each open request that runs out within ``within``.

    The scheduler leaves out ``items`` requests: the order's own reminder covers those.
    """
    async with uow:
        due = (
            await uow.session.scalars(
                select(PaymentRequest).where(
                    PaymentRequest.status == RequestStatus.OPEN,
                    PaymentRequest.reminded_at.is_(None),
                    PaymentRequest.due_at <= uow.now + within,
                    PaymentRequest.due_at > uow.now,
                    PaymentRequest.kind.not_in(except_kinds),
                )
            )
        ).all()
        for request in due:
            order = await uow.session.get_one(Order, request.order_id)
            go = await uow.session.get_one(GroupOrder, order.go_id)
            await _remind(uow, go, order, request, stamp="due")
        await uow.commit()
        return len(due)


async def _remind(
    uow: UnitOfWork, go: GroupOrder, order: Order, request: PaymentRequest, *, stamp: str
) -> int:
    request.reminded_at = uow.now
    told = await uow.notify_user(
        order.buyer_id,
        "payment_reminder",
        {
            "number": order.number,
            "go_code": go.code,
            "kind": request.kind,
            "amount": format_money(await ledger.outstanding(uow, request), request.currency),
            "due": local_text(request.due_at, go.timezone),
        },
        dedupe_key=f"remind:{request.id}:{stamp}",
    )
    return int(told)


async def expire_due(uow: UnitOfWork) -> int:
    """Expire open requests past their window; an unpaid order's slots go to the waitlist."""
    async with uow:
        overdue = (
            await uow.session.scalars(
                select(PaymentRequest)
                .where(PaymentRequest.status == RequestStatus.OPEN, PaymentRequest.due_at <= uow.now)
                .order_by(PaymentRequest.id)
            )
        ).all()
        promote: set[int] = set()
        for due in overdue:
            order = await lock_order(uow, due.order_id)
            request = await ledger.locked(uow, PaymentRequest, due.id)
            if request.status != RequestStatus.OPEN:  # paid or reviewed meanwhile
                continue
            await ledger.set_request_status(
                uow, request, RequestStatus.EXPIRED, None, "payment window ran out"
            )
            if request.kind == RequestKind.ITEMS and order.status == OrderStatus.PLACED:
                await end_order(uow, order, OrderStatus.EXPIRED, None, reason="payment window ran out")
                promote.add(order.go_id)
                await uow.notify_user(
                    order.buyer_id,
                    "payment_expired",
                    {"number": order.number},
                    dedupe_key=f"expired:{request.id}",
                )
        for go_id in sorted(promote):
            go = await uow.session.get_one(GroupOrder, go_id)
            if go.status == GOStatus.OPEN:
                await promote_waitlist(uow, go)
        await uow.commit()
        return len(overdue)


# --- the GOM's view ---------------------------------------------------------------------


async def payments_report(uow: UnitOfWork, actor: Actor, go_code: str) -> PaymentsReport:
    """Who paid and who owes; every proof still to review (cancelled orders' too); held
    money; refunds due; overpayments. Nothing received is ever left out."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        orders = (
            await uow.session.execute(
                select(Order, User.display_name)
                .join(User, User.id == Order.buyer_id)
                .where(Order.go_id == go.id)
                .order_by(Order.id)
            )
        ).all()
        requests = (
            await uow.session.scalars(
                select(PaymentRequest)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(Order.go_id == go.id)
                .order_by(PaymentRequest.id)
            )
        ).all()
        kept = dict(
            (
                await uow.session.execute(
                    select(Payment.request_id, func.sum(Payment.amount_minor))
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
                    format_money(order.total_minor, order.currency),
                    "unpaid",
                )
            )
            unpaid += order.total_minor
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
]


async def reconciliation_csv(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[str, bytes]:
    """Every payment attempt with its provider reference and any refund, for the books."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        contact = (
            select(func.min(Identity.channel + ":" + func.coalesce(Identity.handle, Identity.external_id)))
            .where(Identity.user_id == User.id)
            .scalar_subquery()
        )
        rows = (
            await uow.session.execute(
                select(Order.number, User.display_name, contact, PaymentRequest, Payment, Refund)
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
                select(Order.number, User.display_name, contact, PaymentRequest, PaymentProof)
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
    kept: dict[int, int] = {}
    for _number, _buyer, _who, request, payment, _refund in rows:
        if payment.status == AttemptStatus.SUCCEEDED:
            kept[request.id] = kept.get(request.id, 0) + payment.amount_minor
    lines = [
        (
            number,
            buyer,
            who or "",
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
        )
        for number, buyer, who, request, payment, refund in rows
    ]
    lines += [  # money a buyer says they sent, not yet credited: on the books as pending
        (
            number,
            buyer,
            who or "",
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
        )
        for number, buyer, who, request, proof in proofs
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, SPREADSHEET)
    writer.writerow(RECONCILIATION_COLUMNS)
    for line in lines:
        writer.writerow([safe_cell(v) for v in line])
    return f"{go.code}-payments.csv", b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


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
