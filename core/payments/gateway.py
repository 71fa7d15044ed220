"""The one interface every payment provider implements, in small dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class PaymentLinkRequest:
    """Ask a provider for a page where the buyer pays exactly this."""

    idempotency_key: str  # also our reference at the provider, so the webhook finds the attempt
    amount_minor: int
    currency: str
    description: str
    success_url: str
    cancel_url: str
    expires_in_seconds: int = 86_400


@dataclass(frozen=True)
class PaymentLink:
    provider_ref: str
    url: str


@dataclass(frozen=True)
class WebhookEvent:
    """What a verified notification says, in our terms."""

    provider: str
    event_id: str
    kind: str  # "paid", "expired", "failed", "refunded", "ignored"
    provider_ref: str | None = None  # the session / invoice / payment request id
    our_reference: str | None = None  # the idempotency key we sent
    amount_minor: int | None = None
    currency: str | None = None
    charge_ref: str | None = None  # what a refund is made against


@dataclass(frozen=True)
class RefundRequest:
    idempotency_key: str
    provider_ref: str | None
    charge_ref: str | None
    amount_minor: int
    currency: str
    reason: str = ""


@dataclass(frozen=True)
class RefundResult:
    provider_ref: str
    status: str  # "succeeded" or "pending"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes


class HttpClient(Protocol):
    """One reusable HTTP session, provided by the edge (the core imports no HTTP library)."""

    async def request(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpResponse:
        """Return the response, whatever its status; raise ``GatewayError`` if unreachable."""
        ...

    async def close(self) -> None: ...


class PaymentGateway(Protocol):
    """A provider of hosted payment links.

    ``create_link`` must be safe to retry with the same idempotency key: the provider
    makes at most one charge. ``parse_webhook`` verifies the signature on the raw body
    before reading it and raises ``WebhookRejected`` otherwise.
    """

    name: str

    async def create_link(self, request: PaymentLinkRequest) -> PaymentLink: ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]: ...

    async def refund(self, request: RefundRequest) -> RefundResult: ...

    async def close(self) -> None:
        """Release the gateway's HTTP session; safe to call twice."""
        ...


@dataclass
class FakeGateway:
    """A gateway for tests and the demo: links are made up, refunds always succeed."""

    name: str = "fake"
    base_url: str = "http://127.0.0.1:8080/fake-checkout"
    created: dict[str, PaymentLink] = field(default_factory=dict)
    refunds: list[RefundRequest] = field(default_factory=list)

    async def create_link(self, request: PaymentLinkRequest) -> PaymentLink:
        if request.idempotency_key not in self.created:
            ref = f"fake_{len(self.created) + 1}"
            self.created[request.idempotency_key] = PaymentLink(ref, f"{self.base_url}/{ref}")
        return self.created[request.idempotency_key]

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        from core.errors import WebhookRejected

        raise WebhookRejected("the fake gateway takes no webhooks")

    async def refund(self, request: RefundRequest) -> RefundResult:
        self.refunds.append(request)
        return RefundResult(f"fake_refund_{len(self.refunds)}", "succeeded")

    async def close(self) -> None:
        return None
