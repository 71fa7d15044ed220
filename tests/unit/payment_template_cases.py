"""Render cases for the payment messages, added to test_templates.CASES."""

from __future__ import annotations

from typing import Any

from core.services.proofs import ProofView
from core.services.refunds import RefundPreview
from core.views import BankView, PaymentRow, PaymentsReport, PayMethodsView, PayView, RefundView

TITLE = "세븐틴 <b>FML</b> 🎵"
DUE = "Sun 22 Nov 2026, 20:00 +08"


def pay_view(**changes: Any) -> PayView:
    values: dict[str, Any] = {
        "number": "SVT-FML-3",
        "go_code": "SVT-FML",
        "go_title": TITLE,
        "kind": "items",
        "status": "open",
        "amount": "S$25.90",
        "amount_minor": 2590,
        "currency": "SGD",
        "reference": "SVT-FML-3-I1",
        "token": "tok",
        "due": DUE,
        "qr_payload": "000201…",
        "qr_label": "PayNow QR",
        "manual": True,
        "gateways": [("stripe", "Card (Stripe)")],
    }
    values.update(changes)
    return PayView(**values)


PROOF = ProofView("SVT-FML-3", "bob <3", "S$25.90", "TXN 42", True, "pending")
REPORT = PaymentsReport(
    go_code="SVT-FML",
    rows=[PaymentRow("SVT-FML-3", "bob <3", "placed", "items", "S$25.90", "review")],
    paid_total="S$0.00",
    unpaid_total="S$25.90",
    paid_count=0,
    unpaid_count=1,
    to_review=["SVT-FML-3"],
    held=["SVT-FML-4: paid 100 SGD, expected 2590 SGD (minor units)"],
    refunds_to_send=["SVT-FML-5: S$25.90"],
)

PAYMENT_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "pay_options",
        {"pay": pay_view(), "url": "http://pay/tok"},
        [
            "Pay for order SVT-FML-3",
            "Amount: S$25.90",
            "Reference: SVT-FML-3-I1",
            "PayNow QR",
            "Card (Stripe)",
        ],
    ),
    (
        "pay_options",
        {"pay": pay_view(kind="shipping", qr_payload=None, manual=False, gateways=[]), "url": "u"},
        ["Pay the shipping of order SVT-FML-3", "has not set up payment methods"],
    ),
    (
        "checkout_link",
        {"number": "SVT-FML-3", "amount": "S$25.90", "label": "Card (Stripe)", "url": "http://x"},
        ["Pay S$25.90 for SVT-FML-3 with Card (Stripe): http://x"],
    ),
    (
        "invoice_sent",
        {"pay": pay_view(kind="shipping")},
        ["The shipping of order SVT-FML-3 (SVT-FML): S$25.90", "Tap Pay on the invoice"],
    ),
    ("proof_received", {"proof": PROOF}, ["Your proof for SVT-FML-3 (S$25.90) is with the GOM"]),
    ("proof_reviewed", {"proof": PROOF.__class__(**{**PROOF.__dict__, "status": "approved"})}, ["Approved"]),
    (
        "proof_reviewed",
        {
            "proof": PROOF.__class__(
                **{**PROOF.__dict__, "status": "rejected", "reason": "no <such> transfer"}
            )
        },
        ["Rejected proof #1 for SVT-FML-3 from bob <3: no <such> transfer."],
    ),
    (
        "proof_view",
        {"proof": PROOF},
        ["Proof for SVT-FML-3 from bob <3 — S$25.90 [pending] · proof #1", "Reference: TXN 42"],
    ),
    (
        "pay_methods_set",
        {"methods": PayMethodsView("SVT-FML", ["PayNow QR", "Card (Stripe)"], not_here=["Card (Stripe)"])},
        ["SVT-FML now takes: PayNow QR, Card", "Not set up on this server, so buyers will not see it: Card"],
    ),
    (
        "pay_methods_set",
        {"methods": PayMethodsView("MY-GO", ["Bank QR"], [], "DuitNow", "MEI <STORE>", "MD001")},
        ["Read from your photo: DuitNow QR to MEI <STORE>, account MD001."],
    ),
    (
        "pay_options",
        {"pay": pay_view(pay_to="+6591234567", bank=BankView("DBS <Bank>", "Gina Tan", "123-4")), "url": "u"},
        [
            "No scanner? Send S$25.90 by PayNow QR to +6591234567 with the reference SVT-FML-3-I1.",
            "Bank transfer: DBS <Bank>, account name Gina Tan, account number 123-4. "
            "Transfer exactly S$25.90 and type SVT-FML-3-I1 as the reference.",
        ],
    ),
    (
        "payments_report",
        {"report": REPORT},
        [
            "0 paid (S$0.00), 1 unpaid (S$25.90)",
            "• SVT-FML-3 bob <3 — items S$25.90 [review]",
            "SVT-FML-4: paid",
        ],
    ),
    (
        "refunds_queued",
        {
            "number": "SVT-FML-3",
            "refunds": [RefundView("SVT-FML-3", "S$25.90", "manual", "manual")],
            "manual": True,
        },
        ["• S$25.90 via manual — manual", "/refunded SVT-FML-3 REFERENCE"],
    ),
    (
        "refund_preview",
        {
            "refund": RefundPreview("SVT-FML-3", "bob", "S$25.90", ("paynow", "stripe"), True, 2),
            "confirm": "/refund SVT-FML-3 confirm sold out",
        },
        [
            "Refund SVT-FML-3 (bob)?",
            "S$25.90 goes back, as it came: paynow, stripe.",
            "its 2 unit(s) go back",
            "/refunded SVT-FML-3 REFERENCE",
            "Refund it? /refund SVT-FML-3 confirm sold out",
        ],
    ),
    ("reminders_sent", {"code": "SVT-FML", "count": 3}, ["Reminded 3 buyer(s) of SVT-FML"]),
    (
        "shipping_requested",
        {"pay": pay_view(kind="shipping")},
        ["Asked SVT-FML-3 to pay S$25.90 for shipping"],
    ),
    ("reconciliation_ready", {"filename": "SVT-FML-payments.csv"}, ["SVT-FML-payments.csv"]),
    (
        "payment_received",
        {"number": "SVT-FML-3", "kind": "items", "amount": "S$25.90", "reference": "R1"},
        ["Payment received: S$25.90 for the items of order SVT-FML-3"],
    ),
    (
        "refund_sent",
        {"number": "SVT-FML-3", "amount": "S$25.90", "reference": "re_1"},
        ["S$25.90 for order SVT-FML-3 has been refunded (reference re_1)."],
    ),
    (
        "payment_held",
        {"number": "SVT-FML-3", "provider": "stripe", "problem": "paid late", "go_code": "SVT-FML"},
        ["A stripe payment for SVT-FML-3 (SVT-FML) is held for you: paid late."],
    ),
    (
        "proof_review",
        {
            "number": "SVT-FML-3",
            "buyer": "bob <3",
            "amount": "S$25.90",
            "reference": "TXN",
            "has_image": True,
            "go_code": "SVT-FML",
            "ordinal": 2,
        },
        ["bob <3 sent proof of payment for SVT-FML-3", "with a screenshot", "/approve SVT-FML-3 #2"],
    ),
    (
        "proof_review",
        {
            "number": "SVT-FML-B4",
            "buyer": "bob",
            "amount": "S$103.60",
            "reference": "SVT-FML-B4",
            "has_image": False,
            "go_code": "SVT-FML",
            "ordinal": 1,
            "covers": "SVT-FML-1, SVT-FML-2, SVT-FML-3",
        },
        ["proof of payment for SVT-FML-B4", "S$103.60 for all of SVT-FML-1, SVT-FML-2, SVT-FML-3"],
    ),
    (
        "proof_reviewed",
        {
            "proof": PROOF.__class__(
                **{**PROOF.__dict__, "status": "approved", "outcome": "S$5.90 still to pay"}
            )
        },
        ["Approved: SVT-FML-3 (S$25.90) from bob <3; S$5.90 still to pay."],
    ),
    (
        "payment_received",
        {
            "number": "SVT-FML-3",
            "kind": "items",
            "amount": "S$20.00",
            "reference": "R1",
            "remaining": "S$5.90",
        },
        ["Payment received: S$20.00", "Still to pay: S$5.90 (/pay SVT-FML-3)."],
    ),
    (
        "order_ended_with_money",
        {
            "number": "SVT-FML-3",
            "status": "cancelled",
            "proofs": 1,
            "refund_due": "S$10.00",
            "go_code": "SVT-FML",
        },
        [
            "SVT-FML-3 was cancelled by its buyer (SVT-FML) with 1 proof of payment waiting for review",
            "S$10.00 already received is refund due",
        ],
    ),
    ("proof_rejected", {"number": "SVT-FML-3", "reason": "wrong amount"}, ["SVT-FML-3: wrong amount."]),
    (
        "payment_reminder",
        {"number": "SVT-FML-3", "go_code": "SVT-FML", "kind": "items", "amount": "S$25.90", "due": DUE},
        ["order SVT-FML-3 (SVT-FML) still owes S$25.90", "/pay SVT-FML-3"],
    ),
    ("payment_expired", {"number": "SVT-FML-3"}, ["The payment window for order SVT-FML-3 ran out"]),
    (
        "payment_requested",
        {"number": "SVT-FML-3", "kind": "shipping", "amount": "S$4.00", "due": DUE},
        ["S$4.00 for shipping"],
    ),
]
