"""A GOM sends the bank's export on Telegram as a document with /statement as its caption,
sees the report with an Apply button, taps it, and the buyer's order is paid."""

from __future__ import annotations

from sqlalchemy import select

from bench.statement_corpus import xlsx
from core.db.models import PaymentRequest
from main import App
from tests.e2e.test_telegram_paying import BOB, GINA, go_taking, handled, order_status, said, tapped, tg  # noqa: F401
from tests.fakes.telegram_api import FakeTelegram


async def test_a_gom_sends_an_xlsx_statement_and_applies_it_with_a_tap(tg: App, fake: FakeTelegram) -> None:  # noqa: F811
    await go_taking(tg, fake, "manual")
    assert not (await said(fake, BOB, "/order SVT-FML ALB:A 1")).startswith("⚠️")
    assert not (await said(fake, BOB, "/pay SVT-FML-1")).startswith("⚠️")
    async with tg.core.reader() as uow:
        request = (await uow.session.scalars(select(PaymentRequest))).one()
    sheet = xlsx(
        [["Statement", "SGD"], ["Date", "Description", "Debit", "Credit"],
         ["01/12/2026", f"PAYNOW {request.reference}", "", request.amount_minor / 100]]
    )  # fmt: skip
    answers = len(fake.chat(1001))
    fake.send_document(GINA, sheet, "cimb.xlsx", "application/octet-stream", caption="/statement")
    await fake.wait_until(lambda: len(fake.chat(1001)) > answers)
    assert "1 incoming credit(s): 1 matched" in fake.last(1001).shown

    await tapped(fake, GINA, "Apply 1 payment(s)", lambda: "1 payment(s) recorded" in fake.last(1001).shown)
    assert await order_status(tg) == "paid"
