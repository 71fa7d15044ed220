"""Render cases for a GO's policy, the buyer's "I agree", bans and late fees, for test_templates."""

from __future__ import annotations

from typing import Any

from core.policy import BackoutRule, GOPolicy, PolicySource, ShortfallRemedy, ShortfallRule, Unclaimed
from core.services.bans import BanView
from core.services.go_policy import KEYS, view_of

STRICT = GOPolicy(
    backout=BackoutRule.FEE,
    backout_fee_minor=200,
    shortfall_rule=ShortfallRule.LOTTERY,
    shortfall_remedy=ShortfallRemedy.CREDIT,
    reminder_minutes=(2880, 1440, 60),
    late_fee_minor=50,
    late_fee_cap_minor=500,
    grace_minutes=1440,
    unclaimed=Unclaimed.REOPEN,
    currency="SGD",
    version=3,
    source=PolicySource.OWN,
)
TITLE = "세븐틴 <b>FML</b>"

POLICY_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "policy",
        {"view": view_of(STRICT, "SVT-FML", TITLE, 720), "ask": False, "saved": False},
        [
            f"Rules of SVT-FML ({TITLE})",
            "2 days, 1 day and 1 hour before each payment is due",
            "S$0.50 for each day started after the deadline, at most S$5.00",
            "released 1 day after the payment deadline; its items go back on sale for anyone",
            "allowed; S$2.00 is kept from the refund",
            "drawn by lottery",
            "store credit",
        ],
    ),
    (
        "policy",
        {"view": view_of(GOPolicy(), "SVT-FML", TITLE, 720), "ask": True, "saved": False},
        [
            "Before your first order in SVT-FML",
            "12 hours before each payment is due",
            "no late fee",
            "released at the payment deadline; its items are offered to the waitlist",
            "only by handing your claim to another buyer",
            "the latest claims go short first, and are refunded",
            'Tap "I agree"',
        ],
    ),
    (
        "policy",
        {"view": view_of(STRICT, "default", "", 720), "ask": False, "saved": True},
        ["Saved as your default", "(version 3)"],
    ),
    (
        "policy",
        {"view": view_of(GOPolicy(), "default", "", 720, agreed=False), "ask": False, "saved": False},
        ["Your default rules (none set yet"],
    ),
    ("policy_keys", {"keys": KEYS}, ["reminders=48h,24h,1h", "grace=24h", "unclaimed=waitlist|reopen|keep"]),
    ("policy_agreed", {"code": "SVT-FML", "version": 2}, ["you agreed to the rules of SVT-FML"]),
    (
        "ban_changed",
        {"ban": BanView("Bob (@bob)", "never paid <twice>", "2026-12-01"), "banned": True},
        ["Bob (@bob) can no longer order", "never paid <twice>", "/unban @bob"],
    ),
    (
        "ban_changed",
        {"ban": BanView("Bob (@bob)", "", "2026-12-01", added=True), "banned": False},
        ["Bob (@bob) may order in your group orders again"],
    ),
    (
        "ban_changed",
        {"ban": BanView("Bob (@bob)", "", "2026-12-01", added=False), "banned": False},
        ["Bob (@bob) was not banned"],
    ),
    (
        "bans",
        {"bans": [BanView("Bob (@bob)", "no-show", "2026-12-01")]},
        ["Bob (@bob), since 2026-12-01: no-show"],
    ),
    ("bans", {"bans": []}, ["You have banned nobody"]),
    (
        "late_fee_charged",
        {
            "number": "SVT-FML-3",
            "go_code": "SVT-FML",
            "days": 2,
            "per_day": "S$0.50",
            "cap": "S$5.00",
            "total": "S$1.00",
            "due": "Tue 01 Dec 2026, 20:00 +08",
        },
        ["S$0.50 for each day late, at most S$5.00", "2 days late: S$1.00 so far", "/pay SVT-FML-3"],
    ),
]
