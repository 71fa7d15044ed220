"""Prices in another currency on both databases: converted the same way every time, zero-
decimal currencies exact, the rate locked into each order (even when it changes while
buyers order); and the GOM's fee and a card surcharge as lines of their own in the order
view, the pay view and the exports."""

from __future__ import annotations

import asyncio
import csv
import io
from fractions import Fraction

from sqlalchemy import select

from core.db.models import Order, OrderLine, OrderTerms, Payment
from core.payments.gateway import FakeGateway, WebhookEvent
from core.payments.parts import convert
from core.payments.terms import order_terms
from core.services import payments
from main import App
from tests.conftest import assert_checks_pass, gom, open_go, say
from tests.integration.test_money_deposits import parts
from tests.integration.test_payments import ok, order_status

ONE_ALBUM = ('ALB 25.90 "FML album"',)


async def test_a_krw_price_is_locked_into_the_order_when_the_rate_changes(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, items=ONE_ALBUM)
    ok(await say(app, "gina", "/rate SVT-FML 1000 KRW = 0.98 SGD"))
    priced = ok(await say(app, "gina", "/srcprice SVT-FML ALB 18000"))
    assert "ALB: ₩18,000 = S$17.64" in priced.text, priced.text
    placed = ok(await say(app, "bob", "/order SVT-FML ALB 1"))
    assert "S$17.64" in placed.text
    before = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert "Amount: S$17.64" in before.text and "100 KRW = 0.098 SGD" in before.text
    changed = ok(await say(app, "gina", "/rate SVT-FML 1000 KRW = 1.05 SGD"))
    assert "Orders already placed keep their rate" in changed.text
    after = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert "Amount: S$17.64" in after.text and "100 KRW = 0.098 SGD" in after.text
    assert await parts(app) == [("items", "open", 1764)]  # the same request, untouched
    new = ok(await say(app, "carol", "/order SVT-FML ALB 1"))
    assert "S$18.90" in new.text
    carol = ok(await say(app, "carol", "/pay SVT-FML-2"))
    assert "Amount: S$18.90" in carol.text and "100 KRW = 0.105 SGD" in carol.text
    # bob changes his order: it is priced again, at today's prices, and says so
    mine = ok(await say(app, "bob", "/myorders"))
    assert "Prices at 100 KRW = 0.098 SGD, locked when ordered" in mine.text, mine.text
    changed_order = ok(await say(app, "bob", "/change SVT-FML-1 ALB 2"))
    assert "S$37.80" in changed_order.text, changed_order.text
    mine = ok(await say(app, "bob", "/myorders"))
    assert "Prices at 100 KRW = 0.105 SGD" in mine.text and "0.098" not in mine.text, mine.text
    # off: prices stay as converted; another currency later converts nothing it did not price
    ok(await say(app, "gina", "/rate SVT-FML off"))
    usd = ok(await say(app, "gina", "/rate SVT-FML 1 USD = 1.35 SGD"))
    assert "0 prices converted" in usd.text and "ALB:" not in usd.text, usd.text
    assert "S$18.90" in ok(await say(app, "dan", "/order SVT-FML ALB 1")).text
    await assert_checks_pass(app)


async def test_zero_decimal_currencies_convert_exactly(any_app: App) -> None:
    app = any_app
    await gom(app, "gina")
    steps = [
        '/newgo JPGO "Yen GO" currency=JPY moq=1 cap=10 deadline=+3d',
        '/additem JPGO ALB 2000 "Album"',
        "/paymethods JPGO manual",
        "/open JPGO",
        "/rate JPGO 100 KRW = 11.3 JPY",
        "/srcprice JPGO ALB 18005",
    ]
    for step in steps:
        ok(await say(app, "gina", step))
    placed = ok(await say(app, "bob", "/order JPGO ALB 1"))
    assert "¥2,035" in placed.text, placed.text  # ₩18,005 × 0.113 = ¥2,034.565 → ¥2,035
    reply = ok(await say(app, "bob", "/pay JPGO-1"))
    assert "Amount: ¥2,035" in reply.text


async def test_a_rate_change_racing_orders_never_charges_a_rate_the_buyer_did_not_see(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=60, items=ONE_ALBUM)
    ok(await say(app, "gina", "/rate SVT-FML 1000 KRW = 0.98 SGD"))
    ok(await say(app, "gina", "/srcprice SVT-FML ALB 18000"))
    ok(await say(app, "bob0", "/order SVT-FML ALB 1"))
    buyers = [f"fan{i}" for i in range(24)]
    replies = await asyncio.gather(
        *(say(app, who, "/order SVT-FML ALB 1") for who in buyers[:12]),
        say(app, "gina", "/rate SVT-FML 1000 KRW = 1.05 SGD"),
        *(say(app, who, "/order SVT-FML ALB 1") for who in buyers[12:]),
    )
    for reply in replies:
        ok(reply)
    async with app.core.reader() as uow:
        orders = (await uow.session.scalars(select(Order).order_by(Order.id))).all()
        assert len(orders) == 25
        prices = set()
        for order in orders:
            [line] = (
                await uow.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
            ).all()
            locked = await order_terms(uow, order)
            assert locked.rate is not None
            # the price charged is the price at the rate the order is locked to
            assert convert(18000, locked.rate) == line.unit_price_minor == order.total_minor
            prices.add(order.total_minor)
        stamped = (await uow.session.scalars(select(OrderTerms))).all()
    assert prices <= {1764, 1890} and 1764 in prices
    assert stamped and all(
        Fraction(s.rate_num or 0, s.rate_den or 1) == Fraction(98, 100_000) for s in stamped
    )
    # each buyer was told the total they are charged
    for reply in replies[:12] + replies[13:]:
        number = next(word for word in reply.text.split() if word.startswith("SVT-FML-"))
        async with app.core.reader() as uow:
            order = await uow.session.scalar(select(Order).where(Order.number == number))
            assert order is not None
        assert ("S$17.64" if order.total_minor == 1764 else "S$18.90") in reply.text, reply.text
    await assert_checks_pass(app)


async def test_fee_and_card_surcharge_are_lines_of_their_own_in_the_pay_view_and_exports(app: App) -> None:
    fake = FakeGateway(name="stripe")
    app.core.payment_gateways["stripe"] = fake
    await open_go(app, moq=1, methods="stripe manual")
    ok(await say(app, "gina", "/fee SVT-FML 1.00"))
    ok(await say(app, "gina", "/surcharge SVT-FML stripe 0.50 3.4%"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 2"))
    mine = ok(await say(app, "bob", "/myorders"))
    assert "Total S$51.80\n  GOM fee S$2.00 · with the fee S$53.80" in mine.text, mine.text
    view = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert "Amount: S$53.80" in view.text and "GOM fee: S$2.00 (included)" in view.text, view.text
    assert "Paying by Card (Stripe) adds S$0.50 + 3.4% (S$56.13 in all)" in view.text
    link = ok(await say(app, "bob", "/pay SVT-FML-1 stripe"))
    assert "S$56.13" in link.text, link.text  # 53.80 + 0.50 + 3.4% of 53.80 (1.83)
    async with app.core.reader() as uow:
        attempt = await uow.session.scalar(select(Payment))
        assert attempt is not None and (attempt.amount_minor, attempt.surcharge_minor) == (5613, 233)
        ref = attempt.provider_ref
    event = WebhookEvent("stripe", "evt_1", "paid", provider_ref=ref, amount_minor=5613, currency="SGD")
    [outcome] = await payments.record_webhook(app.core.uow, [event])
    assert outcome.result == "paid"
    assert await order_status(app, "SVT-FML-1") == "paid"
    await assert_checks_pass(app)
    assert "overpaid" not in ok(await say(app, "gina", "/payments SVT-FML")).text  # the surcharge is apart
    export = ok(await say(app, "gina", "/export SVT-FML"))
    assert export.document is not None
    rows = list(csv.DictReader(io.StringIO(export.document.content.decode("utf-8-sig"))))
    assert [(r["line total"], r["GOM fee"], r["surcharge paid"], r["rate"]) for r in rows] == [
        ("51.80", "2.00", "2.33", "")
    ]
    sheet = ok(await say(app, "gina", "/payments SVT-FML csv"))
    assert sheet.document is not None
    [buyer] = list(csv.DictReader(io.StringIO(sheet.document.content.decode("utf-8-sig"))))
    assert (buyer["owed"], buyer["paid"], buyer["still due"], buyer["GOM fee"], buyer["surcharges"]) == (
        "53.80",
        "53.80",
        "0.00",
        "2.00",
        "2.33",
    )
