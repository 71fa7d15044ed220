"""Every status change goes through ``core.transitions``: each registered lifecycle has a
complete table, and no core module writes a registered row's status by assignment."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

import pytest

from core.db.models import (
    GroupOrder,
    Handover,
    Order,
    Payment,
    PaymentProof,
    PaymentRequest,
    Refund,
    WaitlistEntry,
)
from core.errors import InvalidTransition
from core.payments.gateway import WebhookEvent
from core.payments.status import ATTEMPT_TRANSITIONS, AttemptStatus, EventKind, ProofStatus, RefundStatus
from core.status import check_transition
from core.transitions import LIFECYCLES

ROOT = Path(__file__).resolve().parents[2]


def test_every_status_bearing_row_has_a_lifecycle() -> None:
    assert set(LIFECYCLES) == {
        GroupOrder,
        Order,
        WaitlistEntry,
        PaymentRequest,
        Payment,
        PaymentProof,
        Refund,
        Handover,
    }


@pytest.mark.parametrize("model", sorted(LIFECYCLES, key=lambda m: m.__name__))
def test_each_table_has_a_row_for_every_status_and_leads_only_to_statuses(model: type) -> None:
    edges = LIFECYCLES[model].edges
    enum = type(next(iter(edges)))
    assert issubclass(enum, StrEnum)
    assert set(edges) == set(enum)
    assert all(target in enum for targets in edges.values() for target in targets)


def test_money_taken_is_never_taken_again_and_a_refund_is_final() -> None:
    with pytest.raises(InvalidTransition, match="payment attempt is refunded; it cannot change any more"):
        check_transition("payment attempt", ATTEMPT_TRANSITIONS, "refunded", AttemptStatus.SUCCEEDED)
    with pytest.raises(InvalidTransition, match="cannot become held"):
        check_transition("payment attempt", ATTEMPT_TRANSITIONS, "succeeded", AttemptStatus.HELD)
    assert LIFECYCLES[Refund].edges[RefundStatus.SUCCEEDED] == frozenset()
    assert LIFECYCLES[PaymentProof].edges[ProofStatus.APPROVED] == frozenset({ProofStatus.PENDING})
    assert LIFECYCLES[PaymentProof].edges[ProofStatus.REJECTED] == frozenset()


def test_a_webhook_event_kind_is_an_enum_and_an_unknown_kind_is_refused() -> None:
    assert WebhookEvent("stripe", "evt_1", "paid").kind is EventKind.PAID  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="settled"):
        WebhookEvent("stripe", "evt_2", "settled")  # type: ignore[arg-type]


def status_assignments(source: str) -> list[int]:
    """Lines that assign ``something.status = …`` (a change that skips the table and the
    compare-and-set)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute) and target.attr == "status"
    ]


# Rows with a status but no lifecycle yet (a broadcast, an outbox message): not money or orders.
NOT_REGISTERED = {"core/services/broadcasts.py", "core/outbox.py"}


def test_no_core_module_assigns_a_status_outside_transitions() -> None:
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in sorted((ROOT / "core").rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in NOT_REGISTERED
        for line in status_assignments(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_assignment_scan_sees_a_status_write() -> None:
    assert status_assignments("x = 1\npayment.status = 'held'\nrow.note = 'x'\n") == [2]
