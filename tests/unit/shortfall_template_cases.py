"""Render cases for shortfalls and store credit, added to test_templates.CASES."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.services.shortfalls import ArrivalView, ShortfallView, ShortOrderView
from core.services.store_credit import CreditEntryView, CreditLine, CreditUse, CreditView


def short_order(number: str = "SVT-FML-3", back: str = "S$25.90", less: str = "") -> ShortOrderView:
    return ShortOrderView(
        number=number,
        buyer="Mina",
        lines=(("ALB:A", 1),),
        units=1,
        value="S$25.90",
        less_owed=less,
        back=back,
        value_minor=2590,
        less_owed_minor=2590 if less else 0,
        back_minor=2590 if back else 0,
    )


def shortfall(**changes: Any) -> ShortfallView:
    base: dict[str, Any] = {
        "code": "SVT-FML",
        "title": "FML album",
        "rule": "last_first",
        "remedy": "refund",
        "seed": "SVT-FML-1",
        "arrivals": (ArrivalView("ALB:A", "FML album · Faded Mono Life", 5, 3, 2),),
        "orders": (short_order(), short_order("SVT-FML-4", back="", less="S$25.90")),
        "units": 2,
        "value": "S$51.80",
        "less_owed": "S$25.90",
        "back": "S$25.90",
        "applied": False,
        "refunded": "S$25.90",
        "words": ("ALB:A=3", "seed=SVT-FML-1"),
    }
    return ShortfallView(**{**base, **changes})


CONFIRM = "/shortfall SVT-FML ALB:A=3 seed=SVT-FML-1 confirm"
NOTICE = {
    "number": "SVT-FML-3",
    "go_code": "SVT-FML",
    "go_title": "FML album",
    "lines": [["ALB:A", 1]],
    "value": "S$25.90",
    "less_owed": "",
    "back": "S$25.90",
    "remedy": "refund",
}
CREDIT = CreditView(
    buyer="Mina",
    lines=(CreditLine("Gina", "SGD", "S$25.90", 2590),),
    entries=(CreditEntryView("Fri 20 Nov 2026, 12:00 UTC", "S$25.90", "shortfall", "SVT-FML-3: short"),),
    for_staff=False,
)

SHORTFALL_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "shortfall_preview",
        {"s": shortfall(), "confirm": CONFIRM},
        [
            "Shortfall in SVT-FML (FML album), not yet applied",
            "ALB:A FML album · Faded Mono Life: 3 arrived of 5 expected — 2 short",
            "Who goes short (last first)",
            "SVT-FML-3 (Mina): 1× ALB:A = S$25.90; S$25.90 refunded",
            "SVT-FML-4 (Mina): 1× ALB:A = S$25.90; owes S$25.90 less",
            "Total: 2 unit(s), S$51.80 not delivered; S$25.90 less owed; S$25.90 refunded.",
            f"Apply it? {CONFIRM}",
        ],
    ),
    (
        "shortfall_preview",
        {
            "s": shortfall(
                rule="lottery",
                remedy="credit",
                orders=(replace(short_order(), remedy="credit"),),
                refunded="",
                credited="S$25.90",
            ),
            "confirm": CONFIRM,
        },
        [
            "(lottery, seed SVT-FML-1)",
            "1× ALB:A = S$25.90; S$25.90 as store credit",
            "; S$25.90 as store credit.",
        ],
    ),
    (
        "shortfall_preview",
        {
            "s": shortfall(
                arrivals=(ArrivalView("POB", "Poster", 4, 4, 0),), orders=(), units=0, value="S$0.00"
            ),
            "confirm": CONFIRM,
        },
        ["SVT-FML: nothing is short", "POB Poster: 4 arrived of 4 expected"],
    ),
    (
        "shortfall_applied",
        {"s": shortfall(applied=True, by_hand=("SVT-FML-3",))},
        [
            "Shortfall recorded in SVT-FML: 2 unit(s), S$51.80 not delivered, over 2 order(s)",
            "Buyers owe S$25.90 less.",
            "S$25.90 goes back as refunds.",
            "/refunded ORDER REFERENCE: SVT-FML-3",
        ],
    ),
    (
        "shortfall_notice",
        NOTICE,
        [
            "Not everything arrived for SVT-FML (FML album)",
            "SVT-FML-3 is short: 1× ALB:A (S$25.90)",
            "S$25.90 is refunded",
        ],
    ),
    (
        "shortfall_notice",
        {**NOTICE, "remedy": "credit", "less_owed": "S$5.00"},
        ["You owe S$5.00 less.", "S$25.90 is now store credit", "/pay ORDER credit"],
    ),
    (
        "credit_balance",
        {"c": CREDIT},
        ["Your store credit:", "S$25.90 with Gina", "(shortfall)", "/pay ORDER credit"],
    ),
    (
        "credit_balance",
        {"c": CreditView("Mina", (), (), for_staff=True)},
        ["Mina's store credit with you:", "• none"],
    ),
    (
        "credit_balance",
        {"c": CreditView("Mina", CREDIT.lines, (), for_staff=True, adjusted="+S$5.00")},
        ["✅ Adjusted by +S$5.00.", "Mina's store credit with you:", "S$25.90 with Gina"],
    ),
    (
        "credit_used",
        {"use": CreditUse("SVT-FML-5", "S$10.00", "S$15.90", "S$0.00", False)},
        ["S$10.00 of your store credit paid towards SVT-FML-5", "Still to pay: S$15.90", "Credit left"],
    ),
    (
        "credit_used",
        {"use": CreditUse("SVT-FML-5", "S$25.90", "", "S$4.10", True)},
        ["It is paid in full.", "Credit left with this GOM: S$4.10"],
    ),
]
