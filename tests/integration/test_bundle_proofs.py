"""A proof of payment for a bundle (all of a buyer's unpaid orders in a GO): sent with
/paid BUNDLE-REF or as a screenshot right after /myorders, reviewed like any proof, and
approved by sharing it out exactly as /markpaid on the bundle does; held for the GOM when
the orders changed since the bundle was shown; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from core.db.models import Payment
from core.services.accounts import Actor
from core.services.proofs import approve_proof
from main import App
from tests.books import assert_books, refused_or
from tests.conftest import buyer, gom, open_go, say
from tests.integration.test_approve_all import proofs_status
from tests.integration.test_bundles import assert_all_paid_or_cancelled, bundle_reference, paid_per_order
from tests.integration.test_payment_races import buyer_cancels
from tests.integration.test_payments import PNG, ok, paynow_go, send

BUYERS = 12


async def three_orders_and_their_bundle(app: App) -> str:
    await paynow_go(app)
    for line in ("ALB:A 1", "ALB:B 1", "ALB:A 2"):
        ok(await say(app, "bob", f"/order SVT-FML {line}"))
    return bundle_reference(ok(await say(app, "bob", "/myorders")).text)


async def held_payments(app: App) -> list[int]:
    async with app.core.reader() as uow:
        return list(
            (await uow.session.scalars(select(Payment.amount_minor).where(Payment.status == "held"))).all()
        )


async def test_a_bundle_proof_for_three_orders_approved_pays_each_exactly(
    any_app: App, outbox_log: list[str]
) -> None:
    app = any_app
    reference = await three_orders_and_their_bundle(app)
    received = ok(await send(app, "bob", f"/paid {reference}", PNG))
    assert "is with the GOM for review" in received.text and "S$103.60" in received.text
    await app.dispatcher.run_once()
    [notice] = [line for line in outbox_log if "sent proof of payment" in line]
    assert "S$103.60" in notice and "SVT-FML-1, SVT-FML-2, SVT-FML-3" in notice and reference in notice
    assert (await say(app, "gina", f"/proof {reference}")).image == PNG

    approved = ok(await say(app, "gina", f"/approve {reference}"))
    assert "approved" in approved.text.lower()
    assert await paid_per_order(app) == {
        "SVT-FML-1": ("paid", 2590),
        "SVT-FML-2": ("paid", 2590),
        "SVT-FML-3": ("paid", 5180),
    }
    tapped_twice = await say(app, "gina", f"/approve {reference}")
    assert "already approved" in tapped_twice.text
    assert (await paid_per_order(app))["SVT-FML-3"] == ("paid", 5180)
    books = await assert_books(app)
    assert books["paid_orders"] == 3


async def test_a_screenshot_right_after_myorders_is_the_bundle_proof(any_app: App) -> None:
    app = any_app
    reference = await three_orders_and_their_bundle(app)
    received = ok(await send(app, "bob", "", PNG))
    assert "S$103.60" in received.text and reference in received.text
    ok(await say(app, "gina", f"/reject {reference} Not in the bank yet"))
    assert await proofs_status(app) == {"SVT-FML-1": "rejected"}
    ok(await say(app, "bob", f"/paid {reference} {reference}"))  # the typed reference is a proof too
    ok(await say(app, "gina", f"/approve {reference}"))
    assert {status for status, _ in (await paid_per_order(app)).values()} == {"paid"}
    await assert_books(app)


async def test_a_bundle_proof_approved_after_an_order_changed_is_held_for_the_gom(any_app: App) -> None:
    app = any_app
    reference = await three_orders_and_their_bundle(app)
    ok(await send(app, "bob", f"/paid {reference}", PNG))
    ok(await say(app, "bob", "/cancel SVT-FML-2"))

    held = ok(await say(app, "gina", f"/approve {reference}"))
    assert "held" in held.text and "SVT-FML-2 is cancelled" in held.text
    assert await held_payments(app) == [10360]
    assert {paid for _, paid in (await paid_per_order(app)).values()} == {0}
    assert "already approved" in (await say(app, "gina", f"/approve {reference}")).text
    assert await held_payments(app) == [10360]
    await assert_books(app)


async def test_approve_all_takes_a_bundle_proof_of_its_total_and_reference_as_exact(any_app: App) -> None:
    app = any_app
    reference = await three_orders_and_their_bundle(app)
    ok(await say(app, "bob", f"/paid {reference} {reference.lower()}"))
    preview = ok(await say(app, "gina", "/approve all SVT-FML"))
    exact = preview.text.split("To approve")[0]
    assert f"SVT-FML-1 bob S$103.60 ref {reference.lower()}" in exact
    [confirm] = [b.command for row in preview.buttons for b in row if b.command]
    assert confirm is not None
    assert "Approved 1" in ok(await say(app, "gina", confirm)).text
    assert {status for status, _ in (await paid_per_order(app)).values()} == {"paid"}
    await assert_books(app)


async def gom_approves(app: App, gina: Actor, reference: str) -> str:
    """/approve called straight, so it reaches the database as fast as the cancel racing it."""
    view = await approve_proof(app.core.uow(), gina, reference)
    return "held" if "held" in view.outcome else "paid"


async def test_a_bundle_proof_approved_while_the_buyer_cancels_one_of_its_orders(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=BUYERS * 3, moq=1)
    ok(await say(app, "gina", "/paymethods SVT-FML paynow:+6591234567 manual"))
    for i in range(BUYERS):
        ok(await say(app, f"fan{i}", "/order SVT-FML ALB:A 1"))
        ok(await say(app, f"fan{i}", "/order SVT-FML ALB:B 1"))
        reference = bundle_reference(ok(await say(app, f"fan{i}", "/myorders")).text)
        ok(await say(app, f"fan{i}", f"/paid {reference} {reference}"))
    gina = await gom(app)
    fans = {f"fan{i}": await buyer(app, f"fan{i}") for i in range(BUYERS)}

    outcomes = await asyncio.gather(
        *(
            asyncio.gather(
                gom_approves(app, gina, f"SVT-FML-B{i + 1}"),
                buyer_cancels(app, fans[name], f"SVT-FML-{2 * i + 2}"),
            )
            for i, name in enumerate(fans)
        )
    )
    await assert_all_paid_or_cancelled(app, outcomes, {("paid", "refused"), ("held", "cancelled")})
    held = await held_payments(app)
    assert held == [5180] * sum(1 for o in outcomes if o[0] == "held")
    await assert_books(app)


async def test_a_double_tapped_approve_of_a_bundle_proof_counts_once(any_app: App) -> None:
    app = any_app
    reference = await three_orders_and_their_bundle(app)
    ok(await send(app, "bob", f"/paid {reference}", PNG))
    gina = await gom(app)
    taps = await asyncio.gather(
        *(
            refused_or(approve_proof(app.core.uow(), gina, reference), "already approved", "approved")
            for _ in "xy"
        )
    )
    assert sorted(taps) == ["approved", "refused"]
    assert await paid_per_order(app) == {
        "SVT-FML-1": ("paid", 2590),
        "SVT-FML-2": ("paid", 2590),
        "SVT-FML-3": ("paid", 5180),
    }
    books = await assert_books(app)
    assert books["payments"] == 3
