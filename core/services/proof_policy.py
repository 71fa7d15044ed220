"""A GOM's proof policy, and what it makes of each proof's reading.

``/proofpolicy CODE suggest|auto|off`` sets one GO's policy, ``/proofpolicy default …``
the GOM's own default for every GO without one. The facts a verdict needs beyond the
reading (what is owed now, which other proofs carry the same transaction id or picture)
are read here; the rules are ``core.payments.reading.policy``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select, update

from core.db.models import (
    GroupOrder,
    Order,
    PaymentBundle,
    PaymentProof,
    PaymentRequest,
    ProofPolicySetting,
    User,
)
from core.db.upsert import insert_ignoring_conflict
from core.errors import InvalidInput
from core.lookups import load_go
from core.money import format_money
from core.payments import ledger
from core.payments.reading import ProofReading, hash_distance
from core.payments.reading import use as reading_use
from core.payments.reading.policy import DEFAULT_POLICY, SAME_IMAGE_BITS, Expected, Policy, Verdict, judge
from core.services.accounts import Actor, require_admin, require_gom
from core.uow import UnitOfWork

DEFAULT_TARGET = "default"
USAGE = "/proofpolicy CODE|default suggest|auto|off"
# How many other proofs a new one is compared with for "the same picture" (newest first).
HASH_WINDOW = 5_000


@dataclass(frozen=True)
class PolicyView:
    target: str  # a GO code, or "default"
    policy: str
    inherited: bool = False  # the GO has none of its own: the GOM's default applies
    unreadable: bool = False  # reading is on but this server has no reader installed


def parse_policy(word: str) -> Policy:
    try:
        return Policy(word.strip().lower())
    except ValueError:
        raise InvalidInput("A proof policy is suggest, auto or off. Usage: %(usage)s", usage=USAGE) from None


async def set_policy(uow: UnitOfWork, actor: Actor, target: str, word: str | None) -> PolicyView:
    """Set (or, with no word, show) a GO's policy or the GOM's default."""
    policy = None if word is None else parse_policy(word)
    async with uow:
        if target.strip().lower() == DEFAULT_TARGET:
            require_gom(actor)
            gom_id, go_id, shown = actor.user_id, 0, DEFAULT_TARGET
        else:
            go = await load_go(uow, target)
            await require_admin(uow, actor, go)
            gom_id, go_id, shown = go.gom_id, go.id, go.code
        if policy is None:
            own = await _stored(uow, gom_id, go_id)
            if own is not None:
                return PolicyView(shown, own)
            return PolicyView(shown, await _stored(uow, gom_id, 0) or DEFAULT_POLICY, inherited=True)
        values = {"gom_id": gom_id, "go_id": go_id, "policy": policy.value, "updated_at": uow.now}
        done = await uow.session.execute(
            insert_ignoring_conflict(uow.session, ProofPolicySetting, values, ["gom_id", "go_id"])
        )
        if not getattr(done, "rowcount", 0):
            await uow.session.execute(
                update(ProofPolicySetting)
                .where(ProofPolicySetting.gom_id == gom_id, ProofPolicySetting.go_id == go_id)
                .values(policy=policy.value, updated_at=uow.now)
            )
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order" if go_id else "user",
            entity_id=go_id or gom_id,
            action="proof_policy_set",
            detail=policy.value,
        )
        await uow.commit()
        return PolicyView(
            shown, policy.value, unreadable=policy != Policy.OFF and not reading_use.available()
        )


async def _stored(uow: UnitOfWork, gom_id: int, go_id: int) -> str | None:
    return await uow.session.scalar(
        select(ProofPolicySetting.policy).where(
            ProofPolicySetting.gom_id == gom_id, ProofPolicySetting.go_id == go_id
        )
    )


async def policy_of(uow: UnitOfWork, go: GroupOrder) -> Policy:
    """Inside ``uow``: the GO's own policy, else its GOM's default, else ``suggest``."""
    rows = dict(
        (
            await uow.session.execute(
                select(ProofPolicySetting.go_id, ProofPolicySetting.policy).where(
                    ProofPolicySetting.gom_id == go.gom_id, ProofPolicySetting.go_id.in_([0, go.id])
                )
            )
        ).all()
    )
    return Policy(rows.get(go.id) or rows.get(0) or DEFAULT_POLICY)


async def duplicates(
    uow: UnitOfWork, go: GroupOrder, proof_id: int, reading: ProofReading
) -> tuple[str, ...]:
    """Other proofs of the same GOM with this transaction id or (nearly) this picture, in
    words naming the order and buyer: for the GOM's eyes only."""
    mine = (
        select(PaymentProof.id, PaymentProof.txn_id, PaymentProof.image_hash, Order.number, User.display_name)
        .join(PaymentRequest, PaymentRequest.id == PaymentProof.request_id)
        .join(Order, Order.id == PaymentRequest.order_id)
        .join(GroupOrder, GroupOrder.id == Order.go_id)
        .join(User, User.id == Order.buyer_id)
        .where(GroupOrder.gom_id == go.gom_id, PaymentProof.id != proof_id)
    )
    flags: list[str] = []
    if reading.txn_id:
        for _, _, _, number, buyer in (
            await uow.session.execute(mine.where(PaymentProof.txn_id == reading.txn_id))
        ).all():
            flags.append(f"transaction id {reading.txn_id} was already sent for {number} by {buyer}")
    if reading.image_hash:
        rows = await uow.session.execute(
            mine.where(PaymentProof.image_hash.is_not(None))
            .order_by(PaymentProof.id.desc())
            .limit(HASH_WINDOW)
        )
        for _, _, other_hash, number, buyer in rows.all():
            if other_hash and _near(reading.image_hash, other_hash):
                flags.append(f"the same screenshot was already sent for {number} by {buyer}")
    return tuple(dict.fromkeys(flags))


def _near(first: str, second: str) -> bool:
    try:
        return hash_distance(first, second) <= SAME_IMAGE_BITS
    except ValueError:  # not hex: a hash the reader did not write
        return False


def store(proof: PaymentProof, reading: ProofReading, flags: tuple[str, ...]) -> None:
    """Keep the reading on the proof, with the flags found when it arrived."""
    proof.reading = json.dumps({**reading.as_json(), "flags": list(flags)}, ensure_ascii=False)
    proof.image_hash = (reading.image_hash or "")[:16] or None
    proof.txn_id = (reading.txn_id or "").strip()[:100] or None


def stored_reading(proof: PaymentProof) -> tuple[ProofReading, tuple[str, ...]] | None:
    if not proof.reading:
        return None
    data = json.loads(proof.reading)
    return ProofReading.from_json(data), tuple(data.get("flags") or ())


async def verdict_of(
    uow: UnitOfWork, order: Order, proof: PaymentProof, request: PaymentRequest
) -> Verdict | None:
    """The proof's reading against what its request (or bundle) owes now; None when unread."""
    found = stored_reading(proof)
    if found is None:
        return None
    reading, flags = found
    go = await uow.session.get_one(GroupOrder, order.go_id)
    if proof.bundle_id is not None:  # shared out over several orders: a person decides
        bundle = await uow.session.get_one(PaymentBundle, proof.bundle_id)
        reference, owed = bundle.reference, proof.amount_minor
        flags = (*flags, "a proof for several orders is approved by hand")
    else:
        reference, owed = request.reference, await ledger.outstanding(uow, request)
    if proof.amount_minor != owed:  # the buyer stated another amount: that is what would be credited
        said = format_money(proof.amount_minor, request.currency)
        flags = (*flags, f"the buyer says {said} was sent, not what is owed")
    expected = Expected(owed, request.currency, reference, order.placed_at, go.timezone)
    return judge(reading, expected, flags)
