"""A proof of payment for a bundle (``core.payments.bundles``): one screenshot or typed
reference for all of a buyer's unpaid orders in a GO.

The proof is filed on the bundle's oldest request still owing, so reviewing it locks that
order first, the same order ``bundles.covered_by`` locks first: a review and a bundle
payment or a cancel never deadlock. Approving shares the money out exactly as ``/markpaid``
on the bundle does (``bundles.pay``). If the orders no longer match what was shown (one
cancelled, one paid on its own) or the proof is for more than they owe, the money is held
for the GOM instead (``ledger.hold``): it is never shared out against amounts the buyer
did not see.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.db.models import Order, PaymentBundle, PaymentProof, PaymentRequest
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.money import format_money
from core.payments import bundles, ledger
from core.payments.status import RequestStatus
from core.services.accounts import Actor
from core.uow import UnitOfWork


@dataclass(frozen=True)
class Target:
    """Where a bundle proof is filed, what it pays and which orders it covers."""

    order: Order  # the oldest order still owing, locked
    request: PaymentRequest
    owed_minor: int  # still owed on the whole bundle
    covers: str  # "SVT-FML-1, SVT-FML-2"


async def target(uow: UnitOfWork, buyer: Actor, bundle: PaymentBundle) -> Target:
    """The bundle's oldest request still owing, under its orders' locks; refused when the
    bundle is not the buyer's or no longer matches the orders."""
    if bundle.buyer_id != buyer.user_id:
        raise PermissionDenied("%(reference)s is not yours.", reference=bundle.reference)
    owing = await bundles.owing(uow, bundle)
    if not owing:
        raise InvalidInput(
            "Nothing is owed on %(reference)s any more. /myorders lists your orders.",
            reference=bundle.reference,
        )
    return Target(
        owing[0].order,
        owing[0].request,
        sum(c.owed_minor for c in owing),
        ", ".join(c.order.number for c in owing),
    )


async def order_of(uow: UnitOfWork, bundle: PaymentBundle) -> Order:
    """The order the bundle's newest proof is filed on: ``/approve BUNDLE-REF`` reviews it."""
    order_id = await uow.session.scalar(
        select(PaymentRequest.order_id)
        .join(PaymentProof, PaymentProof.request_id == PaymentRequest.id)
        .where(PaymentProof.bundle_id == bundle.id)
        .order_by(PaymentProof.id.desc())
        .limit(1)
    )
    if order_id is None:
        raise NotFound("%(reference)s has no proof of payment.", reference=bundle.reference)
    return await uow.session.get_one(Order, order_id)


async def credit(
    uow: UnitOfWork, actor: Actor, order: Order, request: PaymentRequest, proof: PaymentProof
) -> str:
    """Share an approved bundle proof out over the bundle's orders, or hold it for the GOM
    when they no longer match; the words say which."""
    assert proof.bundle_id is not None
    bundle = await uow.session.get_one(PaymentBundle, proof.bundle_id)
    covered, problem = await bundles.covered_by(uow, bundle)
    owed = sum(c.owed_minor for c in covered)
    if not problem and proof.amount_minor > owed:
        problem = f"only {format_money(owed, bundle.currency)} is still owed"
    key = f"gf-proof-{proof.id}"
    if problem:
        payment = await ledger.manual_payment(
            uow,
            request,
            proof.amount_minor,
            key=key,
            provider_ref=f"proof-{proof.id}",
            charge_ref=proof.reference or None,
            note=f"approved by {actor.name}",
        )
        payment.bundle_id = bundle.id
        why = f"{bundle.reference} no longer matches its orders: {problem}"
        await ledger.hold(uow, payment, request, order, why)
        if request.status == RequestStatus.REVIEW and not await ledger.pending_proofs(uow, order):
            await ledger.set_request_status(uow, request, RequestStatus.OPEN, actor.user_id, why)
        return f"not shared out but held for you, because {why}; /payments shows it"
    shared = await bundles.pay(
        uow,
        bundle,
        proof.amount_minor,
        key=key,
        note=proof.reference,
        actor_id=actor.user_id,
        why=f"proof approved by {actor.name} on {bundle.reference}",
    )
    orders = ", ".join(c.order.number for c in covered if c.owed_minor)
    still = format_money(shared.remaining_minor, bundle.currency)
    return f"shared over {orders}" + (f"; {still} still to pay" if shared.remaining_minor else "")


async def mismatch(uow: UnitOfWork, proof: PaymentProof) -> str:
    """Why a bundle proof is not an exact match for ``/approve all``; "" when its amount is
    the bundle's total still owed and its reference the bundle's."""
    assert proof.bundle_id is not None
    bundle = await uow.session.get_one(PaymentBundle, proof.bundle_id)
    covered, problem = await bundles.covered_by(uow, bundle)
    if problem:
        return f"{bundle.reference} no longer matches its orders: {problem}"
    owed = sum(c.owed_minor for c in covered)
    if proof.amount_minor != owed:
        return f"{format_money(owed, bundle.currency)} is owed on {bundle.reference}"
    if proof.reference.strip().casefold() != bundle.reference.casefold():
        return f"the reference is not {bundle.reference}"
    return ""
