"""Render cases for a GO's money terms and the money lines of a pay view, added to
test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.services.money_terms import MoneyTermsView
from core.views import LineView, OrderView
from tests.unit.payment_template_cases import pay_view

TERMS = MoneyTermsView(
    "SVT-FML",
    "Rate set, 100 KRW = 0.098 SGD: 1 prices converted. Orders already placed keep their rate.",
    [
        "Prices in KRW, paid in SGD at 100 KRW = 0.098 SGD",
        "  ALB: ₩18,000 = S$17.64",
        "GOM fee per item: S$1.00 + 2.5%",
        "Surcharge for Card (Stripe): S$0.50 + 3.4%",
        "Deposit: 30% now; the balance 14 days after the items arrive",
    ],
)
LINES = [
    "Prices converted at 100 KRW = 0.098 SGD (locked when you ordered)",
    "GOM fee: S$2.00 (included)",
    "Instalment 1 of 3; 2 more after this",
    "Paying by Card (Stripe) adds S$0.50 + 3.4% <b> (S$56.13 in all)",
]

ORDER = OrderView(
    number="SVT-FML-1",
    go_code="SVT-FML",
    go_title="FML <album>",
    status="placed",
    units=2,
    total="S$35.28",
    payment_due="Sun 22 Nov 2026, 20:00 +08",
    buyer="bob",
    lines=[LineView(label="FML album", token="ALB", quantity=2, amount="S$35.28")],
    money_lines=[
        "GOM fee S$2.00 · with the fee S$37.28",
        "Prices at 100 KRW = 0.098 SGD, locked when ordered",
    ],
)

MONEY_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "money_terms",
        {"view": TERMS},
        [
            "SVT-FML: Rate set, 100 KRW",
            "ALB: ₩18,000 = S$17.64",
            "GOM fee per item: S$1.00 + 2.5%",
            "Deposit: 30%",
        ],
    ),
    (
        "money_terms",
        {"view": MoneyTermsView("SVT-FML", "", ["Prices in SGD, no fee, no surcharge, paid in full."])},
        ["Money terms of SVT-FML", "no fee, no surcharge"],
    ),
    (
        "pay_options",
        {"pay": pay_view(kind="instalment", money_lines=LINES, can_split=False), "url": "http://pay/tok"},
        [
            "Pay the instalment of order SVT-FML-3",
            "GOM fee: S$2.00 (included)",
            "Instalment 1 of 3; 2 more after this",
            "Prices converted at 100 KRW = 0.098 SGD",
        ],
    ),
    (
        "my_orders",
        {"orders": [ORDER], "bundles": [], "everything": False},
        [
            "Total S$35.28\n  GOM fee S$2.00 · with the fee S$37.28\n  Prices at 100 KRW = 0.098 SGD, locked",
            "Pay by Sun 22 Nov 2026",
        ],
    ),
]
