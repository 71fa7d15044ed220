"""Buyers read sentences: what their order and GO are, and a payment that is complete."""

from __future__ import annotations

from main import App
from tests.conftest import say
from tests.integration.test_payments import ok, order_status, paynow_go


async def test_a_buyer_reads_that_her_payment_is_complete_and_her_order_in_words(app: App) -> None:
    await paynow_go(app)
    placed = await say(app, "bob", "/order SVT-FML ALB:A 1")
    assert "— waiting for payment" in placed.text and "[placed]" not in placed.text
    ok(await say(app, "bob", "/paid SVT-FML-1 TXN1"))
    ok(await say(app, "gina", "/approve SVT-FML-1"))
    assert await order_status(app, "SVT-FML-1") == "paid"

    again = await say(app, "bob", "/pay SVT-FML-1")
    assert "This payment is complete" in again.text and "is paid;" not in again.text
    card = (await say(app, "bob", "/go SVT-FML")).text
    assert "SVT-FML · Test GO — open for orders" in card
    mine = (await say(app, "bob", "/myorders")).text
    assert "— paid" in mine and "[paid]" not in mine
