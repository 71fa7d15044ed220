"""Render cases for what a proof's screenshot was read to say, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.payments.reading.policy import FieldCheck
from core.payments.unique_amounts import UniqueView
from core.services.proof_policy import PolicyView
from core.services.proofs import ProofView
from tests.unit.payment_template_cases import pay_view

CHECKS = (
    FieldCheck("amount", "S$25.00", "S$25.90", False),
    FieldCheck("currency", "SGD", "SGD", True),
    FieldCheck("reference", "SVT-FML-3-I1", "SVT-FML-3-I1", True),
)
FLAGS = ("transaction id TXN1 was already sent for SVT-FML-1 by amy <3",)
READ = ProofView("SVT-FML-3", "bob <3", "S$25.90", "", True, "pending", checks=CHECKS, flags=FLAGS)


def review(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "number": "SVT-FML-3",
        "buyer": "bob <3",
        "amount": "S$25.90",
        "reference": "SVT-FML-3-I1",
        "has_image": True,
        "go_code": "SVT-FML",
        "ordinal": 1,
        "read": True,
        "note": "",
        "checks": [c.__dict__ for c in CHECKS],
        "flags": list(FLAGS),
    }
    values.update(changes)
    return values


PROOF_READING_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "proof_review",
        review(),
        [
            "✗ amount: S$25.00 (expected S$25.90)",
            "✓ currency: SGD",
            "✓ reference: SVT-FML-3-I1",
            "⚠️ transaction id TXN1 was already sent for SVT-FML-1 by amy <3",
            "/approve SVT-FML-3",
        ],
    ),
    (
        "proof_review",
        review(checks=[], flags=[], note="The screenshot could not be read; look at it yourself."),
        ["Read: The screenshot could not be read", "/approve SVT-FML-3"],
    ),
    (
        "proof_review",
        review(auto_approved=True, outcome="", flags=[], checks=[c.__dict__ for c in CHECKS[1:]]),
        ["✓ currency: SGD", "Approved automatically: everything read matches", "/unapprove SVT-FML-3."],
    ),
    (
        "proof_view",
        {"proof": READ},
        ["✗ amount: S$25.00 (expected S$25.90)", "✓ currency: SGD", "⚠️ transaction id TXN1"],
    ),
    (
        "proof_received",
        {"proof": ProofView("SVT-FML-3", "bob", "S$25.90", "", True, "approved")},
        ["✅ Thanks! Your proof for SVT-FML-3 (S$25.90) checked out and is approved."],
    ),
    (
        "proof_policy_set",
        {"view": PolicyView("SVT-FML", "auto", unreadable=True)},
        ["Proofs for SVT-FML: auto", "new transaction id", "This server cannot read screenshots yet"],
    ),
    ("proof_policy_set", {"view": PolicyView("default", "off")}, ["Your proofs: off", "not read"]),
    (
        "proof_policy_set",
        {"view": PolicyView("SVT-FML", "suggest", inherited=True)},
        ["Proofs for SVT-FML: suggest (your default)", "one tap"],
    ),
    (
        "unique_amounts_set",
        {"view": UniqueView("SVT-FML", "S$0.10", "S$49.00 + S$0.07 = S$49.07")},
        ["SVT-FML: each new payment asks a unique amount, at most S$0.10", "S$49.00 + S$0.07 = S$49.07"],
    ),
    (
        "unique_amounts_set",
        {"view": UniqueView("SVT-FML", "")},
        ["SVT-FML: new payments ask the plain amount."],
    ),
    (
        "pay_options",
        {
            "pay": pay_view(
                amount="S$25.97",
                amount_plain="25.97",
                unique_line="S$25.90 + S$0.07 = S$25.97",
                pay_to="+659",
            ),
            "url": "u",
        },
        ["S$25.90 + S$0.07 = S$25.97: send exactly", "the extra cents tell your payment apart"],
    ),
    (
        "proof_unapproved",
        {"proof": ProofView("SVT-FML-3", "bob <3", "S$25.90", "", True, "pending", ordinal=2)},
        ["Approval undone: proof #2 for SVT-FML-3 (S$25.90) from bob <3", "/approve SVT-FML-3 #2"],
    ),
]
