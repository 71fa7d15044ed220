"""Telling a GO's GOM (and the helpers who opted in) what happened without them.

The scheduler closes GOs at their deadline and buyers fill them while the GOM sleeps;
these functions, run by the tick, find such news in the database and queue one notice per
recipient. Each notice has its own dedupe key, and the outbox keeps a key once, so a tick
run twice, or by two workers at the same moment, tells each person once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from core.db.models import AuditEntry, GroupOrder, NoticeMute, NoticePreference, StaffMember
from core.outbox import NOTICE
from core.services import go_decision
from core.services.notices import go_context, sent_keys, untold_milestones
from core.status import GOStatus
from core.uow import UnitOfWork

# How far back the tick looks for decisions it has not told yet (gomflow may have been down).
LOOK_BACK = timedelta(days=7)
DECISIONS = (GOStatus.CLOSED, GOStatus.CONFIRMED, GOStatus.FAILED)
STAFF_MILESTONES = ("moq_reached", "sold_out")


async def staff_to_tell(uow: UnitOfWork, go: GroupOrder) -> list[int]:
    """The GO's GOM and the GOM's helpers who opted in, less whoever muted this GO."""
    opted_in = select(NoticePreference.user_id).where(NoticePreference.helper_opt_in.is_(True))
    muted = select(NoticeMute.user_id).where(NoticeMute.go_id == go.id)
    rows = await uow.session.scalars(
        select(StaffMember.member_id)
        .where(
            StaffMember.gom_id == go.gom_id,
            (StaffMember.member_id == go.gom_id) | StaffMember.member_id.in_(opted_in),
            StaffMember.member_id.not_in(muted),
        )
        .order_by(StaffMember.member_id)
    )
    return list(rows.all())


async def tell_staff(
    uow: UnitOfWork, go: GroupOrder, template: str, context: dict[str, Any], *, key: str
) -> int:
    """Queue ``template`` for each person ``staff_to_tell`` names; returns how many were queued."""
    told = 0
    for user_id in await staff_to_tell(uow, go):
        told += await uow.notify_user(
            user_id, template, context, dedupe_key=f"{key}:{user_id}", priority=NOTICE
        )
    return told


async def tell_scheduler_decisions(uow: UnitOfWork, window_hours: float = 48.0) -> int:
    """Tell the staff each GO the scheduler confirmed or failed, or left waiting for their
    decision below its MOQ (with the choices, and when it fails if nobody chooses).

    The decision is read from the audit log (a status change with no actor is the
    scheduler's), written in the same transaction as the change itself, so a crash
    between closing and telling loses nothing: the next tick tells. A wait is told only
    while the GO still waits, once per closing (a reopened GO may wait again).
    """
    async with uow:
        rows = (
            await uow.session.execute(
                select(AuditEntry.id, AuditEntry.entity_id, AuditEntry.to_status)
                .where(
                    AuditEntry.entity == "group_order",
                    AuditEntry.actor_id.is_(None),
                    AuditEntry.to_status.in_(DECISIONS),
                    AuditEntry.at >= uow.now - LOOK_BACK,
                )
                .order_by(AuditEntry.id)
            )
        ).all()
        told = 0
        for entry_id, go_id, status in rows:
            go = await uow.session.get_one(GroupOrder, go_id)
            context = {**go_context(go), "status": status}
            key = f"staff_decided:{go_id}:{status}"
            if status == GOStatus.CLOSED:
                waiting = await go_decision.waiting_since(uow, go_id)
                if go.status != GOStatus.CLOSED or waiting.entry_id != entry_id:
                    continue  # decided already, or an earlier wait
                window = timedelta(hours=window_hours)
                context["decide_by"] = go_decision.decision_due(waiting.since, window, go.timezone)
                key = f"staff_decided:{go_id}:closed-{entry_id}"
            if await sent_keys(uow, key + ":"):
                continue
            told += await tell_staff(uow, go, "staff_go_decided", context, key=key)
        await uow.commit()
        return told


async def tell_staff_milestones(uow: UnitOfWork) -> int:
    """MOQ reached, sold out: each told to the staff once per open GO, the highest only
    when a GO passes both between two ticks."""
    async with uow:
        told = 0
        full_or_past_moq = (GroupOrder.reserved_units >= GroupOrder.capacity) | (
            (GroupOrder.moq > 0) & (GroupOrder.reserved_units >= GroupOrder.moq)
        )
        for go, reached in await untold_milestones(
            uow, "staff_milestone", STAFF_MILESTONES, full_or_past_moq
        ):
            told += await tell_staff(
                uow,
                go,
                "staff_milestone",
                {**go_context(go), "milestone": reached},
                key=f"staff_milestone:{go.id}:{reached}",
            )
        await uow.commit()
        return told
