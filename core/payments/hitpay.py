"""HitPay payment requests (PayNow, cards, GrabPay) and their HMAC-signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from urllib.parse import urlencode

from core.errors import GatewayError, WebhookRejected
from core.money import minor_to_plain
from core.payments.gateway import (
    HttpClient,
    PaymentLink,
    PaymentLinkRequest,
    RefundRequest,
    RefundResult,
    WebhookBody,
    WebhookEvent,
)
from core.payments.status import EventKind

DEFAULT_BASE = "https://api.hit-pay.com"
_KINDS = {"completed": EventKind.PAID, "failed": EventKind.FAILED, "expired": EventKind.EXPIRED}


def sign(body: bytes, salt: str) -> str:
    """``Hitpay-Signature``: HMAC-SHA256 of the raw JSON body with the webhook salt, in hex."""
    return hmac.new(salt.encode(), body, hashlib.sha256).hexdigest()


class HitPayRequests:
    name = "hitpay"

    def __init__(self, http: HttpClient, api_key: str, salt: str, base_url: str = DEFAULT_BASE) -> None:
        self._http = http
        self._key = api_key
        self._salt = salt
        self._base = base_url.rstrip("/")

    async def create_link(self, request: PaymentLinkRequest) -> PaymentLink:
        # HitPay documents no request idempotency header: reference_number carries our key,
        # and the attempt row (unique key) keeps us from asking twice for one attempt.
        form = urlencode(
            {
                "amount": minor_to_plain(request.amount_minor, request.currency),
                "currency": request.currency,
                "reference_number": request.idempotency_key,
                "purpose": request.description[:255],
                "redirect_url": request.success_url,
            }
        ).encode()
        response = await self._http.request(
            "POST",
            f"{self._base}/v1/payment-requests",
            headers={
                "X-BUSINESS-API-KEY": self._key,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Requested-With": "XMLHttpRequest",
            },
            body=form,
        )
        data = _json_or_fail(response.status, response.body, "HitPay could not make a payment link")
        return PaymentLink(str(data["id"]), str(data["url"]))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        given = headers.get("Hitpay-Signature") or ""
        if not self._salt or not hmac.compare_digest(given.encode(), sign(body, self._salt).encode()):
            raise WebhookRejected("bad Hitpay-Signature")
        data = WebhookBody.parse(body, "HitPay webhook", exact=True)
        status = data.required_ref("status")
        request_id = data.required_ref("id")
        currency = data.currency("currency")
        payments = data.items("payments")
        return [
            WebhookEvent(
                provider=self.name,
                event_id=f"{request_id}:{status}",
                kind=_KINDS.get(status, EventKind.IGNORED),
                provider_ref=request_id,
                our_reference=data.ref("reference_number"),
                amount_minor=data.decimal_amount("amount", currency),
                currency=currency,
                charge_ref=payments[0].ref("id") if payments else None,
            )
        ]

    async def close(self) -> None:
        await self._http.close()

    async def refund(self, request: RefundRequest) -> RefundResult:
        if not request.charge_ref:
            raise GatewayError("This HitPay payment has no payment id to refund.")
        body = (
            '{"payment_id": '
            + json.dumps(request.charge_ref)
            + ', "amount": '
            + minor_to_plain(request.amount_minor, request.currency)
            + "}"
        ).encode()
        response = await self._http.request(
            "POST",
            f"{self._base}/v1/refund",
            headers={"X-BUSINESS-API-KEY": self._key, "Content-Type": "application/json"},
            body=body,
        )
        data = _json_or_fail(response.status, response.body, "HitPay refused the refund")
        return RefundResult(str(data["id"]), "succeeded")


def _json_or_fail(status: int, body: bytes, what: str) -> dict[str, object]:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not 200 <= status < 300 or not isinstance(data, dict):
        raise GatewayError("%(what)s (%(status)s); please try again.", what=what, status=status)
    return data
