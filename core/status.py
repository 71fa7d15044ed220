"""Statuses with explicit transition tables.

Group order, order and waitlist status are separate dimensions; each moves only along
the edges listed here, so a bug elsewhere cannot skip a step (say, ship a failed GO).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from core.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


class GOStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    ORDERED = "ordered"
    ARRIVED = "arrived"
    PACKING = "packing"
    SHIPPING = "shipping"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


GO_TRANSITIONS: dict[GOStatus, frozenset[GOStatus]] = {
    GOStatus.DRAFT: frozenset({GOStatus.OPEN, GOStatus.CANCELLED}),
    GOStatus.OPEN: frozenset({GOStatus.CLOSED, GOStatus.CANCELLED}),
    # CLOSED rests only while a GO below its MOQ waits for the GOM's decision: go ahead,
    # fail, or reopen with a new deadline.
    GOStatus.CLOSED: frozenset({GOStatus.CONFIRMED, GOStatus.FAILED, GOStatus.CANCELLED, GOStatus.OPEN}),
    GOStatus.CONFIRMED: frozenset({GOStatus.ORDERED, GOStatus.CANCELLED}),
    GOStatus.FAILED: frozenset(),
    GOStatus.ORDERED: frozenset({GOStatus.ARRIVED, GOStatus.CANCELLED}),
    GOStatus.ARRIVED: frozenset({GOStatus.PACKING, GOStatus.SHIPPING}),
    GOStatus.PACKING: frozenset({GOStatus.SHIPPING}),
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
    # back to placed: the approval that paid it was undone (/unapprove)
    OrderStatus.PAID: frozenset({OrderStatus.REFUNDED, OrderStatus.CANCELLED, OrderStatus.PLACED}),
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


WAITLIST_TRANSITIONS: dict[WaitlistStatus, frozenset[WaitlistStatus]] = {
    WaitlistStatus.WAITING: frozenset({WaitlistStatus.PROMOTED, WaitlistStatus.LEFT, WaitlistStatus.DROPPED}),
    WaitlistStatus.PROMOTED: frozenset(),
    WaitlistStatus.LEFT: frozenset(),
    WaitlistStatus.DROPPED: frozenset(),
}


class HandoverStatus(StrEnum):
    OFFERED = "offered"  # waiting for the recipient's answer
    DECLINED = "declined"
    CANCELLED = "cancelled"  # the giver took it back before an answer
    EXPIRED = "expired"  # nobody answered in time
    DONE = "done"  # an unpaid claim moved; the recipient owes it
    AWAITING = "awaiting"  # a paid claim moved; the recipient owes the GOM, the giver waits
    COMPLETED = "completed"  # the recipient paid; the giver's refund is queued
    LAPSED = "lapsed"  # the recipient did not pay in time; the claim went back to the giver
    VOID = "void"  # the order ended while the recipient still owed it


HANDOVER_TRANSITIONS: dict[HandoverStatus, frozenset[HandoverStatus]] = {
    HandoverStatus.OFFERED: frozenset(
        {
            HandoverStatus.DECLINED,
            HandoverStatus.CANCELLED,
            HandoverStatus.EXPIRED,
            HandoverStatus.DONE,
            HandoverStatus.AWAITING,
        }
    ),
    HandoverStatus.AWAITING: frozenset(
        {HandoverStatus.COMPLETED, HandoverStatus.LAPSED, HandoverStatus.VOID}
    ),
    HandoverStatus.DECLINED: frozenset(),
    HandoverStatus.CANCELLED: frozenset(),
    HandoverStatus.EXPIRED: frozenset(),
    HandoverStatus.DONE: frozenset(),
    HandoverStatus.COMPLETED: frozenset(),
    HandoverStatus.LAPSED: frozenset(),
    HandoverStatus.VOID: frozenset(),
}
# A handover still under way: an order has at most one at a time.
HANDOVER_OPEN = frozenset({HandoverStatus.OFFERED, HandoverStatus.AWAITING})


def check_go_transition(current: str, target: GOStatus) -> None:
    check_transition("group order", GO_TRANSITIONS, current, target)


def check_order_transition(current: str, target: OrderStatus) -> None:
    check_transition("order", ORDER_TRANSITIONS, current, target)


def check_transition(what: str, edges: Mapping[S, frozenset[S]], current: str, target: S) -> None:
    """Raise ``InvalidTransition`` unless ``edges`` lead from ``current`` to ``target``."""
    allowed = edges[type(target)(current)]
    if target not in allowed:
        raise InvalidTransition(_refusal(what, current, target, allowed))


# How a status reads after "This {what} is …" where its code does not read as a sentence.
STATUS_READS = {("payment", "paid"): "complete"}


def _refusal(what: str, current: str, target: str, allowed: frozenset[S]) -> str:
    reads = STATUS_READS.get((what, current), current)
    if not allowed:
        return f"This {what} is {reads}; it cannot change any more."
    options = ", ".join(sorted(allowed))
    return f"This {what} is {reads}; it cannot become {target} (next can be: {options})."
