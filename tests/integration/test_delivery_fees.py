"""Shipping fees as a second payment: one fee per parcel, weighed by tier, asked once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from core.db.models import Order, OutboxMessage, PaymentRequest
from main import App
from tests.books import assert_books
from tests.conftest import open_go, say
from tests.integration.test_delivery_flow import ok, refused
from tests.integration.test_delivery_import import send_file


async def test_shipfees_asks_each_parcel_once_for_its_fee(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=50)
    ok(await say(app, "gina", "/paymethods SVT-FML manual"))
    ok(await say(app, "gina", '/shipopt SVT-FML NV courier "Ninja Van" tiers="500:3.50,1000:5.20"'))
    ok(await say(app, "gina", '/shipopt SVT-FML REG registered "Registered mail" fee=4.10'))
    ok(await say(app, "gina", '/shipopt SVT-FML MEET pickup "Meet-up"'))
    ok(await say(app, "gina", '/slot SVT-FML MEET "2026-12-12 14:00" 5 "Bugis"'))
    address = 'name="X" phone=+6591234567 line1="1 Orchard Rd" postal=238823 country=SG'
    for who, choice in (("ana", "NV"), ("ben", "REG"), ("cat", "NV"), ("dan", "MEET 1")):
        ok(await say(app, who, "/order SVT-FML ALB:A 1"))
        ok(await say(app, who, f"/address add {address}"))
        ok(await say(app, who, f"/deliver SVT-FML {choice}"))
    ok(await say(app, "ana", "/order SVT-FML ALB:B 1"))  # SVT-FML-5: same parcel as SVT-FML-1
    ok(await say(app, "ana", "/paid SVT-FML-5 TXN5"))
    ok(await say(app, "gina", "/approve SVT-FML-5"))

    refused(await say(app, "gina", "/weigh SVT-FML-1 0"), "between 1")
    refused(await say(app, "ana", "/weigh SVT-FML-1 600"), "GOM")
    assert "600 g: shipping S$5.20" in ok(await say(app, "gina", "/weigh SVT-FML-1 600g")).text
    refused(await say(app, "gina", "/weigh SVT-FML-3 2500"), "heavier than the heaviest tier")

    reports = await asyncio.gather(
        say(app, "gina", "/shipfees SVT-FML"), say(app, "gina", "/shipfees SVT-FML")
    )
    first, second = sorted((r.text for r in reports), key=lambda t: "asked 0" in t)
    assert "asked 2 buyer(s) for shipping, S$9.30 in all" in first  # ana 5.20 + ben 4.10
    assert "1 parcel(s) ship free" in first
    assert "Not weighed yet (/weigh ORDER GRAMS, then /shipfees again): cat" in first
    assert "asked 0 buyer(s)" in second and "2 parcel(s) had been asked already" in second

    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, PaymentRequest.amount_minor)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(PaymentRequest.kind == "shipping")
                .order_by(Order.number)
            )
        ).all()
        told = await uow.session.scalars(
            select(OutboxMessage.context).where(OutboxMessage.template == "payment_requested")
        )
        told_texts = list(told)
    # ana's fee is asked on her paid order, one fee for her two orders
    assert [tuple(r) for r in rows] == [("SVT-FML-2", 410), ("SVT-FML-5", 520)]
    assert len(told_texts) == 2 and any("S$5.20" in t for t in told_texts)
    pay = ok(await say(app, "ana", "/pay SVT-FML-5"))
    assert "S$5.20" in pay.text
    await assert_books(app)


async def test_fees_from_a_file_and_by_hand_are_never_asked_twice(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=50)
    ok(await say(app, "gina", "/paymethods SVT-FML manual"))
    ok(await say(app, "gina", '/shipopt SVT-FML NV courier "Ninja Van" fee=3.50'))
    address = 'name="X" phone=+6591234567 line1="1 Orchard Rd" postal=238823 country=SG'
    for who in ("ana", "ben", "cat"):
        ok(await say(app, who, "/order SVT-FML ALB:A 1"))
        ok(await say(app, who, f"/address add {address}"))
        ok(await say(app, who, "/deliver SVT-FML NV"))
    ok(await say(app, "gina", "/shipping SVT-FML-3 6.00"))  # cat's fee, entered by hand

    bad = "\ufefforder;fee\r\nSVT-FML-1;4.20\r\nSVT-FML-9;1\r\nSVT-FML-2;4.205\r\n".encode()
    refused(await send_file(app, "/shipfees SVT-FML", bad), "Nothing was asked", "line 3", "line 4")
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(PaymentRequest).where(
            PaymentRequest.kind == "shipping")) == 1  # fmt: skip
    good = "\ufefforder;fee\r\n\r\nSVT-FML-1;4.20\r\n".encode()
    report = ok(await send_file(app, "/shipfees SVT-FML", good))
    assert "asked 2 buyer(s) for shipping, S$7.70 in all" in report.text  # ana 4.20 (file), ben 3.50
    assert "1 parcel(s) had been asked already" in report.text  # cat, by hand
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, PaymentRequest.amount_minor)
                .join(Order, Order.id == PaymentRequest.order_id)
                .where(PaymentRequest.kind == "shipping")
                .order_by(Order.number)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("SVT-FML-1", 420), ("SVT-FML-2", 350), ("SVT-FML-3", 600)]
    await assert_books(app)
