"""Xendit invoices (e-wallets such as GCash, GrabPay, OVO, DANA, ShopeePay; virtual accounts)."""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping

from core.errors import GatewayError, WebhookRejected
from core.payments.amounts import dumps_with_amount
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

DEFAULT_BASE = "https://api.xendit.co"
_KINDS = {"PAID": EventKind.PAID, "SETTLED": EventKind.PAID, "EXPIRED": EventKind.EXPIRED}


class XenditInvoices:
    name = "xendit"

    def __init__(self, http: HttpClient, secret_key: str, callback_token: str, base_url: str = DEFAULT_BASE):
        self._http = http
        self._base = base_url.rstrip("/")
        self._callback_token = callback_token
        self._auth = "Basic " + base64.b64encode(f"{secret_key}:".encode()).decode()

    def _headers(self, idempotency_key: str) -> dict[str, str]:
        return {
            "Authorization": self._auth,
            "Content-Type": "application/json",
            "Idempotency-key": idempotency_key,
        }

    async def create_link(self, request: PaymentLinkRequest) -> PaymentLink:
        body = dumps_with_amount(
            {
                "external_id": request.idempotency_key,
                "description": request.description[:255],
                "currency": request.currency,
                "invoice_duration": request.expires_in_seconds,
                "success_redirect_url": request.success_url,
                "failure_redirect_url": request.cancel_url,
            },
            "amount",
            request.amount_minor,
            request.currency,
        )
        response = await self._http.request(
            "POST", f"{self._base}/v2/invoices", headers=self._headers(request.idempotency_key), body=body
        )
        data = _json_or_fail(response.status, response.body, "Xendit could not make an invoice")
        return PaymentLink(str(data["id"]), str(data["invoice_url"]))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        token = headers.get("x-callback-token") or ""
        if not self._callback_token or not hmac.compare_digest(token.encode(), self._callback_token.encode()):
            raise WebhookRejected("bad x-callback-token")
        data = WebhookBody.parse(body, "Xendit callback", exact=True)
        status = data.required_ref("status")
        invoice_id = data.required_ref("id")
        currency = data.currency("currency")
        paid = "paid_amount" if data.present("paid_amount") else "amount"
        return [
            WebhookEvent(
                provider=self.name,
                event_id=f"{invoice_id}:{status}",
                kind=_KINDS.get(status, EventKind.IGNORED),
                provider_ref=invoice_id,
                our_reference=data.ref("external_id"),
                amount_minor=data.decimal_amount(paid, currency),
                currency=currency,
                charge_ref=invoice_id,
            )
        ]

    async def close(self) -> None:
        await self._http.close()

    async def refund(self, request: RefundRequest) -> RefundResult:
        body = dumps_with_amount(
            {
                "invoice_id": request.charge_ref or request.provider_ref,
                "reason": "CANCELLATION",
                "currency": request.currency,
                "reference_id": request.idempotency_key,
            },
            "amount",
            request.amount_minor,
            request.currency,
        )
        response = await self._http.request(
            "POST", f"{self._base}/refunds", headers=self._headers(request.idempotency_key), body=body
        )
        data = _json_or_fail(response.status, response.body, "Xendit refused the refund")
        return RefundResult(str(data["id"]), "succeeded" if data.get("status") == "SUCCEEDED" else "pending")


def _json_or_fail(status: int, body: bytes, what: str) -> dict[str, object]:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not 200 <= status < 300 or not isinstance(data, dict):
        code = data.get("error_code", status) if isinstance(data, dict) else status
        raise GatewayError("%(what)s (%(code)s); please try again.", what=what, code=code)
    return data
