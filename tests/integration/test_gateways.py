"""Each gateway against a local fake of its API, and its webhooks as the provider signs them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
import stripe
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from core.db.models import AuditEntry, Order, Payment
from core.errors import NotFound
from core.payments.hitpay import HitPayRequests, sign
from core.payments.stripe_checkout import StripeCheckout
from core.payments.xendit import XenditInvoices
from core.services import payments, proofs
from core.services.accounts import identify
from main import App
from tests.conftest import buyer, open_go, say
from web.app import build_web_app
from web.http_client import AiohttpClient

STRIPE_SECRET = "whsec_test_fake_secret"
XENDIT_TOKEN = "xnd_callback_fake_token"
HITPAY_SALT = "hitpay_fake_salt"


@dataclass
class FakeProviders:
    """Stripe, Xendit and HitPay as far as gomflow uses them, on loopback."""

    calls: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self.stripe_session)
        app.router.add_post("/v1/refunds", self.stripe_refund)
        app.router.add_post("/v2/invoices", self.xendit_invoice)
        app.router.add_post("/refunds", self.xendit_refund)
        app.router.add_post("/v1/payment-requests", self.hitpay_request)
        app.router.add_post("/v1/refund", self.hitpay_refund)
        return app

    async def _record(self, request: web.Request) -> bytes:
        body = await request.read()
        self.calls.append((request.path, dict(request.headers), body))
        return body

    async def stripe_session(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if request.headers.get("Authorization") != "Bearer sk_test_fake_key":
            return web.json_response(
                {"error": {"message": "bad key", "type": "invalid_request_error"}}, status=401
            )
        key = request.headers["Idempotency-Key"]
        if key not in self.sessions:  # Stripe's idempotency: the same key returns the same session
            form = parse_qs(body.decode())
            sid = f"cs_test_{len(self.sessions) + 1}"
            self.sessions[key] = {
                "id": sid,
                "object": "checkout.session",
                "url": f"https://checkout.test/{sid}",
                "amount_total": int(form["line_items[0][price_data][unit_amount]"][0]),
                "currency": form["line_items[0][price_data][currency]"][0],
                "client_reference_id": form["client_reference_id"][0],
            }
        return web.json_response(self.sessions[key])

    async def stripe_refund(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"id": "re_test_1", "object": "refund", "status": "succeeded"})

    async def xendit_invoice(self, request: web.Request) -> web.Response:
        body = json.loads(await self._record(request))
        return web.json_response(
            {"id": "inv_1", "external_id": body["external_id"], "invoice_url": "https://checkout.test/inv_1"}
        )

    async def xendit_refund(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"id": "rfd_1", "status": "SUCCEEDED"})

    async def hitpay_request(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(
            {"id": "hp_req_1", "url": "https://checkout.test/hp_req_1", "status": "pending"}
        )

    async def hitpay_refund(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"id": "hp_rfd_1", "status": "succeeded"})


@pytest.fixture
async def providers() -> AsyncIterator[tuple[FakeProviders, str]]:
    fake = FakeProviders()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def web_client(app: App, providers: tuple[FakeProviders, str]) -> AsyncIterator[TestClient[Any, Any]]:
    _, base = providers
    http = AiohttpClient()
    app.core.payment_gateways.update(
        {
            "stripe": StripeCheckout("sk_test_fake_key", STRIPE_SECRET, base),
            "xendit": XenditInvoices(http, "xnd_development_fake", XENDIT_TOKEN, base),
            "hitpay": HitPayRequests(http, "hitpay_fake_key", HITPAY_SALT, base),
        }
    )
    client = TestClient(TestServer(build_web_app(app.core), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()
    for gateway in app.core.payment_gateways.values():
        await gateway.close()


async def ordered(app: App, methods: str = "stripe xendit hitpay manual") -> None:
    await open_go(app)
    for line in (f"/paymethods SVT-FML {methods}", "/order SVT-FML ALB:A 1"):
        who = "gina" if line.startswith("/paymethods") else "bob"
        reply = await say(app, who, line)
        assert not reply.text.startswith("⚠️"), reply.text


def stripe_event(
    kind: str, session_id: str, *, amount: int = 2590, currency: str = "sgd", n: int = 1
) -> bytes:
    session = {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": amount,
        "currency": currency,
        "payment_status": "unpaid" if kind == "checkout.session.expired" else "paid",
        "payment_intent": "pi_test_1",
        "client_reference_id": None,
    }
    return json.dumps({"id": f"evt_{n}", "type": kind, "data": {"object": session}}).encode()


def stripe_headers(body: bytes, *, secret: str = STRIPE_SECRET, at: int | None = None) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=at)
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


async def order_status(app: App) -> str:
    async with app.core.reader() as uow:
        return str(await uow.session.scalar(select(Order.status).where(Order.number == "SVT-FML-1")))


async def paid_audits(app: App) -> int:
    async with app.core.reader() as uow:
        return int(
            await uow.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.entity == "order", AuditEntry.to_status == "paid")
            )
            or 0
        )


async def test_stripe_checkout_link_then_signed_webhook_pays_the_order(
    app: App, web_client: TestClient[Any, Any], providers: tuple[FakeProviders, str]
) -> None:
    fake, _ = providers
    await ordered(app)
    reply = await say(app, "bob", "/pay SVT-FML-1 stripe")
    assert reply.buttons[0][0].url == "https://checkout.test/cs_test_1"
    path, headers, body = fake.calls[0]
    assert path == "/v1/checkout/sessions" and headers["Idempotency-Key"].startswith("gf-")
    assert "line_items[0][price_data][unit_amount]=2590" in body.decode()
    # a redirect back to the pay page proves nothing
    page = await web_client.get(f"/pay/{reply.buttons[0][0].url.rsplit('/', 1)[-1]}?done=1")
    assert page.status == 404
    assert await order_status(app) == "placed"

    event = stripe_event("checkout.session.completed", "cs_test_1")
    response = await web_client.post("/webhooks/stripe", data=event, headers=stripe_headers(event))
    assert response.status == 200 and (await response.json())["results"] == ["paid"]
    assert await order_status(app) == "paid"

    # refund through Stripe's API with an idempotency key
    assert "succeeded" in (await say(app, "gina", "/refund SVT-FML-1 confirm")).text
    refund_path, refund_headers, refund_body = fake.calls[-1]
    assert refund_path == "/v1/refunds" and refund_headers["Idempotency-Key"].startswith("gf-refund-")
    assert "payment_intent=pi_test_1" in refund_body.decode()


async def test_retried_link_creation_reuses_the_idempotency_key(
    app: App, web_client: TestClient[Any, Any], providers: tuple[FakeProviders, str]
) -> None:
    fake, _ = providers
    await ordered(app)
    gateway = app.core.payment_gateways["stripe"]
    original = gateway.create_link
    failures = iter([True])

    async def flaky(request: Any) -> Any:
        link = await original(request)
        if next(failures, False):
            raise TimeoutError  # the provider made the session, but we never heard back
        return link

    gateway.create_link = flaky  # type: ignore[method-assign]
    actor = await buyer(app, "bob")
    with pytest.raises(asyncio.TimeoutError):
        await payments.start_checkout(
            app.core.uow, actor, "SVT-FML-1", "stripe", app.core.payment_gateways, "http://x"
        )
    reply = await say(app, "bob", "/pay SVT-FML-1 stripe")
    assert reply.buttons[0][0].url == "https://checkout.test/cs_test_1"
    keys = {headers["Idempotency-Key"] for _, headers, _ in fake.calls}
    assert len(keys) == 1 and len(fake.sessions) == 1


async def test_forged_unsigned_and_stale_stripe_webhooks_are_refused(
    app: App, web_client: TestClient[Any, Any]
) -> None:
    await ordered(app)
    await say(app, "bob", "/pay SVT-FML-1 stripe")
    event = stripe_event("checkout.session.completed", "cs_test_1")
    forged = await web_client.post(
        "/webhooks/stripe", data=event, headers=stripe_headers(event, secret="whsec_wrong")
    )
    unsigned = await web_client.post("/webhooks/stripe", data=event)
    stale = await web_client.post(
        "/webhooks/stripe", data=event, headers=stripe_headers(event, at=int(time.time()) - 3600)
    )
    tampered_body = event.replace(b"2590", b"0001")
    tampered = await web_client.post("/webhooks/stripe", data=tampered_body, headers=stripe_headers(event))
    assert [r.status for r in (forged, unsigned, stale, tampered)] == [400, 400, 400, 400]
    assert await order_status(app) == "placed"
    unknown = await web_client.post("/webhooks/paypal", data=event)
    assert unknown.status == 404


async def test_the_same_event_ten_times_concurrently_pays_once(
    app: App, web_client: TestClient[Any, Any]
) -> None:
    await ordered(app)
    await say(app, "bob", "/pay SVT-FML-1 stripe")
    event = stripe_event("checkout.session.completed", "cs_test_1")
    responses = await asyncio.gather(
        *(web_client.post("/webhooks/stripe", data=event, headers=stripe_headers(event)) for _ in range(10))
    )
    assert [r.status for r in responses] == [200] * 10
    results = sorted([(await r.json())["results"][0] for r in responses])
    assert results == ["duplicate"] * 9 + ["paid"]
    assert await paid_audits(app) == 1
    # a different event id for the same payment is a duplicate too
    other = stripe_event("checkout.session.async_payment_succeeded", "cs_test_1", n=2)
    response = await web_client.post("/webhooks/stripe", data=other, headers=stripe_headers(other))
    assert (await response.json())["results"] == ["duplicate"]
    assert await paid_audits(app) == 1


async def test_expired_after_completed_does_not_unpay(app: App, web_client: TestClient[Any, Any]) -> None:
    await ordered(app)
    await say(app, "bob", "/pay SVT-FML-1 stripe")
    paid = stripe_event("checkout.session.completed", "cs_test_1", n=1)
    expired = stripe_event("checkout.session.expired", "cs_test_1", n=2)
    for body in (paid, expired):
        assert (
            await web_client.post("/webhooks/stripe", data=body, headers=stripe_headers(body))
        ).status == 200
    assert await order_status(app) == "paid"
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(Payment.status))).all() == ["succeeded"]


async def test_completed_after_expired_still_pays_while_the_order_is_open(
    app: App, web_client: TestClient[Any, Any]
) -> None:
    await ordered(app)
    await say(app, "bob", "/pay SVT-FML-1 stripe")
    expired = stripe_event("checkout.session.expired", "cs_test_1", n=1)
    paid = stripe_event("checkout.session.completed", "cs_test_1", n=2)
    for body in (expired, paid):
        assert (
            await web_client.post("/webhooks/stripe", data=body, headers=stripe_headers(body))
        ).status == 200
    assert await order_status(app) == "paid"


@pytest.mark.parametrize(("amount", "currency"), [(2500, "sgd"), (2590, "usd")], ids=["amount", "currency"])
async def test_a_mismatched_payment_is_held_for_the_gom(
    app: App, web_client: TestClient[Any, Any], outbox_log: list[str], amount: int, currency: str
) -> None:
    await ordered(app)
    await say(app, "bob", "/pay SVT-FML-1 stripe")
    body = stripe_event("checkout.session.completed", "cs_test_1", amount=amount, currency=currency)
    response = await web_client.post("/webhooks/stripe", data=body, headers=stripe_headers(body))
    assert (await response.json())["results"] == ["held"]
    assert await order_status(app) == "placed"
    await app.dispatcher.run_once()
    assert any(line.startswith("📨 to gina") and "held for you" in line for line in outbox_log)
    assert "Held for you to check" in (await say(app, "gina", "/payments SVT-FML")).text


async def test_a_late_payment_for_a_cancelled_order_is_held_and_can_be_refunded(
    app: App, web_client: TestClient[Any, Any], providers: tuple[FakeProviders, str]
) -> None:
    fake, _ = providers
    await ordered(app)
    await say(app, "bob", "/pay SVT-FML-1 stripe")
    await say(app, "bob", "/cancel SVT-FML-1")
    body = stripe_event("checkout.session.completed", "cs_test_1")
    response = await web_client.post("/webhooks/stripe", data=body, headers=stripe_headers(body))
    assert (await response.json())["results"] == ["held"]
    assert await order_status(app) == "cancelled"
    assert "succeeded" in (await say(app, "gina", "/refund SVT-FML-1 confirm order was cancelled")).text
    assert fake.calls[-1][0] == "/v1/refunds"


async def test_xendit_invoice_and_callback_token(
    app: App, web_client: TestClient[Any, Any], providers: tuple[FakeProviders, str]
) -> None:
    fake, _ = providers
    await ordered(app)
    reply = await say(app, "bob", "/pay SVT-FML-1 xendit")
    assert reply.buttons[0][0].url == "https://checkout.test/inv_1"
    path, headers, body = fake.calls[0]
    assert path == "/v2/invoices" and headers["Authorization"].startswith("Basic ")
    sent = json.loads(body)
    assert b'"amount": 25.90' in body and sent["currency"] == "SGD"
    callback = json.dumps(
        {
            "id": "inv_1",
            "external_id": sent["external_id"],
            "status": "PAID",
            "amount": 25.90,
            "paid_amount": 25.90,
            "currency": "SGD",
        }
    ).encode()
    bad = await web_client.post("/webhooks/xendit", data=callback, headers={"x-callback-token": "nope"})
    assert bad.status == 400 and await order_status(app) == "placed"
    for _ in range(2):
        good = await web_client.post(
            "/webhooks/xendit", data=callback, headers={"x-callback-token": XENDIT_TOKEN}
        )
        assert good.status == 200
    assert await order_status(app) == "paid" and await paid_audits(app) == 1
    assert "succeeded" in (await say(app, "gina", "/refund SVT-FML-1 confirm")).text
    assert fake.calls[-1][0] == "/refunds" and fake.calls[-1][1]["Idempotency-key"].startswith("gf-refund-")


def hitpay_completed(reference: str) -> bytes:
    """HitPay's webhook body for payment request hp_req_1 of S$25.90, paid."""
    return json.dumps(
        {
            "id": "hp_req_1",
            "status": "completed",
            "amount": "25.90",
            "currency": "SGD",
            "reference_number": reference,
            "payments": [{"id": "hp_pay_1", "status": "succeeded"}],
        }
    ).encode()


async def test_hitpay_payment_request_and_hmac_webhook(
    app: App, web_client: TestClient[Any, Any], providers: tuple[FakeProviders, str]
) -> None:
    fake, _ = providers
    await ordered(app)
    reply = await say(app, "bob", "/pay SVT-FML-1 hitpay")
    assert reply.buttons[0][0].url == "https://checkout.test/hp_req_1"
    path, headers, body = fake.calls[0]
    form = parse_qs(body.decode())
    assert path == "/v1/payment-requests" and headers["X-BUSINESS-API-KEY"] == "hitpay_fake_key"
    assert form["amount"] == ["25.90"] and form["currency"] == ["SGD"]
    event = hitpay_completed(form["reference_number"][0])
    forged = await web_client.post(
        "/webhooks/hitpay", data=event, headers={"Hitpay-Signature": sign(event, "wrong")}
    )
    assert forged.status == 400 and await order_status(app) == "placed"
    good = await web_client.post(
        "/webhooks/hitpay", data=event, headers={"Hitpay-Signature": sign(event, HITPAY_SALT)}
    )
    assert good.status == 200 and await order_status(app) == "paid"
    assert "succeeded" in (await say(app, "gina", "/refund SVT-FML-1 confirm")).text
    assert json.loads(fake.calls[-1][2]) == {"payment_id": "hp_pay_1", "amount": 25.9}


async def test_pay_page_shows_amount_reference_and_qr(app: App, web_client: TestClient[Any, Any]) -> None:
    await open_go(app)
    await say(app, "gina", "/paymethods SVT-FML paynow:+6591234567")
    await say(app, "bob", "/order SVT-FML ALB:A 1")
    reply = await say(app, "bob", "/pay SVT-FML-1")
    url = next(b.url for row in reply.buttons for b in row if b.url)
    assert url is not None
    token = url.rsplit("/", 1)[-1]
    assert len(token) >= 32
    page = await web_client.get(f"/pay/{token}")
    text = await page.text()
    assert page.status == 200 and "S$25.90" in text and "SVT-FML-1-I1" in text and "qr.png" in text
    assert page.headers["Cache-Control"] == "no-store"
    png = await web_client.get(f"/pay/{token}/qr.png")
    assert png.status == 200 and (await png.read()) == reply.image
    assert (await web_client.get("/pay/not-a-token")).status == 404


async def test_the_gom_may_accept_a_held_payment(app: App, web_client: TestClient[Any, Any]) -> None:
    await ordered(app)
    await say(app, "bob", "/pay SVT-FML-1 stripe")
    body = stripe_event("checkout.session.completed", "cs_test_1", amount=3000)
    gina = await identify(app.core.uow(), "console", "gina", "gina")
    with pytest.raises(NotFound, match="has no held payment"):  # not yet arrived: nothing to accept
        await proofs.accept_held_payment(app.core.uow(), gina, "SVT-FML-1")
    await web_client.post("/webhooks/stripe", data=body, headers=stripe_headers(body))
    assert await order_status(app) == "placed"
    reply = await say(app, "gina", "/approve SVT-FML-1")
    assert "Approved: SVT-FML-1 (S$30.00)" in reply.text
    assert await order_status(app) == "paid"
    with pytest.raises(NotFound, match="has no held payment"):  # accepted once
        await proofs.accept_held_payment(app.core.uow(), gina, "SVT-FML-1")


async def test_an_event_for_no_known_payment_is_not_marked_seen(
    app: App, web_client: TestClient[Any, Any]
) -> None:
    await ordered(app)
    body = stripe_event("checkout.session.completed", "cs_unknown")
    first = await web_client.post("/webhooks/stripe", data=body, headers=stripe_headers(body))
    assert (await first.json())["results"] == ["unknown"]
    again = await web_client.post("/webhooks/stripe", data=body, headers=stripe_headers(body))
    assert (await again.json())["results"] == ["unknown"]


async def test_the_pay_page_offers_gateway_buttons_that_lead_to_the_provider(
    app: App, web_client: TestClient[Any, Any], providers: tuple[FakeProviders, str]
) -> None:
    fake, _ = providers
    await ordered(app, "stripe manual")
    reply = await say(app, "bob", "/pay SVT-FML-1")
    token = next(b.url for row in reply.buttons for b in row if b.url).rsplit("/", 1)[-1]  # type: ignore[union-attr]
    page = await (await web_client.get(f"/pay/{token}")).text()
    assert f'action="{token}/stripe"' in page and "Card (Stripe)" in page
    response = await web_client.post(f"/pay/{token}/stripe", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "https://checkout.test/cs_test_1"
    again = await web_client.post(f"/pay/{token}/stripe", allow_redirects=False)
    assert again.headers["Location"] == "https://checkout.test/cs_test_1" and len(fake.sessions) == 1
    assert (await web_client.post(f"/pay/{token}/xendit", allow_redirects=False)).status == 409
    assert (await web_client.post("/pay/nope/stripe", allow_redirects=False)).status == 404
