"""How a GOM names the ways to pay: bank transfer details, DuitNow and QR Ph, and which
methods work on this server."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.payments import methods


def test_a_bank_transfer_takes_bank_holder_and_account_as_words() -> None:
    [bank, paynow] = methods.parse_methods(
        ["bank=DBS Bank", "name=Gina  Tan", "account=123-456789-0", "paynow:91234567"], "SGD"
    )
    assert (bank.method, bank.bank, bank.holder, bank.target) == (
        "bank",
        "DBS Bank",
        "Gina Tan",
        "123-456789-0",
    )
    assert bank.label == "Bank transfer"
    assert paynow.target == "+6591234567"
    assert methods.load(methods.dump([bank, paynow])) == [bank, paynow]


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["bank=DBS", "account=1234567"], "name="),
        (["bank=DBS", "name=Gina"], "account="),
        (["name=Gina", "account=1234567"], "bank="),
        (["bank=DBS", "name=Gina", "account=12"], "account number"),
        (["bank=DBS", "name=Gina", "account=12345;DROP"], "account number"),
        (["bank=" + "B" * 61, "name=Gina", "account=1234567"], "60"),
        (["bank=DBS", "name=\u202egina", "account=1234567"], None),  # cleaned, not refused
        (["bank=DBS", "name=Gina", "account=1234567", "colour=red"], "colour"),
    ],
)
def test_bank_details_must_be_whole_and_sane(tokens: list[str], message: str | None) -> None:
    if message is None:
        [bank] = methods.parse_methods(tokens, "SGD")
        assert bank.holder == "gina"
        return
    with pytest.raises(InvalidInput, match=message):
        methods.parse_methods(tokens, "SGD")


def test_duitnow_and_qr_ph_take_their_own_currency_only() -> None:
    [duitnow] = methods.parse_methods(["duitnow:890053:5123 4567 8901"], "MYR")
    assert (duitnow.target, methods.payee(duitnow)) == ("890053:512345678901", "512345678901")
    [qrph] = methods.parse_methods(["qrph:gxchphm2xxx:09171234567"], "PHP")
    assert (qrph.target, methods.payee(qrph)) == ("GXCHPHM2XXX:09171234567", "09171234567")
    with pytest.raises(InvalidInput, match="MYR only"):
        methods.parse_methods(["duitnow:890053:512345678901"], "SGD")
    with pytest.raises(InvalidInput, match="PHP only"):
        methods.parse_methods(["qrph:GXCHPHM2XXX:09171234567"], "MYR")


def test_a_gateway_works_only_where_the_server_has_it_and_the_rest_always() -> None:
    chosen = methods.parse_methods(["stripe", "telegram"], "SGD")
    assert methods.working(chosen, frozenset()) == []
    assert [m.method for m in methods.working(chosen, frozenset({"telegram"}))] == ["telegram"]
    assert methods.working(methods.parse_methods(["manual"], "SGD"), frozenset()) != []


def test_what_is_missing_names_the_methods_that_do_not_work_here() -> None:
    chosen = methods.parse_methods(["stripe", "hitpay"], "SGD")
    text = methods.missing("SVT-FML", chosen, frozenset({"xendit"})).message
    assert "Card (Stripe) and PayNow / card (HitPay) are not set up on this server" in text
    assert "/paymethods SVT-FML" in text and "xendit" in text
    assert "has no payment method yet" in methods.missing("SVT-FML", [], frozenset()).message
