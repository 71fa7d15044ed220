"""The one interface every payment provider implements, in small dataclasses."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from core.errors import WebhookRejected
from core.money import CURRENCIES
from core.payments.amounts import minor_from_decimal
from core.payments.status import EventKind


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
    kind: EventKind
    provider_ref: str | None = None  # the session / invoice / payment request id
    our_reference: str | None = None  # the idempotency key we sent
    amount_minor: int | None = None
    currency: str | None = None
    charge_ref: str | None = None  # what a refund is made against

    def __post_init__(self) -> None:
        # a kind given as its text ("paid") becomes the enum; an unknown one is refused here
        object.__setattr__(self, "kind", EventKind(self.kind))


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
        raise WebhookRejected("the fake gateway takes no webhooks")

    async def refund(self, request: RefundRequest) -> RefundResult:
        self.refunds.append(request)
        return RefundResult(f"fake_refund_{len(self.refunds)}", "succeeded")

    async def close(self) -> None:
        return None


# --- reading a verified webhook body ----------------------------------------------------

MAX_REF = 200  # what the payment tables hold for a provider's id or our reference
MAX_AMOUNT_DIGITS = 15  # far above any real payment, far below what could overflow
_REF = re.compile(r"[\x21-\x7e]+")  # provider ids and our references are printable ASCII


class WebhookBody:
    """A provider's JSON object, read so that every wrong shape is a ``WebhookRejected``.

    A signature proves who sent a body, not that it has the shape we expect. A string
    where an object should be, a list as a reference, ``1e999999999``, deep nesting or an
    id with a NUL must be refused (400, logged) rather than escape as a TypeError or
    OverflowError (500, which the provider retries for days) or reach the database.
    """

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, dict):
            raise WebhookRejected("%(what)s is %(shape)s, not an object", what=what, shape=_shape(data))
        self._data: dict[str, Any] = data
        self._what = what

    @classmethod
    def parse(cls, body: bytes, what: str, *, exact: bool = False) -> WebhookBody:
        """The body as JSON; ``exact`` keeps decimal numbers as ``Decimal`` (never floats)."""
        try:
            text = body.decode("utf-8")
            data = json.loads(text, parse_float=Decimal) if exact else json.loads(text)
        except UnicodeDecodeError as exc:
            raise WebhookRejected("%(what)s is not UTF-8", what=what) from exc
        except RecursionError as exc:
            raise WebhookRejected("%(what)s is nested too deeply", what=what) from exc
        except ValueError as exc:
            raise WebhookRejected("%(what)s is not JSON: %(exc)s", what=what, exc=exc) from exc
        return cls(data, what)

    def present(self, key: str) -> bool:
        return self._data.get(key) is not None

    def object(self, key: str) -> WebhookBody:
        return WebhookBody(self._data.get(key), f"{self._what}.{key}")

    def items(self, key: str) -> list[WebhookBody]:
        """A list of objects; absent or null is an empty list."""
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise WebhookRejected(
                "%(what)s.%(key)s is %(shape)s, not a list", what=self._what, key=key, shape=_shape(value)
            )
        return [WebhookBody(v, f"{self._what}.{key}[{i}]") for i, v in enumerate(value)]

    def ref(self, key: str) -> str | None:
        """An id or reference: printable ASCII of at most ``MAX_REF`` characters; a number
        is taken as its digits. Absent, null or empty is None."""
        value = self._data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value) > MAX_REF or not _REF.fullmatch(value):
            raise WebhookRejected(
                "%(what)s.%(key)s is not an id: %(shape)s", what=self._what, key=key, shape=_shape(value)
            )
        return value

    def required_ref(self, key: str) -> str:
        value = self.ref(key)
        if value is None:
            raise WebhookRejected("%(what)s.%(key)s is missing", what=self._what, key=key)
        return value

    def currency(self, key: str) -> str | None:
        """An ISO 4217 code we know, upper-cased; absent, null or empty is None."""
        value = self.ref(key)
        if value is None:
            return None
        if value.upper() not in CURRENCIES:
            raise WebhookRejected(
                "%(what)s.%(key)s is not a currency we know: %(value)s",
                what=self._what,
                key=key,
                value=repr(value[:10]),
            )
        return value.upper()

    def minor_units(self, key: str) -> int | None:
        """An amount already in minor units (an integer), or None when absent."""
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or len(str(abs(value))) > MAX_AMOUNT_DIGITS:
            raise WebhookRejected(
                "%(what)s.%(key)s is not an amount in minor units: %(shape)s",
                what=self._what,
                key=key,
                shape=_shape(value),
            )
        return value

    def decimal_amount(self, key: str, currency: str | None) -> int | None:
        """A decimal amount (``25.90`` or ``"25.90"``) in minor units of ``currency``; None
        when absent, or when it has more precision than the currency (the ledger holds it)."""
        value = self._data.get(key)
        if value is None:
            return None
        try:
            number = (
                Decimal(value)
                if isinstance(value, str | int | Decimal) and not isinstance(value, bool)
                else None
            )
        except ArithmeticError:
            number = None
        if number is None or not number.is_finite() or number.adjusted() >= MAX_AMOUNT_DIGITS:
            raise WebhookRejected(
                "%(what)s.%(key)s is not an amount: %(shape)s", what=self._what, key=key, shape=_shape(value)
            )
        if currency is None:
            raise WebhookRejected("%(what)s has an amount but no currency", what=self._what)
        return minor_from_decimal(number, currency)


def _shape(value: object) -> str:
    """What a value is, for the log, without echoing a large or hostile body."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float | Decimal):
        return "a number" if len(str(value)) > 20 else f"the number {value}"
    return f"a {type(value).__name__}"
