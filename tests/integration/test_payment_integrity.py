"""What arrives is what is credited: proofs carry their amount, cancelled orders keep
their money visible as refund due, and every pending proof can be seen and named."""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import Payment, PaymentProof, Refund
from core.payments.gateway import FakeGateway
from core.services import payments
from main import App
from tests.books import assert_books
from tests.conftest import buyer, say
from tests.integration.test_payments import (
    PNG,
    ok,
    order_status,
    paynow_go,
    request_statuses,
    send,
)


async def test_a_change_is_refused_while_a_proof_waits_for_review(any_app: App) -> None:
    app = any_app
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN1"))
    refused = await say(app, "bob", "/change SVT-FML-1 ALB:A 2")
    assert (
        "SVT-FML-1 has a proof of payment waiting for review; ask the GOM to review it before changing"
        in refused.text
    )
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert await order_status(app, "SVT-FML-1") == "paid"
    await assert_books(app)


async def test_an_approval_credits_what_the_proof_says_arrived_and_shows_what_is_still_owed(
    any_app: App,
) -> None:
    app = any_app
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN1 amount=20.00"))
    approved = ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert "S$20.00" in approved.text and "S$5.90 still to pay" in approved.text
    assert await order_status(app, "SVT-FML-1") == "placed"
    assert await request_statuses(app) == [("items", "open")]
    pay = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert "Amount: S$5.90" in pay.text and "Received so far: S$20.00" in pay.text
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    assert "SVT-FML-1 bob — items S$25.90 [open, S$20.00 received, S$5.90 owed]" in report.text
    part_paid = await say(app, "bob", "/change SVT-FML-1 ALB:A 2")
    assert "SVT-FML-1 is part paid (S$20.00 received); ask the GOM before changing it." in part_paid.text
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN2"))
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(PaymentProof.amount_minor))).all() == [2000, 590]
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert await order_status(app, "SVT-FML-1") == "paid"
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(Payment.amount_minor).order_by(Payment.id))).all() == [
            2000,
            590,
        ]
    await assert_books(app)


async def test_an_overpayment_is_credited_in_full_and_shown_as_due_back(any_app: App) -> None:
    app = any_app
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN1 amount=30"))
    approved = ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert "S$30.00" in approved.text and "S$4.10 overpaid" in approved.text
    assert await order_status(app, "SVT-FML-1") == "paid"
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    assert "Overpaid (refund or credit due): SVT-FML-1: S$4.10" in report.text
    csv_reply = ok(await say(app, "gina", "/reconcile SVT-FML"))
    assert csv_reply.document is not None
    assert "overpaid S$4.10: refund or credit due" in csv_reply.document.content.decode("utf-8-sig")
    await assert_books(app)


async def test_a_stated_amount_must_be_money(app: App) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    assert "⚠️" in (await say(app, "bob", "/paid SVT-FML-1 TXN1 amount=lots")).text
    assert "more than zero" in (await say(app, "bob", "/paid SVT-FML-1 TXN1 amount=0")).text
    assert await request_statuses(app) == []


async def test_a_proof_on_a_cancelled_order_stays_visible_and_approving_it_queues_a_refund(
    any_app: App, outbox_log: list[str]
) -> None:
    app = any_app
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await send(app, "bob", "/paid SVT-FML-1 TXN1", PNG))
    ok(await say(app, "bob", "/cancel SVT-FML-1"))
    assert await order_status(app, "SVT-FML-1") == "cancelled"
    await app.dispatcher.run_once()
    assert any(
        line.startswith("📨 to gina") and "SVT-FML-1 was cancelled" in line and "proof of payment" in line
        for line in outbox_log
    )
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    assert "SVT-FML-1 #1 S$25.90 ref TXN1 (order cancelled: refund due if approved)" in report.text
    approved = ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert "void" not in approved.text and "refund due" in approved.text
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(Payment.status))).all() == ["succeeded"]
        assert (await uow.session.scalars(select(Refund.status))).all() == ["manual"]
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    assert "Refunds to send by hand (then /refunded ORDER REFERENCE): SVT-FML-1: S$25.90" in report.text
    csv_reply = ok(await say(app, "gina", "/reconcile SVT-FML"))
    assert csv_reply.document is not None
    text = csv_reply.document.content.decode("utf-8-sig")
    assert '"SVT-FML-1","bob"' in text and "refund due" in text
    ok(await say(app, "gina", "/refunded SVT-FML-1 DBS-1"))
    await assert_books(app)


async def test_money_already_received_is_refund_due_when_the_order_is_cancelled(
    any_app: App, outbox_log: list[str]
) -> None:
    app = any_app
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN1 amount=10"))
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    ok(await say(app, "bob", "/cancel SVT-FML-1"))
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(Refund.amount_minor))).all() == [1000]
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    assert "SVT-FML-1: S$10.00" in report.text
    await app.dispatcher.run_once()
    assert any(line.startswith("📨 to gina") and "SVT-FML-1 was cancelled" in line for line in outbox_log)
    await assert_books(app)


async def test_every_pending_proof_is_listed_and_a_review_names_the_one_it_means(any_app: App) -> None:
    app = any_app
    await paynow_go(app)
    await buyer(app, "hana")
    ok(await say(app, "gina", "/helper add hana"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN1"))
    ok(await send(app, "bob", "/paid SVT-FML-1 TXN2", PNG))
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    assert "SVT-FML-1 #1 S$25.90 ref TXN1" in report.text and "SVT-FML-1 #2 S$25.90 ref TXN2" in report.text
    unnamed = await say(app, "hana", "/approve SVT-FML-1")
    assert "SVT-FML-1 has 2 proofs waiting" in unnamed.text and "#1" in unnamed.text and "#2" in unnamed.text
    shown = ok(await say(app, "gina", "/proof SVT-FML-1"))
    assert "#1" in shown.text and "#2" in shown.text
    commands = {b.command for row in shown.buttons for b in row}
    assert {"/approve SVT-FML-1 #1", "/approve SVT-FML-1 #2"} <= commands
    ok(await say(app, "gina", "/reject SVT-FML-1 #2 duplicate of the first"))
    report = ok(await say(app, "gina", "/payments SVT-FML"))
    assert "SVT-FML-1 #1 S$25.90 ref TXN1" in report.text and "#2" not in report.text
    assert await request_statuses(app) == [("items", "review")]
    again = await say(app, "hana", "/reject SVT-FML-1 #2 again")
    assert "That proof was already rejected by gina" in again.text
    ok(await say(app, "hana", "/approve SVT-FML-1"))
    assert await order_status(app, "SVT-FML-1") == "paid"
    late = await say(app, "gina", "/approve SVT-FML-1 #1")
    assert "That proof was already approved by hana" in late.text
    assert "SVT-FML-1 has no proof #7" in (await say(app, "gina", "/approve SVT-FML-1 #7")).text
    await assert_books(app)


async def test_accepting_a_short_gateway_payment_credits_only_what_arrived(any_app: App) -> None:
    app = any_app
    fake = FakeGateway(name="stripe")
    app.core.payment_gateways["stripe"] = fake
    await paynow_go(app)
    ok(await say(app, "gina", "/paymethods SVT-FML stripe manual"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/pay SVT-FML-1 stripe"))
    short = payments.WebhookEvent("stripe", "evt_1", "paid", "fake_1", None, 2000, "SGD", "pi_1")
    [outcome] = await payments.record_webhook(app.core.uow, [short])
    assert outcome.result == "held"
    accepted = ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert "S$20.00" in accepted.text and "S$5.90 still to pay" in accepted.text
    assert await order_status(app, "SVT-FML-1") == "placed"
    link = ok(await say(app, "bob", "/pay SVT-FML-1 stripe"))
    assert "S$5.90" in link.text  # a new link for the rest, not the whole amount again
    rest = payments.WebhookEvent("stripe", "evt_2", "paid", "fake_2", None, 590, "SGD", "pi_2")
    [outcome] = await payments.record_webhook(app.core.uow, [rest])
    assert outcome.result == "paid"
    assert await order_status(app, "SVT-FML-1") == "paid"
    books = await assert_books(app)
    assert books["payments"] == 2
