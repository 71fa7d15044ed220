"""The core side of Telegram's native payments (a provider token from BotFather).

The Telegram adapter sends the invoice from ``telegram_invoice``, answers each
``pre_checkout_query`` with ``pre_checkout`` (a read, well inside Telegram's 10 seconds)
and hands ``successful_payment`` to ``successful_payment``: only that marks an order paid.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.db.models import GroupOrder, Order, Payment, PaymentRequest
from core.errors import PaymentError, PermissionDenied
from core.lookups import load_order
from core.money import CURRENCIES
from core.payments.gateway import WebhookEvent
from core.payments.ledger import Outcome
from core.payments.status import PAYABLE, AttemptStatus, EventKind, RequestKind
from core.policy import payable_until
from core.services.accounts import Actor
from core.services.payments import UowFactory, methods_of, open_attempt, record_webhook, request_to_pay
from core.status import OrderStatus
from core.uow import UnitOfWork

PROVIDER = "telegram"

# Digits after the decimal point Telegram expects for each currency ("exp" in Telegram's
# currencies.json, https://core.telegram.org/bots/payments/currencies.json). An invoice is
# refused unless these match ``core.money``'s exponent, so an amount is never off by 100×.
TELEGRAM_EXPONENTS = {
    "SGD": 2,
    "MYR": 2,
    "PHP": 2,
    "IDR": 2,
    "THB": 2,
    "VND": 0,
    "USD": 2,
    "KRW": 0,
    "JPY": 0,
}


def check_currency(currency: str) -> None:
    """Raise PaymentError unless Telegram counts ``currency`` in the same minor units we do."""
    ours = CURRENCIES.get(currency)
    theirs = TELEGRAM_EXPONENTS.get(currency)
    if ours is None or theirs is None or ours.exponent != theirs:
        raise PaymentError(
            ("Paying inside Telegram is not available for %(currency)s; please use another way to pay."),
            currency=currency,
        )


@dataclass(frozen=True)
class TelegramInvoice:
    """What ``sendInvoice`` needs; ``payload`` comes back in the pre-checkout and the payment."""

    payload: str
    title: str
    description: str
    currency: str
    amount_minor: int
    label: str


async def telegram_invoice(uow: UnitOfWork, buyer: Actor, number: str) -> TelegramInvoice:
    async with uow:
        order = await load_order(uow, number)
        if order.buyer_id != buyer.user_id:
            raise PermissionDenied("%(number)s is not your order.", number=order.number)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        if PROVIDER not in {m.method for m in await methods_of(uow, go.id)}:
            raise PaymentError("%(code)s does not take payments inside Telegram.", code=go.code)
        request = await request_to_pay(uow, order)
        check_currency(request.currency)
        attempt = await open_attempt(uow, request, PROVIDER, request.amount_minor, key_is_ref=True)
        invoice = TelegramInvoice(
            payload=attempt.idempotency_key,
            title=f"{go.title}"[:32],
            description=f"Order {order.number}: {request.kind}"[:255],
            currency=request.currency,
            amount_minor=request.amount_minor,
            label=f"{order.number} {request.kind}"[:32],
        )
        await uow.commit()
        return invoice


async def pre_checkout(uow: UnitOfWork, payload: str, currency: str, total_amount: int) -> str | None:
    """None if the order may still be paid exactly so; otherwise the reason to show the buyer."""
    async with uow:
        row = (
            await uow.session.execute(
                select(Payment, PaymentRequest, Order)
                .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(Payment.provider == PROVIDER, Payment.idempotency_key == payload[:80])
            )
        ).first()
        if row is None:
            return "This invoice is not one of ours any more; please ask for a new one with /pay."
        payment, request, order = row
        if payment.status != AttemptStatus.CREATED or request.status not in PAYABLE:
            return f"Order {order.number} no longer needs this payment."
        if request.kind == RequestKind.ITEMS and order.status != OrderStatus.PLACED:
            return f"Order {order.number} is {order.status}; it can no longer be paid."
        if await payable_until(uow, order, request) <= uow.now:
            return f"The payment window for {order.number} has closed."
        if total_amount != request.amount_minor or currency.upper() != request.currency:
            return "The amount changed since this invoice was sent; please ask for a new one with /pay."
        return None


async def successful_payment(
    make_uow: UowFactory,
    *,
    payload: str,
    currency: str,
    total_amount: int,
    telegram_charge_id: str,
    provider_charge_id: str = "",
) -> Outcome:
    """Record Telegram's ``successful_payment`` once, however often it is delivered."""
    [outcome] = await record_webhook(
        make_uow,
        [
            WebhookEvent(
                provider=PROVIDER,
                event_id=telegram_charge_id,
                kind=EventKind.PAID,
                provider_ref=payload,
                our_reference=payload,
                amount_minor=total_amount,
                currency=currency.upper(),
                charge_ref=provider_charge_id or telegram_charge_id,
            )
        ],
    )
    return outcome
