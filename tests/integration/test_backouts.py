"""A buyer backs out of an order (/backout) as the GO's policy says: an unpaid one is
cancelled, a paid one kept, left only by a handover, or left for a fee kept from the
refund (never below zero); and a backout racing an acceptance of the same order lands
once, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, update

from core.db.models import GroupOrder, Payment, Refund
from core.payments.handover_money import split_fee
from core.policy import BackoutRule
from main import App
from tests.claims import (
    NUMBER,
    claim,
    offer,
    ok,
    policy_setter,
    quotas,
    refunds,
    refused,
    the_handover,
    the_order,
    user_id,
)
from tests.conftest import assert_checks_pass, say


@pytest.fixture
def rule(monkeypatch: pytest.MonkeyPatch) -> Any:
    return policy_setter(monkeypatch)


def test_the_fee_is_kept_from_the_last_payments_and_never_makes_a_refund_negative() -> None:
    assert split_fee([5180], 500) == [4680]
    assert split_fee([3000, 2180], 2500) == [2680, 0]
    assert split_fee([1000, 1000], 5000) == [0, 0]
    assert split_fee([5180], 0) == [5180]
    assert split_fee([], 500) == []
    for amounts, fee in (([700, 300, 1], 350), ([5180], 9999), ([1, 2, 3], 4)):
        back = split_fee(amounts, fee)
        assert all(b >= 0 for b in back)
        assert sum(back) + min(fee, sum(amounts)) == sum(amounts)


async def test_an_accept_racing_the_givers_paid_backout_lands_once(any_app: App, rule: Any) -> None:
    app = any_app
    rule(BackoutRule.FEE, 500)
    await claim(app, paid=True)
    handover_id = await offer(app)
    accept, backout = await asyncio.gather(
        say(app, "jae", f"/handover accept {handover_id}"),
        say(app, "mina", f"/backout {NUMBER} confirm"),
    )
    assert accept.text.startswith("⚠️") != backout.text.startswith("⚠️"), (accept.text, backout.text)
    order = await the_order(app)
    if backout.text.startswith("⚠️"):
        assert (order.status, order.buyer_id) == ("paid", await user_id(app, "jae"))
        assert await refunds(app) == []
    else:
        assert order.status == "refunded" and await refunds(app) == [(4680, 5180)]
        assert (await the_handover(app)).status == "cancelled"
    await assert_checks_pass(app)


async def test_backout_follows_the_policy(app: App, rule: Any) -> None:
    await claim(app, paid=True)
    ok(await say(app, "kai", "/order SVT-FML ALB:B 1"))
    unpaid = ok(await say(app, "kai", "/backout SVT-FML-2"))
    assert "it is cancelled and its 1 unit(s) went back" in unpaid

    rule(BackoutRule.NEVER)
    text = refused(await say(app, "mina", f"/backout {NUMBER}"))
    assert "a paid claim is kept" in text and f"/handover {NUMBER} @buyer" in text
    rule(BackoutRule.REPLACEMENT)
    assert "finding a replacement" in refused(await say(app, "mina", f"/backout {NUMBER} confirm"))
    assert "not your order" in refused(await say(app, "jae", f"/backout {NUMBER}"))

    rule(BackoutRule.FEE, 500)
    preview = ok(await say(app, "mina", f"/backout {NUMBER}"))
    assert "keeps the S$5.00 backout fee, so S$46.80 comes back" in preview
    assert (await the_order(app)).status == "paid" and await refunds(app) == []
    async with app.core.uow() as uow:
        await uow.session.execute(update(GroupOrder).values(status="ordered"))
        await uow.commit()
    assert "too late to back out" in refused(await say(app, "mina", f"/backout {NUMBER} confirm"))
    async with app.core.uow() as uow:
        await uow.session.execute(update(GroupOrder).values(status="open"))
        await uow.commit()
    handover_id = await offer(app)  # an offer nobody answered yet ends with the order
    done = ok(await say(app, "mina", f"/backout {NUMBER} confirm"))
    assert "already cancelled" in refused(await say(app, "jae", f"/handover accept {handover_id}"))
    assert (await the_handover(app)).status == "cancelled"
    assert "S$46.80 comes back to you (S$5.00 fee kept)" in done
    assert (await the_order(app)).status == "refunded"
    assert await refunds(app) == [(4680, 5180)]
    assert await quotas(app) == {}
    assert "already refunded" in refused(await say(app, "mina", f"/backout {NUMBER} confirm"))
    await assert_checks_pass(app)


async def test_a_fee_larger_than_the_payment_keeps_it_all_and_sends_nothing(app: App, rule: Any) -> None:
    rule(BackoutRule.FEE, 99_999)
    await claim(app, paid=True, qty=1)
    assert "keeps all of it, so nothing comes back" in ok(await say(app, "mina", f"/backout {NUMBER}"))
    ok(await say(app, "mina", f"/backout {NUMBER} confirm"))
    assert await refunds(app) == [(0, 2590)]
    async with app.core.reader() as uow:
        assert (await uow.session.scalar(select(Refund.status))) == "succeeded"
        assert (await uow.session.scalar(select(Payment.status))) == "refunded"
    await assert_checks_pass(app)
