"""Statuses with explicit transition tables.

Group order, order and waitlist status are separate dimensions; each moves only along
the edges listed here, so a bug elsewhere cannot skip a step (say, ship a failed GO).
"""

from __future__ import annotations

from enum import StrEnum

from core.errors import InvalidTransition


class GOStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    ORDERED = "ordered"
    ARRIVED = "arrived"
    SHIPPING = "shipping"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


GO_TRANSITIONS: dict[GOStatus, frozenset[GOStatus]] = {
    GOStatus.DRAFT: frozenset({GOStatus.OPEN, GOStatus.CANCELLED}),
    GOStatus.OPEN: frozenset({GOStatus.CLOSED, GOStatus.CANCELLED}),
    GOStatus.CLOSED: frozenset({GOStatus.CONFIRMED, GOStatus.FAILED, GOStatus.CANCELLED}),
    GOStatus.CONFIRMED: frozenset({GOStatus.ORDERED, GOStatus.CANCELLED}),
    GOStatus.FAILED: frozenset(),
    GOStatus.ORDERED: frozenset({GOStatus.ARRIVED, GOStatus.CANCELLED}),
    GOStatus.ARRIVED: frozenset({GOStatus.SHIPPING}),
    GOStatus.SHIPPING: frozenset({GOStatus.COMPLETED}),
    GOStatus.COMPLETED: frozenset(),
    GOStatus.CANCELLED: frozenset(),
}

# Statuses in which the GO still holds buyers' reservations as live orders.
GO_LIVE = frozenset(GOStatus) - {GOStatus.FAILED, GOStatus.CANCELLED}


class OrderStatus(StrEnum):
    PLACED = "placed"  # slots reserved, waiting for payment
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # payment window ran out
    REFUNDED = "refunded"


ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.EXPIRED}),
    OrderStatus.PAID: frozenset({OrderStatus.REFUNDED, OrderStatus.CANCELLED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}

# Orders that hold slots and stock.
ORDER_LIVE = frozenset({OrderStatus.PLACED, OrderStatus.PAID})


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    PROMOTED = "promoted"
    LEFT = "left"
    DROPPED = "dropped"  # the GO closed before a slot freed up


def check_go_transition(current: str, target: GOStatus) -> None:
    allowed = GO_TRANSITIONS[GOStatus(current)]
    if target not in allowed:
        raise InvalidTransition(_refusal("group order", current, target, allowed))


def check_order_transition(current: str, target: OrderStatus) -> None:
    allowed = ORDER_TRANSITIONS[OrderStatus(current)]
    if target not in allowed:
        raise InvalidTransition(_refusal("order", current, target, allowed))


def _refusal(
    what: str, current: str, target: str, allowed: frozenset[GOStatus] | frozenset[OrderStatus]
) -> str:
    if not allowed:
        return f"This {what} is {current}; it cannot change any more."
    options = ", ".join(sorted(allowed))
    return f"This {what} is {current}; it cannot become {target} (next can be: {options})."
