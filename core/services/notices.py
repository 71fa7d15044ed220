"""Telling buyers about their group order: queued in the outbox, sent after commit."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from core.db.models import GroupOrder, Order, OutboxMessage
from core.status import ORDER_LIVE, GOStatus
from core.uow import UnitOfWork
from core.when import local_text


def go_context(go: GroupOrder) -> dict[str, str | int]:
    return {
        "code": go.code,
        "title": go.title,
        "status": go.status,
        "deadline": local_text(go.deadline, go.timezone),
        "reserved": go.reserved_units,
        "moq": go.moq,
        "capacity": go.capacity,
    }


async def notify_go_buyers(uow: UnitOfWork, go: GroupOrder, template: str) -> int:
    """One message per buyer holding a live order in the GO; returns how many were queued."""
    rows = (
        await uow.session.execute(
            select(Order.buyer_id, Order.channel)
            .where(Order.go_id == go.id, Order.status.in_(ORDER_LIVE))
            .order_by(Order.id)
        )
    ).all()
    seen: set[int] = set()
    context = go_context(go)
    for buyer_id, channel in rows:
        if buyer_id in seen:
            continue
        seen.add(buyer_id)
        await uow.notify_user(
            buyer_id,
            template,
            context,
            prefer_channel=channel,
            dedupe_key=f"{template}:{go.id}:{go.status}:{buyer_id}",
        )
    return len(seen)


async def sent_keys(uow: UnitOfWork, prefix: str) -> set[str]:
    """The dedupe keys already queued under ``prefix``, each without its last part (the
    recipient): whether a notice was told at all, whoever it went to."""
    rows = await uow.session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.startswith(prefix, autoescape=True))
    )
    return {key.rsplit(":", 1)[0] for key in rows.all()}


MILESTONES = ("half_moq", "moq_reached", "sold_out")


def milestone_reached(go: GroupOrder) -> str | None:
    """The highest quota milestone a GO has reached."""
    if go.reserved_units >= go.capacity:
        return "sold_out"
    if go.reserved_units >= go.moq > 0:
        return "moq_reached"
    if go.moq >= 2 and go.reserved_units * 2 >= go.moq:
        return "half_moq"
    return None


async def untold_milestone(uow: UnitOfWork, go: GroupOrder, kind: str, ladder: tuple[str, ...]) -> str | None:
    """The milestone on ``ladder`` the GO has reached and nobody was told of under ``kind``
    (``milestone``), or None. Only the highest: a GO that passed several between two ticks
    tells the last, and never one below what it already told."""
    reached = milestone_reached(go)
    if reached not in ladder:
        return None
    prefix = f"{kind}:{go.id}"
    done = await sent_keys(uow, prefix + ":")
    if any(f"{prefix}:{m}" in done for m in ladder[ladder.index(reached) :]):
        return None
    return reached


async def untold_milestones(
    uow: UnitOfWork, kind: str, ladder: tuple[str, ...], *among: ColumnElement[bool]
) -> list[tuple[GroupOrder, str]]:
    """Each open GO (``among`` narrows them) with the milestone it has yet to tell."""
    gos = await uow.session.scalars(
        select(GroupOrder).where(GroupOrder.status == GOStatus.OPEN, *among).order_by(GroupOrder.id)
    )
    untold = []
    for go in gos.all():
        reached = await untold_milestone(uow, go, kind, ladder)
        if reached is not None:
            untold.append((go, reached))
    return untold
