"""Inbound idempotency (DESIGN rule 5): platform update ids, MessageSids, Message-IDs and
payment event ids are recorded, so a repeat is acknowledged and ignored."""

from __future__ import annotations

from sqlalchemy import delete

from core.db.models import ProcessedInbound
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


async def claim_delivery(uow: UnitOfWork, source: str, external_id: str) -> bool:
    """Record a delivery on its own, for adapters whose work commits separately.

    Claims go through the order desk, batched with whatever else is being written.
    """
    return await uow.desk.claim(source, external_id)


async def forget_delivery(uow: UnitOfWork, source: str, external_id: str) -> None:
    """Undo a claim whose work failed unexpectedly, so the delivery may be tried again."""
    async with uow:
        await uow.session.execute(
            delete(ProcessedInbound).where(
                ProcessedInbound.source == source, ProcessedInbound.external_id == external_id[:MAX_ID]
            )
        )
        await uow.commit()
