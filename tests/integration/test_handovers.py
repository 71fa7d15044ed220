"""A buyer hands a claim to another buyer (/handover), or backs out of it (/backout).

The claim moves in one transaction, the recipient's per-buyer limit taken by one
conditional statement; a paid giver is refunded, less the policy's fee, only once the
recipient has paid; every answer, cancel, backout and expiry acts once when two race, on
SQLite and PostgreSQL; and ``gomflow check`` holds at every step.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.clock import FrozenClock
from core.db.models import AuditEntry
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
    refused,
    the_handover,
    the_order,
    user_id,
)
from tests.conftest import START, assert_checks_pass, say


@pytest.fixture
def rule(monkeypatch: pytest.MonkeyPatch) -> Any:
    return policy_setter(monkeypatch)


async def test_an_unpaid_claim_moves_whole_with_a_fresh_payment_window(app: App, clock: FrozenClock) -> None:
    await claim(app)
    handover_id = await offer(app)
    [offered] = await notices(app, "jae", "handover_notice")
    assert (offered["event"], offered["handover_id"], offered["giver"]) == ("offered", handover_id, "mina")
    assert (await the_order(app)).buyer_id == await user_id(app, "mina")  # nothing moves before the answer
    clock.advance(hours=5)
    reply = ok(await say(app, "jae", f"/handover accept {handover_id}"))
    assert "SVT-FML-1 (SVT-FML, 2 unit(s)) is yours now" in reply
    order = await the_order(app)
    assert order.buyer_id == await user_id(app, "jae")
    assert order.status == "placed" and order.total_minor == 5180  # the locked prices
    assert order.payment_due_at == START + timedelta(hours=5 + 48)
    assert await quotas(app) == {"jae": 2}
    assert (await the_handover(app)).status == "done"
    pay = ok(await say(app, "jae", f"/pay {NUMBER}"))
    assert "S$51.80" in pay
    refused(await say(app, "mina", f"/cancel {NUMBER}"))  # no longer hers
    told = [c["event"] for c in await notices(app, "mina", "handover_notice")]
    assert told == ["accepted"]
    history = ok(await say(app, "gina", f"/handover {NUMBER}"))
    assert "mina → jae, done" in history
    async with app.core.reader() as uow:
        actions = set(
            (await uow.session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "order"))).all()
        )
    assert {"handover_offered", "handed_over"} <= actions
    await assert_checks_pass(app)


async def test_the_recipients_limit_refuses_an_offer_and_an_acceptance_with_numbers(app: App) -> None:
    await claim(app, limit=2)
    ok(await say(app, "jae", "/order SVT-FML ALB:B 1"))
    text = refused(await say(app, "mina", f"/handover {NUMBER} @jae"))
    assert "SVT-FML allows 2 per buyer; jae holds 1, so can take 1 more, and SVT-FML-1 is 2." in text
    handover_id = await offer(app, to="kai")
    ok(await say(app, "kai", "/order SVT-FML ALB:B 1"))
    text = refused(await say(app, "kai", f"/handover accept {handover_id}"))
    assert "allows 2 per buyer; you hold 1, so you can add 1 more" in text
    assert (await the_order(app)).buyer_id == await user_id(app, "mina")
    assert await quotas(app) == {"mina": 2, "jae": 1, "kai": 1}
    assert (await the_handover(app)).status == "offered"
    await assert_checks_pass(app)


async def test_bad_offers_and_strangers_are_refused_and_write_nothing(app: App) -> None:
    await claim(app)
    assert "not your order" in refused(await say(app, "jae", f"/handover {NUMBER} @kai"))
    assert "knows nobody as @nobody" in refused(await say(app, "mina", f"/handover {NUMBER} @nobody"))
    assert "@handle" in refused(await say(app, "mina", f"/handover {NUMBER} @"))
    assert "already hold" in refused(await say(app, "mina", f"/handover {NUMBER} @mina"))
    assert "no order" in refused(await say(app, "mina", "/handover SVT-FML-99 @jae"))
    assert "handover's number" in refused(await say(app, "jae", "/handover accept 🎵"))
    assert "no handover 4242" in refused(await say(app, "jae", "/handover accept 4242"))
    handover_id = await offer(app)
    assert "already being handed over" in refused(await say(app, "mina", f"/handover {NUMBER} @kai"))
    assert "not made to you" in refused(await say(app, "kai", f"/handover accept {handover_id}"))
    assert "not made to you" in refused(await say(app, "mina", f"/handover accept {handover_id}"))
    assert "Only the buyer who offered" in refused(await say(app, "jae", f"/handover cancel {handover_id}"))
    assert "run by another GOM" in refused(await say(app, "kai", f"/handover {NUMBER}"))
    assert (await the_handover(app)).status == "offered"
    assert (await the_order(app)).buyer_id == await user_id(app, "mina")
    ok(await say(app, "jae", f"/handover decline {handover_id}"))
    assert "already declined" in refused(await say(app, "jae", f"/handover accept {handover_id}"))
    assert "to kai" in ok(await say(app, "mina", f"/handover {NUMBER} KAI"))  # the @ may be left out
    await assert_checks_pass(app)


async def test_a_double_tapped_accept_moves_the_claim_once(any_app: App) -> None:
    app = any_app
    await claim(app)
    handover_id = await offer(app)
    replies = await asyncio.gather(*(say(app, "jae", f"/handover accept {handover_id}") for _ in range(2)))
    assert sorted(r.text.startswith("⚠️") for r in replies) == [False, True]
    assert await quotas(app) == {"jae": 2}
    assert [c["event"] for c in await notices(app, "mina", "handover_notice")] == ["accepted"]
    await assert_checks_pass(app)


@pytest.mark.parametrize("cancel", ["/cancel SVT-FML-1", "/handover cancel {id}"], ids=["order", "offer"])
async def test_an_accept_racing_the_givers_cancel_lands_once(any_app: App, cancel: str) -> None:
    app = any_app
    await claim(app)
    handover_id = await offer(app)
    accepted, cancelled = await asyncio.gather(
        say(app, "jae", f"/handover accept {handover_id}"),
        say(app, "mina", cancel.format(id=handover_id)),
    )
    assert accepted.text.startswith("⚠️") != cancelled.text.startswith("⚠️"), (accepted.text, cancelled.text)
    order = await the_order(app)
    if accepted.text.startswith("⚠️"):
        assert order.buyer_id == await user_id(app, "mina")
        assert order.status == ("cancelled" if cancel.startswith("/cancel") else "placed")
        assert await quotas(app) == ({} if cancel.startswith("/cancel") else {"mina": 2})
        await handovers.expire_offers(app.core.uow())  # an offer of an ended order goes with it
        assert (await the_handover(app)).status == "cancelled"
    else:
        assert (order.buyer_id, order.status) == (await user_id(app, "jae"), "placed")
        assert await quotas(app) == {"jae": 2}
        assert (await the_handover(app)).status == "done"
    await assert_checks_pass(app)


async def test_an_offer_of_an_order_that_ended_cannot_be_accepted_and_is_withdrawn(app: App) -> None:
    await claim(app)
    handover_id = await offer(app)
    ok(await say(app, "mina", f"/cancel {NUMBER}"))
    assert "only a live order" in refused(await say(app, "jae", f"/handover accept {handover_id}"))
    assert await handovers.expire_offers(app.core.uow()) == 1
    assert (await the_handover(app)).status == "cancelled"
    assert [c["event"] for c in await notices(app, "jae", "handover_notice")] == ["offered", "cancelled"]
    assert await quotas(app) == {}
    await assert_checks_pass(app)


async def test_an_unanswered_offer_expires_once_however_many_ticks_race(
    any_app: App, clock: FrozenClock
) -> None:
    app = any_app
    await claim(app)
    handover_id = await offer(app)
    assert await handovers.expire_offers(app.core.uow()) == 0
    clock.advance(hours=24, seconds=1)
    assert "expired" in refused(await say(app, "jae", f"/handover accept {handover_id}"))
    ticks = await asyncio.gather(*(handovers.expire_offers(app.core.uow()) for _ in range(2)))
    assert sorted(ticks) == [0, 1]
    assert (await the_handover(app)).status == "expired"
    assert [c["event"] for c in await notices(app, "mina", "handover_notice")] == ["expired"]
    assert [c["event"] for c in await notices(app, "jae", "handover_notice")] == ["offered", "expired"]
    assert (await the_order(app)).buyer_id == await user_id(app, "mina")
    await assert_checks_pass(app)
