"""Small pure parts of payments: exact provider amounts, proof image types, method parsing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from core.errors import InvalidInput, InvalidTransition
from core.payments import emvco, methods
from core.payments.amounts import dumps_with_amount, loads_exact, minor_from_decimal
from core.payments.hitpay import sign
from core.payments.status import REQUEST_TRANSITIONS, RequestStatus
from core.status import check_transition


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        (Decimal("25.9"), "SGD", 2590),
        ("150000", "IDR", 15000000),
        (Decimal("1500"), "KRW", 1500),
        ("0.1", "SGD", 10),
    ],
)
def test_provider_amounts_become_exact_minor_units(value: object, currency: str, minor: int) -> None:
    assert minor_from_decimal(value, currency) == minor


@pytest.mark.parametrize(
    ("value", "currency"), [("25.905", "SGD"), ("1500.5", "KRW"), ("abc", "SGD"), (None, "SGD")]
)
def test_provider_amounts_finer_than_the_currency_are_refused(value: object, currency: str) -> None:
    assert minor_from_decimal(value, currency) is None


def test_json_amounts_are_written_and_read_without_floats() -> None:
    body = dumps_with_amount({"external_id": "k"}, "amount", 2590, "SGD")
    assert b'"amount": 25.90' in body
    assert loads_exact(body)["amount"] == Decimal("25.90")
    assert json.loads(body)["external_id"] == "k"


def test_hitpay_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    assert sign(b"{}", "salt") == "2a1e7d8006270f6e2b733e05d4840d126e14a012212274b8eb2ca152c1f505aa"
    assert len(sign(b"{}", "salt")) == 64 and sign(b"{}", "salt") != sign(b"{ }", "salt")


def test_methods_are_parsed_per_currency() -> None:
    parsed = methods.parse_methods(["paynow:9123 4567", "stripe", "MANUAL"], "SGD")
    assert [(m.method, m.target) for m in parsed] == [
        ("paynow", "+6591234567"),
        ("stripe", ""),
        ("manual", ""),
    ]
    assert methods.load(methods.dump(parsed)) == parsed
    with pytest.raises(InvalidInput, match="one QR method"):
        static = emvco.paynow("91234567", amount_minor=1, reference="X")
        methods.parse_methods(["paynow:91234567", f"bankqr:{static}"], "SGD")
    with pytest.raises(InvalidInput, match="twice"):
        methods.parse_methods(["stripe", "stripe"], "SGD")
    with pytest.raises(InvalidInput, match="keys come from"):
        methods.parse_methods(["stripe:sk_test_fake"], "SGD")


def test_a_paid_request_can_only_be_refunded() -> None:
    check_transition("payment", REQUEST_TRANSITIONS, "paid", RequestStatus.REFUNDED)
    with pytest.raises(InvalidTransition, match="This payment is complete; it cannot become open"):
        check_transition("payment", REQUEST_TRANSITIONS, "paid", RequestStatus.OPEN)
