"""Render cases for the paged order list, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.services.order_pages import OrderQuery, OrdersPage, OrdersSummary, Show, StatusLine
from core.services.payment_pages import MoneySummary, PaymentsPage
from core.views import LineView, OrderView, PaymentRow

SUMMARY = OrdersSummary(
    orders=45,
    units=52,
    statuses=[
        StatusLine("placed", 30, 35, 90650, "S$906.50"),
        StatusLine("paid", 12, 14, 36260, "S$362.60"),
        StatusLine("cancelled", 3, 3, 7770, "S$77.70"),
    ],
    currency="SGD",
    owed_minor=90650,
    paid_minor=36260,
    owed="S$906.50",
    paid="S$362.60",
)
ORDER = OrderView(
    "SVT-FML-21",
    "SVT-FML",
    "FML",
    "placed",
    2,
    "S$51.80",
    "Sun 22 Nov 2026",
    "bob <3",
    [LineView("FML album (A)", "ALB:A", 2, "S$51.80")],
)
PAGE = OrdersPage("SVT-FML", "FML", SUMMARY, OrderQuery(2, Show.UNPAID, "bob"), 2, 3, 45, [ORDER])
NONE = OrdersPage("SVT-FML", "FML", SUMMARY, OrderQuery(None, Show.PAID, "amy"), 1, 1, 0, [])

REPORT_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "orders_page",
        {"p": PAGE},
        [
            "SVT-FML: 45 order(s), 52 unit(s) · awaiting payment S$906.50 · paid S$362.60",
            "placed 30 (35 unit(s), S$906.50) · paid 12 (14 unit(s), S$362.60) · cancelled 3",
            "Page 2 of 3, unpaid of @bob (45 order(s)):",
            "SVT-FML-21 [placed] bob <3 — 2 unit(s), S$51.80: 2×ALB:A",
            "Another page: /orders SVT-FML unpaid @bob page N",
        ],
    ),
    ("orders_page", {"p": NONE}, ["No orders paid of @amy.", "/export SVT-FML"]),
]

MONEY = MoneySummary(12, "S$310.80", 30, "S$767.00", 2, 1, 0)
ROW = PaymentRow("SVT-FML-21", "bob <3", "placed", "items", "S$51.80", "open, S$10.00 received, S$41.80 owed")
PAYMENTS = PaymentsPage("SVT-FML", OrderQuery(2, Show.UNPAID, None), 2, 2, 30, MONEY, [ROW])
REPORT_CASES += [
    (
        "payments_page",
        {"p": PAYMENTS},
        [
            "💰 Payments for SVT-FML: 12 paid (S$310.80), 30 unpaid (S$767.00).",
            "To act on: 2 proof(s) to review, 1 payment(s) held, 0 refund(s) due",
            "/reconcile SVT-FML",
            "Page 2 of 2, unpaid (30 order(s)):",
            "• SVT-FML-21 bob <3 — items S$51.80 [open, S$10.00 received, S$41.80 owed]",
            "/payments SVT-FML csv",
        ],
    ),
]
