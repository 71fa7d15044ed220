"""The daily digest: at each GOM's (or opted-in helper's) hour, what the day brought.

The tick asks every few seconds; a digest is due once the person's local clock has passed
their hour, covers the 24 hours before that hour (so two workers, or a late tick, write the
same digest), and its dedupe key names the person and the local date, so it goes once a day.
A day with no new orders, no proofs waiting and no payments sends nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select

from core.db.models import (
    GroupOrder,
    NoticeMute,
    NoticePreference,
    Order,
    OutboxMessage,
    Payment,
    PaymentProof,
    PaymentRequest,
    StaffMember,
    User,
)
from core.money import format_money
from core.outbox import NOTICE
from core.payments.status import AttemptStatus, ProofStatus
from core.services.notice_settings import DEFAULT_DIGEST_HOUR
from core.status import GOStatus
from core.uow import UnitOfWork
from core.when import zone

DAY = timedelta(days=1)
QUIET = (GOStatus.DRAFT, GOStatus.COMPLETED, GOStatus.FAILED, GOStatus.CANCELLED)


@dataclass(frozen=True)
class DigestLine:
    code: str
    title: str
    new_orders: int
    proofs_waiting: int
    payments: int
    received: str  # the money those payments brought, in the GO's currency


@dataclass(frozen=True)
class Reader:
    user_id: int
    hour: int
    timezone: str | None


async def send_digests(uow: UnitOfWork) -> int:
    """Queue each digest that has fallen due; returns how many were queued."""
    async with uow:
        sent = 0
        for reader in await _readers(uow):
            gos = await _their_gos(uow, reader.user_id)
            if not gos:
                continue
            local = uow.now.astimezone(zone(reader.timezone or gos[-1].timezone))
            if local.hour < reader.hour:
                continue
            due_at = local.replace(hour=reader.hour, minute=0, second=0, microsecond=0)
            key = f"digest:{reader.user_id}:{due_at.date().isoformat()}"
            if await uow.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
                continue
            lines = await _lines(uow, gos, due_at - DAY, due_at)
            if not lines:
                continue
            context: dict[str, Any] = {
                "date": due_at.strftime("%a %d %b"),
                "lines": [asdict(line) for line in lines],
            }
            sent += await uow.notify_user(
                reader.user_id, "staff_digest", context, dedupe_key=key, priority=NOTICE
            )
        await uow.commit()
        return sent


async def _readers(uow: UnitOfWork) -> list[Reader]:
    """GOMs (unless they turned the digest off) and helpers who opted in and keep a digest hour."""
    rows = await uow.session.execute(
        select(User.id, NoticePreference.digest_hour, NoticePreference.timezone)
        .outerjoin(NoticePreference, NoticePreference.user_id == User.id)
        .where(
            (
                User.is_gom.is_(True)
                & (NoticePreference.user_id.is_(None) | NoticePreference.digest_hour.is_not(None))
            )
            | (NoticePreference.helper_opt_in.is_(True) & NoticePreference.digest_hour.is_not(None))
        )
        .order_by(User.id)
    )
    return [
        Reader(user_id, DEFAULT_DIGEST_HOUR if hour is None else hour, timezone)
        for user_id, hour, timezone in rows.all()
    ]


async def _their_gos(uow: UnitOfWork, user_id: int) -> list[GroupOrder]:
    """The running GOs this person is staff of and has not muted, oldest first."""
    teams = select(StaffMember.gom_id).where(StaffMember.member_id == user_id)
    muted = select(NoticeMute.go_id).where(NoticeMute.user_id == user_id)
    gos = await uow.session.scalars(
        select(GroupOrder)
        .where(GroupOrder.gom_id.in_(teams), GroupOrder.status.not_in(QUIET), GroupOrder.id.not_in(muted))
        .order_by(GroupOrder.id)
    )
    return list(gos.all())


async def _lines(
    uow: UnitOfWork, gos: list[GroupOrder], since: datetime, until: datetime
) -> list[DigestLine]:
    ids = [go.id for go in gos]
    new_orders = await _counts(
        uow,
        select(Order.go_id, func.count()),
        Order.go_id.in_(ids),
        Order.placed_at >= since,
        Order.placed_at < until,
    )
    paying = (
        select(Order.go_id, func.count(), func.coalesce(func.sum(Payment.amount_minor), 0))
        .join(PaymentRequest, PaymentRequest.order_id == Order.id)
        .join(Payment, Payment.request_id == PaymentRequest.id)
        .where(
            Order.go_id.in_(ids),
            Payment.status == AttemptStatus.SUCCEEDED,
            Payment.updated_at >= since,
            Payment.updated_at < until,
        )
        .group_by(Order.go_id)
    )
    payments = {go_id: (count, total) for go_id, count, total in (await uow.session.execute(paying)).all()}
    proofs = await _counts(
        uow,
        select(Order.go_id, func.count())
        .join(PaymentRequest, PaymentRequest.order_id == Order.id)
        .join(PaymentProof, PaymentProof.request_id == PaymentRequest.id),
        Order.go_id.in_(ids),
        PaymentProof.status == ProofStatus.PENDING,
    )
    lines = []
    for go in gos:
        count, total = payments.get(go.id, (0, 0))
        line = DigestLine(
            go.code,
            go.title,
            new_orders.get(go.id, 0),
            proofs.get(go.id, 0),
            count,
            format_money(int(total), go.currency),
        )
        if line.new_orders or line.proofs_waiting or line.payments:
            lines.append(line)
    return lines


async def _counts(uow: UnitOfWork, query: Any, *where: ColumnElement[bool]) -> dict[int, int]:
    rows = await uow.session.execute(query.where(*where).group_by(Order.go_id))
    return {go_id: int(count) for go_id, count in rows.all()}
