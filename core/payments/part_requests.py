"""The requests of an items payment made in parts: a deposit now and the balance when the
GO arrives (``balance_days`` later), or instalments on the GOM's dates. What they ask is
written once in ``core.payments.parts`` (``split``, ``share``); which terms apply is
``core.payments.terms``. Runs inside the caller's unit of work and never commits.

A deposit opened after the GO arrived opens its balance at once; otherwise the balance of
every live order that took a deposit is opened when the GO arrives (``open_balances``),
paid or not, so each part has its own due date and reminders.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, exists, select

from core.db.models import GOMoney, GroupOrder, Order, PaymentRequest
from core.lookups import lock_order
from core.money import format_money
from core.payments import ledger
from core.payments.parts import split
from core.payments.status import RequestKind, RequestStatus
from core.payments.terms import (
    ARRIVED_OR_LATER,
    deposit_of,
    end_of_day,
    instalment_dates,
    items_owed,
    money_of,
    parts_of,
)
from core.status import ORDER_LIVE
from core.uow import UnitOfWork
from core.when import local_text


async def open_deposit(uow: UnitOfWork, go: GroupOrder, order: Order, row: GOMoney, owed: int) -> None:
    """The deposit, and the balance at once when the GO has already arrived."""
    deposit = deposit_of(row, owed, order.units)
    await ledger.open_request(uow, order, RequestKind.DEPOSIT, deposit)
    uow.audit(
        actor_id=None,
        entity="order",
        entity_id=order.id,
        action="deposit_split",
        detail=f"owed {owed} deposit {deposit} ({row.deposit_kind} {row.deposit_value}) "
        f"balance {owed - deposit}",
    )
    if go.status in ARRIVED_OR_LATER:
        await open_balance(uow, go, order)


async def open_balance(uow: UnitOfWork, go: GroupOrder, order: Order) -> PaymentRequest | None:
    """The balance of an order that paid by deposit: what its items owe less the deposit,
    due ``balance_days`` after now (the GO's arrival). Once per order."""
    parts = await parts_of(uow, order)
    if any(p.kind == RequestKind.BALANCE for p in parts):
        return None
    deposits = [p for p in parts if p.kind == RequestKind.DEPOSIT]
    if not deposits:
        return None
    rest = await items_owed(uow, order) - sum(p.amount_minor - p.adjust_minor for p in deposits)
    if rest <= 0:
        return None
    row = await money_of(uow, go.id)
    days = row.balance_days if row is not None else 14
    request = await ledger.open_request(
        uow, order, RequestKind.BALANCE, rest, due_at=uow.now + timedelta(days=days)
    )
    await uow.notify_user(
        order.buyer_id,
        "payment_requested",
        {
            "number": order.number,
            "kind": request.kind,
            "amount": format_money(request.amount_minor, request.currency),
            "due": local_text(request.due_at, go.timezone),
        },
        dedupe_key=f"requested:{request.id}",
    )
    return request


async def open_balances(uow: UnitOfWork, go: GroupOrder) -> int:
    """Called when the GO arrives: open the balance of every live order that took a deposit."""
    order_ids = (
        await uow.session.scalars(
            select(Order.id)
            .where(
                Order.go_id == go.id,
                Order.status.in_(ORDER_LIVE),
                exists().where(
                    and_(
                        PaymentRequest.order_id == Order.id,
                        PaymentRequest.kind == RequestKind.DEPOSIT,
                        PaymentRequest.status != RequestStatus.VOID,
                    )
                ),
            )
            .order_by(Order.id)
        )
    ).all()
    opened = 0
    for order_id in order_ids:
        order = await lock_order(uow, order_id)
        if order.status in ORDER_LIVE and await open_balance(uow, go, order) is not None:
            opened += 1
    return opened


async def open_instalments(
    uow: UnitOfWork, go: GroupOrder, order: Order, row: GOMoney | None, owed: int
) -> list[PaymentRequest]:
    """The items payment as instalments: the first due with the order's payment, the rest
    on the GOM's dates still ahead of it. Empty when no date is left."""
    later = [day for day in instalment_dates(row) if end_of_day(day, go.timezone) > order.payment_due_at]
    if not later:
        return []
    amounts = split(owed, len(later) + 1)
    dues = [order.payment_due_at, *(end_of_day(day, go.timezone) for day in later)]
    opened = [
        await ledger.open_request(uow, order, RequestKind.INSTALMENT, amount, due_at=due)
        for amount, due in zip(amounts, dues, strict=True)
    ]
    uow.audit(
        actor_id=order.buyer_id,
        entity="order",
        entity_id=order.id,
        action="instalments_chosen",
        detail=f"owed {owed} parts {','.join(map(str, amounts))} due "
        + ",".join(d.date().isoformat() for d in dues),
    )
    return opened
