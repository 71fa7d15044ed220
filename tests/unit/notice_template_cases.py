"""Render cases for what GOMs and helpers are told (issue 15), added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.services.gom_accounts import GomRow
from core.services.notice_settings import NoticeSettings

TITLE = "세븐틴 <b>FML</b> 🎵"
GO = {
    "code": "SVT-FML",
    "title": TITLE,
    "deadline": "Tue 01 Dec 2026, 20:00 +08",
    "reserved": 6,
    "moq": 5,
    "capacity": 10,
}
GOM_SETTINGS = NoticeSettings(9, None, False, True, ("OLD-GO",))
HELPER_SETTINGS = NoticeSettings(None, "Asia/Seoul", False, False, ())

NOTICE_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("staff_go_decided", {**GO, "status": "confirmed"}, ["closed at its deadline", "goes ahead", TITLE]),
    ("staff_go_decided", {**GO, "status": "failed"}, ["below its MOQ of 5", "does not go ahead"]),
    ("staff_milestone", {**GO, "milestone": "moq_reached"}, ["reached its MOQ: 6 of 5", "/notices mute"]),
    ("staff_milestone", {**GO, "milestone": "sold_out"}, ["sold out: all 10 units"]),
    ("notice_settings", {"settings": GOM_SETTINGS, "changed": ""}, ["at 09:00", "Muted: OLD-GO"]),
    ("notice_settings", {"settings": HELPER_SETTINGS, "changed": "off"}, ["/notices on", "No daily digest"]),
    ("notice_settings", {"settings": GOM_SETTINGS, "changed": "mute", "code": "OLD-GO"}, ["Muted OLD-GO"]),
]
NOTICE_CASES += [
    ("waitlist_ended", {**GO, "status": "confirmed"}, ["has closed and no slot freed up", "not charged"]),
    ("waitlist_ended", {**GO, "status": "cancelled"}, ["was cancelled by its GOM"]),
]
NOTICE_CASES += [
    ("gom_list", {"goms": []}, ["no GOMs yet", "gomflow gom add"]),
    (
        "gom_list",
        {"goms": [GomRow("Gina", ("telegram:12345", "email:g@example.com"), 1, 2)]},
        ["1 GOM:", "Gina — telegram:12345, email:g@example.com · 1 group order running · 2 helpers"],
    ),
]
NOTICE_CASES += [
    ("unknown_command", {"name": "ordr", "suggestion": "order"}, ["/ordr. Did you mean /order?"]),
    ("not_understood", {"suggestion": "order"}, ["Did you mean /order?"]),
]
DIGEST_LINE = {
    "code": "SVT-FML",
    "title": TITLE,
    "new_orders": 1,
    "proofs_waiting": 2,
    "payments": 3,
    "received": "S$77.70",
}
NOTICE_CASES += [
    (
        "staff_digest",
        {"date": "Sat 21 Nov", "lines": [DIGEST_LINE, {**DIGEST_LINE, "code": "NJZ-OMG", "payments": 0}]},
        [
            "on Sat 21 Nov",
            "1 new order, 2 proofs of payment waiting",
            "S$77.70 received in 3 payments",
            "NJZ-OMG",
        ],
    ),
]
NOTICE_CASES += [  # buyers read sentences, not status codes or app ids
    (
        "channel_fallback",
        {"lost": "email", "now": "telegram"},
        ["couldn't reach you by email", "come here on Telegram"],
    ),
    ("go_status", {**GO, "status": "cancelled"}, ["SVT-FML", "it was cancelled"]),
]
