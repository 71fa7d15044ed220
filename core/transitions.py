"""Every status change is a compare-and-set (DESIGN rule 4).

``transition`` checks the edge against the status table, then writes the new status
only where the row still has the status this transaction read:
``UPDATE … SET status = :new WHERE id = :id AND status = :expected``. On PostgreSQL a
second command that read the same row waits for the first to commit, then matches no
row and is told what happened ("SVT-FML-3 was already cancelled") instead of releasing
or paying a second time. The change is audited in the same transaction.

Group orders, orders, waitlist places, payment requests, payment attempts, proofs and
refunds all change status here and only here, each checked against its own table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm.attributes import set_committed_value

from core import metrics
from core.db.models import (
    GroupOrder,
    Handover,
    Order,
    Payment,
    PaymentProof,
    PaymentRequest,
    Refund,
    WaitlistEntry,
)
from core.errors import AlreadyChanged
from core.payments.status import (
    ATTEMPT_TRANSITIONS,
    PROOF_TRANSITIONS,
    REFUND_TRANSITIONS,
    REQUEST_TRANSITIONS,
)
from core.status import (
    GO_TRANSITIONS,
    HANDOVER_TRANSITIONS,
    ORDER_TRANSITIONS,
    WAITLIST_TRANSITIONS,
    check_transition,
)
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
    PaymentRequest: Lifecycle(
        "payment_request", "payment", REQUEST_TRANSITIONS, lambda r: f"Payment {r.reference}"
    ),
    Payment: Lifecycle("payment", "payment attempt", ATTEMPT_TRANSITIONS, lambda _: "That payment"),
    PaymentProof: Lifecycle("payment_proof", "proof", PROOF_TRANSITIONS, lambda _: "That proof"),
    Refund: Lifecycle("refund", "refund", REFUND_TRANSITIONS, lambda _: "That refund"),
    Handover: Lifecycle("handover", "handover", HANDOVER_TRANSITIONS, lambda _: "That handover"),
}


async def transition(
    uow: UnitOfWork,
    row: Any,
    target: StrEnum,
    *,
    actor_id: int | None,
    detail: str = "",
    action: str = "status",
    also: Mapping[str, Any] | None = None,
) -> str:
    """Move ``row`` to ``target`` if nobody moved it first; returns the status it left.

    ``also`` are columns written in the same statement (a paid time, a reviewer), so they
    change only if the status does; ``action`` names the audit entry (default "status").
    """
    model = type(row)
    life = LIFECYCLES[model]
    if row.id is None:  # written in this transaction and not yet sent: the update needs its id
        await uow.session.flush()
    current: str = row.status
    check_transition(life.what, life.edges, current, target)
    values: dict[str, Any] = {"status": target.value, **(also or {})}
    if hasattr(model, "updated_at"):
        values.setdefault("updated_at", uow.now)
    result = await uow.session.execute(
        update(model)
        .where(model.id == row.id, model.status == current)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        now = await uow.session.scalar(select(model.status).where(model.id == row.id))
        set_committed_value(row, "status", now)
        raise AlreadyChanged("%(name)s was already %(now)s.", name=life.name(row), now=now)
    for key, value in values.items():
        set_committed_value(row, key, value)
    uow.audit(
        actor_id=actor_id,
        entity=life.entity,
        entity_id=row.id,
        action=action,
        from_status=current,
        to_status=target.value,
        detail=detail,
    )
    metrics.status_changed(uow, life.entity, target.value, row)
    return current


async def transition_all(
    uow: UnitOfWork, model: type[Any], where: ColumnElement[bool], current: StrEnum, target: StrEnum
) -> int:
    """Move every row of ``model`` matching ``where`` that is still ``current`` to ``target``
    in one compare-and-set statement (say, a request's open attempts when it is voided);
    returns how many moved. The edge is checked against the table like a single change."""
    life = LIFECYCLES[model]
    check_transition(life.what, life.edges, current.value, target)
    values: dict[str, Any] = {"status": target.value}
    if hasattr(model, "updated_at"):
        values["updated_at"] = uow.now
    result = await uow.session.execute(
        update(model).where(where, model.status == current.value).values(values)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
