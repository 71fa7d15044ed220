"""Render cases for handovers and backouts, added to test_templates.CASES."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.services.backouts import Backout
from core.services.handovers import HandoverView

DUE = "Sun 22 Nov 2026, 20:00 +08"

OFFER = HandoverView(
    id=7,
    number="SVT-FML-3",
    go_code="SVT-FML",
    giver="Mina <b>",
    recipient="Jae 🎵",
    status="offered",
    units=2,
    total="S$51.80",
    paid="",
    fee="",
    refund="",
    expires=DUE,
    due="",
    mine_to_answer=False,
    mine_to_cancel=True,
)
PAID = replace(OFFER, paid="S$51.80", fee="S$5.00", refund="S$46.80")
MOVED = replace(PAID, status="awaiting", due=DUE, mine_to_cancel=False)
NOTICE: dict[str, Any] = {
    "number": "SVT-FML-3",
    "go_code": "SVT-FML",
    "giver": "Mina",
    "recipient": "Jae",
    "units": 2,
    "paid": "S$51.80",
    "fee": "S$5.00",
    "refund": "S$46.80",
    "handover_id": 7,
    "expires": DUE,
    "due": DUE,
    "total": "S$51.80",
}
BACKOUT = Backout("SVT-FML-3", "SVT-FML", 2, "S$51.80", "S$5.00", "S$46.80", True, False)


def notice(event: str, role: str) -> dict[str, Any]:
    return {**NOTICE, "event": event, "role": role}


HANDOVER_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "handover_view",
        {"h": PAID, "event": "offer"},
        ["You offered SVT-FML-3", "to Jae 🎵", f"until {DUE}", "less the S$5.00 fee", "/handover cancel 7"],
    ),
    ("handover_view", {"h": OFFER, "event": "offer"}, ["You offered SVT-FML-3"]),
    (
        "handover_view",
        {"h": MOVED, "event": "accept"},
        ["SVT-FML-3 (SVT-FML, 2 unit(s)) is yours now", f"Pay S$51.80 by {DUE}", "goes back to Mina <b>"],
    ),
    ("handover_view", {"h": OFFER, "event": "decline"}, ["You declined SVT-FML-3 from Mina <b>"]),
    ("handover_view", {"h": OFFER, "event": "cancel"}, ["You took back your offer of SVT-FML-3"]),
    ("handover_list", {"handovers": [], "number": ""}, ["No handover offers to or from you"]),
    ("handover_list", {"handovers": [], "number": "SVT-FML-3"}, ["SVT-FML-3 has never been handed over."]),
    (
        "handover_list",
        {"handovers": [replace(OFFER, mine_to_answer=True, mine_to_cancel=False), MOVED], "number": ""},
        ["#7 SVT-FML-3", "Mina <b> → Jae 🎵, offered", "/handover accept 7", "refund S$46.80", f"due {DUE}"],
    ),
    (
        "handover_notice",
        notice("offered", "recipient"),
        ["Mina wants to hand you order SVT-FML-3", "/handover accept 7", "/handover decline 7"],
    ),
    ("handover_notice", notice("declined", "giver"), ["Jae declined your handover of SVT-FML-3"]),
    ("handover_notice", notice("cancelled", "recipient"), ["Mina took back the handover of SVT-FML-3"]),
    ("handover_notice", notice("expired", "giver"), ["Nobody answered your handover of SVT-FML-3"]),
    ("handover_notice", notice("expired", "recipient"), ["expired unanswered"]),
    (
        "handover_notice",
        notice("accepted", "giver"),
        ["Jae accepted SVT-FML-3", "You get S$46.80 back (S$51.80 paid less the S$5.00 fee)"],
    ),
    ("handover_notice", notice("accepted", "recipient"), [f"Pay S$51.80 by {DUE}: /pay SVT-FML-3"]),
    (
        "handover_notice",
        notice("accepted", "staff"),
        ["handed from Mina to Jae, who owes S$51.80", "S$46.80 goes back to them (S$5.00 fee kept)"],
    ),
    ("handover_notice", notice("completed", "giver"), ["your refund of S$46.80 (S$5.00 fee kept)"]),
    ("handover_notice", notice("completed", "recipient"), ["SVT-FML-3 (SVT-FML) is paid and yours."]),
    ("handover_notice", notice("completed", "staff"), ["S$46.80 is refund due to Mina"]),
    ("handover_notice", notice("lapsed", "giver"), ["it is yours again, paid as before"]),
    ("handover_notice", notice("lapsed", "recipient"), ["it went back to Mina"]),
    ("handover_notice", notice("lapsed", "staff"), ["Jae did not pay for SVT-FML-3"]),
    (
        "backout",
        {"b": BACKOUT, "confirm": "/backout SVT-FML-3 confirm"},
        [
            "Back out of SVT-FML-3",
            "keeps the S$5.00 backout fee, so S$46.80 comes back",
            "/backout SVT-FML-3 confirm",
        ],
    ),
    (
        "backout",
        {"b": replace(BACKOUT, fee="S$51.80", refund="S$0.00"), "confirm": "/backout SVT-FML-3 confirm"},
        ["keeps all of it, so nothing comes back"],
    ),
    (
        "backout",
        {"b": replace(BACKOUT, done=True), "confirm": ""},
        [
            "You backed out of SVT-FML-3",
            "S$46.80 comes back to you (S$5.00 fee kept)",
            "the GOM sends it back",
        ],
    ),
    (
        "backout",
        {"b": replace(BACKOUT, paid="", fee="", refund="", done=True), "confirm": ""},
        ["it is cancelled and its 2 unit(s) went back"],
    ),
]
