"""Reading the outbox: claim due messages, then record how each delivery went.

A claim is a lease: the row stays ``pending`` with its next attempt pushed past the
lease, so a worker that dies mid-send leaves the message to be tried again, never lost.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from core.db.models import Identity, OutboxMessage
from core.uow import UnitOfWork

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Outgoing:
    id: int
    channel: str
    address: str
    identity_id: int
    template: str
    context: dict[str, Any]
    attempts: int


async def claim_due(uow: UnitOfWork, limit: int = 100) -> list[Outgoing]:
    async with uow:
        rows = (
            await uow.session.execute(
                select(OutboxMessage, Identity.channel, Identity.external_id)
                .join(Identity, Identity.id == OutboxMessage.identity_id)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= uow.now)
                .order_by(OutboxMessage.priority, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=OutboxMessage)
            )
        ).all()
        claimed = []
        for message, channel, address in rows:
            message.attempts += 1
            message.next_attempt_at = uow.now + LEASE
            claimed.append(
                Outgoing(
                    message.id,
                    channel,
                    address,
                    message.identity_id,
                    message.template,
                    json.loads(message.context),
                    message.attempts,
                )
            )
        await uow.commit()
        return claimed


async def mark_sent(uow: UnitOfWork, message_id: int) -> None:
    async with uow:
        await uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="sent", sent_at=uow.now, last_error=None)
        )
        await uow.commit()


async def mark_retry(
    uow: UnitOfWork, message: Outgoing, error: str, retry_after: float | None = None
) -> None:
    """Try again later with exponential backoff and jitter; give up after MAX_ATTEMPTS."""
    if message.attempts >= MAX_ATTEMPTS:
        await mark_failed(uow, message, error, unreachable=False)
        return
    delay = retry_after if retry_after is not None else min(600.0, 2.0**message.attempts)
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
        await uow.commit()
