"""``/unapprove ORDER [#N]``: undo a proof's approval (the policy's or a person's).

The payment it recorded is voided, exactly that amount, and the proof waits for review
again; the request and order go back to waiting only if what else arrived does not cover
them. Everything happens under the order's lock with compare-and-set changes, so undoing
races a cancel, a refund or a second undo safely: of two, the second is told. An order
that has ended, or money already refunded, is not undone: a refund is the way back then.
"""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import Payment, PaymentRequest, Refund
from core.errors import Conflict, InvalidInput
from core.payments import ledger
from core.payments.status import SECURING_KINDS, AttemptStatus, ProofStatus, RequestStatus
from core.services.accounts import Actor
from core.services.proofs import Numbered, ProofView, open_review, proof_view
from core.status import ORDER_LIVE, OrderStatus
from core.transitions import transition
from core.uow import UnitOfWork

UNDONE = "approval undone"


async def unapprove(uow: UnitOfWork, actor: Actor, number: str, ordinal: int | None = None) -> ProofView:
    async with uow:
        order, proofs, _ = await open_review(uow, actor, number)
        i, proof, request = _approved(order.number, proofs, ordinal)
        if proof.bundle_id is not None:
            raise InvalidInput(
                "A proof shared over several orders is undone by hand: /refund %(number)s.",
                number=order.number,
            )
        if order.status not in ORDER_LIVE:
            raise Conflict(
                "%(number)s is %(status)s; its money goes back by refund, not by undoing.",
                number=order.number,
                status=order.status,
            )
        payment = await uow.session.scalar(
            select(Payment).where(Payment.idempotency_key == f"gf-proof-{proof.id}").with_for_update()
        )
        refunded = payment is not None and await uow.session.scalar(
            select(Refund.id).where(Refund.payment_id == payment.id).limit(1)
        )
        if payment is None or payment.status != AttemptStatus.SUCCEEDED or refunded:
            raise Conflict(
                ("The money of %(number)s's proof #%(i)s is already refunded or held; /payments shows it."),
                number=order.number,
                i=i,
            )
        request = await ledger.locked(uow, type(request), request.id)
        # its keys are freed, so approving the proof again records a fresh payment
        await transition(
            uow,
            payment,
            AttemptStatus.VOID,
            actor_id=actor.user_id,
            detail=UNDONE,
            also={
                "idempotency_key": f"gf-undone-{payment.id}",
                "provider_ref": f"undone-{payment.id}-{payment.provider_ref}"[:200],
                "note": f"{payment.note}; {UNDONE}",
            },
        )
        await transition(
            uow,
            proof,
            ProofStatus.PENDING,
            actor_id=actor.user_id,
            detail=f"{UNDONE} by {actor.name}",
            also={"reviewed_by": None, "reviewed_at": None, "decided_by": None, "reason": ""},
        )
        covered = await ledger.received(uow, request.id) >= request.amount_minor
        if request.status == RequestStatus.PAID and not covered:
            await transition(
                uow,
                request,
                RequestStatus.REVIEW,
                actor_id=actor.user_id,
                detail=UNDONE,
                also={"paid_at": None},
            )
            if (
                request.kind in SECURING_KINDS
                and order.status == OrderStatus.PAID
                and not await _still_secured(uow, order.id)
            ):
                await transition(uow, order, OrderStatus.PLACED, actor_id=actor.user_id, detail=UNDONE)
        elif request.status == RequestStatus.OPEN:
            await ledger.set_request_status(uow, request, RequestStatus.REVIEW, actor.user_id, UNDONE)
        uow.audit(
            actor_id=actor.user_id,
            entity="payment_proof",
            entity_id=proof.id,
            action="approval_undone",
            detail=f"payment {payment.id} of {payment.amount_minor} {payment.currency} voided",
        )
        await uow.session.refresh(proof)
        view = await proof_view(uow, order, i, proof, request)
        await uow.commit()
        return view


def _approved(number: str, proofs: list[Numbered], ordinal: int | None) -> Numbered:
    """The proof named, else the newest approved one."""
    chosen = [p for p in proofs if ordinal is None or p[0] == ordinal]
    approved = [p for p in chosen if p[1].status == ProofStatus.APPROVED]
    if approved:
        return approved[-1]
    if ordinal is not None and chosen:
        raise Conflict(
            "%(number)s's proof #%(ordinal)s is %(status)s, not approved: nothing to undo.",
            number=number,
            ordinal=ordinal,
            status=chosen[0][1].status,
        )
    raise Conflict("%(number)s has no approved proof to undo.", number=number)


async def _still_secured(uow: UnitOfWork, order_id: int) -> bool:
    """Whether another paid request (a deposit or an earlier instalment) still secures the claim."""
    found = await uow.session.scalar(
        select(PaymentRequest.id)
        .where(
            PaymentRequest.order_id == order_id,
            PaymentRequest.kind.in_(SECURING_KINDS),
            PaymentRequest.status == RequestStatus.PAID,
        )
        .limit(1)
    )
    return found is not None
