"""What a platform reports after it accepted an outbox message (Twilio's status callback).

Reports can arrive late and out of order ("sent" after "delivered"), and each may be
repeated, so a status only ever moves forward: each update is one compare-and-set that
names the statuses it may replace (DESIGN rule 4). A message that could not be delivered
because the number cannot receive it marks its identity unreachable, once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import select, update

from core.db.models import Identity, OutboxMessage
from core.uow import UnitOfWork

log = logging.getLogger(__name__)

# each status, and the ones it may replace (a final one replaces any that is not final)
PROGRESS = ("queued", "sending", "sent", "delivered", "read")
FINAL_FAILURES = ("undelivered", "failed")
KEY = re.compile(r"^gf(\d{1,18})-[0-9a-z]{1,16}$")


@dataclass(frozen=True)
class DeliveryReport:
    recorded: bool  # the outbox message moved to this status
    marked_unreachable: bool  # this report made its recipient unreachable


def _may_replace(status: str) -> tuple[str, ...] | None:
    if status in PROGRESS:
        return PROGRESS[: PROGRESS.index(status)]
    if status in FINAL_FAILURES:
        return PROGRESS[:3]  # a failure after delivered is not believed
    return None


async def record_delivery(
    uow: UnitOfWork, key: str, status: str, error_code: int | None, *, unreachable: bool
) -> DeliveryReport:
    """Record ``status`` for the outbox message whose key is ``key``; an unknown key or
    status is ignored (and logged). ``unreachable``: the platform said the number cannot
    receive messages."""
    status = status.strip().lower()
    match = KEY.match(key)
    replaceable = _may_replace(status)
    if match is None or replaceable is None:
        log.warning("delivery report ignored: key %r, status %r", key[:40], status[:20])
        return DeliveryReport(False, False)
    message_id = int(match.group(1))
    async with uow:
        moved = await uow.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                (OutboxMessage.delivery_status.is_(None)) | OutboxMessage.delivery_status.in_(replaceable),
            )
            .values(delivery_status=status, delivery_error=error_code)
        )
        recorded = moved.rowcount == 1  # type: ignore[attr-defined]
        marked = False
        if recorded and unreachable and status in FINAL_FAILURES:
            identity_id = await uow.session.scalar(
                select(OutboxMessage.identity_id).where(OutboxMessage.id == message_id)
            )
            gone = await uow.session.execute(
                update(Identity)
                .where(Identity.id == identity_id, Identity.reachable.is_(True))
                .values(reachable=False)
            )
            marked = gone.rowcount == 1  # type: ignore[attr-defined]
            if marked and identity_id is not None:
                uow.audit(
                    actor_id=None,
                    entity="identity",
                    entity_id=identity_id,
                    action="unreachable",
                    detail=f"delivery {status}, error {error_code}",
                )
        await uow.commit()
    return DeliveryReport(recorded, marked)
