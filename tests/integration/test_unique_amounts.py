"""Unique amounts on both databases: no two open requests of one GOM in one currency ask
the same amount, even when 30 buyers open theirs at once; never beyond the GOM's maximum;
the books and ``gomflow check`` stay right when they are paid."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from core.db.models import Order, PaymentRequest, User
from core.lookups import load_go
from core.services.buyer_totals import buyer_totals
from main import App
from tests.books import assert_books
from tests.conftest import say
from tests.integration.test_payments import ok, paynow_go

PRICE = 2590


async def requests(app: App) -> list[PaymentRequest]:
    async with app.core.reader() as uow:
        return list((await uow.session.scalars(select(PaymentRequest).order_by(PaymentRequest.id))).all())


async def crowd(app: App, count: int, most: str) -> dict[str, str]:
    """``count`` buyers with one album each; returns each order's buyer by number."""
    await paynow_go(app, cap=count + 5, moq=1)
    ok(await say(app, "gina", f"/uniqueamounts SVT-FML {most}"))
    for reply in await asyncio.gather(*(say(app, f"fan{i}", "/order SVT-FML ALB:A 1") for i in range(count))):
        ok(reply)
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, User.display_name).join(User, User.id == Order.buyer_id)
            )
        ).all()
    return {number: name for number, name in rows}


async def test_thirty_buyers_at_once_never_ask_the_same_amount(any_app: App) -> None:
    app = any_app
    buyers = await crowd(app, 30, "0.20")
    replies = await asyncio.gather(*(say(app, who, f"/pay {number}") for number, who in buyers.items()))
    for reply in replies:
        ok(reply)
    found = await requests(app)
    assert len(found) == 30
    amounts = [r.amount_minor for r in found]
    assert len(set(amounts)) == 30, sorted(amounts)
    assert all(r.amount_minor == PRICE + r.adjust_minor and 1 <= abs(r.adjust_minor) <= 20 for r in found)
    # the buyer sees the adjustment as its own line, and the QR asks the unique amount
    mine = next(r for r in found if r.adjust_minor > 0)
    async with app.core.reader() as uow:
        number = (await uow.session.get_one(Order, mine.order_id)).number
    shown = ok(await say(app, buyers[number], f"/pay {number}"))
    whole = f"S${mine.amount_minor // 100}.{mine.amount_minor % 100:02d}"
    assert f"S$25.90 + S$0.{mine.adjust_minor:02d} = {whole}" in shown.text, shown.text
    assert any(b.copy == whole[2:] for row in shown.buttons for b in row if b.copy)
    # paid: the books and every check stay right with the extra cents
    ok(await say(app, "gina", f"/markpaid {number} {whole[2:]}"))
    await assert_books(app)
    async with app.core.reader() as uow:
        totals = await buyer_totals(uow, await load_go(uow, "SVT-FML"))
    [paid] = [t for t in totals if number in t.orders]
    assert paid.owed_minor == paid.paid_minor == mine.amount_minor  # nothing shown as overpaid
    assert "overpaid" not in ok(await say(app, "gina", "/payments SVT-FML")).text


async def test_when_every_amount_within_the_maximum_is_taken_the_plain_amount_is_asked(
    any_app: App,
) -> None:
    app = any_app
    buyers = await crowd(app, 5, "0.01")
    for i in range(1, 5):
        ok(await say(app, buyers[f"SVT-FML-{i}"], f"/pay SVT-FML-{i}"))
    assert [r.adjust_minor for r in await requests(app)] == [1, -1, 0, 0]
    plain = ok(await say(app, buyers["SVT-FML-4"], "/pay SVT-FML-4"))
    assert " + " not in plain.text and "S$25.90" in plain.text
    # once a request is paid, its amount is free for the next one
    ok(await say(app, "gina", "/markpaid SVT-FML-1 25.91"))
    ok(await say(app, buyers["SVT-FML-5"], "/pay SVT-FML-5"))
    assert [r.adjust_minor for r in await requests(app)] == [1, -1, 0, 0, 1]
    for bad in ("5", "-0.01", "0.001", "abc", "1.00"):
        reply = await say(app, "gina", f"/uniqueamounts SVT-FML {bad}")
        assert reply.text.startswith("⚠️"), (bad, reply.text)
    assert (await say(app, "bob", "/uniqueamounts SVT-FML 0.05")).text.startswith("⚠️")
    ok(await say(app, "gina", "/uniqueamounts SVT-FML off"))
    await assert_books(app)
