"""Render cases for the GOM's bookkeeping messages, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.services.marked_payments import MarkedPaid
from core.services.proof_batches import ProofBatch, ProofLine
from core.services.proofs import ProofView
from core.views import BuyerTotal, PaymentsReport

WHEN = "Fri 20 Nov 2026, 20:00 +08"
PART = MarkedPaid("SVT-FML-3", "bob <3", "S$10.00", "SVT-FML-3-I1", "cash ☕", "S$15.90", WHEN)
WHOLE = MarkedPaid("SVT-FML-3", "bob <3", "S$25.90", "SVT-FML-3-I1", "", "", WHEN)

EXACT = ProofLine(7, "SVT-FML-3", "bob <3", "S$25.90", "SVT-FML-3-I1", "")
SHORT = ProofLine(8, "SVT-FML-4", "amy", "S$20.00", "TXN 9", "S$25.90 is owed")
APPROVED = ProofView("SVT-FML-3", "bob <3", "S$25.90", "SVT-FML-3-I1", False, "approved", reviewer="gina")
CONFIRM = "/approve all SVT-FML confirm=7"
BOB = BuyerTotal(
    "bob <3",
    ["SVT-FML-1", "SVT-FML-2"],
    "SGD",
    8220,
    3590,
    0,
    4630,
    "S$82.20",
    "S$35.90",
    "S$0.00",
    "S$46.30",
    ["SVT-FML-1-I1", "SVT-FML-2-I1"],
    "2026-11-20 20:00 +08",
)
REPORT = PaymentsReport("SVT-FML", [], "S$35.90", "S$46.30", 1, 1, [], [], [], buyers=[BOB])

LEDGER_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("marked_paid", {"paid": PART}, ["Recorded S$10.00", "bob <3", '"cash ☕"', "S$15.90 still to pay"]),
    ("marked_paid", {"paid": WHOLE}, ["Recorded S$25.90", "SVT-FML-3 is paid."]),
    (
        "marked_paid",
        {"paid": MarkedPaid(**{**PART.__dict__, "repeat": True})},
        ["Already recorded: S$10.00", WHEN, "counts once", "another note"],
    ),
    (
        "proofs_matched",
        {"batch": ProofBatch("SVT-FML", [EXACT], [SHORT]), "confirm": CONFIRM},
        ["1 proof match exactly in SVT-FML", "SVT-FML-3 bob <3 S$25.90", "S$25.90 is owed", CONFIRM],
    ),
    ("proofs_matched", {"batch": ProofBatch("SVT-FML", [], []), "confirm": ""}, ["No proofs wait"]),
    (
        "proofs_matched",
        {"batch": ProofBatch("SVT-FML", [], [SHORT], [APPROVED], confirmed=True), "confirm": ""},
        ["Approved 1 for SVT-FML", "SVT-FML-3 bob <3 S$25.90", "Still waiting", "ref TXN 9"],
    ),
    (
        "payments_report",
        {"report": REPORT},
        ["👤 bob <3 · 2 orders: owed S$82.20, paid S$35.90, still due S$46.30", "SVT-FML-1-I1, SVT-FML-2-I1"],
    ),
    ("buyer_totals_ready", {"filename": "SVT-FML-buyers.csv"}, ["SVT-FML-buyers.csv", "still has to pay"]),
]
