"""Render cases for a GO waiting below its MOQ and reopened, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from tests.unit.editing_template_cases import DEADLINE, GO, TITLE, impact

NOTICE = {
    "code": "SVT-FML",
    "title": TITLE,
    "deadline": DEADLINE,
    "reserved": 3,
    "moq": 5,
    "capacity": 10,
}

REOPEN_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("go_reopened", {"go": GO}, [f"SVT-FML is open for orders again until {DEADLINE}."]),
    (
        "go_announcement",
        {**NOTICE, "status": "reopened"},
        [f"SVT-FML ({TITLE}) is open for orders again until {DEADLINE}", "3 of 10 slots taken"],
    ),
    (
        "staff_go_decided",
        {**NOTICE, "status": "closed", "decide_by": "Thu 03 Dec 2026, 20:00 +08"},
        [
            "below its MOQ of 5",
            "waits for your decision",
            "/close SVT-FML proceed",
            "/close SVT-FML fail",
            "/reopen SVT-FML +3d",
            "it fails Thu 03 Dec 2026, 20:00 +08",
        ],
    ),
    (
        "go_impact",
        {"impact": impact(status="closed", before_deadline=False), "action": "close"},
        [
            f"SVT-FML · {TITLE} closed at its deadline ({DEADLINE}) and waits for your decision.",
            "/close SVT-FML proceed",
            "Fail it? /close SVT-FML fail",
            "/reopen SVT-FML +3d",
        ],
    ),
]
