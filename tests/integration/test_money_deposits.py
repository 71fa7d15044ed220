"""Deposits on both databases: the deposit now, the balance when the GO arrives (once per
order, even when arrival races buyers opening their deposits), the order paid in full
when both are paid; and money terms refused with a reason, writing nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select

from core.clock import FrozenClock
from core.db.models import Order, PaymentRequest
from main import App
from tests.books import assert_books
from tests.conftest import assert_checks_pass, open_go, say
from tests.integration.test_payments import ok, order_status


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


async def test_arrival_racing_deposits_opens_each_balance_once(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=20)
    ok(await say(app, "gina", "/deposit SVT-FML 1.00"))  # S$1.00 per item
    buyers = [f"fan{i}" for i in range(6)]
    for who in buyers:
        ok(await say(app, who, "/order SVT-FML ALB:A 1"))
    for step in ("/close SVT-FML confirm", "/status SVT-FML ordered"):
        ok(await say(app, "gina", step))
    # buyers open their deposit while the GOM marks the GO arrived, twice (a double tap)
    await asyncio.gather(
        *(say(app, who, f"/pay SVT-FML-{i + 1}") for i, who in enumerate(buyers[:3])),
        say(app, "gina", "/status SVT-FML arrived"),
        say(app, "gina", "/status SVT-FML arrived"),
        *(say(app, who, f"/pay SVT-FML-{i + 4}") for i, who in enumerate(buyers[3:])),
    )
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, PaymentRequest.kind, PaymentRequest.amount_minor)
                .join(PaymentRequest, PaymentRequest.order_id == Order.id)
                .where(PaymentRequest.status != "void")
                .order_by(Order.id, PaymentRequest.id)
            )
        ).all()
    by_order: dict[str, list[tuple[str, int]]] = {}
    for number, kind, amount in rows:
        by_order.setdefault(number, []).append((kind, amount))
    assert by_order == {f"SVT-FML-{i}": [("deposit", 100), ("balance", 2490)] for i in range(1, 7)}
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
