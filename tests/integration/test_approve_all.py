"""/approve all CODE: the proofs of a GO whose amount and reference match exactly, listed
first, then approved on confirmation; the others stay waiting, on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from core.db.models import Order, Payment, PaymentProof, PaymentRequest
from main import App
from tests.books import assert_books
from tests.conftest import open_go, say
from tests.integration.test_ledger_commands import refused
from tests.integration.test_payment_races import PAIRS, PRICE, WENT_WRONG, many_orders
from tests.integration.test_payments import ok, order_status, paynow_go


async def proofs_status(app: App) -> dict[str, str]:
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, PaymentProof.status)
                .join(PaymentRequest, PaymentRequest.id == PaymentProof.request_id)
                .join(Order, Order.id == PaymentRequest.order_id)
            )
        ).all()
    return {number: status for number, status in rows}


async def test_approve_all_shows_the_list_then_approves_only_exact_matches(any_app: App) -> None:
    app = any_app
    await paynow_go(app, cap=20)
    for who in ("bob", "amy", "cat", "dan"):
        ok(await say(app, who, "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/paid SVT-FML-1 svt-fml-1-i1"))  # exact (case aside)
    ok(await say(app, "amy", "/paid SVT-FML-2 TXN-998"))  # a reference that is not ours
    ok(await say(app, "cat", "/paid SVT-FML-3 SVT-FML-3-I1 amount=20"))  # short
    ok(await say(app, "dan", "/paid SVT-FML-4 SVT-FML-4-I1"))  # exact

    preview = ok(await say(app, "gina", "/approve all SVT-FML"))
    assert "2 proofs match exactly" in preview.text
    assert "SVT-FML-1" in preview.text and "SVT-FML-4" in preview.text
    assert "TXN-998" in preview.text and "S$20.00" in preview.text  # listed as not matching
    [confirm] = [b.command for row in preview.buttons for b in row if b.command]
    assert confirm is not None and confirm.startswith("/approve all SVT-FML ")
    assert await proofs_status(app) == dict.fromkeys(
        ["SVT-FML-1", "SVT-FML-2", "SVT-FML-3", "SVT-FML-4"], "pending"
    )

    # a proof sent after the list was shown is not approved unseen, even if it matches
    ok(await say(app, "eve", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "eve", "/paid SVT-FML-5 SVT-FML-5-I1"))

    done = ok(await say(app, "gina", confirm))
    assert "Approved 2" in done.text
    assert "SVT-FML-2" in done.text and "SVT-FML-3" in done.text  # still waiting, listed
    assert await proofs_status(app) == {
        "SVT-FML-1": "approved",
        "SVT-FML-2": "pending",
        "SVT-FML-3": "pending",
        "SVT-FML-4": "approved",
        "SVT-FML-5": "pending",
    }
    assert [await order_status(app, f"SVT-FML-{i}") for i in range(1, 6)] == [
        "paid",
        "placed",
        "placed",
        "paid",
        "placed",
    ]
    # tapped again: nothing more is approved
    again = ok(await say(app, "gina", confirm))
    assert "Approved 0" in again.text
    books = await assert_books(app)
    assert books["paid_orders"] == 2


async def test_approve_all_refusals(app: App) -> None:
    await paynow_go(app)
    cases = {
        ("gina", "/approve all"): "Usage: /approve all CODE",
        ("gina", "/approve all NOPE"): "There is no group order NOPE",
        ("gina", "/approve all SVT-FML confirm=abc"): "confirm= must be a whole number",
    }
    for (who, text), expected in cases.items():
        reply = await say(app, who, text)
        assert refused(reply.text) and expected in reply.text, (text, reply.text)
    await open_go(app, "OTHER-GO", owner="olga")
    other = await say(app, "olga", "/approve all SVT-FML")
    assert refused(other.text) and "run by another GOM" in other.text
    nothing = ok(await say(app, "gina", "/approve all SVT-FML"))
    assert "No proofs wait" in nothing.text and not nothing.buttons


async def test_approve_all_and_a_single_approval_at_once_pay_once(any_app: App) -> None:
    app = any_app
    numbers = await many_orders(app)
    replies = await asyncio.gather(*(say(app, who, f"/paid {n} {n}-I1") for n, who in numbers.items()))
    for reply in replies:
        ok(reply)
    preview = ok(await say(app, "gina", "/approve all SVT-FML"))
    assert f"{PAIRS} proofs match exactly" in preview.text
    [confirm] = [b.command for row in preview.buttons for b in row if b.command]
    assert confirm is not None
    singles = [say(app, "gina", f"/approve {n}") for n in numbers]
    results = await asyncio.gather(*singles[::2], say(app, "gina", confirm), *singles[1::2])
    assert not any(WENT_WRONG in r.text for r in results)
    assert set((await proofs_status(app)).values()) == {"approved"}
    books = await assert_books(app)
    assert books["payments"] == books["paid_orders"] == PAIRS
    async with app.core.reader() as uow:
        total = sum((await uow.session.scalars(select(Payment.amount_minor))).all())
    assert total == PAIRS * PRICE
