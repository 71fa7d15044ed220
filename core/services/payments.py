"""Paying: a GO's payment settings, the buyer's pay options, gateway checkout (one attempt
per request and provider, shared with Telegram's invoices), webhooks and extra requests.

Proofs and their review live in ``core.services.proofs``, refunds in
``core.services.refunds``, reminders and expiry in ``core.services.due``, the GOM's
report and the reconciliation CSV in ``core.services.reports``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from core.db.models import GroupOrder, Order, Payment, PaymentRequest, PaymentSettings, User
from core.errors import InvalidInput, NotFound, OrderLocked, PaymentError, PermissionDenied
from core.inbound import first_delivery
from core.lookups import load_go, load_order, lock_order
from core.money import format_money, minor_to_plain, parse_amount
from core.payments import emvco, ledger, methods, part_requests, store_credit, terms, unique_amounts
from core.payments.gateway import PaymentGateway, PaymentLinkRequest, WebhookEvent
from core.payments.ledger import Outcome
from core.payments.parts import percent_text, surcharge_for
from core.payments.qr_photo import read_payment_qr
from core.payments.status import PART_KINDS, PAYABLE, AttemptStatus, RequestKind, RequestStatus
from core.services.accounts import Actor, require_admin
from core.status import GOStatus, OrderStatus
from core.uow import UnitOfWork
from core.views import BankView, PayMethodsView, PayView
from core.when import local_text

MAX_PROOF_BYTES = 5 * 1024 * 1024
MAX_REFERENCE = 200
UowFactory = Callable[[], UnitOfWork]


# --- settings ---------------------------------------------------------------------------


async def set_methods(
    uow: UnitOfWork,
    actor: Actor,
    go_code: str,
    tokens: list[str],
    *,
    offered: Collection[str] = frozenset(),
    qr_photo: bytes | None = None,
) -> PayMethodsView:
    """Replace a GO's payment methods. ``qr_photo`` is a photo of the GOM's static bank QR,
    read before the transaction. ``offered``: the gateways this server has; a GO that is
    no longer a draft must keep at least one method that works here."""
    # decoding a 12 MP photo takes most of a second: off the event loop, so a drop goes on
    payload = await asyncio.to_thread(read_payment_qr, qr_photo) if qr_photo is not None else None
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        chosen = methods.parse_methods(tokens, go.currency, photo_payload=payload)
        if go.status != GOStatus.DRAFT and not methods.working(chosen, offered):
            raise methods.missing(go.code, chosen, offered)
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
    read = emvco.describe(payload) if payload is not None else None
    return PayMethodsView(
        code=go.code,
        labels=[m.label for m in chosen],
        not_here=[m.label for m in chosen if m not in methods.working(chosen, offered)],
        qr_scheme=read.scheme_name if read else "",
        qr_payee=read.merchant_name if read else "",
        qr_account=read.account if read else "",
    )


async def methods_of(uow: UnitOfWork, go_id: int) -> list[methods.Method]:
    row = await uow.session.get(PaymentSettings, go_id)
    return methods.load(row.methods if row else None)


# --- paying -----------------------------------------------------------------------------


INSTALMENTS = "instalments"


async def pay_options(uow: UnitOfWork, actor: Actor, number: str, choice: str = "") -> PayView:
    """The request an order owes now (items first, then shipping or adjustments).

    ``choice`` "instalments": the buyer splits the items payment into the GO's instalments."""
    async with uow:
        order = await load_order(uow, number)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        if order.buyer_id != actor.user_id:
            await require_admin(uow, actor, go)
        request = await request_to_pay(uow, order, instalments=choice == INSTALMENTS)
        view = await pay_view(uow, go, order, request)
        if order.buyer_id == actor.user_id and view.payable:
            held = await store_credit.balance(uow, order.buyer_id, go.gom_id, request.currency)
            view = replace(view, credit=format_money(held, request.currency) if held else "")
        await uow.commit()
        return view


async def pay_page(uow: UnitOfWork, token: str) -> PayView:
    """The pay page behind an unguessable token: amount, reference and QR, nothing personal."""
    async with uow:
        request = await request_by_token(uow, token)
        order = await uow.session.get_one(Order, request.order_id)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        return await pay_view(uow, go, order, request)


async def request_by_token(uow: UnitOfWork, token: str) -> PaymentRequest:
    """The payment request behind a pay page's unguessable token."""
    request = await uow.session.scalar(select(PaymentRequest).where(PaymentRequest.token == token[:64]))
    if request is None:
        raise NotFound("There is no such payment page.")
    return request


async def request_to_pay(uow: UnitOfWork, order: Order, *, instalments: bool = False) -> PaymentRequest:
    part = await _part_to_pay(uow, order, instalments)
    if part is not None:
        return part
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
        raise OrderLocked(
            "This payment is complete: %(number)s has nothing more to pay right now.", number=order.number
        )
    raise OrderLocked(
        "%(number)s is %(status)s; it can no longer be paid.", number=order.number, status=order.status
    )


async def _part_to_pay(uow: UnitOfWork, order: Order, instalments: bool) -> PaymentRequest | None:
    """The items payment in parts: the first part still payable, opening the parts the
    first time (a deposit when the GO takes one, instalments when the buyer chose them).
    None: this order pays its items in one request."""
    order = await lock_order(uow, order.id)
    parts = await terms.parts_of(uow, order)
    if parts:
        if instalments and not any(p.kind == RequestKind.INSTALMENT for p in parts):
            raise OrderLocked(
                "%(number)s already pays by deposit; it cannot switch to instalments.", number=order.number
            )
        return next((p for p in parts if p.status in PAYABLE), None) or await _later_request(uow, order)
    if order.status != OrderStatus.PLACED:
        if instalments:
            raise OrderLocked(
                "%(number)s is %(status)s; instalments are chosen before paying.",
                number=order.number,
                status=order.status,
            )
        return None
    go = await uow.session.get_one(GroupOrder, order.go_id)
    row = await terms.money_of(uow, go.id)
    if not instalments and (row is None or row.deposit_kind is None):
        return None
    owed = await terms.items_owed(uow, order)
    if not instalments and not terms.deposit_of(row, owed, order.units):
        return None
    items = await uow.session.scalar(
        select(PaymentRequest)
        .where(
            PaymentRequest.order_id == order.id,
            PaymentRequest.kind == RequestKind.ITEMS,
            PaymentRequest.status.in_([*PAYABLE, RequestStatus.PAID]),
        )
        .limit(1)
    )
    if items is not None and (items.status != RequestStatus.OPEN or await ledger.received(uow, items.id)):
        if instalments:
            raise OrderLocked(
                "%(number)s has a payment under way; it is paid in one go.", number=order.number
            )
        return None
    if instalments:
        if not terms.instalment_dates(row):
            raise InvalidInput(
                "%(code)s does not offer instalments; /pay %(number)s pays in full.",
                code=go.code,
                number=order.number,
            )
        if items is not None:
            await ledger.set_request_status(
                uow, items, RequestStatus.VOID, order.buyer_id, "paid in instalments"
            )
        opened = await part_requests.open_instalments(uow, go, order, row, owed)
        if not opened:
            raise InvalidInput(
                "The instalment dates of %(code)s have passed; /pay %(number)s pays in full.",
                code=go.code,
                number=order.number,
            )
        return opened[0]
    assert row is not None
    if items is not None:
        await ledger.set_request_status(uow, items, RequestStatus.VOID, None, "paid by deposit")
    await part_requests.open_deposit(uow, go, order, row, owed)
    return next(p for p in await terms.parts_of(uow, order) if p.status in PAYABLE)


async def _later_request(uow: UnitOfWork, order: Order) -> PaymentRequest | None:
    return await uow.session.scalar(
        select(PaymentRequest)
        .where(
            PaymentRequest.order_id == order.id,
            PaymentRequest.status.in_(PAYABLE),
            PaymentRequest.kind.not_in(PART_KINDS),
        )
        .order_by(PaymentRequest.id)
        .limit(1)
    )


async def money_lines(
    uow: UnitOfWork, go: GroupOrder, order: Order, request: PaymentRequest | None, owed: int = 0
) -> list[str]:
    """The order's money beyond its lines, in words: the GOM's fee, the rate it is locked
    to, the parts of its items payment and what each online method adds."""
    locked = await terms.order_terms(uow, order)
    lines = []
    if locked.rate is not None:
        lines.append(f"Prices converted at {locked.rate.text()} (locked when you ordered)")
    if locked.has_fee:
        fee = await terms.fee_of(uow, order, locked)
        lines.append(f"GOM fee: {format_money(fee, order.currency)} (included)")
    if request is not None and request.kind in PART_KINDS:
        paid, count = await terms.part_count(uow, order.id)
        if request.kind == RequestKind.DEPOSIT:
            lines.append("Deposit now; the balance falls due after the items arrive")
        else:
            label = "Balance" if request.kind == RequestKind.BALANCE else f"Instalment {paid + 1} of {count}"
            lines.append(f"{label}; {count - paid - 1} more after this" if count - paid > 1 else label)
    row = await terms.money_of(uow, go.id)
    for extra in terms.surcharges_of(row).values():
        parts = [format_money(extra.fixed_minor, order.currency)] if extra.fixed_minor else []
        parts += [percent_text(extra.bp)] if extra.bp else []
        label = methods.LABELS.get(extra.method, extra.method)
        in_all = format_money(owed + surcharge_for(owed, extra.fixed_minor, extra.bp), order.currency)
        lines.append(f"Paying by {label} adds {' + '.join(parts)}" + (f" ({in_all} in all)" if owed else ""))
    return lines


async def pay_view(uow: UnitOfWork, go: GroupOrder, order: Order, request: PaymentRequest) -> PayView:
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
        manual=methods.takes_transfers(accepted),
        gateways=[(m.method, m.label) for m in accepted if m.method in methods.GATEWAYS],
        received=format_money(got, request.currency) if got and request.status in PAYABLE else "",
        pay_to=methods.payee(qr) if qr else "",
        bank=next((BankView(m.bank, m.holder, m.target) for m in accepted if m.method == "bank"), None),
        unique_line=unique_amounts.unique_line(request) if not got and request.status in PAYABLE else "",
        amount_plain=minor_to_plain(owed, request.currency),
        money_lines=await money_lines(uow, go, order, request, owed if request.status in PAYABLE else 0),
        with_surcharge={
            extra.method: format_money(
                owed + surcharge_for(owed, extra.fixed_minor, extra.bp), request.currency
            )
            for extra in terms.surcharges_of(await terms.money_of(uow, go.id)).values()
        },
        can_split=request.kind == RequestKind.ITEMS
        and request.status == RequestStatus.OPEN
        and not got
        and order.status == OrderStatus.PLACED
        and bool(terms.instalment_dates(await terms.money_of(uow, go.id))),
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
            raise PermissionDenied("%(number)s is not your order.", number=order.number)
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
        raise PaymentError(
            "%(get)s is not set up on this server.", get=methods.LABELS.get(provider, provider)
        )
    async with make_uow() as uow:
        order = await lock_order(uow, (await find(uow)).id)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        if provider not in {m.method for m in await methods_of(uow, go.id)}:
            raise PaymentError(
                "%(code)s does not take %(get)s.", code=go.code, get=methods.LABELS.get(provider, provider)
            )
        request = await request_to_pay(uow, order)
        owed = await ledger.outstanding(uow, request)
        surcharge = await terms.surcharge_on(uow, go.id, provider, owed)
        attempt = await open_attempt(uow, request, provider, owed + surcharge, surcharge_minor=surcharge)
        if attempt.checkout_url:
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


async def open_attempt(
    uow: UnitOfWork,
    request: PaymentRequest,
    provider: str,
    amount_minor: int,
    *,
    key_is_ref: bool = False,
    surcharge_minor: int = 0,
) -> Payment:
    """The request's open attempt through ``provider`` for ``amount_minor``, or a new one.

    Reusing the open attempt reuses its idempotency key, so a second tap or a retry never
    asks the provider for a second charge. ``key_is_ref``: the provider knows the attempt
    by our key (a Telegram invoice payload), so it is its provider reference from the start.
    ``surcharge_minor``: the method's pass-through fee included in ``amount_minor``.
    """
    attempt = await uow.session.scalar(
        select(Payment).where(
            Payment.request_id == request.id,
            Payment.provider == provider,
            Payment.status == AttemptStatus.CREATED,
            Payment.amount_minor == amount_minor,
            Payment.surcharge_minor == surcharge_minor,
        )
    )
    if attempt is not None:
        return attempt
    count = await uow.session.scalar(
        select(func.count()).select_from(Payment).where(Payment.request_id == request.id)
    )
    key = f"gf-{request.token[:16]}-{(count or 0) + 1}"
    attempt = Payment(
        request_id=request.id,
        provider=provider,
        status=AttemptStatus.CREATED,
        idempotency_key=key,
        provider_ref=key if key_is_ref else None,
        amount_minor=amount_minor,
        currency=request.currency,
        note="",
        created_at=uow.now,
        updated_at=uow.now,
        surcharge_minor=surcharge_minor,
    )
    uow.session.add(attempt)
    return attempt


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
            raise OrderLocked(
                "%(number)s is %(status)s; it owes nothing more.", number=order.number, status=order.status
            )
        amount = parse_amount(amount_text, order.currency)
        if amount <= 0:
            raise InvalidInput("The amount must be more than zero.")
        request = await ledger.open_request(
            uow, order, kind, amount, due_at=uow.now + timedelta(hours=go.payment_window_hours)
        )
        view = await pay_view(uow, go, order, request)
        await uow.notify_user(
            order.buyer_id,
            "payment_requested",
            {"number": order.number, "kind": kind, "amount": view.amount, "due": view.due},
            dedupe_key=f"requested:{request.id}",
        )
        await uow.commit()
        return view
