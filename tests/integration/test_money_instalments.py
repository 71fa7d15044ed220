"""Instalments on both databases: chosen at pay time, split exactly, each part due on the
GOM's date with its own reminder and expiry; a double tap opens one set of parts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.clock import FrozenClock
from core.db.models import Order
from core.services import due
from main import App
from tests.conftest import assert_checks_pass, open_go, say
from tests.integration.test_money_deposits import parts, request_dues
from tests.integration.test_payments import ok, order_status, reminders_queued


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
    before = await reminders_queued(app)
    await due.remind_unpaid_orders(app.core.uow(), timedelta(hours=24))
    await due.remind_unpaid_orders(app.core.uow(), timedelta(hours=24))
    assert await reminders_queued(app) == before + 1
    # missed: that instalment expires, the claim paid by the first stays
    clock.advance(days=1)
    await due.expire_due(app.core.uow())
    assert [s for k, s, _ in await parts(app)] == ["void", "paid", "expired", "open"]
    assert await order_status(app, "SVT-FML-1") == "paid"
    await assert_checks_pass(app)


async def test_a_double_tap_on_instalments_opens_one_set_of_parts(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1)
    ok(await say(app, "gina", "/instalments SVT-FML 2026-12-10"))
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    replies = await asyncio.gather(*(say(app, "bob", "/pay SVT-FML-1 instalments") for _ in range(4)))
    for reply in replies:
        assert "Amount: S$12.95" in ok(reply).text
    assert await parts(app) == [("instalment", "open", 1295), ("instalment", "open", 1295)]
    await assert_checks_pass(app)
