"""A GOM's broadcasts to a GO's buyers, waitlist or linked channels, now or later.

A broadcast is a row first; queueing writes one outbox row per recipient in bulk, each
with the dedupe key ``broadcast:<id>:<identity>``, so queueing twice (a retry, a restart,
two scheduler ticks) never sends anyone the message twice. Muted buyers are left out.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import (
    Broadcast,
    GroupOrder,
    Identity,
    LinkedChannel,
    Order,
    OutboxMessage,
    StaffMember,
    User,
    WaitlistEntry,
)
from core.errors import InvalidInput, NotFound
from core.lookups import load_go, lock_go
from core.outbox import NOTICE, PROMOTIONAL
from core.services.accounts import Actor, require_admin
from core.status import OrderStatus, WaitlistStatus
from core.uow import UnitOfWork
from core.when import local_text, parse_when

AUDIENCES = {
    "all": "every buyer with a live order",
    "unpaid": "buyers who have not paid yet",
    "paid": "buyers who have paid",
    "waitlist": "buyers on the waitlist",
    "channels": "the GO's linked group channels",
}
MAX_BODY = 1500
INSERT_CHUNK = 1000


@dataclass(frozen=True)
class BroadcastView:
    id: int
    go_code: str
    audience: str
    body: str
    status: str  # draft (awaiting confirmation), scheduled, queued, cancelled
    recipients: int
    by_channel: dict[str, int] = field(default_factory=dict)
    send_at: str | None = None
    sent: int = 0
    pending: int = 0
    failed: int = 0
    waiting: int = 0  # outside a recipient's WhatsApp window with no template: until they write


async def prepare_broadcast(
    uow: UnitOfWork,
    actor: Actor,
    go_code: str,
    audience: str,
    body: str,
    *,
    confirm_over: int,
    when: str | None = None,
) -> BroadcastView:
    """Send now (when few people get it), or hold it for confirmation, or schedule it."""
    audience = _audience(audience)
    body = body.strip()
    if not body:
        raise InvalidInput("Say what to broadcast: /broadcast CODE AUDIENCE MESSAGE.")
    if len(body) > MAX_BODY:
        raise InvalidInput(
            "A broadcast is at most %(max_body)s characters (this one is %(body_count)s).",
            max_body=MAX_BODY,
            body_count=len(body),
        )
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        send_at = _future(when, go, uow.now) if when is not None else None
        recipients = await _recipients(uow, go, audience)
        by_channel = dict(Counter(channel for _, channel in recipients))
        status = "scheduled" if send_at else ("draft" if len(recipients) > confirm_over else "queued")
        broadcast = Broadcast(
            go_id=go.id,
            author_id=actor.user_id,
            audience=audience,
            body=body,
            status=status,
            send_at=send_at,
            recipients=len(recipients),
            created_at=uow.now,
        )
        uow.session.add(broadcast)
        await uow.session.flush()
        if status == "queued":
            await _queue(uow, go, broadcast, recipients)
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action=f"broadcast_{status}",
            detail=f"#{broadcast.id} to {audience}: {len(recipients)}",
        )
        await uow.commit()
        return _view(go, broadcast, by_channel)


async def confirm_broadcast(uow: UnitOfWork, actor: Actor, broadcast_id: int) -> BroadcastView:
    async with uow:
        broadcast, go = await _own(uow, actor, broadcast_id)
        if broadcast.status != "draft":
            raise InvalidInput(
                "Broadcast #%(id)s is %(status)s; there is nothing to confirm.",
                id=broadcast.id,
                status=broadcast.status,
            )
        recipients = await _recipients(uow, go, broadcast.audience)
        await _queue(uow, go, broadcast, recipients)
        await uow.commit()
        return _view(go, broadcast, dict(Counter(c for _, c in recipients)))


async def cancel_broadcast(uow: UnitOfWork, actor: Actor, broadcast_id: int) -> BroadcastView:
    """Cancel a scheduled broadcast, or one still waiting for confirmation."""
    async with uow:
        broadcast, go = await _own(uow, actor, broadcast_id)
        if broadcast.status not in ("scheduled", "draft"):
            raise InvalidInput(
                "Broadcast #%(id)s is %(status)s; it can no longer be cancelled.",
                id=broadcast.id,
                status=broadcast.status,
            )
        broadcast.status = "cancelled"
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="broadcast_cancelled",
            detail=f"#{broadcast.id}",
        )
        await uow.commit()
        return _view(go, broadcast, {})


async def list_broadcasts(uow: UnitOfWork, actor: Actor, *, scheduled_only: bool) -> list[BroadcastView]:
    """The broadcasts of every GO the actor administers, newest first, with delivery counts."""
    async with uow:
        query = (
            select(Broadcast, GroupOrder)
            .join(GroupOrder, GroupOrder.id == Broadcast.go_id)
            .join(StaffMember, StaffMember.gom_id == GroupOrder.gom_id)
            .where(StaffMember.member_id == actor.user_id)
            .order_by(Broadcast.id.desc())
            .limit(20)
        )
        if scheduled_only:
            query = query.where(Broadcast.status == "scheduled")
        rows = (await uow.session.execute(query)).all()
        ids = [b.id for b, _ in rows]
        counts: dict[tuple[int, str], int] = {}
        if ids:
            for broadcast_id, status, n in await uow.session.execute(
                select(OutboxMessage.broadcast_id, OutboxMessage.status, func.count())
                .where(OutboxMessage.broadcast_id.in_(ids))
                .group_by(OutboxMessage.broadcast_id, OutboxMessage.status)
            ):
                counts[(broadcast_id or 0, status)] = n
        return [
            _view(
                go,
                b,
                {},
                sent=counts.get((b.id, "sent"), 0),
                pending=counts.get((b.id, "pending"), 0),
                failed=counts.get((b.id, "failed"), 0),
                waiting=counts.get((b.id, "waiting"), 0),
            )
            for b, go in rows
        ]


async def release_due_broadcasts(uow: UnitOfWork) -> int:
    """Queue every scheduled broadcast whose time has come (the scheduler's job); returns how many."""
    async with uow:
        due = list(
            (
                await uow.session.scalars(
                    select(Broadcast.id).where(Broadcast.status == "scheduled", Broadcast.send_at <= uow.now)
                )
            ).all()
        )
    for broadcast_id in due:
        async with uow:
            go = await lock_go(uow, (await uow.session.get_one(Broadcast, broadcast_id)).go_id)
            broadcast = await _lock(uow, broadcast_id)
            if broadcast.status != "scheduled":
                continue
            await _queue(uow, go, broadcast, await _recipients(uow, go, broadcast.audience))
            await uow.commit()
    return len(due)


async def _queue(
    uow: UnitOfWork, go: GroupOrder, broadcast: Broadcast, recipients: list[tuple[int, str]]
) -> None:
    author = await uow.session.get_one(User, broadcast.author_id)
    context = json.dumps(
        {"go_code": go.code, "go_title": go.title, "body": broadcast.body, "gom": author.display_name},
        ensure_ascii=False,
    )
    priority = NOTICE if broadcast.audience == "channels" else PROMOTIONAL
    rows: list[dict[str, Any]] = [
        {
            "dedupe_key": f"broadcast:{broadcast.id}:{identity_id}",
            "identity_id": identity_id,
            "template": "broadcast",
            "context": context,
            "priority": priority,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": uow.now,
            "created_at": uow.now,
            "broadcast_id": broadcast.id,
        }
        for identity_id, _ in recipients
    ]
    bind = uow.session.bind
    dialect = postgresql if bind is not None and bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
    for start in range(0, len(rows), INSERT_CHUNK):
        await uow.session.execute(statement, rows[start : start + INSERT_CHUNK])
    broadcast.status = "queued"
    broadcast.recipients = len(recipients)
    broadcast.queued_at = uow.now
    uow.mark_queued(len(rows))


async def _recipients(uow: UnitOfWork, go: GroupOrder, audience: str) -> list[tuple[int, str]]:
    """(identity id, channel) per recipient: one identity per buyer, on the channel they used."""
    if audience == "channels":
        rows = await uow.session.execute(
            select(Identity.id, Identity.channel)
            .join(LinkedChannel, LinkedChannel.identity_id == Identity.id)
            .where(
                LinkedChannel.go_id == go.id,
                LinkedChannel.status == "confirmed",  # an email list that never confirmed gets nothing
                Identity.reachable.is_(True),
            )
            .order_by(LinkedChannel.id)
        )
        return [(i, c) for i, c in rows.all()]
    if audience == "waitlist":
        people = select(
            WaitlistEntry.buyer_id.label("uid"), func.min(WaitlistEntry.channel).label("pref")
        ).where(WaitlistEntry.go_id == go.id, WaitlistEntry.status == WaitlistStatus.WAITING)
        people = people.group_by(WaitlistEntry.buyer_id)
    else:
        statuses = {
            "all": [OrderStatus.PLACED, OrderStatus.PAID],
            "unpaid": [OrderStatus.PLACED],
            "paid": [OrderStatus.PAID],
        }[audience]
        people = (
            select(Order.buyer_id.label("uid"), func.min(Order.channel).label("pref"))
            .where(Order.go_id == go.id, Order.status.in_(statuses))
            .group_by(Order.buyer_id)
        )
    buyers = people.subquery()
    found = await uow.session.execute(
        select(buyers.c.uid, buyers.c.pref, Identity.id, Identity.channel)
        .join(Identity, Identity.user_id == buyers.c.uid)
        .join(User, User.id == buyers.c.uid)
        .where(Identity.reachable.is_(True), Identity.kind == "person", User.muted.is_(False))
        .order_by(Identity.id)
    )
    chosen: dict[int, tuple[int, str]] = {}
    for uid, pref, identity_id, channel in found.all():
        if uid not in chosen or (channel == pref and chosen[uid][1] != pref):
            chosen[uid] = (identity_id, channel)
    return sorted(chosen.values())


async def _own(uow: UnitOfWork, actor: Actor, broadcast_id: int) -> tuple[Broadcast, GroupOrder]:
    """The broadcast, locked with its GO: a confirm and a cancel at once take turns."""
    found = await uow.session.get(Broadcast, broadcast_id)
    if found is None:
        raise NotFound(
            "There is no broadcast #%(broadcast_id)s. /broadcasts lists yours.", broadcast_id=broadcast_id
        )
    go = await lock_go(uow, found.go_id)
    await require_admin(uow, actor, go)
    return await _lock(uow, broadcast_id), go


async def _lock(uow: UnitOfWork, broadcast_id: int) -> Broadcast:
    return await uow.session.get_one(Broadcast, broadcast_id, with_for_update=True, populate_existing=True)


def _audience(text: str) -> str:
    audience = text.strip().lower()
    if audience not in AUDIENCES:
        raise InvalidInput("Audience must be one of: %(audiences)s.", audiences=", ".join(AUDIENCES))
    return audience


def _future(when: str, go: GroupOrder, now: datetime) -> datetime:
    at = parse_when(when, go.timezone, now)
    if at <= now:
        raise InvalidInput("That time has already passed; pick a time in the future.")
    return at


def _view(go: GroupOrder, b: Broadcast, by_channel: dict[str, int], **counts: int) -> BroadcastView:
    return BroadcastView(
        id=b.id,
        go_code=go.code,
        audience=b.audience,
        body=b.body,
        status=b.status,
        recipients=b.recipients,
        by_channel=by_channel,
        send_at=local_text(b.send_at, go.timezone) if b.send_at else None,
        **counts,
    )
