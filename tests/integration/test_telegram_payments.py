"""Core services behind Telegram's native payments: invoice, pre-checkout, successful_payment."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from core.db.models import AuditEntry
from core.services import telegram_payments as tg
from main import App
from tests.conftest import buyer, open_go, say


async def setup(app: App) -> tg.TelegramInvoice:
    await open_go(app)
    await say(app, "gina", "/paymethods SVT-FML telegram manual")
    await say(app, "bob", "/order SVT-FML ALB:A 1")
    return await tg.telegram_invoice(app.core.uow(), await buyer(app, "bob"), "SVT-FML-1")


async def test_invoice_names_the_exact_amount_and_a_payload_that_finds_the_order(any_app: App) -> None:
    app = any_app
    invoice = await setup(app)
    assert (invoice.currency, invoice.amount_minor) == ("SGD", 2590)
    assert len(invoice.payload.encode()) <= 128
    again = await tg.telegram_invoice(app.core.uow(), await buyer(app, "bob"), "SVT-FML-1")
    assert again.payload == invoice.payload
    assert await tg.pre_checkout(app.core.reader(), invoice.payload, "SGD", 2590) is None


async def test_pre_checkout_refuses_what_is_no_longer_payable(any_app: App) -> None:
    app = any_app
    invoice = await setup(app)
    assert "amount changed" in str(await tg.pre_checkout(app.core.reader(), invoice.payload, "SGD", 100))
    assert "not one of ours" in str(await tg.pre_checkout(app.core.reader(), "gf-forged", "SGD", 2590))
    await say(app, "bob", "/cancel SVT-FML-1")
    assert "no longer needs" in str(await tg.pre_checkout(app.core.reader(), invoice.payload, "SGD", 2590))


async def test_successful_payment_pays_once_however_often_it_arrives(any_app: App) -> None:
    app = any_app
    invoice = await setup(app)
    outcomes = await asyncio.gather(
        *(
            tg.successful_payment(
                app.core.uow,
                payload=invoice.payload,
                currency="SGD",
                total_amount=2590,
                telegram_charge_id="tg_charge_1",
                provider_charge_id="prov_1",
            )
            for _ in range(5)
        )
    )
    assert sorted(o.result for o in outcomes) == ["duplicate"] * 4 + ["paid"]
    async with app.core.reader() as uow:
        paid = await uow.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.to_status == "paid", AuditEntry.entity == "order")
        )
    assert paid == 1
    refund = await say(app, "gina", "/refund SVT-FML-1 confirm")
    assert "/refunded SVT-FML-1 REFERENCE" in refund.text  # Telegram payments are refunded by the GOM


async def test_a_wrong_amount_in_successful_payment_is_held(any_app: App) -> None:
    app = any_app
    invoice = await setup(app)
    outcome = await tg.successful_payment(
        app.core.uow, payload=invoice.payload, currency="SGD", total_amount=1, telegram_charge_id="tg_2"
    )
    assert outcome.result == "held"
    assert "waiting for payment" in (await say(app, "bob", "/myorders")).text
