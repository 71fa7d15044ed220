"""Payment request and payment attempt statuses, with their transitions."""

from __future__ import annotations

from enum import StrEnum

from core.errors import InvalidTransition


class RequestStatus(StrEnum):
    OPEN = "open"  # waiting for the buyer
    REVIEW = "review"  # a proof of transfer waits for the GOM
    PAID = "paid"
    VOID = "void"  # the order ended or its amount changed
    EXPIRED = "expired"  # the payment window ran out
    REFUNDED = "refunded"


REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.OPEN: frozenset(
        {RequestStatus.REVIEW, RequestStatus.PAID, RequestStatus.VOID, RequestStatus.EXPIRED}
    ),
    RequestStatus.REVIEW: frozenset({RequestStatus.OPEN, RequestStatus.PAID, RequestStatus.VOID}),
    RequestStatus.PAID: frozenset({RequestStatus.REFUNDED}),
    RequestStatus.VOID: frozenset(),
    RequestStatus.EXPIRED: frozenset(),
    RequestStatus.REFUNDED: frozenset(),
}
PAYABLE = frozenset({RequestStatus.OPEN, RequestStatus.REVIEW})


class AttemptStatus(StrEnum):
    CREATED = "created"  # a link or QR was handed out
    SUCCEEDED = "succeeded"
    HELD = "held"  # money arrived but does not match, or came late: the GOM decides
    EXPIRED = "expired"
    FAILED = "failed"
    VOID = "void"
    REFUNDED = "refunded"


class RequestKind(StrEnum):
    ITEMS = "items"
    SHIPPING = "shipping"
    ADJUSTMENT = "adjustment"


class RefundStatus(StrEnum):
    PENDING = "pending"  # to be sent through the gateway
    MANUAL = "manual"  # the GOM sends it by hand, then confirms with a reference
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def check_request_transition(current: str, target: RequestStatus) -> None:
    allowed = REQUEST_TRANSITIONS[RequestStatus(current)]
    if target not in allowed:
        raise InvalidTransition(f"This payment is {current}; it cannot become {target}.")
