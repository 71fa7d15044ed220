"""Render cases for the masterlist and nicknames, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.services.masterlist import Masterlist, MasterRow

LIST = Masterlist(
    "SVT-FML",
    "세븐틴 <b>FML</b>",
    (
        MasterRow("민지 🐰", "FML album", "Faded Mono Life", 2, "paid"),
        MasterRow("Buyer #2", "FML album", "", 1, "unpaid"),
        MasterRow("-Bo*b_ by", "POB <card>", "B", 1, "part paid"),
        MasterRow("Buyer #4", "FML album", "A", 3, "checking"),
        MasterRow("Buyer #5", "FML album", "A", 1, "refunded"),
    ),
)

MASTERLIST_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "masterlist",
        LIST.context(),
        [
            "📋 SVT-FML · 세븐틴 <b>FML</b> — masterlist",
            "5 claim(s) · 5 buyer(s) · 7 unit(s), 2 paid",
            "1. 민지 🐰 — FML album (Faded Mono Life) ×2 ✅ paid",
            "2. Buyer #2 — FML album ×1 ⏳ unpaid",
            "3. -Bo*b_ by — POB <card> (B) ×1 🌓 part paid",
            "4. Buyer #4 — FML album (A) ×3 🔎 checking",
            "5. Buyer #5 — FML album (A) ×1 ↩️ refunded",
        ],
    ),
    ("masterlist", Masterlist("SVT-FML", "FML", ()).context(), ["0 claim(s)", "No claims yet."]),
    (
        "masterlist_posted",
        {"code": "SVT-FML", "channels": 2, "queued": 1, "stopped": None, "repost_hours": 6},
        [
            "goes to 2 linked channel(s) (1 already had an update on its way)",
            "edited in place on Telegram and Discord",
            "at most every 6 hours elsewhere",
            "/masterlist SVT-FML stop",
        ],
    ),
    (
        "masterlist_posted",
        {"code": "SVT-FML", "channels": 0, "queued": 0, "stopped": 2, "repost_hours": 0},
        ["stays as it is in 2 channel(s)", "/masterlist SVT-FML post starts it again"],
    ),
    (
        "masterlist_posted",
        {"code": "SVT-FML", "channels": 0, "queued": 0, "stopped": 0, "repost_hours": 0},
        ["isn't posted anywhere"],
    ),
    (
        "masterlist_file",
        {"code": "SVT-FML", "filename": "SVT-FML-masterlist.csv", "page": 0, "pages": 0},
        ["The masterlist of SVT-FML: SVT-FML-masterlist.csv"],
    ),
    (
        "masterlist_file",
        {"code": "SVT-FML", "filename": "SVT-FML-masterlist-1.png", "page": 1, "pages": 3},
        ["page 1 of 3", "/masterlist SVT-FML image 2 for the next"],
    ),
    ("nickname", {"nickname": "민지 🐰", "changed": True}, ["Your nickname is now 민지 🐰"]),
    ("nickname", {"nickname": "민지 🐰", "changed": False}, ["Your nickname is 민지 🐰", "/nickname NAME"]),
    ("nickname", {"nickname": None, "changed": False}, ["You have no nickname", '"Buyer" and a number']),
]
