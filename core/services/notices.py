"""Telling buyers and channels about a group order: queued in the outbox, sent after commit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, select

from core.db.models import GroupOrder, Order, OutboxMessage, WaitlistEntry
from core.status import ORDER_LIVE, GOStatus, WaitlistStatus
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
            # "buyer": a channel's announcement of the same step ends in an identity id
            dedupe_key=f"{template}:{go.id}:{go.status}:buyer{buyer_id}",
        )
    return len(seen)


WAITLIST_ENDS = (GOStatus.CONFIRMED, GOStatus.FAILED, GOStatus.CANCELLED, GOStatus.CLOSED)
WAITLIST_TOLD_WITHIN = timedelta(days=7)


async def tell_waitlist_ended(uow: UnitOfWork) -> int:
    """Tell each buyer still waiting when their GO closed or was cancelled that the wait is over.

    Closing drops the waitlist in the closing transaction; this, run by the tick, tells
    each buyer once per GO (one dedupe key per GO and buyer).
    """
    async with uow:
        rows = (
            await uow.session.execute(
                select(GroupOrder, WaitlistEntry.buyer_id, WaitlistEntry.channel)
                .join(WaitlistEntry, WaitlistEntry.go_id == GroupOrder.id)
                .where(
                    WaitlistEntry.status == WaitlistStatus.DROPPED,
                    GroupOrder.status.in_(WAITLIST_ENDS),
                    GroupOrder.updated_at >= uow.now - WAITLIST_TOLD_WITHIN,
                )
                .order_by(GroupOrder.id, WaitlistEntry.id)
            )
        ).all()
        told = 0
        done: dict[int, bool] = {}
        for go, buyer_id, channel in rows:
            if go.id not in done:
                done[go.id] = bool(await sent_keys(uow, f"waitlist_ended:{go.id}:"))
            if done[go.id]:
                continue
            told += await uow.notify_user(
                buyer_id,
                "waitlist_ended",
                go_context(go),
                prefer_channel=channel,
                dedupe_key=f"waitlist_ended:{go.id}:{buyer_id}",
            )
        await uow.commit()
        return told


async def sent_keys(uow: UnitOfWork, prefix: str, *, template: str | None = None) -> set[str]:
    """The dedupe keys already queued under ``prefix`` (of ``template`` only, if given),
    each without its last part (the recipient): whether a notice was told at all."""
    query = select(OutboxMessage.dedupe_key).where(
        OutboxMessage.dedupe_key.startswith(prefix, autoescape=True)
    )
    if template is not None:
        query = query.where(OutboxMessage.template == template)
    return {key.rsplit(":", 1)[0] for key in (await uow.session.scalars(query)).all()}


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
