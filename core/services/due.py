"""Work that falls due with time, asked for by the scheduler's tick.

Every function here is idempotent: it looks at the database, does what is due now, and
records it (a status change, or an outbox row with a dedupe key), so running it twice,
on two workers, or long after the moment passed (gomflow was down) does it once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from core.db.models import AuditEntry, GroupOrder, LinkedChannel, Order, PaymentRequest
from core.errors import InvalidTransition, OrderLocked
from core.lookups import load_go, lock_order
from core.money import format_money
from core.orders import end_order
from core.outbox import NOTICE, TRANSACTIONAL
from core.payments import ledger
from core.payments.status import SECURING_KINDS, RequestStatus
from core.services import go_decision
from core.services.accounts import Actor, require_admin
from core.services.group_orders import ClosingOutcome, close_group_order, due_for_closing
from core.services.linked_channels import notify_linked
from core.services.notices import MILESTONES, go_context, sent_keys, untold_milestones
from core.services.payments import request_to_pay
from core.services.waitlist import promote_waitlist
from core.status import GOStatus, OrderStatus
from core.uow import UnitOfWork
from core.when import local_text

ANNOUNCED = (
    GOStatus.OPEN,
    GOStatus.CONFIRMED,
    GOStatus.FAILED,
    GOStatus.ORDERED,
    GOStatus.ARRIVED,
    GOStatus.PACKING,
    GOStatus.SHIPPING,
    GOStatus.COMPLETED,
    GOStatus.CANCELLED,
)


ANNOUNCE_WITHIN = timedelta(days=7)
_LEAD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d)\s*$")


@dataclass(frozen=True)
class ClosedGO:
    code: str
    outcome: ClosingOutcome


def parse_leads(text: str) -> list[timedelta]:
    """``24h,1h`` → the reminder leads, shortest first."""
    leads = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _LEAD.match(part)
        if not match:
            raise ValueError(f"'{part}' is not a reminder lead; write it like 24h, 90m or 2d")
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        leads.append(timedelta(**{unit: float(match.group(1))}))
    return sorted(leads)


def lead_text(lead: timedelta) -> str:
    minutes = round(lead.total_seconds() / 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes % 60 == 0:
        return f"{minutes // 60} hour" + ("s" if minutes != 60 else "")
    return f"{minutes} minutes"


async def close_due_group_orders(uow: UnitOfWork) -> list[ClosedGO]:
    """Close every open GO past its deadline and decide its MOQ (buyers are told)."""
    closed = []
    for code in await due_for_closing(uow):
        try:
            closed.append(ClosedGO(code, await close_group_order(uow, None, code)))
        except InvalidTransition:
            continue  # someone closed or cancelled it in the meantime
    return closed


async def fail_undecided_group_orders(uow: UnitOfWork, window_hours: float) -> list[str]:
    """Fail the GOs below their MOQ whose GOM did not decide within the window (buyers told,
    orders ended, refunds queued); returns their codes."""
    window = timedelta(hours=window_hours)
    return [
        code
        for code in await go_decision.undecided_group_orders(uow, window)
        if await go_decision.fail_undecided_group_order(uow, code, window)
    ]


async def expire_unpaid_orders(uow: UnitOfWork) -> int:
    """Orders still unpaid when their payment window ends expire; their slots go to the waitlist."""
    async with uow:
        due = list(
            (
                await uow.session.scalars(
                    select(Order.id)
                    .where(Order.status == OrderStatus.PLACED, Order.payment_due_at <= uow.now)
                    .order_by(Order.id)
                )
            ).all()
        )
    expired = 0
    for order_id in due:
        async with uow:
            order = await uow.session.get(Order, order_id)
            if order is None:
                continue
            order = await lock_order(uow, order.id)
            if order.status != OrderStatus.PLACED or order.payment_due_at > uow.now:
                continue
            go = await uow.session.get_one(GroupOrder, order.go_id)  # locked with the order
            await end_order(uow, order, OrderStatus.EXPIRED, None, reason="the payment window ended")
            await uow.notify_user(
                order.buyer_id,
                "order_expired",
                {"number": order.number, "go_code": go.code, "go_title": go.title},
                dedupe_key=f"order_expired:{order.id}",
                prefer_channel=order.channel,
                priority=TRANSACTIONAL,
            )
            await promote_waitlist(uow, go)
            await uow.commit()
            expired += 1
    return expired


async def remind_unpaid_orders(uow: UnitOfWork, lead: timedelta) -> int:
    """One reminder per unpaid order, ``lead`` before its window ends (or halfway, for short windows)."""
    async with uow:
        rows = (
            await uow.session.execute(
                select(Order, GroupOrder)
                .join(GroupOrder, GroupOrder.id == Order.go_id)
                .where(
                    Order.status == OrderStatus.PLACED,
                    Order.payment_due_at > uow.now,
                    Order.payment_due_at <= uow.now + lead,
                )
                .order_by(Order.id)
            )
        ).all()
        queued = 0
        for order, go in rows:
            own_lead = min(lead, (order.payment_due_at - order.placed_at) / 2)
            if uow.now < order.payment_due_at - own_lead:
                continue
            queued += await uow.notify_user(
                order.buyer_id,
                "order_reminder",
                {
                    "number": order.number,
                    "go_code": go.code,
                    "go_title": go.title,
                    "total": format_money(order.total_minor, order.currency),
                    "payment_due": local_text(order.payment_due_at, go.timezone),
                },
                dedupe_key=f"order_reminder:{order.id}:{order.payment_due_at.isoformat()}",
                prefer_channel=order.channel,
                priority=TRANSACTIONAL,
            )
        await uow.commit()
        return queued


async def remind_deadlines(uow: UnitOfWork, leads: list[timedelta]) -> int:
    """Tell linked channels an open GO closes soon: once per lead (24 h, 1 h…) per deadline.

    After downtime only the nearest lead that is due is sent, not a burst of stale ones.
    """
    if not leads:
        return 0
    async with uow:
        gos = (
            await uow.session.scalars(
                select(GroupOrder)
                .where(
                    GroupOrder.status == GOStatus.OPEN,
                    GroupOrder.deadline > uow.now,
                    GroupOrder.deadline <= uow.now + max(leads),
                    GroupOrder.id.in_(select(LinkedChannel.go_id)),
                )
                .order_by(GroupOrder.id)
            )
        ).all()
        sent = 0
        for go in gos:
            lead = next(lead for lead in leads if uow.now >= go.deadline - lead)
            context = {**go_context(go), "left": lead_text(lead)}
            sent += await notify_linked(
                uow,
                go,
                "deadline_reminder",
                context,
                dedupe=f"deadline:{go.id}:{go.deadline.isoformat()}:{int(lead.total_seconds())}",
            )
        await uow.commit()
        return sent


async def announce_milestones(uow: UnitOfWork) -> int:
    """Half of MOQ, MOQ reached, sold out: each told to linked channels once, highest first.

    A GO that jumps from nothing to sold out between ticks announces only that it sold out.
    """
    async with uow:
        sent = 0
        linked = GroupOrder.id.in_(select(LinkedChannel.go_id))
        for go, reached in await untold_milestones(uow, "milestone", MILESTONES, linked):
            sent += await notify_linked(
                uow,
                go,
                "milestone",
                {**go_context(go), "milestone": reached},
                dedupe=f"milestone:{go.id}:{reached}",
            )
        await uow.commit()
        return sent


async def announce_statuses(uow: UnitOfWork) -> int:
    """Tell linked channels each step of a GO (opened, confirmed, failed, ordered, shipping…), in order.

    The steps are read from the audit log, so two changes between ticks are both told.
    A channel hears the steps taken since it was linked, and the one the GO is at. A GO
    waiting below its MOQ for its GOM's decision is not announced (it has not failed); a
    reopened one is announced as open again, each time.
    """
    async with uow:
        first_linked = (
            select(LinkedChannel.go_id, func.min(LinkedChannel.created_at).label("at"))
            .group_by(LinkedChannel.go_id)
            .subquery()
        )
        rows = (
            await uow.session.execute(
                select(GroupOrder, AuditEntry.id, AuditEntry.action, AuditEntry.to_status)
                .join(
                    AuditEntry, (AuditEntry.entity == "group_order") & (AuditEntry.entity_id == GroupOrder.id)
                )
                .join(first_linked, first_linked.c.go_id == GroupOrder.id)
                .where(
                    AuditEntry.entity == "group_order",
                    AuditEntry.to_status.in_(ANNOUNCED),
                    AuditEntry.at >= uow.now - ANNOUNCE_WITHIN,
                    (AuditEntry.at >= first_linked.c.at) | (AuditEntry.to_status == GroupOrder.status),
                )
                .order_by(AuditEntry.id)
            )
        ).all()
        sent = 0
        for go, entry_id, action, status in rows:
            key = f"go_status:{go.id}:{status}"
            if action == go_decision.REOPENED:  # open again: told each time, not as its first opening
                status, key = "reopened", f"go_status:{go.id}:reopened:{entry_id}"
            if await sent_keys(uow, key + ":", template="go_announcement"):  # buyers' keys look alike
                continue
            context = {**go_context(go), "status": status}
            sent += await notify_linked(uow, go, "go_announcement", context, dedupe=key, priority=NOTICE)
        await uow.commit()
        return sent


# --- reminders and expiry (the scheduler calls the *_due functions) ----------------------


async def remind_unpaid(uow: UnitOfWork, actor: Actor, go_code: str) -> int:
    """Nudge every buyer of the GO who still owes something."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        orders = (
            await uow.session.scalars(
                select(Order).where(
                    Order.go_id == go.id, Order.status.in_([OrderStatus.PLACED, OrderStatus.PAID])
                )
            )
        ).all()
        sent = 0
        for order in orders:
            try:
                request = await request_to_pay(uow, order)
            except OrderLocked:
                continue
            sent += await _remind(uow, go, order, request, stamp=uow.now.strftime("%Y%m%d%H%M"))
        await uow.commit()
        return sent


async def remind_due(
    uow: UnitOfWork, within: timedelta = timedelta(hours=12), except_kinds: tuple[str, ...] = ()
) -> int:
    """Remind once for each open request that runs out within ``within``.

    The scheduler leaves out ``items`` requests: the order's own reminder covers those.
    """
    async with uow:
        due = (
            await uow.session.scalars(
                select(PaymentRequest).where(
                    PaymentRequest.status == RequestStatus.OPEN,
                    PaymentRequest.reminded_at.is_(None),
                    PaymentRequest.due_at <= uow.now + within,
                    PaymentRequest.due_at > uow.now,
                    PaymentRequest.kind.not_in(except_kinds),
                )
            )
        ).all()
        for request in due:
            order = await uow.session.get_one(Order, request.order_id)
            go = await uow.session.get_one(GroupOrder, order.go_id)
            await _remind(uow, go, order, request, stamp="due")
        await uow.commit()
        return len(due)


async def _remind(
    uow: UnitOfWork, go: GroupOrder, order: Order, request: PaymentRequest, *, stamp: str
) -> int:
    request.reminded_at = uow.now
    told = await uow.notify_user(
        order.buyer_id,
        "payment_reminder",
        {
            "number": order.number,
            "go_code": go.code,
            "kind": request.kind,
            "amount": format_money(await ledger.outstanding(uow, request), request.currency),
            "due": local_text(request.due_at, go.timezone),
        },
        dedupe_key=f"remind:{request.id}:{stamp}",
    )
    return int(told)


async def expire_due(uow: UnitOfWork) -> int:
    """Expire open requests past their window; an unpaid order's slots go to the waitlist."""
    async with uow:
        overdue = (
            await uow.session.scalars(
                select(PaymentRequest)
                .where(PaymentRequest.status == RequestStatus.OPEN, PaymentRequest.due_at <= uow.now)
                .order_by(PaymentRequest.id)
            )
        ).all()
        promote: set[int] = set()
        for due in overdue:
            order = await lock_order(uow, due.order_id)
            request = await ledger.locked(uow, PaymentRequest, due.id)
            if request.status != RequestStatus.OPEN:  # paid or reviewed meanwhile
                continue
            await ledger.set_request_status(
                uow, request, RequestStatus.EXPIRED, None, "payment window ran out"
            )
            if request.kind in SECURING_KINDS and order.status == OrderStatus.PLACED:
                await end_order(uow, order, OrderStatus.EXPIRED, None, reason="payment window ran out")
                promote.add(order.go_id)
                await uow.notify_user(
                    order.buyer_id,
                    "payment_expired",
                    {"number": order.number},
                    dedupe_key=f"expired:{request.id}",
                )
        for go_id in sorted(promote):
            go = await uow.session.get_one(GroupOrder, go_id)
            if go.status == GOStatus.OPEN:
                await promote_waitlist(uow, go)
        await uow.commit()
        return len(overdue)
