"""Render cases for the GOM's bookkeeping messages, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.services.marked_payments import MarkedPaid

WHEN = "Fri 20 Nov 2026, 20:00 +08"
PART = MarkedPaid("SVT-FML-3", "bob <3", "S$10.00", "SVT-FML-3-I1", "cash ☕", "S$15.90", WHEN)
WHOLE = MarkedPaid("SVT-FML-3", "bob <3", "S$25.90", "SVT-FML-3-I1", "", "", WHEN)

LEDGER_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("marked_paid", {"paid": PART}, ["Recorded S$10.00", "bob <3", '"cash ☕"', "S$15.90 still to pay"]),
    ("marked_paid", {"paid": WHOLE}, ["Recorded S$25.90", "SVT-FML-3 is paid."]),
    (
        "marked_paid",
        {"paid": MarkedPaid(**{**PART.__dict__, "repeat": True})},
        ["Already recorded: S$10.00", WHEN, "counts once", "another note"],
    ),
]
