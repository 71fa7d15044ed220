"""A GO's money terms end to end, on both databases: a deposit then the balance after
arrival, instalments chosen at pay time, prices in KRW at a rate locked into each order
(even when the rate changes while buyers order), and the GOM's fee and a card surcharge as
lines of their own in the pay view and the exports."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from sqlalchemy import select

from core.clock import FrozenClock
from core.db.models import Order, OrderLine, OrderTerms, Payment, PaymentRequest
from core.payments.gateway import FakeGateway, WebhookEvent
from core.payments.parts import convert
from core.payments.terms import order_terms
from core.services import due, payments
from main import App
from tests.books import assert_books
from tests.conftest import assert_checks_pass, gom, open_go, say
from tests.integration.test_payments import ok, order_status

ONE_ALBUM = ('ALB 25.90 "FML album"',)


async def parts(app: App) -> list[tuple[str, str, int]]:
    async with app.core.reader() as uow:
        rows = await uow.session.execute(
            select(PaymentRequest.kind, PaymentRequest.status, PaymentRequest.amount_minor).order_by(
                PaymentRequest.id
            )
        )
        return [(k, s, a) for k, s, a in rows.all()]


async def request_dues(app: App) -> list[datetime]:
    async with app.core.reader() as uow:
        return list(
            (await uow.session.scalars(select(PaymentRequest.due_at).order_by(PaymentRequest.id))).all()
        )


async def test_deposit_now_and_balance_after_arrival_pay_the_order_in_full(
    any_app: App, clock: FrozenClock
) -> None:
    app = any_app
    await open_go(app, moq=1)
    terms = ok(await say(app, "gina", "/deposit SVT-FML 30% days=7"))
    assert "Deposit: 30% now; the balance 7 days after the items arrive" in terms.text
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    deposit = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert "Amount: S$7.77" in deposit.text and "Deposit now" in deposit.text, deposit.text
    assert await parts(app) == [("deposit", "open", 777)]
    ok(await say(app, "gina", "/markpaid SVT-FML-1 7.77"))
    assert await order_status(app, "SVT-FML-1") == "paid"  # a paid deposit secures the claim
    nothing = await say(app, "bob", "/pay SVT-FML-1")
    assert "nothing more to pay right now" in nothing.text
    for step in ("/close SVT-FML confirm", "/status SVT-FML ordered", "/status SVT-FML arrived"):
        ok(await say(app, "gina", step))
    assert await parts(app) == [("deposit", "paid", 777), ("balance", "open", 1813)]
    assert (await request_dues(app))[1] == clock.now() + timedelta(days=7)
    balance = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert "Amount: S$18.13" in balance.text and "Balance" in balance.text, balance.text
    ok(await say(app, "gina", "/markpaid SVT-FML-1 18.13"))
    assert await parts(app) == [("deposit", "paid", 777), ("balance", "paid", 1813)]
    assert await order_status(app, "SVT-FML-1") == "paid"
    await assert_books(app)
    await assert_checks_pass(app)


async def test_instalments_are_chosen_at_pay_time_and_fall_due_on_the_goms_dates(
    any_app: App, clock: FrozenClock
) -> None:
    app = any_app
    await open_go(app, moq=1)
    ok(await say(app, "gina", "/instalments SVT-FML 2026-12-10,2027-01-10"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    offer = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert any(b.command == "/pay SVT-FML-1 instalments" for row in offer.buttons for b in row)
    first = ok(await say(app, "bob", "/pay SVT-FML-1 instalments"))
    assert "Amount: S$8.64" in first.text and "Instalment 1 of 3" in first.text, first.text
    assert await parts(app) == [
        ("items", "void", 2590),
        ("instalment", "open", 864),
        ("instalment", "open", 863),
        ("instalment", "open", 863),
    ]
    async with app.core.reader() as uow:
        order = await uow.session.scalar(select(Order).where(Order.number == "SVT-FML-1"))
        assert order is not None
        placed_due = order.payment_due_at
    sgt_end_of_day = [datetime(2026, 12, 10, 15, 59, tzinfo=UTC), datetime(2027, 1, 10, 15, 59, tzinfo=UTC)]
    assert (await request_dues(app))[1:] == [placed_due, *sgt_end_of_day]
    ok(await say(app, "gina", "/markpaid SVT-FML-1 8.64"))
    assert await order_status(app, "SVT-FML-1") == "paid"
    second = ok(await say(app, "bob", "/pay SVT-FML-1"))
    assert "Amount: S$8.63" in second.text and "Instalment 2 of 3; 1 more after this" in second.text
    # a day before the second date its reminder is due, once
    clock.advance(days=20)
    assert await due.remind_due(app.core.uow(), within=timedelta(hours=24)) == 1
    assert await due.remind_due(app.core.uow(), within=timedelta(hours=24)) == 0
    # missed: that instalment expires, the claim paid by the first stays
    clock.advance(days=1)
    await due.expire_due(app.core.uow())
    assert [s for k, s, _ in await parts(app)] == ["void", "paid", "expired", "open"]
    assert await order_status(app, "SVT-FML-1") == "paid"
    await assert_checks_pass(app)


async def test_bad_money_terms_are_refused_and_write_nothing(app: App) -> None:
    await open_go(app, moq=1)
    await open_go(app, "OTHER", owner="olga")
    for text, problem in [
        ("/deposit SVT-FML 100%", "less than 100%"),
        ("/deposit SVT-FML 30% days=400", "days="),
        ("/instalments SVT-FML 2026-12-10,2026-12-01", "in order"),
        ("/instalments SVT-FML 2020-01-01", "has passed"),
        ("/instalments SVT-FML 2026-12-10,2027-01-10,2027-02-10,2027-03-10", "1 to 3 dates"),
        ("/instalments SVT-FML tomorrow", "2026-12-10"),
        ("/rate SVT-FML 1 KRW = 1 USD", "this GO's currency"),
        ("/rate SVT-FML off", "no rate"),
        ("/srcprice SVT-FML ALB 18000", "no price currency"),
        ("/fee SVT-FML 1.005", "more decimals"),
        ("/fee SVT-FML 5% 6%", "one percentage"),
        ("/surcharge SVT-FML manual 1%", "paying online"),
        ("/fee OTHER 1.00", "another GOM"),
    ]:
        reply = await say(app, "gina", text)
        assert reply.text.startswith("⚠️") and problem in reply.text, (text, reply.text)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    refused = await say(app, "bob", "/pay SVT-FML-1 instalments")
    assert refused.text.startswith("⚠️") and "does not offer instalments" in refused.text
    shown = ok(await say(app, "gina", "/money SVT-FML"))
    assert "no fee, no surcharge, paid in full" in shown.text


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
