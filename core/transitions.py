"""Every status change is a compare-and-set (DESIGN rule 4).

``transition`` checks the edge against the status table, then writes the new status
only where the row still has the status this transaction read:
``UPDATE … SET status = :new WHERE id = :id AND status = :expected``. On PostgreSQL a
second command that read the same row waits for the first to commit, then matches no
row and is told what happened ("SVT-FML-3 was already cancelled") instead of releasing
or paying a second time. The change is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from core.db.models import GroupOrder, Order, WaitlistEntry
from core.errors import AlreadyChanged
from core.status import GO_TRANSITIONS, ORDER_TRANSITIONS, WAITLIST_TRANSITIONS, check_transition
from core.uow import UnitOfWork


@dataclass(frozen=True)
class Lifecycle:
    entity: str  # as written in the audit log
    what: str  # in a refused transition: "This group order is draft; …"
    edges: Mapping[Any, frozenset[Any]]
    name: Callable[[Any], str]  # how a person knows the row


LIFECYCLES: dict[type[Any], Lifecycle] = {
    GroupOrder: Lifecycle("group_order", "group order", GO_TRANSITIONS, lambda go: str(go.code)),
    Order: Lifecycle("order", "order", ORDER_TRANSITIONS, lambda order: str(order.number)),
    WaitlistEntry: Lifecycle(
        "waitlist", "waitlist place", WAITLIST_TRANSITIONS, lambda _: "Your waitlist place"
    ),
}


async def transition(
    uow: UnitOfWork, row: Any, target: StrEnum, *, actor_id: int | None, detail: str = ""
) -> str:
    """Move ``row`` to ``target`` if nobody moved it first; returns the status it left."""
    model = type(row)
    life = LIFECYCLES[model]
    current: str = row.status
    check_transition(life.what, life.edges, current, target)
    values: dict[str, Any] = {"status": target.value}
    if hasattr(model, "updated_at"):
        values["updated_at"] = uow.now
    result = await uow.session.execute(
        update(model)
        .where(model.id == row.id, model.status == current)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        now = await uow.session.scalar(select(model.status).where(model.id == row.id))
        set_committed_value(row, "status", now)
        raise AlreadyChanged(f"{life.name(row)} was already {now}.")
    for key, value in values.items():
        set_committed_value(row, key, value)
    uow.audit(
        actor_id=actor_id,
        entity=life.entity,
        entity_id=row.id,
        action="status",
        from_status=current,
        to_status=target.value,
        detail=detail,
    )
    return current
