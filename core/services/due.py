"""Work that falls due with time, asked for by the scheduler's tick.

Every function here is idempotent: it looks at the database, does what is due now, and
records it (a status change, or an outbox row with a dedupe key), so running it twice,
on two workers, or long after the moment passed (gomflow was down) does it once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from core.db.models import AuditEntry, GOPolicySetting, GroupOrder, LinkedChannel, Order, PaymentRequest
from core.errors import InvalidTransition, OrderLocked
from core.lookups import load_go, lock_order
from core.money import format_money
from core.orders import end_order
from core.outbox import NOTICE, TRANSACTIONAL
from core.payments import ledger
from core.payments.status import SECURING_KINDS, RequestKind, RequestStatus
from core.policy import GOPolicy, Unclaimed, policy_of
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
    """Orders still unpaid when their payment window and their GO's grace (``GOPolicy``)
    end expire, once; their slots go to the waitlist when the policy offers them there."""
    async with uow:
        due = list(
            (
                await uow.session.execute(
                    select(Order.id, Order.go_id, Order.payment_due_at)
                    .where(Order.status == OrderStatus.PLACED, Order.payment_due_at <= uow.now)
                    .order_by(Order.id)
                )
            ).all()
        )
        policies = Policies(uow)
        grace = {go_id: await policies.grace(go_id) for go_id in {go_id for _, go_id, _ in due}}
    expired = 0
    for order_id, go_id, payment_due_at in due:
        if uow.now < payment_due_at + grace[go_id]:
            continue
        async with uow:
            order = await lock_order(uow, order_id)
            if order.status != OrderStatus.PLACED or order.payment_due_at + grace[go_id] > uow.now:
                continue  # paid, ended or extended meanwhile, or released by another tick
            go = await uow.session.get_one(GroupOrder, order.go_id)  # locked with the order
            policy = await policy_of(uow, go)
            reason = "the payment window ended" + (
                f" and {lead_text(grace[go_id])} of grace" if grace[go_id] else ""
            )
            await end_order(uow, order, OrderStatus.EXPIRED, None, reason=reason)
            uow.audit(
                actor_id=None,
                entity="order",
                entity_id=order.id,
                action="released",
                detail=f"due {order.payment_due_at.isoformat()}, grace {policy.grace_minutes} min, "
                f"unclaimed: {policy.unclaimed.value}",
            )
            await uow.notify_user(
                order.buyer_id,
                "order_expired",
                {"number": order.number, "go_code": go.code, "go_title": go.title},
                dedupe_key=f"order_expired:{order.id}",
                prefer_channel=order.channel,
                priority=TRANSACTIONAL,
            )
            await after_release(uow, go, policy, order.units)
            await uow.commit()
            expired += 1
    return expired


async def after_release(uow: UnitOfWork, go: GroupOrder, policy: GOPolicy, units: int) -> None:
    """What becomes of the units an unpaid claim gave back, by the policy's ``unclaimed``:
    offered to the waitlist, left on sale for anyone, or kept by the GOM (taken off the
    capacity, one conditional UPDATE that never goes below what is held or the MOQ)."""
    if go.status != GOStatus.OPEN:
        return
    if policy.unclaimed is Unclaimed.WAITLIST:
        await promote_waitlist(uow, go)
    elif policy.unclaimed is Unclaimed.KEEP:
        kept = await uow.session.execute(
            update(GroupOrder)
            .where(
                GroupOrder.id == go.id,
                GroupOrder.capacity - units >= GroupOrder.reserved_units,
                GroupOrder.capacity - units >= GroupOrder.moq,
            )
            .values(capacity=GroupOrder.capacity - units, updated_at=uow.now)
            .execution_options(synchronize_session=False)
        )
        uow.audit(
            actor_id=None,
            entity="group_order",
            entity_id=go.id,
            action="unclaimed_kept" if kept.rowcount else "unclaimed_on_sale",  # type: ignore[attr-defined]
            detail=f"{units} unit(s) released unpaid; policy unclaimed=keep"
            + ("" if kept.rowcount else " (the capacity cannot go below the MOQ or what is held)"),  # type: ignore[attr-defined]
        )


class Policies:
    """Each GO's policy, read once per job run (a job meets the same GO many times)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._known: dict[int, GOPolicy] = {}

    async def of(self, go: GroupOrder) -> GOPolicy:
        if go.id not in self._known:
            self._known[go.id] = await policy_of(self._uow, go)
        return self._known[go.id]

    async def grace(self, go_id: int) -> timedelta:
        go = await self._uow.session.get_one(GroupOrder, go_id)
        return timedelta(minutes=(await self.of(go)).grace_minutes)


async def remind_unpaid_orders(uow: UnitOfWork, lead: timedelta) -> int:
    """Remind buyers of what they owe by each GO's reminder ladder (``GOPolicy``; ``lead``
    for a GO without one): every unpaid order, and every open payment request of another
    kind (shipping, instalments…) by its own due time.

    Each lead is sent once per order or request (a dedupe key); after downtime only the
    nearest lead that is due is sent, not a burst of stale ones. An order whose window is
    shorter than a lead is reminded halfway through it instead.
    """
    async with uow:
        horizon = max([lead, *[timedelta(minutes=m) for m in await _longest_leads(uow)]])
        policies = Policies(uow)
        orders = (
            await uow.session.execute(
                select(Order, GroupOrder)
                .join(GroupOrder, GroupOrder.id == Order.go_id)
                .where(
                    Order.status == OrderStatus.PLACED,
                    Order.payment_due_at > uow.now,
                    Order.payment_due_at <= uow.now + horizon,
                )
                .order_by(Order.id)
            )
        ).all()
        queued = 0
        for order, go in orders:
            policy = await policies.of(go)
            window = order.payment_due_at - order.placed_at
            chosen = nearest_due_lead(_ladder(policy, lead), order.payment_due_at, uow.now, most=window / 2)
            if chosen is None:
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
                    "late_fee": format_money(policy.late_fee_minor, order.currency)
                    if policy.late_fee_minor
                    else "",
                    "grace": lead_text(timedelta(minutes=policy.grace_minutes))
                    if policy.grace_minutes
                    else "",
                },
                dedupe_key=f"order_reminder:{order.id}:{order.payment_due_at.isoformat()}:"
                f"{int(chosen.total_seconds()) // 60}",
                prefer_channel=order.channel,
                priority=TRANSACTIONAL,
            )
        requests = (
            await uow.session.execute(
                select(PaymentRequest, Order, GroupOrder)
                .join(Order, Order.id == PaymentRequest.order_id)
                .join(GroupOrder, GroupOrder.id == Order.go_id)
                .where(
                    PaymentRequest.status == RequestStatus.OPEN,
                    PaymentRequest.kind.not_in([RequestKind.ITEMS.value, RequestKind.LATE_FEE.value]),
                    # the first part of an unpaid order is its payment: reminded as the order above
                    or_(PaymentRequest.kind.not_in(SECURING_KINDS), Order.status != OrderStatus.PLACED),
                    PaymentRequest.due_at > uow.now,
                    PaymentRequest.due_at <= uow.now + horizon,
                )
                .order_by(PaymentRequest.id)
            )
        ).all()
        for request, order, go in requests:
            chosen = nearest_due_lead(_ladder(await policies.of(go), lead), request.due_at, uow.now)
            if chosen is None:
                continue
            stamp = f"{request.due_at.isoformat()}:{int(chosen.total_seconds()) // 60}"
            queued += await _remind(uow, go, order, request, stamp=stamp)
        await uow.commit()
        return queued


def _ladder(policy: GOPolicy, lead: timedelta) -> list[timedelta]:
    return [timedelta(minutes=m) for m in policy.reminder_minutes] or [lead]


def nearest_due_lead(
    ladder: list[timedelta], due_at: datetime, now: datetime, most: timedelta | None = None
) -> timedelta | None:
    """The shortest lead of ``ladder`` whose moment has come (``due_at - lead <= now``), or
    None: after downtime the nearest one, never the stale longer ones. A lead longer than
    ``most`` is taken as ``most`` (a short payment window is reminded halfway)."""
    for lead in sorted(ladder):
        effective = min(lead, most) if most is not None else lead
        if now >= due_at - effective:
            return lead
    return None


async def _longest_leads(uow: UnitOfWork) -> list[int]:
    """The longest lead any stored policy asks for, in minutes (how far ahead to look)."""
    stored = (await uow.session.scalars(select(GOPolicySetting.reminders).distinct())).all()
    return [max(int(m) for m in text.split(",")) for text in stored if text]


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
                .where(
                    PaymentRequest.status == RequestStatus.OPEN,
                    PaymentRequest.due_at <= uow.now,
                    PaymentRequest.kind != RequestKind.LATE_FEE.value,  # owed until paid or voided
                )
                .order_by(PaymentRequest.id)
            )
        ).all()
        released: dict[int, int] = {}
        policies = Policies(uow)
        expired = 0
        for due in overdue:
            go_id = await uow.session.scalar(select(Order.go_id).where(Order.id == due.order_id))
            if go_id is not None and uow.now < due.due_at + await policies.grace(go_id):
                continue  # within the GO's grace: still payable (late fees may run)
            order = await lock_order(uow, due.order_id)
            request = await ledger.locked(uow, PaymentRequest, due.id)
            if request.status != RequestStatus.OPEN:  # paid or reviewed meanwhile
                continue
            await ledger.set_request_status(
                uow, request, RequestStatus.EXPIRED, None, "payment window ran out"
            )
            expired += 1
            if request.kind in SECURING_KINDS and order.status == OrderStatus.PLACED:
                await end_order(uow, order, OrderStatus.EXPIRED, None, reason="payment window ran out")
                released[order.go_id] = released.get(order.go_id, 0) + order.units
                await uow.notify_user(
                    order.buyer_id,
                    "payment_expired",
                    {"number": order.number},
                    dedupe_key=f"expired:{request.id}",
                )
        for go_id, units in sorted(released.items()):
            go = await uow.session.get_one(GroupOrder, go_id)
            await after_release(uow, go, await policies.of(go), units)
        await uow.commit()
        return expired
