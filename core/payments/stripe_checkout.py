"""Stripe Checkout through the official ``stripe`` package; the base URL is configurable."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import stripe

from core.errors import GatewayError, WebhookRejected
from core.payments.gateway import (
    PaymentLink,
    PaymentLinkRequest,
    RefundRequest,
    RefundResult,
    WebhookBody,
    WebhookEvent,
)
from core.payments.status import EventKind

TOLERANCE_SECONDS = 300
_KINDS = {
    "checkout.session.completed": EventKind.PAID,
    "checkout.session.async_payment_succeeded": EventKind.PAID,
    "checkout.session.expired": EventKind.EXPIRED,
    "checkout.session.async_payment_failed": EventKind.FAILED,
}


class StripeCheckout:
    name = "stripe"

    def __init__(self, api_key: str, webhook_secret: str, api_base: str | None = None) -> None:
        self._secret = webhook_secret
        self._http = stripe.AIOHTTPClient()  # one aiohttp session for every call
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=2,
        )

    async def create_link(self, request: PaymentLinkRequest) -> PaymentLink:
        params: Any = {
            "mode": "payment",
            "client_reference_id": request.idempotency_key,
            "metadata": {"gomflow_key": request.idempotency_key},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount_minor,
                        "product_data": {"name": request.description[:200]},
                    },
                }
            ],
            # Stripe takes 30 minutes to 24 hours, counted on its own clock.
            "expires_at": int(time.time()) + max(1800, min(86_000, request.expires_in_seconds)),
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params, options={"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as exc:
            raise GatewayError("Stripe could not make a payment link; please try again.") from exc
        if not session.url:
            raise GatewayError("Stripe made no payment link; please try again.")
        return PaymentLink(session.id, session.url)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        signature = headers.get("Stripe-Signature")
        try:
            stripe.WebhookSignature.verify_header(body, signature, self._secret, tolerance=TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected("bad or stale Stripe-Signature") from exc
        except ValueError as exc:  # the body is not UTF-8, so Stripe cannot have signed it
            raise WebhookRejected("unreadable Stripe event") from exc
        if _signed_at(signature) > time.time() + TOLERANCE_SECONDS:
            # The package only refuses old timestamps; one from the future is as suspect.
            raise WebhookRejected("Stripe-Signature is dated in the future")
        event = WebhookBody.parse(body, "Stripe event")
        event_id = event.required_ref("id")
        kind = _KINDS.get(event.ref("type") or "", EventKind.IGNORED)
        if kind == EventKind.IGNORED:
            return [WebhookEvent(self.name, event_id, EventKind.IGNORED)]
        session = event.object("data").object("object")
        if kind == EventKind.PAID and session.ref("payment_status") not in ("paid", "no_payment_required"):
            kind = EventKind.IGNORED  # an async method: wait for async_payment_succeeded
        return [
            WebhookEvent(
                provider=self.name,
                event_id=event_id,
                kind=kind,
                provider_ref=session.ref("id"),
                our_reference=session.ref("client_reference_id"),
                amount_minor=session.minor_units("amount_total"),
                currency=session.currency("currency"),
                charge_ref=session.ref("payment_intent"),
            )
        ]

    async def refund(self, request: RefundRequest) -> RefundResult:
        if not request.charge_ref:
            raise GatewayError("This Stripe payment has no payment intent to refund.")
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": request.charge_ref, "amount": request.amount_minor},
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise GatewayError("Stripe refused the refund; please try again or refund by hand.") from exc
        return RefundResult(refund.id, "succeeded" if refund.status == "succeeded" else "pending")

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _signed_at(header: str | None) -> int:
    """The ``t=`` of a Stripe-Signature header that has already been verified."""
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            return int(value)
    raise WebhookRejected("Stripe-Signature has no timestamp")
