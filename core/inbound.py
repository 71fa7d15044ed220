"""Inbound idempotency (DESIGN rule 5): platform update ids, MessageSids, Message-IDs and
payment event ids are recorded, so a repeat is acknowledged and ignored."""

from __future__ import annotations

from datetime import datetime

from core.db.raw import Plan, Statement, run_session
from core.uow import UnitOfWork

MAX_ID = 200


CLAIM = (
    "INSERT INTO processed_inbound (source, external_id, processed_at) VALUES (?, ?, ?) "
    "ON CONFLICT (source, external_id) DO NOTHING"
)


def claim_plan(source: str, external_id: str, now: datetime) -> Plan[bool]:
    claimed = yield Statement(CLAIM, (source, external_id[:MAX_ID], now), "count")
    return bool(claimed == 1)


async def claim_delivery(uow: UnitOfWork, source: str, external_id: str) -> bool:
    """Record a delivery on its own, for adapters whose work commits separately.

    Claims go through the order desk, batched with whatever else is being written.
    """
    return bool(await uow.desk.run(lambda now: claim_plan(source, external_id, now)))


async def first_delivery(uow: UnitOfWork, source: str, external_id: str) -> bool:
    """Record ``external_id`` inside the caller's open unit of work; False if already seen.

    Call it in the same transaction as the work the delivery causes, so the record and
    the work commit (or roll back) together.
    """
    return await run_session(uow.session, claim_plan(source, external_id, uow.now))
