"""One payment for all of a buyer's unpaid orders in a GO (a bundle): one total, one reference.

A bundle records what it covered and what was owed on each request when it was offered.
Money paid against it is shared out oldest order first, one payment row per request, each
credited exactly by ``ledger.credit``, in one transaction under the orders' locks (taken
in order id order, so two bundles or a bundle and a cancel never deadlock). Once the
orders no longer owe what was shown (one cancelled or changed, or paid on its own) the
bundle is refused and the caller writes nothing: money is never shared out against
amounts the buyer did not see. These functions run inside the caller's unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from core.db.models import BundleRequest, GroupOrder, Order, Payment, PaymentBundle, PaymentRequest
from core.errors import InvalidInput, OrderLocked
from core.lookups import lock_order
from core.money import format_money
from core.payments import ledger
from core.payments.status import PAYABLE, AttemptStatus, RequestStatus
from core.status import OrderStatus
from core.uow import UnitOfWork

BUNDLE_MARK = "-B"  # a bundle's reference is the GO's code, this, and the bundle's id


@dataclass(frozen=True)
class Covered:
    """One request a bundle covers, with its order, both locked, and what it still owes."""

    order: Order
    request: PaymentRequest
    owed_minor: int


@dataclass(frozen=True)
class BundleOffer:
    """What /myorders shows for paying every unpaid order of one GO at once."""

    go_code: str
    reference: str
    amount: str  # still to pay on the bundle
    amount_minor: int
    orders: tuple[str, ...]  # the numbers of the orders that still owe something
    qr_payload: str | None = None  # the GO's QR with the total and the reference, if it has one
    takes_proof: bool = False  # the GO takes transfers: a screenshot sent next is proof for it


async def offer(uow: UnitOfWork, go: GroupOrder, buyer_id: int) -> BundleOffer | None:
    """The buyer's bundle for a GO where two or more orders are unpaid: the last one
    offered while it still matches what they owe, else a new one. None for fewer orders."""
    ids = (
        await uow.session.scalars(
            select(Order.id)
            .where(Order.go_id == go.id, Order.buyer_id == buyer_id, Order.status == OrderStatus.PLACED)
            .order_by(Order.id)
        )
    ).all()
    owing: list[Covered] = []
    for order_id in ids:
        order = await lock_order(uow, order_id)
        request = await ledger.items_request(uow, order)
        if request is not None and request.status in PAYABLE:
            owed = await ledger.outstanding(uow, request)
            if owed:
                owing.append(Covered(order, request, owed))
    if len(owing) < 2:
        return None
    last = await uow.session.scalar(
        select(PaymentBundle)
        .where(PaymentBundle.go_id == go.id, PaymentBundle.buyer_id == buyer_id)
        .order_by(PaymentBundle.id.desc())
        .limit(1)
    )
    if last is not None:
        covered, problem = await covered_by(uow, last)
        still = [c for c in covered if c.owed_minor]
        if not problem and [c.request.id for c in still] == [c.request.id for c in owing]:
            return _offer_view(go, last, still)
    bundle = PaymentBundle(
        go_id=go.id,
        buyer_id=buyer_id,
        reference=ledger.new_token()[:25],
        amount_minor=sum(c.owed_minor for c in owing),
        currency=go.currency,
        created_at=uow.now,
    )
    uow.session.add(bundle)
    await uow.session.flush()
    reference = f"{go.code}{BUNDLE_MARK}{bundle.id}"
    bundle.reference = reference if len(reference) <= ledger.REFERENCE_LIMIT else f"GFB{bundle.id}"
    uow.session.add_all(
        BundleRequest(bundle_id=bundle.id, request_id=c.request.id, amount_minor=c.owed_minor) for c in owing
    )
    await uow.session.flush()
    return _offer_view(go, bundle, owing)


def _offer_view(go: GroupOrder, bundle: PaymentBundle, owing: list[Covered]) -> BundleOffer:
    return BundleOffer(
        go_code=go.code,
        reference=bundle.reference,
        amount=format_money(sum(c.owed_minor for c in owing), bundle.currency),
        amount_minor=sum(c.owed_minor for c in owing),
        orders=tuple(c.order.number for c in owing),
    )


async def find(uow: UnitOfWork, reference: str) -> PaymentBundle | None:
    """The bundle with this reference, if ``reference`` names one."""
    cleaned = reference.strip().upper()
    if BUNDLE_MARK not in cleaned and not cleaned.startswith("GFB"):
        return None
    return await uow.session.scalar(select(PaymentBundle).where(PaymentBundle.reference == cleaned))


async def paid_on(uow: UnitOfWork, bundle: PaymentBundle) -> int:
    """Money credited against the bundle so far (minor units)."""
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
            Payment.bundle_id == bundle.id, Payment.status == AttemptStatus.SUCCEEDED
        )
    )
    return int(total or 0)


async def covered_by(uow: UnitOfWork, bundle: PaymentBundle) -> tuple[list[Covered], str]:
    """The bundle's requests with their orders, locked in order id order, oldest first;
    and why the bundle no longer matches what they owe ("" while it does)."""
    rows = (
        await uow.session.execute(
            select(BundleRequest.request_id, PaymentRequest.order_id)
            .join(PaymentRequest, PaymentRequest.id == BundleRequest.request_id)
            .where(BundleRequest.bundle_id == bundle.id)
            .order_by(PaymentRequest.order_id, PaymentRequest.id)
        )
    ).all()
    covered = []
    problem = ""
    for request_id, order_id in rows:
        order = await lock_order(uow, order_id)
        request = await ledger.locked(uow, PaymentRequest, request_id)
        if request.status == RequestStatus.PAID:
            covered.append(Covered(order, request, 0))
            continue
        if request.status not in PAYABLE:
            why = f"{order.number} is {order.status}" if order.status != OrderStatus.PLACED else ""
            problem = problem or why or f"{order.number} was changed"
            continue
        covered.append(Covered(order, request, await ledger.outstanding(uow, request)))
    if not problem and sum(c.owed_minor for c in covered) != bundle.amount_minor - await paid_on(uow, bundle):
        problem = "part of it was paid order by order"
    return covered, problem


async def owing(uow: UnitOfWork, bundle: PaymentBundle) -> list[Covered]:
    """The bundle's requests that still owe something, locked, oldest first; refused
    (nothing written) once the bundle no longer matches the orders it covered."""
    covered, problem = await covered_by(uow, bundle)
    if problem:
        raise OrderLocked(
            (
                "%(reference)s no longer matches the orders it covered: %(problem)s. Nothing was "
                "recorded; /myorders gives the buyer a new total and reference."
            ),
            reference=bundle.reference,
            problem=problem,
        )
    return [c for c in covered if c.owed_minor]


@dataclass(frozen=True)
class Shared:
    """How money paid against a bundle was shared out: one payment per request it reached."""

    payments: list[Payment]
    remaining_minor: int  # still owed on the bundle


async def pay(
    uow: UnitOfWork,
    bundle: PaymentBundle,
    amount_minor: int,
    *,
    key: str,
    note: str,
    actor_id: int | None,
    why: str,
) -> Shared:
    """Share ``amount_minor`` out over the bundle's orders, oldest first, each part credited
    by the ledger. Refused (nothing written) once the bundle no longer matches the orders,
    or for more than it still owes."""
    covered = await owing(uow, bundle)
    owed = sum(c.owed_minor for c in covered)
    if amount_minor > owed:
        raise InvalidInput(
            ("Only %(owed)s is still owed on %(reference)s; %(amount)s is more, so nothing was recorded."),
            owed=format_money(owed, bundle.currency),
            reference=bundle.reference,
            amount=format_money(amount_minor, bundle.currency),
        )
    left = amount_minor
    payments = []
    for part in covered:
        share = min(left, part.owed_minor)
        if share <= 0:
            continue
        payment = await ledger.manual_payment(
            uow,
            part.request,
            share,
            key=f"{key}-{part.request.id}",
            provider_ref=None,
            charge_ref=note or None,
            note=why,
        )
        payment.bundle_id = bundle.id
        await ledger.credit(uow, part.order, part.request, payment, actor_id, why)
        payments.append(payment)
        left -= share
    return Shared(payments, owed - amount_minor)
