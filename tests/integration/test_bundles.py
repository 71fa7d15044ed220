"""One payment for all of a buyer's orders in a GO: /myorders offers one total and one
reference, and money recorded against it is shared out oldest order first, on SQLite and
PostgreSQL; a bundle the orders no longer match is refused rather than mis-allocated."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence

import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from core.db.models import Order, Payment, PaymentRequest
from core.payments import emvco
from core.services.accounts import Actor
from core.services.marked_payments import mark_paid
from main import App
from tests.books import assert_books, refused_or
from tests.conftest import buyer, gom, open_go, say
from tests.integration.test_payment_races import buyer_cancels
from tests.integration.test_payments import ok, paynow_go

BUYERS = 12


async def paid_per_order(app: App) -> dict[str, tuple[str, int]]:
    """Each order's status and the money credited to it (minor units)."""
    async with app.core.reader() as uow:
        rows = (
            await uow.session.execute(
                select(Order.number, Order.status, func.coalesce(func.sum(Payment.amount_minor), 0))
                .outerjoin(PaymentRequest, PaymentRequest.order_id == Order.id)
                .outerjoin(
                    Payment, (Payment.request_id == PaymentRequest.id) & (Payment.status == "succeeded")
                )
                .group_by(Order.id, Order.number, Order.status)
                .order_by(Order.id)
            )
        ).all()
    return {number: (status, int(paid)) for number, status, paid in rows}


def bundle_reference(text: str) -> str:
    """The reference /myorders gives for paying every order at once."""
    [line] = [line for line in text.splitlines() if "Reference for all of them:" in line]
    return line.split(":", 1)[1].strip()


async def test_one_payment_covers_three_orders_part_paid_then_completed(any_app: App) -> None:
    app = any_app
    await paynow_go(app)
    for line in ("ALB:A 1", "ALB:B 1", "ALB:A 2"):
        ok(await say(app, "bob", f"/order SVT-FML {line}"))

    offered = ok(await say(app, "bob", "/myorders"))
    assert "SVT-FML: S$103.60 for 3 orders" in offered.text
    reference = bundle_reference(offered.text)
    assert reference == "SVT-FML-B1"
    assert bundle_reference(ok(await say(app, "bob", "/myorders")).text) == reference  # asked again: same one
    assert offered.image is not None  # one QR for all three, with their total and the one reference
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(offered.image)).convert("L"))
    described = emvco.describe(decoded.text)
    assert (described.amount, described.reference) == ("103.60", reference)

    part = ok(await say(app, "gina", f"/markpaid {reference} 40 cash"))
    assert "S$40.00" in part.text and "S$63.60 still to pay" in part.text
    assert await paid_per_order(app) == {
        "SVT-FML-1": ("paid", 2590),
        "SVT-FML-2": ("placed", 1410),
        "SVT-FML-3": ("placed", 0),
    }
    await assert_books(app)
    tapped_twice = ok(await say(app, "gina", f"/markpaid {reference} 40 cash"))
    assert "Already recorded" in tapped_twice.text and (await paid_per_order(app))["SVT-FML-2"][1] == 1410
    again = ok(await say(app, "bob", "/myorders"))
    assert bundle_reference(again.text) == reference and "S$63.60 for 2 orders" in again.text

    done = ok(await say(app, "gina", f"/markpaid {reference} 63.60 transfer"))
    assert "S$63.60" in done.text and "still to pay" not in done.text
    assert await paid_per_order(app) == {
        "SVT-FML-1": ("paid", 2590),
        "SVT-FML-2": ("paid", 2590),
        "SVT-FML-3": ("paid", 5180),
    }
    books = await assert_books(app)
    assert books["paid_orders"] == 3
    assert "Reference for all of them" not in ok(await say(app, "bob", "/myorders")).text


async def test_a_bundle_the_orders_no_longer_match_is_refused_and_nothing_written(any_app: App) -> None:
    app = any_app
    await paynow_go(app)
    ok(await say(app, "bob", "/order SVT-FML ALB:A 1"))
    ok(await say(app, "bob", "/order SVT-FML ALB:B 1"))
    ok(await say(app, "bob", "/order SVT-FML ALB:B 1"))
    reference = bundle_reference(ok(await say(app, "bob", "/myorders")).text)
    ok(await say(app, "bob", "/cancel SVT-FML-2"))

    stale = await say(app, "gina", f"/markpaid {reference} 51.80")
    assert stale.text.startswith("⚠️") and "SVT-FML-2 is cancelled" in stale.text
    too_much = await say(app, "gina", f"/markpaid {reference} 77.71")
    assert too_much.text.startswith("⚠️")
    by_buyer = await say(app, "bob", f"/markpaid {reference} 1")
    assert by_buyer.text.startswith("⚠️")
    assert {paid for _, paid in (await paid_per_order(app)).values()} == {0}

    fresh = bundle_reference(ok(await say(app, "bob", "/myorders")).text)
    assert fresh != reference
    ok(await say(app, "gina", f"/markpaid {fresh} 51.80"))
    assert await paid_per_order(app) == {
        "SVT-FML-1": ("paid", 2590),
        "SVT-FML-2": ("cancelled", 0),
        "SVT-FML-3": ("paid", 2590),
    }
    await assert_books(app)


async def gom_records(app: App, gina: Actor, reference: str, amount: str) -> str:
    """/markpaid called straight, so it reaches the database as fast as the cancel racing it."""
    return await refused_or(mark_paid(app.core.uow(), gina, reference, amount, ""), "cancelled", "recorded")


async def test_a_bundle_paid_while_the_buyer_cancels_one_of_its_orders(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=BUYERS * 3, moq=1)
    ok(await say(app, "gina", "/paymethods SVT-FML paynow:+6591234567 manual"))
    references = {}
    for i in range(BUYERS):
        ok(await say(app, f"fan{i}", "/order SVT-FML ALB:A 1"))
        ok(await say(app, f"fan{i}", "/order SVT-FML ALB:B 1"))
        references[f"fan{i}"] = bundle_reference(ok(await say(app, f"fan{i}", "/myorders")).text)
    gina = await gom(app)
    fans = {f"fan{i}": await buyer(app, f"fan{i}") for i in range(BUYERS)}

    outcomes = await asyncio.gather(
        *(
            asyncio.gather(
                gom_records(app, gina, references[name], "51.80"),
                buyer_cancels(app, fans[name], f"SVT-FML-{2 * i + 2}"),
            )
            for i, name in enumerate(fans)
        )
    )
    await assert_all_paid_or_cancelled(app, outcomes, {("recorded", "refused"), ("refused", "cancelled")})
    await assert_books(app)


async def assert_all_paid_or_cancelled(
    app: App, outcomes: Sequence[Sequence[str]], allowed: set[tuple[str, ...]]
) -> None:
    """Each buyer's two orders, raced by a bundle payment (first in ``allowed``) and the
    cancel of the second: both paid in full, or none paid and the second cancelled."""
    books = await paid_per_order(app)
    for i, outcome in enumerate(outcomes):
        first, second = books[f"SVT-FML-{2 * i + 1}"], books[f"SVT-FML-{2 * i + 2}"]
        assert tuple(outcome) in allowed
        if outcome[1] == "refused":
            assert (first, second) == (("paid", 2590), ("paid", 2590))
        else:
            assert (first, second) == (("placed", 0), ("cancelled", 0))
