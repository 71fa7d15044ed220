"""The customer-service window: a platform (WhatsApp) that takes free-form messages only
within a while of the person's last message to us, and pre-approved templates at any time.

When a person writes, ``note_inbound`` records the time on their identity and gives every
message that was waiting for them back to the outbox, due now. A message that falls outside
the window with no template for it is ``mark_waiting``: it is not a failure and not retried
as if the platform had a passing problem; it simply waits, visibly (``/broadcasts`` counts
it), until the person writes again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from core import inbound
from core.db.models import Identity, OutboxMessage
from core.outbox import Outgoing
from core.privacy.identities import stored_id
from core.uow import UnitOfWork

WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window
WAITING = "waiting"


def inside(last_inbound_at: datetime | None, now: datetime, window: timedelta = WINDOW) -> bool:
    return last_inbound_at is not None and now - last_inbound_at < window


async def note_inbound(uow: UnitOfWork, channel: str, external_id: str) -> int:
    """The person behind (channel, external id) just wrote: the window opens again, and the
    messages waiting for them are due now. Returns how many were given back. Safe to repeat,
    so it never carries the mark of the message being handled."""
    with inbound.aside():
        async with uow:
            identity_id = await uow.session.scalar(  # locked: see mark_waiting
                select(Identity.id)
                .where(Identity.channel == channel, Identity.external_id == stored_id(channel, external_id))
                .with_for_update()
            )
            if identity_id is None:
                return 0
            await uow.session.execute(
                update(Identity).where(Identity.id == identity_id).values(last_inbound_at=uow.now)
            )
            released = await uow.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.identity_id == identity_id, OutboxMessage.status == WAITING)
                .values(status="pending", next_attempt_at=uow.now, last_error=None)
            )
            await uow.commit()
            return int(released.rowcount or 0)  # type: ignore[attr-defined]


async def mark_waiting(uow: UnitOfWork, message: Outgoing, reason: str) -> bool:
    """Park a claimed message until its recipient writes again; its attempt is not counted.

    The recipient's identity is locked first, as ``note_inbound`` locks it, so a message
    that arrives meanwhile is never missed: if they wrote since the claim looked, the
    message is given back due now instead (False). Only while this claim still holds it
    (its attempts read as the claim left them)."""
    async with uow:
        last = await uow.session.scalar(
            select(Identity.last_inbound_at).where(Identity.id == message.identity_id).with_for_update()
        )
        wrote_since = last is not None and (message.last_inbound_at is None or last > message.last_inbound_at)
        result = await uow.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message.id,
                OutboxMessage.status == "pending",
                OutboxMessage.attempts == message.attempts,
            )
            .values(
                status="pending" if wrote_since else WAITING,
                attempts=message.attempts - 1,
                next_attempt_at=uow.now,
                last_error=None if wrote_since else reason[:500],
            )
        )
        await uow.commit()
        return bool(getattr(result, "rowcount", 0)) and not wrote_since
