"""Proofs of payment: a buyer's screenshot or reference of a transfer, and the GOM's
review of it. Approving credits exactly the amount the proof records (``core.payments.
ledger.credit``); reviews lock the order first, so of two at once the second is told."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select

from core.db.models import GroupOrder, Order, Payment, PaymentProof, PaymentRequest, User
from core.errors import Conflict, GomflowError, InvalidInput, NotFound, PaymentError, PermissionDenied
from core.lookups import load_order, lock_order
from core.money import format_money, parse_amount
from core.payments import bundles, ledger, methods
from core.payments.reading import ProofReading
from core.payments.reading import use as reading_use
from core.payments.reading.policy import FieldCheck, Policy, Verdict
from core.payments.status import PAYABLE, AttemptStatus, ProofStatus, RequestStatus
from core.privacy.images import clean_image
from core.services import bundle_proofs, proof_policy
from core.services.accounts import Actor, require_admin
from core.services.payments import MAX_PROOF_BYTES, MAX_REFERENCE, methods_of, request_to_pay
from core.status import OrderStatus
from core.transitions import transition
from core.uow import UnitOfWork

# The longest a buyer's /paid waits for its screenshot to be read (about a second of CPU each,
# one at a time); a read still queued behind a burst then is given up before it starts.
READ_TIMEOUT = 10.0
POLICY_CHANNEL = "policy"
DECIDED_BY_POLICY = "policy"


@dataclass(frozen=True)
class ProofView:
    number: str
    buyer: str
    amount: str
    reference: str
    has_image: bool
    status: str
    reason: str = ""
    ordinal: int = 1  # the proof's place among its order's proofs: "/approve ORDER #2"
    outcome: str = ""  # what an approval did beyond paying: still owed, overpaid, refund due
    reviewer: str = ""
    # what the screenshot was read to say against what was asked (empty when not read)
    checks: tuple[FieldCheck, ...] = ()
    flags: tuple[str, ...] = ()
    read_note: str = ""


async def submit_proof(
    uow: UnitOfWork,
    buyer: Actor,
    number: str | None,
    *,
    image: bytes | None = None,
    reference: str = "",
    amount_text: str | None = None,
) -> ProofView:
    """A buyer's photo of a transfer (or its typed reference) for the GOM to review.

    The proof records the amount it is for: what the buyer says they sent, or else what
    the request still owes at this moment (read under the order's lock, so a change of
    the order either comes first and is what the proof pays, or waits and is refused).
    """
    mime = None
    reading: ProofReading | None = None
    if image is not None:
        if len(image) > MAX_PROOF_BYTES:
            raise InvalidInput("That image is larger than 5 MB; please send a smaller screenshot.")
        # read from the bytes as sent (before cleaning re-encodes them), beside the cleaning:
        # both are CPU work, off the event loop
        wanted = await _reading_wanted(uow, buyer, number)
        cleaning = asyncio.to_thread(clean_image, image)
        if wanted is None:
            cleaned = await cleaning
        else:
            cleaned, reading = await asyncio.gather(cleaning, _read_bounded(image, wanted))
        image, mime = cleaned.content, cleaned.mime_type
    reference = " ".join(reference.split())[:MAX_REFERENCE]
    if image is None and not reference:
        raise InvalidInput("Send a screenshot of the transfer, or type its reference.")
    async with uow:
        bundle = await bundles.find(uow, number) if number else None
        if bundle is not None:
            paying = await bundle_proofs.target(uow, buyer, bundle)
        else:
            paying = await _order_target(uow, buyer, number)
        order, request, owed = paying.order, paying.request, paying.owed_minor
        go = await uow.session.get_one(GroupOrder, order.go_id)
        if not methods.takes_transfers(await methods_of(uow, go.id)):
            raise PaymentError(
                "%(code)s does not take bank transfers; use /pay %(number)s.",
                code=go.code,
                number=order.number,
            )
        stated = None if amount_text is None else parse_amount(amount_text, request.currency)
        if stated is not None and stated <= 0:
            raise InvalidInput("The amount you sent must be more than zero.")
        proof = PaymentProof(
            request_id=request.id,
            buyer_id=buyer.user_id,
            reference=reference,
            amount_minor=owed if stated is None else stated,
            image=image,
            mime_type=mime,
            status=ledger.PENDING_PROOF,
            reason="",
            created_at=uow.now,
            bundle_id=None if bundle is None else bundle.id,
        )
        uow.session.add(proof)
        if request.status == RequestStatus.OPEN:
            await ledger.set_request_status(uow, request, RequestStatus.REVIEW, buyer.user_id, "proof sent")
        await uow.session.flush()
        ordinal = len(await _proofs_of(uow, order))
        amount = format_money(proof.amount_minor, request.currency)
        if proof.amount_minor != owed:
            amount += f" (owed: {format_money(owed, request.currency)})"
        named = order.number if bundle is None else bundle.reference
        verdict = None
        if reading is not None:
            proof_policy.store(proof, reading, await proof_policy.duplicates(uow, go, proof.id, reading))
            verdict = await proof_policy.verdict_of(uow, order, proof, request)
        auto = (
            verdict is not None
            and verdict.approvable
            and await proof_policy.policy_of(uow, go) == Policy.AUTO
        )
        outcome = ""
        if auto and verdict is not None:
            outcome = await _approve_by_policy(uow, go, order, ordinal, proof, request, verdict)
        await ledger.notify_staff(
            uow,
            order,
            "proof_review",
            {
                "number": named,
                "ordinal": ordinal,
                "buyer": buyer.name,
                "amount": amount,
                "reference": reference or (request.reference if bundle is None else bundle.reference),
                "has_image": image is not None,
                "covers": paying.covers,
                **review_context(reading, verdict),
                "auto_approved": auto,
                "outcome": outcome,
            },
            dedupe=f"proof:{proof.id}",
        )
        await uow.commit()
        return ProofView(
            named,
            buyer.name,
            amount,
            reference,
            image is not None,
            str(proof.status),
            ordinal=ordinal,
            outcome=outcome,
        )


async def _reading_wanted(uow: UnitOfWork, buyer: Actor, number: str | None) -> str | None:
    """The currency to expect when the proof's GO reads screenshots; None when it does not
    (policy ``off``) or the order cannot be told yet (the proof's own checks will say why)."""
    try:
        async with uow:
            bundle = await bundles.find(uow, number) if number else None
            if bundle is not None:
                go = await uow.session.get_one(GroupOrder, bundle.go_id)
            else:
                order = await (load_order(uow, number) if number else _latest_unpaid(uow, buyer))
                go = await uow.session.get_one(GroupOrder, order.go_id)
            if await proof_policy.policy_of(uow, go) == Policy.OFF:
                return None
            return go.currency
    except GomflowError:
        return None


async def _read_bounded(image: bytes, currency: str) -> ProofReading:
    """The reading, or a note when the reader takes too long: the buyer's proof never waits on it."""
    try:
        return await asyncio.wait_for(reading_use.read_image(image, currency), READ_TIMEOUT)
    except TimeoutError:
        return ProofReading(note="Reading the screenshot took too long; look at it yourself.")


def review_context(reading: ProofReading | None, verdict: Verdict | None) -> dict[str, object]:
    """What the GOM's review shows beside the image: each field read against what was asked."""
    if reading is None:
        return {"read": False}
    checks = [
        {"field": c.field, "read": c.read, "expected": c.expected, "ok": c.ok}
        for c in (verdict.checks if verdict else ())
    ]
    return {
        "read": True,
        "note": reading.note,
        "checks": checks if reading.note == "" or reading.amount_minor is not None else [],
        "flags": list(verdict.flags if verdict else ()),
        "exact": bool(verdict and verdict.exact),
    }


def policy_actor(go: GroupOrder) -> Actor:
    """Who an automatic approval is recorded as: the GO's GOM, through the policy they set."""
    return Actor(go.gom_id, 0, POLICY_CHANNEL, "automatic check", is_gom=True, is_staff=True)


async def _approve_by_policy(
    uow: UnitOfWork,
    go: GroupOrder,
    order: Order,
    ordinal: int,
    proof: PaymentProof,
    request: PaymentRequest,
    verdict: Verdict,
) -> str:
    """The ``auto`` policy approves through the same compare-and-set and ledger credit as
    ``/approve``, under the order lock the proof was filed under, and audits what was read."""
    actor = policy_actor(go)
    proof, request = await decide(uow, actor, order, ordinal, proof, request, ProofStatus.APPROVED, "")
    uow.audit(
        actor_id=go.gom_id,
        entity="payment_proof",
        entity_id=proof.id,
        action="approved_by_policy",
        detail=proof.reading or "",
    )
    return await credit_proof(uow, actor, order, request, proof)


async def _order_target(uow: UnitOfWork, buyer: Actor, number: str | None) -> bundle_proofs.Target:
    """The order a proof is for (the one named, else the newest unpaid), locked, with the
    request it pays and what that still owes."""
    found = await (load_order(uow, number) if number else _latest_unpaid(uow, buyer))
    if found.buyer_id != buyer.user_id:
        raise PermissionDenied("%(number)s is not your order.", number=found.number)
    order = await lock_order(uow, found.id)
    request = await request_to_pay(uow, order)
    return bundle_proofs.Target(order, request, await ledger.outstanding(uow, request), "")


async def _latest_unpaid(uow: UnitOfWork, buyer: Actor) -> Order:
    """The buyer's newest order that still owes something: unpaid, or with a request open."""
    owes = select(PaymentRequest.id).where(
        PaymentRequest.order_id == Order.id, PaymentRequest.status.in_(PAYABLE)
    )
    order = await uow.session.scalar(
        select(Order)
        .where(
            Order.buyer_id == buyer.user_id,
            (Order.status == OrderStatus.PLACED) | ((Order.status == OrderStatus.PAID) & owes.exists()),
        )
        .order_by(Order.id.desc())
        .limit(1)
    )
    if order is None:
        raise InvalidInput("You have no unpaid order to send a proof for. /myorders lists yours.")
    return order


@dataclass(frozen=True)
class ProofsShown:
    """One proof to look at (the one named, else the newest) and every proof still pending."""

    proof: ProofView
    image: bytes | None
    mime_type: str | None
    pending: list[ProofView]


async def proof_image(uow: UnitOfWork, actor: Actor, number: str, ordinal: int | None = None) -> ProofsShown:
    """A proof of an order: only for its buyer and the GO's GOM and helpers."""
    async with uow:
        order = await _order_named(uow, number)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        if order.buyer_id != actor.user_id:
            await require_admin(uow, actor, go)
        proofs = await _proofs_of(uow, order)
        if not proofs:
            raise NotFound("%(number)s has no proof of payment.", number=order.number)
        shown = _named(order, proofs, ordinal) if ordinal is not None else proofs[-1]
        staff = order.buyer_id != actor.user_id  # what was read, and whose it copies: the GOM's eyes only
        views = {p[1].id: await proof_view(uow, order, *p, reading=staff) for p in proofs}
        return ProofsShown(
            views[shown[1].id],
            shown[1].image,
            shown[1].mime_type,
            [views[p.id] for _, p, _ in proofs if p.status == ledger.PENDING_PROOF],
        )


Numbered = tuple[int, PaymentProof, PaymentRequest]


async def _proofs_of(uow: UnitOfWork, order: Order) -> list[Numbered]:
    """Every proof of the order, numbered from 1 in the order they were sent, re-read
    from the database (under the caller's order lock when reviewing)."""
    rows = (
        await uow.session.execute(
            select(PaymentProof, PaymentRequest)
            .join(PaymentRequest, PaymentRequest.id == PaymentProof.request_id)
            .where(PaymentRequest.order_id == order.id)
            .order_by(PaymentProof.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    return [(i, proof, request) for i, (proof, request) in enumerate(rows, start=1)]


def _named(order: Order, proofs: list[Numbered], ordinal: int) -> Numbered:
    for numbered in proofs:
        if numbered[0] == ordinal:
            return numbered
    raise NotFound(
        "%(number)s has no proof #%(ordinal)s. /proof %(number)s lists them.",
        number=order.number,
        ordinal=ordinal,
    )


async def proof_view(
    uow: UnitOfWork,
    order: Order,
    ordinal: int,
    proof: PaymentProof,
    request: PaymentRequest,
    outcome: str = "",
    *,
    reading: bool = True,
) -> ProofView:
    buyer = await uow.session.get_one(User, order.buyer_id)
    reviewer = await uow.session.get(User, proof.reviewed_by) if proof.reviewed_by else None
    reviewed = reviewer.display_name if reviewer else ""
    if proof.decided_by == DECIDED_BY_POLICY:
        reviewed = "automatic check"
    found = proof_policy.stored_reading(proof) if reading else None
    verdict = await proof_policy.verdict_of(uow, order, proof, request) if found else None
    return ProofView(
        order.number,
        buyer.display_name,
        format_money(proof.amount_minor, request.currency),
        proof.reference,
        proof.image is not None,
        proof.status,
        proof.reason,
        ordinal=ordinal,
        outcome=outcome,
        reviewer=reviewed,
        checks=verdict.checks if verdict else (),
        flags=verdict.flags if verdict else (),
        read_note=found[0].note if found else "",
    )


async def approve_proof(uow: UnitOfWork, actor: Actor, number: str, ordinal: int | None = None) -> ProofView:
    """Credit exactly what the proof says arrived; a shortfall stays owed.

    With no proof waiting but a gateway payment held for the order (say, a different
    amount), approving accepts that payment (``accept_held_payment``).
    """
    async with uow:
        order, proofs, pending = await open_review(uow, actor, number)
        if ordinal is None and not pending and (held := await _accept_held(uow, actor, order)) is not None:
            await uow.commit()
            return held
        i, proof, request = _chosen(order, proofs, pending, ordinal, f"/approve {order.number} #N")
        proof, request = await decide(uow, actor, order, i, proof, request, ProofStatus.APPROVED, "")
        outcome = await credit_proof(uow, actor, order, request, proof)
        view = await proof_view(uow, order, i, proof, request, outcome)
        await uow.commit()
        return view


async def reject_proof(
    uow: UnitOfWork, actor: Actor, number: str, reason: str, ordinal: int | None = None
) -> ProofView:
    """Turn a proof down, telling the buyer why; the request is payable again once no
    other proof for it waits."""
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise InvalidInput(
            "Say why, so the buyer knows what to fix: /reject %(number)s REASON", number=number
        )
    async with uow:
        order, proofs, pending = await open_review(uow, actor, number)
        i, proof, request = _chosen(order, proofs, pending, ordinal, f"/reject {order.number} #N REASON")
        proof, request = await decide(uow, actor, order, i, proof, request, ProofStatus.REJECTED, reason)
        others = [p for p in pending if p[1].id != proof.id and p[2].id == request.id]
        if request.status == RequestStatus.REVIEW and not others:
            await ledger.set_request_status(uow, request, RequestStatus.OPEN, actor.user_id, reason)
        await uow.notify_user(
            order.buyer_id,
            "proof_rejected",
            {"number": order.number, "reason": reason},
            dedupe_key=f"proof-rejected:{proof.id}",
        )
        view = await proof_view(uow, order, i, proof, request)
        await uow.commit()
        return view


async def accept_held_payment(uow: UnitOfWork, actor: Actor, number: str) -> ProofView:
    """Accept a gateway payment held for an order still owing (say, a different amount)."""
    async with uow:
        order, _, _ = await open_review(uow, actor, number)
        held = await _accept_held(uow, actor, order)
        if held is None:
            raise NotFound("%(number)s has no held payment to accept.", number=order.number)
        await uow.commit()
        return held


async def open_review(
    uow: UnitOfWork, actor: Actor, number: str
) -> tuple[Order, list[Numbered], list[Numbered]]:
    """The order, locked, with its proofs and those waiting for review.

    The order is locked first, so of two reviews at once (a double tap, the GOM and a
    helper, approve and reject) the second sees the first's result and is told so.
    """
    found = await _order_named(uow, number)
    go = await uow.session.get_one(GroupOrder, found.go_id)
    await require_admin(uow, actor, go)
    order = await lock_order(uow, found.id)
    proofs = await _proofs_of(uow, order)
    return order, proofs, [p for p in proofs if p[1].status == ledger.PENDING_PROOF]


async def _order_named(uow: UnitOfWork, number: str) -> Order:
    """The order named, or for a bundle's reference the order its proof is filed on."""
    bundle = await bundles.find(uow, number)
    return await (load_order(uow, number) if bundle is None else bundle_proofs.order_of(uow, bundle))


def _chosen(
    order: Order, proofs: list[Numbered], pending: list[Numbered], ordinal: int | None, usage: str
) -> Numbered:
    """The proof a review is about: the one named, the one waiting, or (to say it was
    already reviewed) the last reviewed. With several waiting, the reviewer must name one."""
    if ordinal is not None:
        return _named(order, proofs, ordinal)
    if len(pending) == 1:
        return pending[0]
    if pending:
        listed = "; ".join(
            f"#{i} {format_money(p.amount_minor, r.currency)}"
            + (f" ref {p.reference}" if p.reference else "")
            for i, p, r in pending
        )
        raise InvalidInput(
            "%(number)s has %(pending_count)s proofs waiting: %(listed)s. Name one: %(usage)s",
            number=order.number,
            pending_count=len(pending),
            listed=listed,
            usage=usage,
        )
    if not proofs:
        raise NotFound("%(number)s has no proof of payment to review.", number=order.number)
    return max((p for p in proofs if p[1].reviewed_at is not None), key=lambda p: p[0], default=proofs[-1])


async def decide(
    uow: UnitOfWork,
    actor: Actor,
    order: Order,
    i: int,
    proof: PaymentProof,
    request: PaymentRequest,
    status: ProofStatus,
    reason: str,
) -> tuple[PaymentProof, PaymentRequest]:
    """Move a waiting proof to ``status`` (compare-and-set); a proof already reviewed says by whom."""
    if proof.status != ledger.PENDING_PROOF:
        done = await proof_view(uow, order, i, proof, request)
        by = f" by {done.reviewer}" if done.reviewer else ""
        raise Conflict("That proof was already %(status)s%(by)s.", status=proof.status, by=by)
    request = await ledger.locked(uow, PaymentRequest, request.id)
    proof = await ledger.locked(uow, PaymentProof, proof.id)
    await transition(
        uow,
        proof,
        status,
        actor_id=actor.user_id,
        detail=reason,
        also={
            "reason": reason,
            "reviewed_by": actor.user_id,
            "reviewed_at": uow.now,
            "decided_by": DECIDED_BY_POLICY if actor.channel == POLICY_CHANNEL else "human",
        },
    )
    return proof, request


async def credit_proof(
    uow: UnitOfWork, actor: Actor, order: Order, request: PaymentRequest, proof: PaymentProof
) -> str:
    """A payment of exactly the proof's amount, credited by the ledger; the words say what
    it did beyond paying the request. A bundle's proof is shared out over its orders."""
    if proof.bundle_id is not None:
        return await bundle_proofs.credit(uow, actor, order, request, proof)
    payment = await ledger.manual_payment(
        uow,
        request,
        proof.amount_minor,
        key=f"gf-proof-{proof.id}",
        provider_ref=f"proof-{proof.id}",
        charge_ref=proof.reference or None,
        note=f"approved by {actor.name}",
    )
    done = await ledger.credit(uow, order, request, payment, actor.user_id, f"proof approved by {actor.name}")
    return _credit_words(done, order, request.currency)


def _credit_words(done: ledger.Credit, order: Order, currency: str) -> str:
    if done.result == "partial":
        return f"{format_money(done.remaining_minor, currency)} still to pay"
    if done.result == "overpaid":
        return f"{format_money(done.over_minor, currency)} overpaid: refund or credit due"
    if done.result == "refund_due":
        return f"{order.number} is {order.status}: the money is recorded as refund due"
    if done.result == "held":
        return "it came for a payment no longer owed, so it is held for you: /payments shows it"
    return ""


async def _accept_held(uow: UnitOfWork, actor: Actor, order: Order) -> ProofView | None:
    """The GOM accepts a held gateway payment (say, a different amount) for a request still
    open: exactly what arrived is credited, so a shortfall stays owed."""
    row = (
        await uow.session.execute(
            select(Payment.id, PaymentRequest.id)
            .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
            .where(
                PaymentRequest.order_id == order.id,
                PaymentRequest.status.in_(PAYABLE),
                Payment.status == AttemptStatus.HELD,
                Payment.bundle_id.is_(None),  # a bundle's money is not one order's to accept
            )
            .order_by(Payment.id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    request = await ledger.locked(uow, PaymentRequest, row[1])
    payment = await ledger.locked(uow, Payment, row[0])
    payment.note = f"{payment.note}; accepted by {actor.name}".strip("; ")
    payment.updated_at = uow.now
    done = await ledger.credit(
        uow,
        order,
        request,
        payment,
        actor.user_id,
        f"held {payment.provider} payment accepted by {actor.name}",
    )
    buyer = await uow.session.get_one(User, order.buyer_id)
    return ProofView(
        order.number,
        buyer.display_name,
        format_money(payment.amount_minor, payment.currency),
        payment.provider_ref or "",
        False,
        "approved",
        outcome=_credit_words(done, order, request.currency),
    )
