"""The GOM's own bookkeeping through the command table: money received outside gomflow
(/markpaid) and proofs approved in one go (/approve all), with their refusals and races,
on SQLite and PostgreSQL; the books balance and ``gomflow check`` stays green."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from core.db.models import AuditEntry, Order, Payment, PaymentRequest, Refund
from main import App
from tests.books import assert_books
from tests.conftest import buyer, open_go, say
from tests.integration.test_payment_races import PAIRS, WENT_WRONG, buyer_cancels, many_orders
from tests.integration.test_payments import ok, order_status, paynow_go


def refused(text: str) -> bool:
    return text.startswith("⚠️")


async def manual_payments(app: App) -> list[tuple[int, str, str | None]]:
    """(amount, status, what the GOM noted) of every payment recorded by /markpaid."""
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Payment.amount_minor, Payment.status, Payment.charge_ref)
                .where(Payment.idempotency_key.like("gf-mark-%"))
                .order_by(Payment.id)
            )
        ).all()
    return [(amount, status, note) for amount, status, note in rows]


# --- /markpaid ---------------------------------------------------------------------------


async def test_markpaid_records_cash_in_parts_until_the_order_is_paid(any_app: App) -> None:
    app = any_app
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))

    first = ok(await say(app, "gina", "/markpaid SVT-FML-1 10 cash at the meet-up ☕"))
    assert "S$10.00" in first.text and "S$15.90 still to pay" in first.text
    assert await order_status(app, "SVT-FML-1") == "placed"
    await assert_books(app)

    second = ok(await say(app, "gina", "/markpaid svt-fml-1 S$15.90 seen in the bank app"))
    assert "S$15.90" in second.text and "SVT-FML-1 is paid" in second.text
    assert await order_status(app, "SVT-FML-1") == "paid"
    assert await manual_payments(app) == [
        (1000, "succeeded", "cash at the meet-up ☕"),
        (1590, "succeeded", "seen in the bank app"),
    ]
    async with app.core.reader() as uow:
        audited = (
            await uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "marked_paid"))
        ).all()
    assert len(audited) == 2 and "gina" in audited[0] and "cash at the meet-up" in audited[0]
    books = await assert_books(app)
    assert books["paid_orders"] == 1


async def test_markpaid_refusals_leave_nothing_written(app: App) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "dan", "/order SVT-FML ALB:B 1"))
    ok(await say(app, "dan", "/cancel SVT-FML-2"))
    cases = {
        "/markpaid": "Usage: /markpaid ORDER AMOUNT [NOTE]",
        "/markpaid SVT-FML-1": "Usage: /markpaid ORDER AMOUNT [NOTE]",
        "/markpaid NOPE-9 10": "There is no order NOPE-9",
        "/markpaid SVT-FML-1 ten": "isn't an amount",
        "/markpaid SVT-FML-1 -5": "can't be negative",
        "/markpaid SVT-FML-1 0": "more than zero",
        "/markpaid SVT-FML-1 10.005": "more decimals than SGD allows",
        "/markpaid SVT-FML-1 ½": "digits 0-9",
        "/markpaid SVT-FML-1 99999999999999": "S$25.90 is still owed",
        "/markpaid SVT-FML-1 25.91": "S$25.90 is still owed",
        "/markpaid SVT-FML-2 5": "SVT-FML-2 is cancelled",
    }
    for text, expected in cases.items():
        reply = await say(app, "gina", text)
        assert refused(reply.text) and expected in reply.text, (text, reply.text)
    # a buyer may not record money for themselves, even for their own order
    by_buyer = await say(app, "bob", "/markpaid SVT-FML-1 25.90")
    assert refused(by_buyer.text)
    # a GOM of another GO may not either
    await open_go(app, "OTHER-GO", owner="olga")
    other = await say(app, "olga", "/markpaid SVT-FML-1 25.90")
    assert refused(other.text) and "run by another GOM" in other.text
    async with app.core.reader() as uow:
        assert (await uow.session.scalars(select(Payment.id))).all() == []
        assert (await uow.session.scalars(select(PaymentRequest.id))).all() == []
    # a note too long to keep is cut, not refused
    ok(await say(app, "gina", "/markpaid SVT-FML-1 1 " + "ü" * 1000))
    [(amount, _, note)] = await manual_payments(app)
    assert amount == 100 and note == "ü" * 200
    await assert_books(app)


async def test_markpaid_on_a_paid_order_is_refused_as_overpayment(app: App) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "gina", "/markpaid SVT-FML-1 25.90"))
    again = await say(app, "gina", "/markpaid SVT-FML-1 5 tip")
    assert refused(again.text) and "SVT-FML-1 has nothing more to pay" in again.text
    assert [amount for amount, _, _ in await manual_payments(app)] == [2590]
    await assert_books(app)


async def test_markpaid_double_tapped_counts_once(any_app: App) -> None:
    app = any_app
    numbers = await many_orders(app)
    taps = [say(app, "gina", f"/markpaid {n} 10 cash") for n in numbers for _ in range(2)]
    replies = await asyncio.gather(*taps)

    texts = [r.text for r in replies]
    assert not any(WENT_WRONG in t or refused(t) for t in texts), texts[:3]
    assert sum(t.startswith("🔁 Already recorded") for t in texts) == PAIRS
    recorded = await manual_payments(app)
    assert len(recorded) == PAIRS and {amount for amount, _, _ in recorded} == {1000}
    # the same amount again with another note is a second payment, on purpose
    number = next(iter(numbers))
    ok(await say(app, "gina", f"/markpaid {number} 10 second envelope"))
    assert len(await manual_payments(app)) == PAIRS + 1
    await assert_books(app)


async def test_markpaid_and_the_buyers_cancel_at_once(any_app: App) -> None:
    app = any_app
    numbers = await many_orders(app)
    buyers = {n: await buyer(app, who) for n, who in numbers.items()}

    async def mark(number: str) -> str:
        reply = await say(app, "gina", f"/markpaid {number} 25.90 cash")
        assert WENT_WRONG not in reply.text
        if refused(reply.text):
            assert f"{number} is cancelled" in reply.text, reply.text
            return "refused"
        return "recorded"

    cancels = [buyer_cancels(app, buyers[n], n) for n in numbers]
    marks = [mark(n) for n in numbers]
    # half the pairs start with the cancel, half with the payment, so that both can win
    started = await asyncio.gather(*cancels[::2], *marks, *cancels[1::2])
    cancelled = started.count("cancelled")
    assert started.count("recorded") + cancelled == PAIRS
    assert started.count("refused") == PAIRS

    async with app.core.reader() as uow:
        orders = dict((await uow.session.execute(select(Order.number, Order.status))).all())
        refunds = (await uow.session.scalars(select(Refund.id))).all()
    assert sorted(set(orders.values())) == sorted({"paid", "cancelled"} & set(orders.values()))
    assert list(orders.values()).count("cancelled") == cancelled
    assert len(await manual_payments(app)) == PAIRS - cancelled
    assert refunds == []  # no money was taken for an order the buyer had cancelled
    books = await assert_books(app)
    assert books["paid_orders"] == PAIRS - cancelled


async def test_part_paid_cash_on_an_order_the_gom_then_cancels_is_queued_for_refund(app: App) -> None:
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "gina", "/markpaid SVT-FML-1 5 deposit"))
    ok(await say(app, "gina", "/cancel SVT-FML-1"))
    async with app.core.reader() as uow:
        refunds = (await uow.session.scalars(select(Refund))).all()
    assert [(r.amount_minor, r.status) for r in refunds] == [(500, "manual")]
    await assert_books(app)
