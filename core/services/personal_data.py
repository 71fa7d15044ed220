"""What gomflow holds about a person, handed to them (/mydata), and erased on request
(/forgetme, or a GOM's /forgetbuyer on a buyer's written request).

Erasure keeps the books: orders, payment requests, payments and refunds stay, with their
amounts and statuses, so the GO still adds up (``gomflow check``); the person behind them
becomes "erased buyer #N". What named or reached them goes: their name, every phone
number, email address and chat id (the identity is kept, as orders point at it through
the outbox, but its id no longer matches anyone), saved addresses, proof images and typed
references, conversations in progress, link codes, and the text of messages to them.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from core.db.models import (
    Address,
    Conversation,
    GroupOrder,
    Identity,
    LinkCode,
    Order,
    OrderLine,
    OutboxMessage,
    Parcel,
    PaymentProof,
    PaymentRequest,
    User,
    WaitlistEntry,
)
from core.errors import PermissionDenied
from core.lookups import load_order
from core.privacy.identities import reach
from core.services.accounts import Actor
from core.uow import UnitOfWork

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
A_GOM = "A GOM's account holds other people's orders, so it is closed by the operator, not here."


@dataclass(frozen=True)
class Export:
    filename: str
    content: bytes  # a ZIP: data.json and the person's proof images


async def my_data(uow: UnitOfWork, actor: Actor) -> Export:
    """Everything gomflow holds about the asking person, as one ZIP file."""
    async with uow:
        data, images = await _gather(uow, actor.user_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=_plain))
        for name, content in images:
            archive.writestr(name, content)
    return Export(f"gomflow-data-{actor.user_id}.zip", buffer.getvalue())


async def forget_me(uow: UnitOfWork, actor: Actor) -> int:
    """Erase the asking person; returns the number they are known by now ("erased buyer #N")."""
    async with uow:
        await _erase(uow, actor.user_id, actor.user_id, "on their own request")
        await uow.commit()
    return actor.user_id


async def buyer_to_forget(uow: UnitOfWork, gom: Actor, order_number: str) -> str:
    """The order whose buyer the GOM asks to erase, checked before the question is asked:
    only the GO's own GOM (the data's controller) may, not their team."""
    async with uow:
        return (await _owned_order(uow, gom, order_number)).number


async def forget_buyer(uow: UnitOfWork, gom: Actor, order_number: str) -> int:
    """A GOM erases the buyer of one of their orders, on that buyer's written request."""
    async with uow:
        order = await _owned_order(uow, gom, order_number)
        await _erase(uow, order.buyer_id, gom.user_id, f"by their GOM, for {order.number}")
        await uow.commit()
    return order.buyer_id


async def _owned_order(uow: UnitOfWork, gom: Actor, order_number: str) -> Order:
    order = await load_order(uow, order_number)
    go = await uow.session.get_one(GroupOrder, order.go_id)
    if not gom.is_gom or go.gom_id != gom.user_id:
        raise PermissionDenied("%(number)s is not in one of your group orders.", number=order.number)
    return order


async def _erase(uow: UnitOfWork, user_id: int, actor_id: int, why: str) -> None:
    user = await uow.session.get_one(User, user_id, with_for_update=True)
    if user.is_gom:
        raise PermissionDenied(A_GOM)
    identities = list(await uow.session.scalars(select(Identity.id).where(Identity.user_id == user_id)))
    for identity_id in identities:  # unique per channel, matching nobody
        await uow.session.execute(
            update(Identity)
            .where(Identity.id == identity_id)
            .values(external_id=f"erased:{identity_id}", address=None, handle=None, handle_seen_at=None)
            .values(reachable=False, last_inbound_at=None)
        )
    await uow.session.execute(delete(Conversation).where(Conversation.identity_id.in_(identities)))
    await uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.identity_id.in_(identities), OutboxMessage.status.in_(["pending", "waiting"]))
        .values(status="failed", last_error="recipient erased")
    )
    await uow.session.execute(
        update(OutboxMessage).where(OutboxMessage.identity_id.in_(identities)).values(context="{}")
    )
    await uow.session.execute(delete(Address).where(Address.user_id == user_id))
    await uow.session.execute(
        update(PaymentProof)
        .where(PaymentProof.buyer_id == user_id)
        .values(image=None, mime_type=None, reference="")
    )
    await uow.session.execute(delete(LinkCode).where(LinkCode.user_id == user_id))
    user.display_name = f"erased buyer #{user_id}"
    user.muted = True
    user.preferred_channel = None
    uow.audit(actor_id=actor_id, entity="user", entity_id=user_id, action="erased", detail=why)


async def _gather(uow: UnitOfWork, user_id: int) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    session = uow.session
    user = await session.get_one(User, user_id)
    identities = await session.scalars(
        select(Identity).where(Identity.user_id == user_id).order_by(Identity.id)
    )
    addresses = await session.scalars(select(Address).where(Address.user_id == user_id).order_by(Address.id))
    orders = list(await session.scalars(select(Order).where(Order.buyer_id == user_id).order_by(Order.id)))
    codes = {o.go_id: (await session.get_one(GroupOrder, o.go_id)).code for o in orders}
    proofs = await session.scalars(
        select(PaymentProof).where(PaymentProof.buyer_id == user_id).order_by(PaymentProof.id)
    )
    images: list[tuple[str, bytes]] = []
    proof_rows = []
    for proof in proofs:
        image = None
        if proof.image is not None:
            image = f"proof-{proof.id}.{EXTENSIONS.get(proof.mime_type or '', 'bin')}"
            images.append((image, proof.image))
        proof_rows.append(
            _row(proof, "id", "request_id", "reference", "amount_minor", "status", "created_at")
            | {"image": image}
        )
    data = {
        "person": _row(user, "id", "display_name", "created_at", "muted", "preferred_channel"),
        "accounts": [
            {
                "app": i.channel,
                "id": reach(i.external_id, i.address),
                "handle": i.handle,
                "since": i.created_at,
            }
            for i in identities
        ],
        "addresses": [
            _row(a, "id", "recipient", "phone", "line1", "line2", "postal_code", "country", "created_at")
            for a in addresses
        ],
        "orders": [await _order(uow, order, codes[order.go_id]) for order in orders],
        "payment_proofs": proof_rows,
        "waitlist": [
            _row(w, "go_id", "item_id", "quantity", "status", "created_at")
            for w in await session.scalars(select(WaitlistEntry).where(WaitlistEntry.buyer_id == user_id))
        ],
        "parcels": [
            _row(p, "go_id", "option_id", "carrier", "tracking", "shipped_at")
            for p in await session.scalars(select(Parcel).where(Parcel.buyer_id == user_id))
        ],
    }
    return data, images


async def _order(uow: UnitOfWork, order: Order, go_code: str) -> dict[str, Any]:
    lines = await uow.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))
    requests = await uow.session.scalars(select(PaymentRequest).where(PaymentRequest.order_id == order.id))
    return _row(order, "number", "status", "units", "total_minor", "currency", "channel", "placed_at") | {
        "group_order": go_code,
        "lines": [_row(line, "item_id", "variant_id", "quantity", "unit_price_minor") for line in lines],
        "payments_owed": [
            _row(r, "kind", "reference", "amount_minor", "currency", "status", "due_at", "paid_at")
            for r in requests
        ],
    }


def _row(entity: object, *names: str) -> dict[str, Any]:
    return {name: getattr(entity, name) for name in names}


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
