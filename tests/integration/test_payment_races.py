"""Two commands on one payment at the same instant, many times over, on both databases:
only the winner pays, refunds or rejects; the loser is told why; the books balance."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from core.db.models import Order, Payment, PaymentProof, PaymentRequest, Refund, User
from core.errors import OrderLocked
from core.payments.gateway import FakeGateway
from core.services import payments
from core.services.accounts import Actor
from core.services.ordering import cancel_order
from main import App
from tests.books import assert_books
from tests.conftest import buyer, open_go, say
from tests.integration.test_payments import ok

PAIRS = 60
PRICE = 2590
WENT_WRONG = "something went wrong"


async def many_orders(app: App, methods: str = "paynow:+6591234567 manual") -> dict[str, str]:
    """PAIRS buyers with one album each on one big GO; returns each order's buyer by number."""
    await open_go(app, cap=PAIRS * 3, moq=1)
    ok(await say(app, "gina", f"/paymethods SVT-FML {methods}"))
    replies = await asyncio.gather(*(say(app, f"fan{i}", "/order SVT-FML ALB:A 1") for i in range(PAIRS)))
    for reply in replies:
        ok(reply)
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, User.display_name)
                .join(User, User.id == Order.buyer_id)
                .order_by(Order.id)
            )
        ).all()
    assert len(rows) == PAIRS
    return {number: who for number, who in rows}


async def links(app: App, fake: FakeGateway, numbers: dict[str, str]) -> None:
    """A payment link for every order (fake_1 … fake_PAIRS, one each)."""
    for reply in await asyncio.gather(*(say(app, who, f"/pay {n} stripe") for n, who in numbers.items())):
        ok(reply)
    assert {link.provider_ref for link in fake.created.values()} == {f"fake_{i}" for i in range(1, PAIRS + 1)}


async def buyer_cancels(app: App, who: Actor, number: str) -> str:
    """The buyer's /cancel, called straight so that it reaches the database as fast as the
    payment racing it does; a refusal (the order was paid first) is an answer too."""
    try:
        await cancel_order(app.core.uow(), who, number)
    except OrderLocked as refusal:
        assert "is paid; ask the GOM for a refund" in refusal.message
        return "refused"
    return "cancelled"


async def with_proofs(app: App, numbers: dict[str, str]) -> None:
    replies = await asyncio.gather(*(say(app, numbers[n], f"/paid {n} TXN-{n}") for n in numbers))
    for reply in replies:
        ok(reply)


@pytest.mark.parametrize("second", ["gina", "hana"], ids=["double-tap", "gom-and-helper"])
async def test_an_approval_tapped_twice_pays_once(any_app: App, second: str) -> None:
    app = any_app
    numbers = await many_orders(app)
    await buyer(app, "hana")
    ok(await say(app, "gina", "/helper add hana"))
    await with_proofs(app, numbers)

    taps = [(who, n) for n in numbers for who in ("gina", second)]
    replies = await asyncio.gather(*(say(app, who, f"/approve {n}") for who, n in taps))

    texts = [r.text for r in replies]
    assert not any(WENT_WRONG in t for t in texts)
    assert sum(t.startswith("✅ Approved") for t in texts) == PAIRS
    losers = [t for t in texts if not t.startswith("✅")]
    assert len(losers) == PAIRS
    assert all("That proof was already approved by" in t for t in losers), losers[:3]
    books = await assert_books(app)
    assert books["payments"] == books["paid_orders"] == PAIRS
    async with app.core.reader() as uow:
        total = sum((await uow.session.scalars(select(Payment.amount_minor))).all())
    assert total == PAIRS * PRICE


async def test_approve_and_reject_of_one_proof_at_once_settle_on_one(any_app: App) -> None:
    app = any_app
    numbers = await many_orders(app)
    await with_proofs(app, numbers)

    commands = [c for n in numbers for c in (f"/approve {n}", f"/reject {n} not in the bank")]
    # every other pair is sent reject first, so that both can win
    order = [i ^ (i // 2 % 2) for i in range(len(commands))]
    sent = await asyncio.gather(*(say(app, "gina", commands[i]) for i in order))
    replies = [sent[order.index(i)] for i in range(len(commands))]

    texts = [r.text for r in replies]
    assert not any(WENT_WRONG in t for t in texts)
    for approve, reject in zip(texts[::2], texts[1::2], strict=True):
        won_approve = approve.startswith("✅")
        won_reject = reject.startswith("↩️")
        assert won_approve != won_reject, (approve, reject)
        loser = reject if won_approve else approve
        assert "That proof was already" in loser
    async with app.core.reader() as uow:
        statuses = (await uow.session.scalars(select(PaymentProof.status))).all()
        requests = (await uow.session.scalars(select(PaymentRequest.status))).all()
    approved = statuses.count("approved")
    assert approved + statuses.count("rejected") == PAIRS
    assert requests.count("paid") == approved and requests.count("open") == PAIRS - approved
    books = await assert_books(app)
    assert books["payments"] == books["paid_orders"] == approved


async def test_a_gateway_payment_and_the_buyers_cancel_at_once(any_app: App) -> None:
    app = any_app
    fake = FakeGateway(name="stripe")
    app.core.payment_gateways["stripe"] = fake
    numbers = await many_orders(app, "stripe")
    await links(app, fake, numbers)

    async def webhook(i: int) -> None:
        event = payments.WebhookEvent(
            "stripe", f"evt_{i}", "paid", f"fake_{i}", None, PRICE, "SGD", f"pi_{i}"
        )
        [outcome] = await payments.record_webhook(app.core.uow, [event])
        assert outcome.result in ("paid", "held")

    buyers = {n: await buyer(app, who) for n, who in numbers.items()}
    cancels = [buyer_cancels(app, buyers[n], n) for n in numbers]
    webhooks = [webhook(i + 1) for i in range(PAIRS)]
    # half the pairs start with the cancel, half with the payment, so that both can win
    started = await asyncio.gather(*cancels[::2], *webhooks, *cancels[1::2])
    answers = [a for a in started if isinstance(a, str)]
    assert len(answers) == PAIRS

    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.status, Payment.status, Refund.status)
                .join(PaymentRequest, PaymentRequest.order_id == Order.id)
                .join(Payment, Payment.request_id == PaymentRequest.id)
                .outerjoin(Refund, Refund.payment_id == Payment.id)
            )
        ).all()
    assert len(rows) == PAIRS  # one attempt per order, never a second payment
    assert answers.count("cancelled") == sum(1 for row in rows if row[0] == "cancelled")
    for order_status, payment_status, refund_status in rows:
        assert (order_status, payment_status, refund_status) in {
            ("paid", "succeeded", None),  # paid first: the cancel was refused
            ("cancelled", "held", None),  # cancelled first: the late payment is held for the GOM
            ("cancelled", "succeeded", "pending"),  # paid, then cancelled: the refund is queued
        }, (order_status, payment_status, refund_status)
    await assert_books(app)


async def test_a_refund_tapped_twice_refunds_once(any_app: App) -> None:
    app = any_app
    fake = FakeGateway(name="stripe")
    app.core.payment_gateways["stripe"] = fake
    numbers = await many_orders(app, "stripe")
    await links(app, fake, numbers)
    events = [
        payments.WebhookEvent("stripe", f"evt_{i}", "paid", f"fake_{i}", None, PRICE, "SGD", f"pi_{i}")
        for i in range(1, PAIRS + 1)
    ]
    outcomes = await asyncio.gather(*(payments.record_webhook(app.core.uow, [event]) for event in events))
    assert [o.result for [o] in outcomes] == ["paid"] * PAIRS

    replies = await asyncio.gather(
        *(say(app, "gina", f"/refund {n} confirm") for n in numbers for _ in range(2))
    )

    assert not any(WENT_WRONG in r.text for r in replies)
    async with app.core.reader() as uow:
        refunds = (await uow.session.scalars(select(Refund))).all()
        orders = (await uow.session.scalars(select(Order.status))).all()
    assert len(refunds) == PAIRS and all(r.status == "succeeded" for r in refunds)
    assert set(orders) == {"refunded"}
    assert len({r.idempotency_key for r in fake.refunds}) == PAIRS  # a repeat reuses its key
    assert sum(r.amount_minor for r in refunds) == PAIRS * PRICE
    await assert_books(app)


async def test_a_proof_sent_while_the_order_changes_is_for_the_amount_it_ends_up_owing(any_app: App) -> None:
    app = any_app
    numbers = await many_orders(app)
    work = []
    for n in numbers:
        who = numbers[n]
        work += [say(app, who, f"/paid {n} TXN-{n}"), say(app, who, f"/change {n} ALB:A 2")]
    replies = await asyncio.gather(*work)

    assert not any(WENT_WRONG in r.text for r in replies)
    for proof, change in zip(replies[::2], replies[1::2], strict=True):
        ok(proof)
        assert change.text.startswith("✏️ Order changed") or "waiting for review" in change.text, change.text
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(
                    PaymentProof.amount_minor,
                    PaymentRequest.amount_minor,
                    PaymentRequest.status,
                    Order.total_minor,
                )
                .join(PaymentRequest, PaymentRequest.id == PaymentProof.request_id)
                .join(Order, Order.id == PaymentRequest.order_id)
            )
        ).all()
    assert len(rows) == PAIRS
    for proof_amount, request_amount, request_status, total in rows:
        assert proof_amount == request_amount == total and request_status == "review"
    await assert_books(app)


async def test_pay_tapped_twice_opens_one_request_per_order(any_app: App) -> None:
    """Both taps would open the order's first items request: the order's lock makes one wait."""
    numbers = await many_orders(any_app)
    replies = await asyncio.gather(
        *(say(any_app, who, f"/pay {n}") for n, who in numbers.items() for _ in (1, 2))
    )
    for reply in replies:
        ok(reply)
    async with any_app.core.reader() as uow:
        requests = (await uow.session.scalars(select(PaymentRequest.order_id))).all()
    assert sorted(requests) == sorted(set(requests)) and len(requests) == PAIRS
    await assert_books(any_app)
