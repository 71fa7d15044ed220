"""The money of a handed-over paid order: the recipient owes the GOM its total, and the
giver is refunded, less the policy's fee, only in the transaction that records the
recipient's payment; refund notices go to whoever paid; a recipient who does not pay in
time gives the order back to its giver, paid as before. The GOM holds one payment for
the order at every step, and ``gomflow check`` agrees, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from core.clock import FrozenClock
from core.db.models import PaymentRequest
from core.policy import BackoutRule
from core.services import handovers
from main import App
from tests.claims import (
    NUMBER,
    claim,
    notices,
    offer,
    ok,
    policy_setter,
    quotas,
    refunds,
    the_handover,
    the_order,
    user_id,
)
from tests.conftest import assert_checks_pass, say


@pytest.fixture
def rule(monkeypatch: pytest.MonkeyPatch) -> Any:
    return policy_setter(monkeypatch)


async def test_a_paid_claim_refunds_the_giver_less_the_fee_only_once_the_recipient_pays(
    any_app: App, rule: Any
) -> None:
    app = any_app
    rule(BackoutRule.REPLACEMENT, 500)
    await claim(app, paid=True)
    ok(await say(app, "jae", f"/handover accept {await offer(app)}"))
    order = await the_order(app)
    assert order.status == "paid" and order.buyer_id == await user_id(app, "jae")
    handover = await the_handover(app)
    assert (handover.status, handover.paid_minor, handover.fee_minor, handover.refund_minor) == (
        "awaiting",
        5180,
        500,
        4680,
    )
    assert await refunds(app) == []  # the giver waits for the recipient's money
    assert "S$51.80" in ok(await say(app, "jae", f"/pay {NUMBER}"))
    await assert_checks_pass(app)

    ok(await say(app, "gina", f"/markpaid {NUMBER} 51.80 jae transfer"))
    assert await refunds(app) == [(4680, 5180)]  # mina's payment, less the fee
    assert (await the_handover(app)).status == "completed"
    events = [c["event"] for c in await notices(app, "mina", "handover_notice")]
    assert events == ["accepted", "completed"]
    staff = [(c["event"], c["refund"], c["fee"]) for c in await notices(app, "gina", "handover_notice")]
    assert staff == [("accepted", "S$46.80", "S$5.00"), ("completed", "S$46.80", "S$5.00")]
    await assert_checks_pass(app)

    ok(await say(app, "gina", f"/refunded {NUMBER} BANK-778"))
    sent = await notices(app, "mina", "refund_sent")
    assert [c["amount"] for c in sent] == ["S$46.80"]
    assert await notices(app, "jae", "refund_sent") == []
    async with app.core.reader() as uow:
        statuses = (
            await uow.session.scalars(select(PaymentRequest.status).order_by(PaymentRequest.id))
        ).all()
    assert list(statuses) == ["refunded", "paid"]
    await assert_checks_pass(app)


async def test_a_recipient_who_does_not_pay_gives_the_paid_claim_back(
    any_app: App, clock: FrozenClock, rule: Any
) -> None:
    app = any_app
    rule(BackoutRule.REPLACEMENT, 500)
    await claim(app, paid=True)
    ok(await say(app, "jae", f"/handover accept {await offer(app)}"))
    assert await handovers.lapse_unpaid(app.core.uow()) == 0  # not due yet
    clock.advance(hours=49)
    lapsed = await asyncio.gather(*(handovers.lapse_unpaid(app.core.uow()) for _ in range(2)))
    assert sorted(lapsed) == [0, 1]
    order = await the_order(app)
    assert (order.status, order.buyer_id) == ("paid", await user_id(app, "mina"))
    assert await quotas(app) == {"mina": 2}
    assert await refunds(app) == []
    assert (await the_handover(app)).status == "lapsed"
    await assert_checks_pass(app)


async def test_a_second_handover_refunds_only_the_money_of_its_own_giver(app: App, rule: Any) -> None:
    rule(BackoutRule.REPLACEMENT, 500)
    await claim(app, paid=True)
    ok(await say(app, "jae", f"/handover accept {await offer(app)}"))
    ok(await say(app, "gina", f"/markpaid {NUMBER} 51.80 jae transfer"))
    ok(await say(app, "jae", f"/handover {NUMBER} @kai"))
    ok(await say(app, "kai", f"/handover accept {(await the_handover(app)).id}"))
    second = await the_handover(app)
    assert (second.paid_minor, second.fee_minor, second.refund_minor) == (5180, 500, 4680)  # jae's only
    ok(await say(app, "gina", f"/markpaid {NUMBER} 51.80 kai transfer"))
    assert await refunds(app) == [(4680, 5180), (4680, 5180)]
    ok(await say(app, "gina", f"/refunded {NUMBER} BANK-9"))
    assert [c["amount"] for c in await notices(app, "mina", "refund_sent")] == ["S$46.80"]
    assert [c["amount"] for c in await notices(app, "jae", "refund_sent")] == ["S$46.80"]
    assert await notices(app, "kai", "refund_sent") == []
    assert await quotas(app) == {"kai": 2}
    await assert_checks_pass(app)


async def test_a_lapsed_handover_the_giver_has_no_room_for_ends_the_order_with_a_full_refund(
    app: App, clock: FrozenClock, rule: Any
) -> None:
    rule(BackoutRule.REPLACEMENT, 500)
    await claim(app, paid=True, limit=2)
    ok(await say(app, "jae", f"/handover accept {await offer(app)}"))
    ok(await say(app, "mina", "/order SVT-FML ALB:B 2"))  # her limit's room, taken again
    clock.advance(hours=49)
    assert await handovers.lapse_unpaid(app.core.uow()) == 1
    order = await the_order(app)
    assert (order.status, order.buyer_id) == ("cancelled", await user_id(app, "jae"))
    assert await refunds(app) == [(5180, 5180)]  # the giver's money back whole: no fee
    assert (await the_handover(app)).status == "lapsed"
    assert [c["event"] for c in await notices(app, "mina", "handover_notice")] == ["accepted", "lapsed"]
    await assert_checks_pass(app)
