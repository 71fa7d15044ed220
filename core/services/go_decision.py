"""A GO below its MOQ at its deadline waits for its GOM: go ahead, fail it, or reopen it.

The scheduler leaves such a GO CLOSED (``close_group_order``) rather than failing it,
since a GOM often knows buyers are still coming. While it waits no order is taken, the
orders keep their reservations and payments still land. The GOM goes ahead or fails it
with ``/close``, or reopens it here with a new deadline; if she does nothing for the
decision window, the scheduler fails it as it always did. When it started waiting is
read from the audit log (the latest change to CLOSED), so no column is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.db.models import AuditEntry, GroupOrder
from core.errors import InvalidInput
from core.lookups import load_go
from core.services.accounts import Actor, require_admin
from core.services.group_orders import fail_group_order
from core.status import GOStatus
from core.transitions import transition
from core.uow import UnitOfWork
from core.when import local_text, parse_when

REOPENED = "reopened"  # the audit action of CLOSED -> OPEN: channels announce it as such


@dataclass(frozen=True)
class Waiting:
    entry_id: int  # the audit entry of the change to CLOSED
    since: datetime


async def waiting_since(uow: UnitOfWork, go_id: int) -> Waiting:
    """The latest change of the GO to CLOSED (every closed GO has one)."""
    row = (
        await uow.session.execute(
            select(AuditEntry.id, AuditEntry.at)
            .where(AuditEntry.entity == "group_order", AuditEntry.entity_id == go_id)
            .where(AuditEntry.to_status == GOStatus.CLOSED)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
    ).one()
    return Waiting(row.id, row.at)


async def undecided_group_orders(uow: UnitOfWork, window: timedelta) -> list[str]:
    """Codes of the GOs that have waited CLOSED for longer than ``window``."""
    closed_at = (
        select(AuditEntry.entity_id.label("go_id"), func.max(AuditEntry.at).label("at"))
        .where(AuditEntry.entity == "group_order", AuditEntry.to_status == GOStatus.CLOSED)
        .group_by(AuditEntry.entity_id)
        .subquery()
    )
    async with uow:
        rows = await uow.session.scalars(
            select(GroupOrder.code)
            .join(closed_at, closed_at.c.go_id == GroupOrder.id)
            .where(GroupOrder.status == GOStatus.CLOSED, closed_at.c.at <= uow.now - window)
            .order_by(GroupOrder.id)
        )
        return list(rows.all())


async def fail_undecided_group_order(uow: UnitOfWork, go_code: str, window: timedelta) -> bool:
    """Fail the GO if it still waits and its window has ended (checked again under its lock,
    so a /reopen or /close committed meanwhile wins); True when it failed here."""
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        if go.status != GOStatus.CLOSED:
            return False
        if (await waiting_since(uow, go.id)).since > uow.now - window:
            return False
        hours = round(window.total_seconds() / 3600)
        detail = f"MOQ not met: {go.reserved_units}/{go.moq}; no decision within {hours} hours"
        await fail_group_order(uow, go, None, detail)
        await uow.commit()
        return True


async def reopen_group_order(uow: UnitOfWork, actor: Actor, go_code: str, when: str) -> datetime:
    """Take orders again in a GO waiting for its GOM's decision, until a new deadline
    (``+3d`` counts from now, as the old deadline has passed; a date sets it)."""
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        if go.status != GOStatus.CLOSED:
            raise InvalidInput(
                (
                    "%(code)s is %(status)s; only a GO closed below its MOQ and waiting for your "
                    "decision can be reopened."
                ),
                code=go.code,
                status=go.status,
            )
        deadline = parse_when(when, go.timezone, uow.now)
        if deadline <= uow.now:
            raise InvalidInput("That time has already passed; give a deadline in the future, like +3d.")
        await transition(
            uow,
            go,
            GOStatus.OPEN,
            actor_id=actor.user_id,
            action=REOPENED,
            detail=f"until {deadline.isoformat()}",
            also={"deadline": deadline},
        )
        await uow.commit()
        return deadline


def decision_due(since: datetime, window: timedelta, timezone: str) -> str:
    """When a waiting GO fails unless its GOM decides, in the GO's own time."""
    return local_text(since + window, timezone)
