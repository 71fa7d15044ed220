"""Late fees: what an overdue payment costs under its GO's policy, run up by the scheduler.

After a payment request's due time passes unpaid (within the GO's grace, before the
claim is released), a fee accrues for each started day **in the GO's timezone**: the day
the deadline falls on counts once it has passed, and each local midnight after it starts
another, up to the policy's cap (``core.policy.late_fee_for``).

How it is owed: one ``late_fees`` row per overdue request holds the days charged and the
amount; the money is asked by a payment request of kind ``late_fee`` on the same order,
whose amount grows with the days. Each step is a compare-and-set on ``days_charged``, so
two ticks (or two workers) never charge a day twice. A fee request already paid or under
review is left as it is, and the days since are asked by a new one. The fee is owed until
the overdue request is paid; a claim released for want of payment owes nothing more (its
order's open requests, the fee's included, are voided with it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from core.db.models import GOPolicySetting, GroupOrder, LateFee, Order, PaymentRequest
from core.db.upsert import insert_ignoring_conflict
from core.lookups import lock_order
from core.money import format_money
from core.payments import ledger
from core.payments.status import PART_KINDS, RequestKind, RequestStatus
from core.policy import GOPolicy, late_fee_for, policy_of
from core.status import OrderStatus
from core.uow import UnitOfWork
from core.when import local_text, zone


def days_late(due_at: datetime, now: datetime, timezone: str) -> int:
    """Started days since ``due_at`` by the calendar of ``timezone`` (0 before it)."""
    if now <= due_at:
        return 0
    tz = zone(timezone)
    return (now.astimezone(tz).date() - due_at.astimezone(tz).date()).days + 1


async def charge_late_fees(uow: UnitOfWork) -> int:
    """Bring every overdue request's late fee up to today; returns the accruals made."""
    async with uow:
        charging = GroupOrder.gom_id.in_(
            select(GOPolicySetting.gom_id).where(GOPolicySetting.late_fee_minor > 0)
        )
        # an unpaid order whose buyer never opened its payment: its items request is opened
        unopened = (
            await uow.session.scalars(
                select(Order.id)
                .join(GroupOrder, GroupOrder.id == Order.go_id)
                .where(Order.status == OrderStatus.PLACED, Order.payment_due_at < uow.now, charging)
                .where(
                    ~select(PaymentRequest.id)
                    .where(
                        PaymentRequest.order_id == Order.id,
                        # its items request, or the parts (a deposit, instalments) standing for it
                        PaymentRequest.kind.in_([RequestKind.ITEMS.value, *PART_KINDS]),
                        PaymentRequest.status.in_([RequestStatus.OPEN, RequestStatus.REVIEW]),
                    )
                    .exists()
                )
                .order_by(Order.id)
            )
        ).all()
    for order_id in unopened:
        async with uow:
            order = await uow.session.get_one(Order, order_id)
            go = await uow.session.get_one(GroupOrder, order.go_id)
            if (await policy_of(uow, go)).late_fee_minor > 0:
                await ledger.items_request(uow, order)  # locks the order; None once it ended
                await uow.commit()
    async with uow:
        overdue = (
            await uow.session.execute(
                select(PaymentRequest.id, Order.go_id)
                .join(Order, Order.id == PaymentRequest.order_id)
                .join(GroupOrder, GroupOrder.id == Order.go_id)
                .where(
                    PaymentRequest.status.in_([RequestStatus.OPEN, RequestStatus.REVIEW]),
                    PaymentRequest.kind != RequestKind.LATE_FEE.value,
                    PaymentRequest.due_at < uow.now,
                    charging,
                )
                .order_by(PaymentRequest.id)
            )
        ).all()
    charged = 0
    for request_id, _go_id in overdue:
        async with uow:
            charged += await _accrue(uow, request_id)
            await uow.commit()
    return charged


async def _accrue(uow: UnitOfWork, request_id: int) -> int:
    """One request's fee brought up to today, inside ``uow``; 1 if a day was charged."""
    request = await uow.session.get_one(PaymentRequest, request_id)
    order = await lock_order(uow, request.order_id)  # an expiry of the order waits, or we do
    request = await ledger.locked(uow, PaymentRequest, request_id)
    if request.status not in (RequestStatus.OPEN, RequestStatus.REVIEW):
        return 0  # paid or released meanwhile
    go = await uow.session.get_one(GroupOrder, order.go_id)
    policy = await policy_of(uow, go)
    days = days_late(request.due_at, uow.now, go.timezone)
    amount = late_fee_for(policy, days)
    if amount <= 0:
        return 0
    await uow.session.execute(
        insert_ignoring_conflict(
            uow.session,
            LateFee,
            {"request_id": request.id, "days_charged": 0, "amount_minor": 0, "updated_at": uow.now},
            ["request_id"],
        )
    )
    fee = await uow.session.scalar(
        select(LateFee).where(LateFee.request_id == request.id).execution_options(populate_existing=True)
    )
    assert fee is not None
    before_days, before_amount = fee.days_charged, fee.amount_minor
    if days <= before_days or amount <= before_amount:
        return 0  # charged already today, or the cap is reached
    moved = await uow.session.execute(
        update(LateFee)
        .where(LateFee.request_id == request.id, LateFee.days_charged == before_days)
        .values(days_charged=days, amount_minor=amount, updated_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return 0  # another tick charged it first
    fee_request = await _fee_request(uow, fee.fee_request_id)
    if fee_request is not None and fee_request.status == RequestStatus.OPEN:
        grown = await uow.session.execute(
            update(PaymentRequest)
            .where(PaymentRequest.id == fee_request.id, PaymentRequest.status == RequestStatus.OPEN)
            .values(amount_minor=PaymentRequest.amount_minor + (amount - before_amount), updated_at=uow.now)
            .execution_options(synchronize_session=False)
        )
        asked_by = fee_request.id if grown.rowcount else None  # type: ignore[attr-defined]
    else:
        asked_by = None
    if asked_by is None:  # none yet, or the last one is paid or under review: ask the rest anew
        # not one of a GO's unique amounts: its amount grows
        opened = await ledger.open_request(
            uow, order, RequestKind.LATE_FEE, amount - before_amount, due_at=request.due_at, unique=False
        )
        asked_by = opened.id
        await uow.session.execute(
            update(LateFee)
            .where(LateFee.request_id == request.id)
            .values(fee_request_id=asked_by)
            .execution_options(synchronize_session=False)
        )
    _audit(uow, request, policy, go, days, amount, before_amount, asked_by)
    await uow.notify_user(
        order.buyer_id,
        "late_fee_charged",
        {
            "number": order.number,
            "go_code": go.code,
            "days": days,
            "per_day": format_money(policy.late_fee_minor, order.currency),
            "cap": format_money(policy.late_fee_cap_minor, order.currency)
            if policy.late_fee_cap_minor
            else "",
            "total": format_money(amount, order.currency),
            "due": local_text(request.due_at, go.timezone),
        },
        dedupe_key=f"late_fee:{request.id}:{days}",
        prefer_channel=order.channel,
    )
    return 1


async def _fee_request(uow: UnitOfWork, fee_request_id: int | None) -> PaymentRequest | None:
    if fee_request_id is None:
        return None
    return await ledger.locked(uow, PaymentRequest, fee_request_id)


def _audit(
    uow: UnitOfWork,
    request: PaymentRequest,
    policy: GOPolicy,
    go: GroupOrder,
    days: int,
    amount: int,
    before: int,
    fee_request_id: int,
) -> None:
    cap = format_money(policy.late_fee_cap_minor, request.currency) if policy.late_fee_cap_minor else "none"
    uow.audit(
        actor_id=None,
        entity="payment_request",
        entity_id=request.id,
        action="late_fee",
        detail=(
            f"{days} day(s) late in {go.timezone} (due {request.due_at.isoformat()}, now "
            f"{uow.now.isoformat()}) × {format_money(policy.late_fee_minor, request.currency)} a day, "
            f"cap {cap}: {format_money(before, request.currency)} -> "
            f"{format_money(amount, request.currency)} on request {fee_request_id}"
        ),
    )
