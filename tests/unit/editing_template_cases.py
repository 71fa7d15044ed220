"""Render cases for the GOM's workbench messages, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.services.copying import CopiedGO
from core.services.group_orders import ClosingOutcome
from core.services.impact import GoImpact
from core.views import GroupOrderView, ItemView, ProgressView, VariantView

TITLE = "세븐틴 <b>FML</b> 🎵"
DEADLINE = "Tue 01 Dec 2026, 20:00 +08"
ITEMS = [
    ItemView(
        "ALB",
        "FML album",
        "S$25.90",
        2590,
        None,
        3,
        variants=[
            VariantView("A", "Faded Mono Life", None),
            VariantView("B", "Fallen Misfit", 4, "S$31.00", 3100),
            VariantView("C", "Carat", None, retired=True),
        ],
    ),
    ItemView("LS", "Lightstick", "S$9.00", 900, None, 1, retired=True),
]
GO = GroupOrderView(
    1, "SVT-FML", TITLE, "", "open", "SGD", "Asia/Singapore", DEADLINE, "2026-12-01T12:00:00+00:00", 2, 48,
    ProgressView(4, 0, 5, 10), ITEMS,
)  # fmt: skip


def impact(**changes: Any) -> GoImpact:
    values: dict[str, Any] = {
        "code": "SVT-FML",
        "title": TITLE,
        "status": "open",
        "deadline": DEADLINE,
        "before_deadline": True,
        "live_orders": 3,
        "units": 4,
        "total": "S$103.60",
        "paid_orders": 1,
        "paid": "S$25.90",
        "moq": 5,
        **changes,
    }
    return GoImpact(**values)


EDITING_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "go_edited",
        {"go": GO, "changes": ["capacity 20", "2 per buyer"]},
        ["SVT-FML changed: capacity 20; 2 per buyer.", "Fallen Misfit: S$31.00 (4 left)"],
    ),
    (
        "go_copied",
        {"go": GO, "copied": CopiedGO("SVT-FML", "SVT-OLD", 1, deadline_passed=True)},
        ["Copied SVT-OLD to SVT-FML as a draft: 1 item(s)", "/extend SVT-FML +7d"],
    ),
    (
        "go_copied",
        {"go": GO, "copied": CopiedGO("SVT-FML", "SVT-OLD", 1, deadline_passed=False)},
        ["Check it, then /open SVT-FML."],
    ),
    (
        "go_impact",
        {"impact": impact(), "action": "close"},
        [
            f"Close SVT-FML · {TITLE} now, before its deadline ({DEADLINE})?",
            "3 live order(s), 4 unit(s), S$103.60 in all; 1 paid (S$25.90).",
            "not reached (4/5)",
            "refunding S$25.90",
            "/close SVT-FML proceed",
        ],
    ),
    (
        "go_impact",
        {"impact": impact(moq=4), "action": "close"},
        ["closing confirms the group order", "Close it? /close SVT-FML confirm"],
    ),
    (
        "go_impact",
        {"impact": impact(), "action": "cancel"},
        ["refunds S$25.90 to 1 buyer(s)", "Cancel it? /cancelgo SVT-FML confirm"],
    ),
    (
        "go_closed",
        {"go": GO, "outcome": ClosingOutcome("confirmed", 4, 5)},
        ["MOQ not reached — going ahead anyway, as you chose"],
    ),
]
