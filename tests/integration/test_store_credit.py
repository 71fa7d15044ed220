"""Store credit: granted by a shortfall, spent on the same GOM's next orders (in full or in
part), given back as credit when such an order is refunded, and never spent twice."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from core.db.models import Payment, StoreCreditBalance, StoreCreditEntry
from core.payments.store_credit import PROVIDER
from main import App
from tests.books import assert_books
from tests.conftest import assert_checks_pass, open_go, say
from tests.integration.test_payments import ok, order_status
from tests.integration.test_shortfalls import refused

PRICE = 2590


async def credit_from_a_shortfall(app: App, buyers: dict[str, int]) -> None:
    """Each buyer pays for their units in SVT-FML; none arrive; the GOM gives store credit.
    Then gina opens SVT-TWO and SVT-TRI for the next orders."""
    await open_go(app, moq=1, cap=50)
    for n, (who, units) in enumerate(buyers.items(), start=1):
        ok(await say(app, who, f"/order SVT-FML ALB:A {units}"))
        ok(await say(app, "gina", f"/markpaid SVT-FML-{n} {units * PRICE / 100:.2f}"))
    ok(await say(app, "gina", "/close SVT-FML confirm"))
    ok(await say(app, "gina", "/status SVT-FML ordered"))
    ok(await say(app, "gina", "/status SVT-FML arrived"))
    ok(await say(app, "gina", "/shortfall SVT-FML ALB:A=0 credit confirm"))
    await open_go(app, "SVT-TWO", cap=50)
    await open_go(app, "SVT-TRI", cap=50)


async def held(app: App, who: str) -> tuple[int, int]:
    """(balance row, sum of entries) of a buyer's credit."""
    async with app.core.reader() as uow:
        from core.db.models import User

        user_id = await uow.session.scalar(select(User.id).where(User.display_name == who))
        row = await uow.session.scalar(
            select(StoreCreditBalance.balance_minor).where(StoreCreditBalance.buyer_id == user_id)
        )
        total = await uow.session.scalar(
            select(func.coalesce(func.sum(StoreCreditEntry.amount_minor), 0)).where(
                StoreCreditEntry.buyer_id == user_id
            )
        )
    return int(row or 0), int(total or 0)


async def test_credit_pays_a_new_order_in_full_then_part_of_the_next(any_app: App) -> None:
    app = any_app
    await credit_from_a_shortfall(app, {"ben": 2})
    assert await held(app, "ben") == (2 * PRICE, 2 * PRICE)
    assert "S$51.80 with gina" in ok(await say(app, "ben", "/credit")).text

    ok(await say(app, "ben", "/order SVT-TWO ALB:A 1"))
    offered = ok(await say(app, "ben", "/pay SVT-TWO-1"))
    assert offered.buttons[0][0].label == "Use store credit (S$51.80)"
    whole = ok(await say(app, "ben", offered.buttons[0][0].command or ""))
    assert "S$25.90 of your store credit paid towards SVT-TWO-1. It is paid in full." in whole.text
    assert "Credit left with this GOM: S$25.90" in whole.text
    assert await order_status(app, "SVT-TWO-1") == "paid"

    ok(await say(app, "ben", "/order SVT-TWO ALB:B 2"))
    part = ok(await say(app, "ben", "/pay SVT-TWO-2 credit"))
    assert "S$25.90 of your store credit paid towards SVT-TWO-2. Still to pay: S$25.90" in part.text
    assert await order_status(app, "SVT-TWO-2") == "placed"
    assert "S$25.90" in ok(await say(app, "ben", "/pay SVT-TWO-2")).text  # the rest, the usual ways
    refused(await say(app, "ben", "/pay SVT-TWO-2 credit"), "You have no store credit in SGD with gina")
    assert await held(app, "ben") == (0, 0)
    await assert_books(app)
    await assert_checks_pass(app)


async def test_credit_pays_only_the_buyers_own_orders_with_the_same_gom(any_app: App) -> None:
    app = any_app
    await credit_from_a_shortfall(app, {"ben": 1})
    ok(await say(app, "ana", "/order SVT-TWO ALB:A 1"))
    refused(await say(app, "ben", "/pay SVT-TWO-1 credit"), "is not your order")
    await open_go(app, "OTTO-GO", owner="otto", cap=50)
    ok(await say(app, "ben", "/order OTTO-GO ALB:A 1"))
    refused(await say(app, "ben", "/pay OTTO-GO-1 credit"), "no store credit in SGD with otto")
    assert await held(app, "ben") == (PRICE, PRICE)


async def test_refunding_an_order_paid_with_credit_gives_the_credit_back(any_app: App) -> None:
    app = any_app
    await credit_from_a_shortfall(app, {"ben": 1})
    ok(await say(app, "ben", "/order SVT-TWO ALB:A 1"))
    ok(await say(app, "ben", "/pay SVT-TWO-1 credit"))
    assert await held(app, "ben") == (0, 0)
    ok(await say(app, "gina", "/refund SVT-TWO-1 confirm"))
    assert await order_status(app, "SVT-TWO-1") == "refunded"
    assert await held(app, "ben") == (PRICE, PRICE)
    await assert_checks_pass(app)


async def test_two_payments_at_once_never_spend_the_same_credit_twice(any_app: App) -> None:
    app = any_app
    buyers = [f"fan{i}" for i in range(4)]
    await credit_from_a_shortfall(app, dict.fromkeys(buyers, 1))
    for who in buyers:
        ok(await say(app, who, "/order SVT-TWO ALB:A 1"))
        ok(await say(app, who, "/order SVT-TRI ALB:A 1"))
    pays = [(who, f"{code}-{n}") for n, who in enumerate(buyers, start=1) for code in ("SVT-TWO", "SVT-TRI")]
    replies = await asyncio.gather(*(say(app, who, f"/pay {number} credit") for who, number in pays))

    texts = [r.text for r in replies]
    assert sum("It is paid in full" in t for t in texts) == len(buyers), texts
    assert all("no store credit" in t for t in texts if "It is paid in full" not in t), texts
    for who in buyers:
        assert await held(app, who) == (0, 0)
    async with app.core.reader() as uow:
        spent = await uow.session.scalar(
            select(func.sum(Payment.amount_minor)).where(
                Payment.provider == PROVIDER, Payment.status == "succeeded"
            )
        )
    assert spent == len(buyers) * PRICE
    await assert_books(app)
    await assert_checks_pass(app)


async def test_the_gom_adjusts_credit_with_a_reason_and_never_below_zero(any_app: App) -> None:
    app = any_app
    await credit_from_a_shortfall(app, {"ben": 1})
    given = ok(await say(app, "gina", "/credit @ben +5 sorry for the wait"))
    assert "Adjusted by +S$5.00." in given.text and "S$30.90 with gina" in given.text
    assert await held(app, "ben") == (PRICE + 500, PRICE + 500)
    refused(await say(app, "gina", "/credit @ben -40 too much"), "ben holds S$30.90 of credit with you")
    refused(await say(app, "gina", "/credit @ben 5 no sign"), "Usage: /credit @buyer")
    refused(await say(app, "gina", "/credit @ben +abc why"), "amount")
    refused(await say(app, "ben", "/credit @ben +100 mine now"), "Only a GOM")
    ok(await say(app, "gina", "/credit @ben -0.90 SGD paid in cash"))
    assert await held(app, "ben") == (3000, 3000)
    async with app.core.reader() as uow:
        kinds = (await uow.session.scalars(select(StoreCreditEntry.kind).order_by(StoreCreditEntry.id))).all()
    assert kinds == ["shortfall", "adjust", "adjust"]
