"""Reading the outbox: claim due messages, then record how each delivery went.

A claim is a lease: the row stays ``pending`` with its next attempt pushed past the
lease, so a worker that dies mid-send leaves the message to be tried again, never lost.
The attempt is counted when it is claimed, and it is the claim's fence: a record or a
release that names the attempt it holds changes nothing once someone else has claimed
the row again. A delivery is recorded as soon as the platform accepts it, so after a
crash only the sends then in flight can go out a second time (docs/delivery-guarantees.md).

Lower ``priority`` goes first: transactional messages (0) overtake a broadcast backlog.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select, update

from core.db.models import Identity, OutboxMessage, User
from core.db.raw import Plan, Statement
from core.desk import OrderDesk
from core.languages import ENGLISH
from core.privacy.identities import reach
from core.uow import UnitOfWork

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8

TRANSACTIONAL = 0  # about the recipient's own order or payment
NOTICE = 10  # news about a GO the recipient is in
PROMOTIONAL = 50  # broadcasts; muted recipients never get these


@dataclass(frozen=True)
class Outgoing:
    id: int
    channel: str
    address: str
    identity_id: int
    template: str
    context: dict[str, Any]
    attempts: int
    group: bool = False  # a group chat, channel or list rather than one person
    priority: int = NOTICE
    created_at: datetime | None = None
    last_inbound_at: datetime | None = None  # when the recipient last wrote to us here
    # a masterlist post: rendered from the database at send time, edited in place after
    # its first send (core.services.masterlist)
    post_id: int | None = None
    language: str = "en"  # the recipient's (core.languages): what the message is written in

    @property
    def key(self) -> str:
        """The same for every attempt at this message, and unlike any other message's.

        Platforms that dedupe take it (Discord's nonce, at most 25 characters; an email's
        Message-ID), so a repeat after a crash can be recognised as one. The creation time
        keeps it unique across databases that reuse ids.
        """
        stamp = int(self.created_at.timestamp() * 1000) if self.created_at is not None else 0
        return f"gf{self.id}-{_base36(stamp)}"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


async def claim_due(
    uow: UnitOfWork,
    limit: int = 100,
    *,
    lease: timedelta = LEASE,
    exclude_channels: Collection[str] = (),
    exclude_ids: Collection[int] = (),
) -> list[Outgoing]:
    """Lease up to ``limit`` due messages, most urgent first.

    ``exclude_ids`` are messages the caller still holds (its send may outlast the lease):
    claiming one of them again would send it twice without any crash.

    Messages for a recipient already known to be unreachable are failed here, without a
    send: a dead recipient is never tried again and again.
    """
    async with uow:
        query = (
            select(
                OutboxMessage,
                Identity.channel,
                Identity.external_id,
                Identity.address,
                Identity.kind,
                Identity.reachable,
                Identity.last_inbound_at,
                User.language,
            )
            .join(Identity, Identity.id == OutboxMessage.identity_id)
            .join(User, User.id == Identity.user_id)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= uow.now)
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage)
        )
        if exclude_channels:
            query = query.where(Identity.channel.not_in(list(exclude_channels)))
        if exclude_ids:
            query = query.where(OutboxMessage.id.not_in(list(exclude_ids)))
        rows = (await uow.session.execute(query)).all()
        claimed = []
        for message, channel, external_id, sealed, kind, reachable, last_inbound_at, language in rows:
            address = reach(external_id, sealed)
            if not reachable:
                message.status = "failed"
                message.last_error = "recipient unreachable"
                await fall_back(uow, message)
                continue
            message.attempts += 1
            message.next_attempt_at = uow.now + lease
            claimed.append(
                Outgoing(
                    message.id,
                    channel,
                    address,
                    message.identity_id,
                    message.template,
                    json.loads(message.context),
                    message.attempts,
                    kind == "group",
                    message.priority,
                    message.created_at,
                    last_inbound_at,
                    message.masterlist_post_id,
                    language or ENGLISH,
                )
            )
        await uow.commit()
        return claimed


def sent_plan(message_ids: Sequence[int], now: datetime) -> Plan[int]:
    marks = ", ".join("?" * len(message_ids))
    recorded = yield Statement(
        "UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL "
        f"WHERE status = 'pending' AND id IN ({marks})",
        (now, *message_ids),
        "count",
    )
    return int(recorded or 0)


async def mark_sent_many(desk: OrderDesk, message_ids: Sequence[int]) -> int:
    """Record deliveries the platform just accepted; returns how many were still pending.

    The dispatcher records each send as it completes. The statement rides in the order
    desk's next batch (one database hop, committed with whatever else is being written
    then) rather than paying for a transaction of its own: a record is the most frequent
    write there is, and the sooner it commits the fewer sends a crash can repeat.
    """
    ids = list(message_ids)
    if not ids:
        return 0
    return int(await desk.run(lambda now: sent_plan(ids, now)))


async def defer(uow: UnitOfWork, until: Sequence[tuple[int, datetime]], reason: str | None = None) -> None:
    """Give leased messages back untried, due again at the given times (a rate limit, not a failure)."""
    if not until:
        return
    times = dict(until)
    async with uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(times)), OutboxMessage.status == "pending")
            .values(
                next_attempt_at=case(times, value=OutboxMessage.id),
                attempts=case(
                    (OutboxMessage.attempts > 0, OutboxMessage.attempts - 1), else_=OutboxMessage.attempts
                ),
                last_error=reason,
            )
        )
        await uow.commit()


async def release(uow: UnitOfWork, message: Outgoing) -> bool:
    """Give back, untried and due now, a message whose lease ran out before it was sent.

    Only if nobody has claimed it since (its attempts still read as this claim left
    them): whoever holds it now may be sending it. Returns whether it was given back.
    """
    async with uow:
        result = await uow.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.status == "pending",
                OutboxMessage.attempts == message.attempts,
            )
            .values(attempts=message.attempts - 1, next_attempt_at=uow.now)
        )
        await uow.commit()
        return bool(getattr(result, "rowcount", 0))


async def mark_retry(
    uow: UnitOfWork,
    message: Outgoing,
    error: str,
    retry_after: float | None = None,
    *,
    backoff_seconds: float = 2.0,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Try again later with exponential backoff and jitter; give up after ``max_attempts``."""
    if message.attempts >= max_attempts:
        await mark_failed(uow, message, error, unreachable=False)
        return
    backoff = min(600.0, backoff_seconds * 2.0 ** (message.attempts - 1))
    delay = retry_after if retry_after is not None else backoff
    delay *= random.uniform(1.0, 1.25)
    async with uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(next_attempt_at=uow.now + timedelta(seconds=delay), last_error=error[:500])
        )
        await uow.commit()


async def mark_failed(uow: UnitOfWork, message: Outgoing, error: str, *, unreachable: bool) -> None:
    """A final failure is recorded, not dropped; an unreachable recipient is not tried again."""
    async with uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(status="failed", last_error=error[:500])
        )
        if unreachable:
            await uow.session.execute(
                update(Identity).where(Identity.id == message.identity_id).values(reachable=False)
            )
            await fall_back(uow, await uow.session.get_one(OutboxMessage, message.id))
        await uow.commit()


async def fall_back(uow: UnitOfWork, message: OutboxMessage) -> bool:
    """In the caller's transaction: a message whose recipient cannot be reached goes to the
    same person's next reachable app (the one they chose with /prefer first), and they are
    told there, once, where their messages now go. False when they have no other app."""
    lost = await uow.session.get_one(Identity, message.identity_id)
    if lost.kind != "person":
        return False
    rows = (
        await uow.session.execute(
            select(Identity, User.preferred_channel)
            .join(User, User.id == Identity.user_id)
            .where(
                Identity.user_id == lost.user_id,
                Identity.id != lost.id,
                Identity.kind == "person",
                Identity.reachable.is_(True),
            )
            .order_by(Identity.id)
        )
    ).all()
    if not rows:
        return False
    others = [identity for identity, _ in rows]
    target = next((i for i in others if i.channel == rows[0][1]), others[0])
    await uow.notify(
        target.id,
        message.template,
        json.loads(message.context),
        dedupe_key=f"{message.dedupe_key[:180]}>{target.id}",
        priority=message.priority,
    )
    await uow.notify(
        target.id,
        "channel_fallback",
        {"lost": lost.channel, "now": target.channel},
        dedupe_key=f"fallback:{lost.id}>{target.id}",
        priority=TRANSACTIONAL,
    )
    return True
