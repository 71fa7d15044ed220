"""Template cases for the bank statement report (``/statement``)."""

from __future__ import annotations

from typing import Any

from core.services.statements import LineView, StatementReport

MATCHED = LineView(
    4, "2026-12-01", "S$25.90", "PAYNOW SVT-FML-1-I1", "SVT-FML-1-I1", "SVT-FML-1", "reference"
)
SHORT = LineView(6, "2026-12-02", "S$25.89", "PAYNOW SVT-FML-3-I1", why="names SVT-FML-3-I1 but S$0.01 short")
PREVIEW = StatementReport(7, "dbs.csv", "csv", "pending", False, 3, (MATCHED,), (), (SHORT,), 1, 2)

STATEMENT_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "statement_report",
        {"report": PREVIEW},
        [
            "Statement #7 (CSV, dbs.csv).",
            "3 incoming credit(s): 1 matched, 0 ambiguous, 1 unmatched, 1 already applied before.",
            "• row 4, 2026-12-01, S$25.90 → SVT-FML-1-I1 (reference)",
            "• row 6, 2026-12-02, S$25.89: names SVT-FML-3-I1 but S$0.01 short [PAYNOW SVT-FML-3-I1]",
            "2 open request(s) still unpaid.",
            "/statement apply 7",
        ],
    ),
    (
        "statement_report",
        {"report": StatementReport(7, "", "ofx", "pending", True, 0, (), (), (), 0, 0)},
        ["this file was sent before; nothing new was read", "Nothing to apply."],
    ),
    (
        "statement_report",
        {
            "report": StatementReport(
                7, "dbs.csv", "csv", "applied", False, 2, (), (), (), 0, 1, (MATCHED,), (SHORT,)
            )
        },
        ["Statement #7: 1 payment(s) recorded.", "Skipped, not applied (1):"],
    ),
]
