"""Inbound idempotency (DESIGN rule 5): platform update ids, MessageSids, Message-IDs and
payment event ids are recorded, so a repeat is acknowledged and ignored."""

from __future__ import annotations

from datetime import datetime

from core.db.models import ProcessedInbound
from core.db.raw import Plan, Statement
from core.db.upsert import insert_ignoring_conflict
from core.uow import UnitOfWork

MAX_ID = 200


async def first_delivery(uow: UnitOfWork, source: str, external_id: str) -> bool:
    """Record ``external_id`` inside the caller's open unit of work; False if already seen.

    Call it in the same transaction as the work the delivery causes, so the record and
    the work commit (or roll back) together.
    """
    result = await uow.session.execute(
        insert_ignoring_conflict(
            uow.session,
            ProcessedInbound,
            {"source": source, "external_id": external_id[:MAX_ID], "processed_at": uow.now},
            ["source", "external_id"],
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
