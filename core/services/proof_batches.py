"""``/approve all CODE``: approving, in one go, the proofs of a GO that match exactly.

A proof matches exactly when the amount it records is what its payment request still
owes and the reference the buyer typed is the request's own reference (letter case and
spaces around it aside), or its screenshot was read to show exactly that amount, currency
and reference. A screenshot flagged as reused or edited, or read to show another amount,
never matches. Anything else (a short amount, a reference that is not ours, no
reference, an order that has ended) stays waiting for the GOM to look at it.

The list is shown first; confirming names the newest proof that was on it, so a proof
that arrives in between is never approved unseen. Each approval is its own transaction
under its order's lock and checks the match again there (``core.services.proofs``): of a
batch and a single ``/approve`` of the same proof, one counts and the other skips it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from core.db.models import GroupOrder, Order, PaymentProof, PaymentRequest, User
from core.lookups import load_go
from core.money import format_money
from core.payments import ledger
from core.payments.status import PAYABLE, ProofStatus
from core.services import bundle_proofs, proof_policy
from core.services.accounts import Actor, require_admin
from core.services.proofs import ProofView, credit_proof, decide, open_review, proof_view
from core.status import ORDER_LIVE
from core.uow import UnitOfWork

UowFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class ProofLine:
    """One proof waiting, and why it does not match exactly ("" when it does)."""

    proof_id: int
    number: str
    buyer: str
    amount: str
    reference: str  # what the buyer typed
    why: str


@dataclass(frozen=True)
class ProofBatch:
    go_code: str
    exact: list[ProofLine]
    other: list[ProofLine]
    approved: list[ProofView] = field(default_factory=list)
    confirmed: bool = False

    @property
    def newest(self) -> int:
        """The newest proof on the list: confirming approves exact matches up to it."""
        return max((line.proof_id for line in self.exact), default=0)


async def matching_proofs(uow: UnitOfWork, actor: Actor, go_code: str) -> ProofBatch:
    """Every proof of the GO waiting for review, the exact matches first."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        return await _batch(uow, go)


async def approve_matching(make_uow: UowFactory, actor: Actor, go_code: str, newest: int) -> ProofBatch:
    """Approve the exact matches shown (proofs up to ``newest``); then list what still waits."""
    async with make_uow() as uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        shown = [line for line in (await _batch(uow, go)).exact if line.proof_id <= newest]
    approved = []
    for line in shown:
        view = await _approve_if_exact(make_uow(), actor, line)
        if view is not None:
            approved.append(view)
    async with make_uow() as uow:
        after = await _batch(uow, await load_go(uow, go_code))
    return ProofBatch(after.go_code, after.exact, after.other, approved, confirmed=True)


async def _approve_if_exact(uow: UnitOfWork, actor: Actor, line: ProofLine) -> ProofView | None:
    """Approve one proof if, under its order's lock, it still waits and still matches."""
    async with uow:
        order, _, pending = await open_review(uow, actor, line.number)
        found = [p for p in pending if p[1].id == line.proof_id]
        if not found:
            return None  # reviewed in the meantime, by a single /approve or /reject
        [(i, proof, request)] = found
        if await _mismatch(uow, order, proof, request):
            return None
        proof, request = await decide(uow, actor, order, i, proof, request, ProofStatus.APPROVED, "")
        outcome = await credit_proof(uow, actor, order, request, proof)
        view = await proof_view(uow, order, i, proof, request, outcome)
        await uow.commit()
        return view


async def _batch(uow: UnitOfWork, go: GroupOrder) -> ProofBatch:
    rows = (
        await uow.session.execute(
            select(PaymentProof, PaymentRequest, Order, User.display_name)
            .join(PaymentRequest, PaymentRequest.id == PaymentProof.request_id)
            .join(Order, Order.id == PaymentRequest.order_id)
            .join(User, User.id == Order.buyer_id)
            .where(Order.go_id == go.id, PaymentProof.status == ledger.PENDING_PROOF)
            .order_by(PaymentProof.id)
        )
    ).all()
    lines = [
        ProofLine(
            proof.id,
            order.number,
            buyer,
            format_money(proof.amount_minor, request.currency),
            proof.reference,
            await _mismatch(uow, order, proof, request),
        )
        for proof, request, order, buyer in rows
    ]
    return ProofBatch(go.code, [p for p in lines if not p.why], [p for p in lines if p.why])


async def _mismatch(uow: UnitOfWork, order: Order, proof: PaymentProof, request: PaymentRequest) -> str:
    """Why a proof does not match its request exactly; "" when it does."""
    if proof.bundle_id is not None:
        return await bundle_proofs.mismatch(uow, proof)
    if order.status not in ORDER_LIVE:
        return f"the order is {order.status}"
    if request.status not in PAYABLE:
        return f"its payment is {request.status}"
    owed = await ledger.outstanding(uow, request)
    if proof.amount_minor != owed:
        return f"{format_money(owed, request.currency)} is owed"
    verdict = await proof_policy.verdict_of(uow, order, proof, request)
    if verdict is not None and verdict.flags:
        return "; ".join(verdict.flags)
    amount_read = next((c for c in verdict.checks if c.field == "amount"), None) if verdict else None
    if amount_read is not None and amount_read.read != "not read" and not amount_read.ok:
        return f"the screenshot shows {amount_read.read}"
    if verdict is not None and verdict.exact and verdict.confident:
        return ""  # the screenshot shows the amount, currency and reference asked
    if not proof.reference:
        return f"no reference typed (expected {request.reference})"
    if proof.reference.strip().casefold() != request.reference.casefold():
        return f"the reference is not {request.reference}"
    return ""
