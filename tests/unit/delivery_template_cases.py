"""Render cases for the delivery messages, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.delivery.addresses import AddressView
from core.delivery.options import ChoiceView, OptionsView, OptionView, SlotView
from core.delivery.shipfees import FeesReport
from core.delivery.shipments import ShipmentView, TrackView
from core.delivery.tracking_import import ImportReport

TITLE = "세븐틴 <b>FML</b> 🎵"
WHEN = "Sat 12 Dec 2026, 14:00 +08"
SLOT = SlotView(1, "Bugis MRT exit C", WHEN, 10, 10)
PICKUP = OptionView("MEET", "pickup", "Meet-up at Bugis", "free", (SLOT, SlotView(2, "Jurong", WHEN, 5, 2)))
COURIER = OptionView("NV", "courier", "Ninja Van", "up to 500 g S$3.50", ())
ADDRESS = AddressView(3, "Trần Thị Bình", "+6591234567", "1 Orchard Rd", "#05-01", "238823", "SG")


def track_view(**changes: Any) -> TrackView:
    values: dict[str, Any] = {
        "go_code": "SVT-FML",
        "go_title": TITLE,
        "stage": "%(code)s (%(title)s) has arrived at the GOM.",
        "orders": ("SVT-FML-1", "SVT-FML-2"),
        "option": "Ninja Van",
        "pickup": "",
        "address": ADDRESS.one_line,
        "fee": "S$3.50",
        "carrier": "Ninja Van",
        "tracking": "NV123",
        "url": "https://example.test/NV123",
    }
    return TrackView(**{**values, **changes})


DELIVERY_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "delivery_options",
        {"options": OptionsView("SVT-FML", TITLE, (PICKUP, COURIER)), "added": "Added NV to SVT-FML."},
        [
            "✅ Added NV to SVT-FML.",
            "• MEET — Meet-up at Bugis [pickup]: free",
            f"1. {WHEN} at Bugis MRT exit C — full",
            "2. Sat 12 Dec 2026, 14:00 +08 at Jurong — 3 of 5 places left",
            "/deliver SVT-FML OPTION",
        ],
    ),
    (
        "delivery_options",
        {"options": OptionsView("SVT-FML", TITLE, ()), "added": None},
        ["no shipping options"],
    ),
    (
        "delivery_chosen",
        {"choice": ChoiceView("SVT-FML", PICKUP, SLOT, None)},
        ["Your SVT-FML parcel: Meet-up at Bugis (free)", f"Pickup: {WHEN} at Bugis MRT exit C", "one parcel"],
    ),
    (
        "delivery_chosen",
        {"choice": ChoiceView("SVT-FML", COURIER, None, ADDRESS)},
        ["Ship to: Trần Thị Bình, +6591234567, 1 Orchard Rd, #05-01, SG 238823"],
    ),
    (
        "address_book",
        {"addresses": [ADDRESS], "saved": ADDRESS, "deleted": None},
        ["✅ Saved address #3.", "#3 Trần Thị Bình, +6591234567", "/address delete N"],
    ),
    ("address_book", {"addresses": [], "saved": None, "deleted": 4}, ["Deleted address #4", "/address add"]),
    (
        "parcel_shipped",
        {
            "code": "SVT-FML",
            "title": TITLE,
            "orders": ["SVT-FML-1"],
            "carrier": "SingPost",
            "tracking": "RR1SG",
            "url": "https://example.test/RR1SG",
        },
        [
            "parcel has been sent with SingPost: tracking number RR1SG",
            "Follow it here: https://example.test/RR1SG",
        ],
    ),
    (
        "shipment_recorded",
        {"ship": ShipmentView("SVT-FML", ("SVT-FML-1",), "", "Lalamove", "LL1234", "")},
        ["SVT-FML-1 shipped with Lalamove (LL1234). The buyer has been told."],
    ),
    (
        "track",
        {"parcels": [track_view(), track_view(option="", tracking="", address="", fee="")]},
        [
            "• SVT-FML (세븐틴 <b>FML</b> 🎵) has arrived at the GOM.",
            "Ninja Van · shipping S$3.50",
            "Tracking: Ninja Van NV123 — https://example.test/NV123",
            "Delivery not chosen yet: /delivery SVT-FML",
        ],
    ),
    ("track", {"parcels": []}, ["no orders on their way"]),
    ("parcel_weighed", {"number": "SVT-FML-1", "grams": 1200, "fee": "S$5.20"}, ["1,200 g: shipping S$5.20"]),
    (
        "shipfees_report",
        {"report": FeesReport("SVT-FML", 2, "S$9.30", 1, 1, ("Ana", "김민지"), ("Ben: too heavy",))},
        [
            "SVT-FML: asked 2 buyer(s) for shipping, S$9.30 in all.",
            "1 parcel(s) had been asked already.",
            "Not weighed yet (/weigh ORDER GRAMS, then /shipfees again): Ana, 김민지",
            "⚠️ Ben: too heavy",
        ],
    ),
    (
        "tracking_import_report",
        {"report": ImportReport("SVT-FML", None, 30, ("line 3: no order X",), 4)},
        ["nothing was applied", "• line 3: no order X", "… and 4 more."],
    ),
    (
        "tracking_import_report",
        {"report": ImportReport("SVT-FML", 7, 30, (), 0)},
        ["all 30 line(s) check out", "/importtracking apply 7"],
    ),
    (
        "tracking_import_report",
        {"report": ImportReport("SVT-FML", 7, 30, (), 0, applied=30)},
        ["30 parcel(s) marked shipped"],
    ),
    (
        "packing_link",
        {"code": "SVT-FML", "url": "https://gomflow.example/packing/tok", "expires": WHEN},
        ["https://gomflow.example/packing/tok", f"It works until {WHEN}."],
    ),
    (
        "address_step",
        {"prompt": "Postal code?", "intro": True, "error": "Not 6 digits", "number": 6, "total": 6},
        ["Let's add a delivery address. (/cancel stops.)", "⚠️ Not 6 digits", "(6/6) Postal code?"],
    ),
    ("packing_ready", {"filename": "SVT-FML-packing.csv"}, ["SVT-FML-packing.csv"]),
]
