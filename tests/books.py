"""The books must balance after any sequence or race of payment commands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable

from sqlalchemy import select

from core.db.models import Order, Payment, PaymentProof, PaymentRequest, Refund
from core.errors import GomflowError
from core.payments.status import SECURING_KINDS
from main import App
from tests.conftest import assert_checks_pass

KEPT = ("succeeded", "refunded")  # money that arrived and was credited


async def assert_books(app: App) -> dict[str, int]:
    """Check every invariant between orders, requests, proofs, payments and refunds;
    returns a few counts for the caller to check against what it expected."""
    async with app.core.reader() as uow:
        s = uow.session
        orders = {o.id: o for o in (await s.scalars(select(Order))).all()}
        requests = {r.id: r for r in (await s.scalars(select(PaymentRequest))).all()}
        payments = (await s.scalars(select(Payment))).all()
        proofs = (await s.scalars(select(PaymentProof))).all()
        refunds = (await s.scalars(select(Refund))).all()

    credited: Counter[int] = Counter()
    for p in payments:
        if p.status in KEPT:
            credited[p.request_id] += p.amount_minor - p.surcharge_minor
    for r in requests.values():
        if r.status == "paid":
            assert credited[r.id] >= r.amount_minor, (r.reference, credited[r.id], r.amount_minor)
        if r.status in ("open", "review"):
            assert credited[r.id] < r.amount_minor, (r.reference, credited[r.id], r.amount_minor)
    for o in orders.values():
        # a paid items request, deposit or instalment secures the claim
        items = [r for r in requests.values() if r.order_id == o.id and r.kind in SECURING_KINDS]
        if o.status == "paid":
            assert any(r.status == "paid" for r in items), o.number

    # an approved proof is exactly one payment of the proof's amount (a bundle's proof: one
    # per order it was shared over, adding up to it, or one held); any other proof none
    by_key = Counter(p.idempotency_key for p in payments)
    assert all(n == 1 for n in by_key.values())
    for proof in proofs:
        key = f"gf-proof-{proof.id}"
        paid = [p for p in payments if p.idempotency_key == key or p.idempotency_key.startswith(f"{key}-")]
        if proof.status == "approved":
            assert sum(p.amount_minor for p in paid) == proof.amount_minor, (proof.id, paid)
            assert len(paid) == 1 or proof.bundle_id is not None
        else:
            assert not paid, (proof.id, proof.status)

    # one refund per payment at most, never more than was paid; money on an ended order
    # is refunded, queued for refund, or held for the GOM
    refunded = Counter(r.payment_id for r in refunds)
    assert all(n == 1 for n in refunded.values())
    by_payment = {p.id: p for p in payments}
    for refund in refunds:
        assert refund.amount_minor <= by_payment[refund.payment_id].amount_minor
    for p in payments:
        order = orders[requests[p.request_id].order_id]
        if order.status in ("cancelled", "expired", "refunded") and p.status == "succeeded":
            assert refunded[p.id] == 1, (order.number, p.id)
        if p.status == "refunded":
            assert refunded[p.id] == 1
    await assert_checks_pass(app)
    return {
        "payments": sum(1 for p in payments if p.status in KEPT),
        "held": sum(1 for p in payments if p.status == "held"),
        "refunds": len(refunds),
        "paid_orders": sum(1 for o in orders.values() if o.status == "paid"),
    }


async def refused_or(call: Awaitable[object], refusal_says: str, done: str) -> str:
    """``done`` once the call went through, "refused" when it was refused with a message
    saying ``refusal_says`` (any other refusal fails the test)."""
    try:
        await call
    except GomflowError as refusal:
        assert refusal_says in refusal.message, refusal.message
        return "refused"
    return done
