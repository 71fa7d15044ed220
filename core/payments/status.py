"""Payment request, attempt, proof and refund statuses with their transitions, and the
kinds of gateway event (``core.transitions`` applies every change through these tables)."""

from __future__ import annotations

from enum import StrEnum


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
    # back to review: a GOM undid the approval that paid it (/unapprove)
    RequestStatus.PAID: frozenset({RequestStatus.REFUNDED, RequestStatus.REVIEW}),
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


# Money can arrive on an attempt that already expired, failed or was voided (a late
# webhook): it is taken (succeeded) or held for the GOM, never lost.
ATTEMPT_TRANSITIONS: dict[AttemptStatus, frozenset[AttemptStatus]] = {
    AttemptStatus.CREATED: frozenset(
        {
            AttemptStatus.SUCCEEDED,
            AttemptStatus.HELD,
            AttemptStatus.EXPIRED,
            AttemptStatus.FAILED,
            AttemptStatus.VOID,
        }
    ),
    AttemptStatus.EXPIRED: frozenset({AttemptStatus.SUCCEEDED, AttemptStatus.HELD}),
    AttemptStatus.FAILED: frozenset({AttemptStatus.SUCCEEDED, AttemptStatus.HELD}),
    AttemptStatus.VOID: frozenset({AttemptStatus.SUCCEEDED, AttemptStatus.HELD}),
    AttemptStatus.HELD: frozenset({AttemptStatus.SUCCEEDED}),  # the GOM accepts it (or refunds it)
    # void: a proof's approval undone (/unapprove), so the money it recorded never arrived
    AttemptStatus.SUCCEEDED: frozenset({AttemptStatus.REFUNDED, AttemptStatus.VOID}),
    AttemptStatus.REFUNDED: frozenset(),
}


class ProofStatus(StrEnum):
    PENDING = "pending"  # waits for the GOM or a helper
    APPROVED = "approved"
    REJECTED = "rejected"


PROOF_TRANSITIONS: dict[ProofStatus, frozenset[ProofStatus]] = {
    ProofStatus.PENDING: frozenset({ProofStatus.APPROVED, ProofStatus.REJECTED}),
    ProofStatus.APPROVED: frozenset({ProofStatus.PENDING}),  # the approval undone (/unapprove)
    ProofStatus.REJECTED: frozenset(),
}


class EventKind(StrEnum):
    """What a verified gateway event says happened to an attempt."""

    PAID = "paid"
    EXPIRED = "expired"
    FAILED = "failed"
    REFUNDED = "refunded"
    IGNORED = "ignored"  # an event gomflow does not act on


class RequestKind(StrEnum):
    ITEMS = "items"
    SHIPPING = "shipping"
    ADJUSTMENT = "adjustment"
    LATE_FEE = "late_fee"  # run up after another request's due time passed (core.services.late_fees)
    # parts of the items payment (core.payments.terms): together they ask what ITEMS would
    DEPOSIT = "deposit"  # secures the claim; the balance falls due after arrival
    BALANCE = "balance"
    INSTALMENT = "instalment"  # the first secures the claim, the rest fall due on set dates


# Parts of the items payment, and those whose payment secures the claim (the order is paid).
PART_KINDS = frozenset({RequestKind.DEPOSIT, RequestKind.BALANCE, RequestKind.INSTALMENT})
SECURING_KINDS = frozenset({RequestKind.ITEMS, RequestKind.DEPOSIT, RequestKind.INSTALMENT})


class RefundStatus(StrEnum):
    PENDING = "pending"  # to be sent through the gateway
    MANUAL = "manual"  # the GOM sends it by hand, then confirms with a reference
    SUCCEEDED = "succeeded"
    FAILED = "failed"


REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    RefundStatus.PENDING: frozenset({RefundStatus.SUCCEEDED, RefundStatus.FAILED, RefundStatus.MANUAL}),
    RefundStatus.MANUAL: frozenset({RefundStatus.SUCCEEDED}),
    RefundStatus.FAILED: frozenset({RefundStatus.PENDING, RefundStatus.MANUAL}),
    RefundStatus.SUCCEEDED: frozenset(),
}


def whole_refund_key(payment_id: int) -> str:
    """The idempotency key of a payment's one refund of all of it, less any fee the policy
    keeps (a backout, a handover); partial refunds (a shortfall) have keys of their own."""
    return f"gf-refund-{payment_id}"
