"""Render cases for random inclusions and their allocation, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.services.allocations import AllocationView, SeedView, Share
from core.services.inclusions import InclusionView, ItemInclusions, RankingView

COMMITMENT = "9f" * 32
ITEM = ItemInclusions(
    "SVT-FML",
    "ALB",
    "FML <album>",
    [InclusionView(1, "민규 포카", 3), InclusionView(2, "Wonwoo <PC>", None)],
    locked=False,
)
LOCKED = ItemInclusions("SVT-FML", "ALB", "FML <album>", ITEM.inclusions, locked=True)


def result(
    status: str = "allocated", *, tie_break: str = "lottery", runs: int = 1, already: bool = False
) -> AllocationView:
    return AllocationView(
        "SVT-FML",
        "ALB",
        "FML <album>",
        status,
        tie_break,
        COMMITMENT if tie_break == "lottery" else None,
        "s33d" if status == "announced" else None,
        runs,
        units=3,
        received=2,
        shares=[Share(1, "민규 포카", 1), Share(2, "Wonwoo <PC>", 1), Share(None, "nothing left", 1)],
        claims=[
            ("SVT-FML-1#1", 2, "민규 포카"),
            ("SVT-FML-1#2", 1, "Wonwoo <PC>"),
            ("SVT-FML-2#1", 3, "nothing left"),
        ],
        already=already,
    )


INCLUSION_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "inclusions_list",
        {"go_code": "SVT-FML", "items": [ITEM]},
        [
            "SVT-FML · ALB (FML <album>) comes with:",
            "1. 민규 포카 — 3 received",
            "2. Wonwoo <PC>\n",
            "/inclusions SVT-FML lock",
        ],
    ),
    ("inclusions_list", {"go_code": "SVT-FML", "items": [LOCKED]}, ["Rankings are locked"]),
    ("inclusions_list", {"go_code": "SVT-FML", "items": []}, ["SVT-FML has no items with inclusions yet"]),
    (
        "inclusions_locked",
        {"go_code": "SVT-FML", "locked": True},
        ["SVT-FML's rankings are locked", "/received SVT-FML ITEM"],
    ),
    ("inclusions_locked", {"go_code": "SVT-FML", "locked": False}, ["rankings are open again"]),
    (
        "inclusion_ranking",
        {"rankings": [RankingView("SVT-FML-1", ITEM, [2, 1])]},
        [
            "Order SVT-FML-1 · FML <album> comes with one of:",
            "Your ranking: Wonwoo <PC> > 민규 포카",
            "/rank SVT-FML-1 ALB 1,2",
        ],
    ),
    (
        "inclusion_ranking",
        {"rankings": [RankingView("SVT-FML-1", LOCKED, [])]},
        ["You have not ranked them yet.", "Rankings are locked"],
    ),
    (
        "lottery_seed",
        {"seed": SeedView("SVT-FML", None, False, False, 0)},
        ["SVT-FML has no lottery seed yet"],
    ),
    (
        "lottery_seed",
        {"seed": SeedView("SVT-FML", COMMITMENT, True, False, 2)},
        [f"Its commitment (SHA-256): {COMMITMENT}", "Posted to 2 linked channel(s).", "stays secret"],
    ),
    ("lottery_seed", {"seed": SeedView("SVT-FML", COMMITMENT, True, True, 0)}, ["commits a new one"]),
    (
        "lottery_committed",
        {"go_code": "SVT-FML", "go_title": "세븐틴 <b>FML</b>", "commitment": COMMITMENT},
        ["SVT-FML (세븐틴 <b>FML</b>)", COMMITMENT, "gomflow verify-allocation"],
    ),
    (
        "allocation_result",
        {"a": result()},
        [
            "SVT-FML · ALB (FML <album>): 3 unit(s) claimed, 2 inclusion(s) received, ties by lottery.",
            "  nothing left: 1",
            "#2 SVT-FML-1#1 → 민규 포카",
            "announce tells each buyer what they got and reveals the seed",
        ],
    ),
    (
        "allocation_result",
        {"a": result("announced", tie_break="claim_time", runs=2, already=True)},
        ["This was already allocated", "ties by claim time, run 2 times", "Announced to buyers."],
    ),
    (
        "allocation_announced",
        {
            "go_code": "SVT-FML",
            "go_title": "세븐틴",
            "item_code": "ALB",
            "item_name": "FML <album>",
            "tie_break": "lottery",
            "seed": "s33d",
            "commitment": COMMITMENT,
            "shares": [{"name": "민규 포카", "units": 2}],
            "runs": 1,
        },
        [
            "FML <album>'s inclusions are shared out.",
            "민규 포카: 2",
            "Seed: s33d",
            COMMITMENT,
            "verify-allocation SVT-FML ALB",
        ],
    ),
    (
        "allocation_announced",
        {
            "go_code": "SVT-FML",
            "go_title": "세븐틴",
            "item_code": "ALB",
            "item_name": "FML",
            "tie_break": "claim_time",
            "seed": None,
            "commitment": None,
            "shares": [],
            "runs": 2,
        },
        ["(run 2 times before this announcement)", "Ties went to the earliest claims."],
    ),
    (
        "inclusions_allotted",
        {"go_code": "SVT-FML", "item_name": "FML <album>", "number": "SVT-FML-1", "got": ["민규 포카", None]},
        ["order SVT-FML-1: your FML <album> comes with 민규 포카, no inclusion (none were left)."],
    ),
    (
        "allocation_export",
        {"filename": "allocation-SVT-FML-ALB.json"},
        ["verify-allocation CODE ITEM --inputs allocation-SVT-FML-ALB.json"],
    ),
]
