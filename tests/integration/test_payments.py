"""Paying through the console chat: QR codes, proofs and their review, expiry, refunds."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from bots.chat import Attachment, ChatReply, ChatRequest
from bots.dispatch import handle
from core.db.models import AuditEntry, Order, OutboxMessage, Payment, PaymentRequest, Refund
from core.payments import emvco
from core.payments.gateway import FakeGateway
from core.services import due, payments, refunds
from main import App
from tests.conftest import buyer, open_go, say
from tests.images import screenshot

PNG = screenshot()
JPEG = screenshot("JPEG")


async def send(
    app: App, who: str, text: str, content: bytes | None = None, mime: str = "image/png"
) -> ChatReply:
    attachment = Attachment("proof.png", content, mime) if content is not None else None
    return await handle(
        app.bot, ChatRequest("console", who, who, text, handle=who, chat_id=who, attachment=attachment)
    )


def ok(reply: ChatReply) -> ChatReply:
    assert not reply.text.startswith("⚠️"), reply.text
    return reply


async def order_status(app: App, number: str) -> str:
    async with app.core.reader() as uow:
        order = await uow.session.scalar(select(Order).where(Order.number == number))
        assert order is not None
        return order.status


async def request_statuses(app: App) -> list[tuple[str, str]]:
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(PaymentRequest.kind, PaymentRequest.status).order_by(PaymentRequest.id)
            )
        ).all()
        return [(kind, status) for kind, status in rows]


async def paynow_go(app: App, **kwargs: object) -> None:
    await open_go(app, **kwargs)  # type: ignore[arg-type]
    ok(await say(app, "gina", "/paymethods SVT-FML paynow:+6591234567 manual"))


async def test_buyer_gets_a_paynow_qr_and_pay_page_right_after_ordering(app: App) -> None:
    await paynow_go(app)
    placed = ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    assert any(b.command == "/pay SVT-FML-1" for row in placed.buttons for b in row)
    reply = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert "Amount: S$25.90" in reply.text and "Reference: SVT-FML-1-I1" in reply.text
    assert reply.image is not None
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(reply.image)).convert("L"))
    described = emvco.describe(decoded.text)
    assert (described.scheme, described.amount, described.reference) == ("SG.PAYNOW", "25.90", "SVT-FML-1-I1")
    [[page]] = [row for row in reply.buttons if row[0].url]
    assert page.url is not None and "/pay/" in page.url
    # a second /pay shows the same request, not a new one
    again = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert [row for row in again.buttons if row[0].url] == [[page]]
    assert await request_statuses(app) == [("items", "open")]


async def test_someone_else_cannot_see_or_pay_an_order(app: App) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    assert (
        "another GOM" in (await say(app, "eve", "/pay SVT-FML-1")).text
        or "⚠️" in (await say(app, "eve", "/pay SVT-FML-1")).text
    )


async def test_changing_an_order_voids_the_old_amount(app: App) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/pay SVT-FML-1"))
    ok(await say(app, "bob", "/change SVT-FML-1 ALB:A 2"))
    reply = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert "S$51.80" in reply.text and "SVT-FML-1-I2" in reply.text
    assert await request_statuses(app) == [("items", "void"), ("items", "open")]


async def test_proof_photo_after_pay_is_reviewed_and_approved(any_app: App, outbox_log: list[str]) -> None:
    app = any_app
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/pay SVT-FML-1"))
    received = ok(await send(app, "bob", "", PNG))
    assert "is with the GOM for review" in received.text
    assert await request_statuses(app) == [("items", "review")]
    await app.dispatcher.run_once()
    assert any("bob sent proof of payment for SVT-FML-1" in line for line in outbox_log)

    shown = ok(await say(app, "gina", "/proof SVT-FML-1"))
    assert shown.image == PNG
    assert [b.command for b in shown.buttons[0]] == [
        "/approve SVT-FML-1 #1",
        "/reject SVT-FML-1 #1 Payment not found",
    ]
    assert (await say(app, "bob", "/proof SVT-FML-1")).image == PNG  # the buyer may see their own
    stranger = await say(app, "eve", "/proof SVT-FML-1")
    assert stranger.image is None and stranger.text.startswith("⚠️")

    ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert await order_status(app, "SVT-FML-1") == "paid"
    await app.dispatcher.run_once()
    assert any("Payment received: S$25.90" in line and line.startswith("📨 to bob") for line in outbox_log)
    async with app.core.reader() as uow:
        audit = (
            await uow.session.scalars(select(AuditEntry.to_status).where(AuditEntry.entity == "order"))
        ).all()
    assert list(audit) == ["placed", "paid"]


async def test_rejected_proof_tells_the_buyer_why_and_they_can_try_again(
    app: App, outbox_log: list[str]
) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN-998877"))
    assert "/reject ORDER [#N] REASON" in (await say(app, "gina", "/reject SVT-FML-1")).text
    ok(await say(app, "gina", "/reject SVT-FML-1 no transfer with that reference"))
    assert await order_status(app, "SVT-FML-1") == "placed"
    assert await request_statuses(app) == [("items", "open")]
    await app.dispatcher.run_once()
    assert any(
        "no transfer with that reference" in line and line.startswith("📨 to bob") for line in outbox_log
    )
    ok(await send(app, "bob", "/paid SVT-FML-1", JPEG))
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert await order_status(app, "SVT-FML-1") == "paid"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"GIF89a" + b"\0" * 20, "PNG, JPEG or WebP"), (PNG + b"\0" * (5 * 1024 * 1024), "larger than 5 MB")],
    ids=["gif", "too-large"],
)
async def test_proof_images_are_checked_by_type_and_size(app: App, content: bytes, message: str) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    reply = await send(app, "bob", "/paid SVT-FML-1", content)
    assert message in reply.text
    assert await request_statuses(app) == []


async def test_unpaid_request_expires_releases_the_slot_and_promotes_the_waitlist(
    any_app: App, clock: object, outbox_log: list[str]
) -> None:
    app = any_app
    from core.clock import FrozenClock

    assert isinstance(clock, FrozenClock)
    await open_go(app, cap=1, moq=1, items=('POB 3 "Photocard"',))
    ok(await say(app, "gina", "/paymethods SVT-FML manual"))
    ok(await say(app, "bob", "/order SVT-FML POB 1"))
    ok(await say(app, "bob", "/pay SVT-FML-1"))
    ok(await say(app, "amy", "/waitlist SVT-FML POB 1"))
    clock.advance(hours=40)
    await due.remind_unpaid_orders(app.core.uow(), timedelta(hours=12))
    await due.remind_unpaid_orders(app.core.uow(), timedelta(hours=12))
    assert await reminders_queued(app) == 1  # once only
    assert await due.expire_due(app.core.uow()) == 0
    clock.advance(hours=9)
    assert await due.expire_due(app.core.uow()) == 1
    assert await order_status(app, "SVT-FML-1") == "expired"
    assert await order_status(app, "SVT-FML-2") == "placed"  # amy's, promoted
    await app.dispatcher.run_once()
    assert any(line.startswith("📨 to bob") and "Reminder" in line for line in outbox_log)
    assert any(line.startswith("📨 to bob") and "ran out" in line for line in outbox_log)
    assert any(line.startswith("📨 to amy") and "A slot freed up" in line for line in outbox_log)
    assert "can no longer be paid" in (await say(app, "bob", "/pay SVT-FML-1")).text


async def test_cancelled_go_queues_manual_refunds_the_gom_confirms(
    any_app: App, outbox_log: list[str]
) -> None:
    app = any_app
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "amy", "/order SVT-FML ALB:B 1"))
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN1"))
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    ok(await say(app, "gina", "/cancelgo SVT-FML confirm"))
    assert await request_statuses(app) == [("items", "paid")]
    assert await order_status(app, "SVT-FML-2") == "cancelled"
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    assert "Refunds to send by hand" in report.text and "SVT-FML-1: S$25.90" in report.text
    done = ok(await say(app, "gina", "/refunded SVT-FML-1 DBS-REF-77"))
    assert "succeeded" in done.text
    assert ("items", "refunded") in await request_statuses(app)
    await app.dispatcher.run_once()
    assert any(
        line.startswith("📨 to bob") and "refunded (reference DBS-REF-77)" in line for line in outbox_log
    )


async def test_gom_refund_goes_through_the_gateway_the_payment_came_from(
    app: App, outbox_log: list[str]
) -> None:
    fake = FakeGateway(name="stripe")
    app.core.payment_gateways["stripe"] = fake
    await open_go(app)
    ok(await say(app, "gina", "/paymethods SVT-FML stripe"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    link = ok(await say(app, "bob", "/pay SVT-FML-1 stripe"))
    assert link.buttons[0][0].url == "http://127.0.0.1:8080/fake-checkout/fake_1"
    again = ok(await say(app, "bob", "/pay SVT-FML-1 stripe"))
    assert again.buttons == link.buttons and len(fake.created) == 1
    await payments.record_webhook(
        app.core.uow,
        [payments.WebhookEvent("stripe", "evt_1", "paid", "fake_1", None, 2590, "SGD", "pi_1")],
    )
    assert await order_status(app, "SVT-FML-1") == "paid"
    asked = ok(await say(app, "gina", "/refund SVT-FML-1 sold out at the supplier"))
    assert "S$25.90 goes back, as it came: stripe" in asked.text and "1 unit(s)" in asked.text
    assert fake.refunds == [] and await order_status(app, "SVT-FML-1") == "paid"  # only asked
    [[button]] = asked.buttons
    assert button.command == "/refund SVT-FML-1 confirm sold out at the supplier"
    reply = ok(await say(app, "gina", button.command))
    assert "succeeded" in reply.text
    assert [(r.charge_ref, r.amount_minor) for r in fake.refunds] == [("pi_1", 2590)]
    assert await order_status(app, "SVT-FML-1") == "refunded"
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(Refund.status))).all() == ["succeeded"]
        assert (await uow.session.scalars(select(Payment.status))).all() == ["refunded"]


async def test_payments_report_reminders_and_reconciliation_csv(app: App, outbox_log: list[str]) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "amy", "/order SVT-FML ALB:B 2"))
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN1"))
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    assert "1 paid (S$25.90), 1 unpaid (S$51.80)" in report.text
    assert "⚠️" in (await say(app, "bob", "/payments SVT-FML")).text
    assert "Reminded 1 buyer(s)" in ok(await say(app, "gina", "/remind SVT-FML")).text
    await app.dispatcher.run_once()
    assert next(line for line in outbox_log if "Reminder" in line).startswith("📨 to amy")
    ok(await say(app, "gina", "/shipping SVT-FML-1 4.50"))
    assert "Reminded 2 buyer(s)" in ok(await say(app, "gina", "/remind SVT-FML")).text
    adjusted = ok(await say(app, "gina", "/adjust SVT-FML-2 1.20"))
    assert "S$1.20 for adjustment" in adjusted.text and "SVT-FML-2-A2" in adjusted.text
    assert "0.5" in (await say(app, "gina", "/adjust SVT-FML-2 0.505")).text
    csv_reply = ok(await say(app, "gina", "/reconcile SVT-FML"))
    assert csv_reply.document is not None
    text = csv_reply.document.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith('"order","buyer","contact","request","reference"')
    paid = "SVT-FML-1,bob,console:bob,items,SVT-FML-1-I1,paid,manual,succeeded,25.90,SGD,proof-1,TXN1"
    assert '"' + paid.replace(",", '","') + '"' in text


async def test_paymethods_refuses_what_does_not_fit_the_currency(app: App) -> None:
    await open_go(app)
    assert "THB only" in (await say(app, "gina", "/paymethods SVT-FML promptpay:0812345678")).text
    assert "don't know" in (await say(app, "gina", "/paymethods SVT-FML bitcoin")).text
    assert "checksum" in (await say(app, "gina", "/paymethods SVT-FML bankqr:00020101021126")).text
    assert (await say(app, "bob", "/paymethods SVT-FML manual")).text.startswith("⚠️")
    bob = await buyer(app, "bob")
    assert bob.user_id > 0


async def test_a_go_that_fails_its_moq_refunds_gateway_payments_and_tells_the_buyer(
    any_app: App, outbox_log: list[str]
) -> None:
    app = any_app
    fake = FakeGateway(name="stripe")
    app.core.payment_gateways["stripe"] = fake
    await open_go(app, moq=5)
    ok(await say(app, "gina", "/paymethods SVT-FML stripe manual"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/pay SVT-FML-1 stripe"))
    ok(await say(app, "amy", "/order SVT-FML ALB:B 1"))
    ok(await say(app, "amy", "/pay SVT-FML-2"))
    await payments.record_webhook(
        app.core.uow, [payments.WebhookEvent("stripe", "evt_9", "paid", "fake_1", None, 2590, "SGD", "pi_9")]
    )
    closed = ok(await say(app, "gina", "/close SVT-FML confirm"))
    assert "MOQ not reached" in closed.text
    assert [(r.charge_ref, r.amount_minor) for r in fake.refunds] == [("pi_9", 2590)]
    assert await request_statuses(app) == [("items", "refunded"), ("items", "void")]
    await app.dispatcher.run_once()
    assert any(
        line.startswith("📨 to bob") and "S$25.90 for order SVT-FML-1 has been refunded" in line
        for line in outbox_log
    )
    assert not any(line.startswith("📨 to amy") and "has been refunded" in line for line in outbox_log)


async def test_a_photo_sent_without_a_command_goes_to_the_newest_order_that_owes(app: App) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN1"))
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert "no unpaid order" in (await send(app, "bob", "", PNG)).text
    ok(await say(app, "gina", "/shipping SVT-FML-1 4.50"))
    reply = ok(await send(app, "bob", "", PNG))
    assert "SVT-FML-1 (S$4.50)" in reply.text
    assert await request_statuses(app) == [("items", "paid"), ("shipping", "review")]
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert await request_statuses(app) == [("items", "paid"), ("shipping", "paid")]
    assert await order_status(app, "SVT-FML-1") == "paid"


async def test_helpers_review_proofs_and_other_goms_cannot(app: App, outbox_log: list[str]) -> None:
    await paynow_go(app)
    await buyer(app, "hana")
    ok(await say(app, "gina", "/helper add hana"))
    await open_go(app, "NJZ-OMG", owner="omar")
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await send(app, "bob", "/paid SVT-FML-1", PNG))
    await app.dispatcher.run_once()
    told = {line.split(":")[0] for line in outbox_log if "sent proof of payment" in line}
    assert told == {"📨 to gina", "📨 to hana"}
    other = await say(app, "omar", "/proof SVT-FML-1")
    assert other.image is None and "another GOM" in other.text
    assert "another GOM" in (await say(app, "omar", "/approve SVT-FML-1")).text
    assert (await say(app, "hana", "/proof SVT-FML-1")).image == PNG
    ok(await say(app, "hana", "/approve SVT-FML-1"))
    assert await order_status(app, "SVT-FML-1") == "paid"


async def test_a_failed_gateway_refund_is_retried_with_the_same_key(app: App) -> None:
    from core.errors import GatewayError
    from core.payments.gateway import RefundRequest, RefundResult

    class Flaky(FakeGateway):
        failures: int = 1

        async def refund(self, request: RefundRequest) -> RefundResult:
            self.refunds.append(request)
            if self.failures:
                self.failures -= 1
                raise GatewayError("provider down")
            return RefundResult("re_ok", "succeeded")

    flaky = Flaky(name="stripe")
    app.core.payment_gateways["stripe"] = flaky
    await open_go(app)
    ok(await say(app, "gina", "/paymethods SVT-FML stripe"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/pay SVT-FML-1 stripe"))
    await payments.record_webhook(
        app.core.uow, [payments.WebhookEvent("stripe", "evt_1", "paid", "fake_1", None, 2590, "SGD", "pi_1")]
    )
    assert "pending" in ok(await say(app, "gina", "/refund SVT-FML-1 confirm")).text
    assert await refunds.run_pending_refunds(app.core.uow, app.core.payment_gateways) == 1
    assert await refunds.run_pending_refunds(app.core.uow, app.core.payment_gateways) == 0
    assert len({r.idempotency_key for r in flaky.refunds}) == 1 and len(flaky.refunds) == 2


async def reminders_queued(app: App) -> int:
    """Payment reminders in the outbox (an order's, or a payment request's)."""
    async with app.core.reader() as uow:
        count = await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.template.in_(["order_reminder", "payment_reminder"]))
        )
    return int(count or 0)
