"""Validly signed webhooks of odd shapes are answered 400 with a reason in the log, never
500 (a provider retries a 500 for days), and write nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from core.db.models import AuditEntry, Order, Payment, ProcessedInbound
from core.payments.hitpay import HitPayRequests, sign
from core.payments.stripe_checkout import StripeCheckout
from core.payments.xendit import XenditInvoices
from main import App
from tests.conftest import open_go, say
from tests.integration.test_gateways import HITPAY_SALT, STRIPE_SECRET, XENDIT_TOKEN, FakeProviders
from web.app import build_web_app
from web.http_client import AiohttpClient

Body = dict[str, Any]
DEEP = b'{"id": "x", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.fixture
async def client(any_app: App) -> AsyncIterator[TestClient[Any, Any]]:
    fake = TestServer(FakeProviders().app(), host="127.0.0.1")
    await fake.start_server()
    base = str(fake.make_url("")).rstrip("/")
    http = AiohttpClient()
    any_app.core.payment_gateways.update(
        {
            "stripe": StripeCheckout("sk_test_fake_key", STRIPE_SECRET, base),
            "xendit": XenditInvoices(http, "xnd_development_fake", XENDIT_TOKEN, base),
            "hitpay": HitPayRequests(http, "hitpay_fake_key", HITPAY_SALT, base),
        }
    )
    client = TestClient(TestServer(build_web_app(any_app.core), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()
    for gateway in any_app.core.payment_gateways.values():
        await gateway.close()
    await fake.close()


def stripe_signed(body: bytes, at: int | None = None) -> dict[str, str]:
    """Stripe signs ``t.body`` with HMAC-SHA256; done on bytes so a non-UTF-8 body can be signed."""
    at = int(time.time()) if at is None else at
    mac = hmac.new(STRIPE_SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={at},v1={mac}", "Content-Type": "application/json"}


def stripe_valid(reference: str) -> Body:
    session = {
        "id": "cs_test_1",
        "amount_total": 2590,
        "currency": "sgd",
        "payment_status": "paid",
        "payment_intent": "pi_1",
        "client_reference_id": reference,
    }
    return {"id": "evt_1", "type": "checkout.session.completed", "data": {"object": session}}


def xendit_valid(reference: str) -> Body:
    return {"id": "inv_1", "external_id": reference, "status": "PAID", "amount": 25.90, "currency": "SGD"}


def hitpay_valid(reference: str) -> Body:
    return {
        "id": "hp_req_1",
        "status": "completed",
        "amount": "25.90",
        "currency": "SGD",
        "reference_number": reference,
        "payments": [{"id": "hp_pay_1"}],
    }


def with_(body: Body, path: str, value: object) -> Body:
    """A copy of ``body`` with the field at ``a.b.c`` set (or removed when value is ...)."""
    copy = json.loads(json.dumps(body))
    *parents, last = path.split(".")
    node = copy
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return copy


# For each gateway: its valid body, where its object, reference, amount and id live.
GATEWAYS: dict[str, tuple[Callable[[str], Body], str, str, str, str]] = {
    "stripe": (
        stripe_valid,
        "data.object",
        "data.object.client_reference_id",
        "data.object.amount_total",
        "id",
    ),
    "xendit": (xendit_valid, "", "external_id", "amount", "id"),  # a flat object
    "hitpay": (hitpay_valid, "payments", "reference_number", "amount", "id"),
}


def odd_bodies(gateway: str, reference: str) -> dict[str, bytes]:
    valid, obj, ref, amount, ident = GATEWAYS[gateway]
    body = valid(reference)

    def dump(value: object) -> bytes:
        return json.dumps(value).encode()

    huge = dump(with_(body, amount, 123456789)).replace(b"123456789", b"1e999999999")
    odd = {
        "a string, not an object": dump("hello"),
        "a list, not an object": dump([body]),
        "a string where an object is expected": dump(with_(body, obj, "cs_test_1")) if obj else b"",
        "a list as reference": dump(with_(body, ref, [reference])),
        "an object as id": dump(with_(body, ident, {"nested": True})),
        "an amount of 1e999999999": huge,
        "an amount as an object": dump(with_(body, amount, {"value": 2590})),
        "a NUL in the id": dump(with_(body, ident, "evt\u0000")),
        "a lone surrogate in the reference": dump(with_(body, ref, reference + "\ud800")),
        "an id too long to store": dump(with_(body, ident, "i" * 5000)),
        "a currency too long to store": dump(
            with_(body, "data.object.currency" if gateway == "stripe" else "currency", "SGDX")
        ),
        "deep nesting": DEEP,
        "missing fields": dump({}),
        "a missing id": dump(with_(body, ident, ...)),
        "not UTF-8": dump(body).replace(b"PAID", b"\xff\xfe").replace(b"completed", b"\xff\xfe")
        if gateway != "stripe"
        else dump(body).replace(b"evt_1", b"\xff\xfe"),
        "not JSON": b"id=1&status=PAID",
    }
    return {case: body for case, body in odd.items() if obj or "where an object" not in case}


def signed(gateway: str, body: bytes) -> dict[str, str]:
    if gateway == "stripe":
        return stripe_signed(body)
    if gateway == "xendit":
        return {"x-callback-token": XENDIT_TOKEN, "Content-Type": "application/json"}
    return {"Hitpay-Signature": sign(body, HITPAY_SALT), "Content-Type": "application/json"}


async def written(app: App) -> tuple[int, ...]:
    async with app.core.reader() as uow:
        counts = [
            await uow.session.scalar(select(func.count()).select_from(table))
            for table in (ProcessedInbound, Payment, AuditEntry)
        ]
        status = await uow.session.scalar(select(Order.status).where(Order.number == "SVT-FML-1"))
    return (*(int(c or 0) for c in counts), status == "placed")


async def reference_for(app: App, gateway: str) -> str:
    await open_go(app)
    for who, line in (("gina", f"/paymethods SVT-FML {gateway} manual"), ("bob", "/order SVT-FML ALB:A 1")):
        assert not (await say(app, who, line)).text.startswith("⚠️")
    assert not (await say(app, "bob", f"/pay SVT-FML-1 {gateway}")).text.startswith("⚠️")
    async with app.core.reader() as uow:
        key = await uow.session.scalar(select(Payment.idempotency_key).where(Payment.provider == gateway))
    assert key is not None
    return key


@pytest.mark.parametrize("gateway", list(GATEWAYS))
async def test_validly_signed_odd_shapes_are_refused_with_400_and_write_nothing(
    any_app: App, client: TestClient[Any, Any], gateway: str, caplog: pytest.LogCaptureFixture
) -> None:
    reference = await reference_for(any_app, gateway)
    before = await written(any_app)
    answers = {}
    for case, body in odd_bodies(gateway, reference).items():
        response = await client.post(f"/webhooks/{gateway}", data=body, headers=signed(gateway, body))
        answers[case] = response.status
    assert answers == dict.fromkeys(answers, 400)
    assert await written(any_app) == before
    assert sum(f"{gateway} webhook rejected" in r.getMessage() for r in caplog.records) == len(answers)
    # the same attempt is still paid by a well-formed event
    good = json.dumps(GATEWAYS[gateway][0](reference)).encode()
    response = await client.post(f"/webhooks/{gateway}", data=good, headers=signed(gateway, good))
    assert response.status == 200 and (await response.json())["results"] == ["paid"]


async def test_a_stripe_event_dated_in_the_future_is_refused(
    any_app: App, client: TestClient[Any, Any]
) -> None:
    reference = await reference_for(any_app, "stripe")
    before = await written(any_app)
    body = json.dumps(stripe_valid(reference)).encode()
    future = await client.post(
        "/webhooks/stripe", data=body, headers=stripe_signed(body, int(time.time()) + 3600)
    )
    assert future.status == 400 and await written(any_app) == before
    now = await client.post("/webhooks/stripe", data=body, headers=stripe_signed(body))
    assert now.status == 200 and (await now.json())["results"] == ["paid"]
