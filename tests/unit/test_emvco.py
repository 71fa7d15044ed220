"""EMVCo merchant-presented QR payloads: structure, checksum, amounts, PayNow and PromptPay."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from core.errors import InvalidInput
from core.payments import emvco
from core.payments.qr import qr_png


def fields(payload: str) -> dict[str, str]:
    assert emvco.check_crc(payload)
    return dict(emvco.parse_tlv(payload[:-8]))


def test_crc_is_ccitt_false_with_its_published_check_value() -> None:
    assert emvco.crc16_ccitt_false(b"123456789") == 0x29B1
    assert emvco.crc16_ccitt_false(b"") == 0xFFFF


def test_crc_covers_its_own_id_and_length_and_is_four_upper_hex_digits() -> None:
    payload = emvco.with_crc("000201")
    assert payload.startswith("0002016304")
    assert payload[-4:] == f"{emvco.crc16_ccitt_false(b'0002016304'):04X}"
    assert emvco.check_crc(payload)
    assert not emvco.check_crc(payload[:-1] + ("0" if payload[-1] != "0" else "1"))


def test_tlv_round_trips_and_refuses_broken_lengths() -> None:
    text = emvco.tlv("00", "01") + emvco.tlv("59", "GINA GOM")
    assert text == "0002010108GINA GOM".replace("0108", "5908")
    assert emvco.parse_tlv(text) == [("00", "01"), ("59", "GINA GOM")]
    with pytest.raises(InvalidInput):
        emvco.parse_tlv("000301")
    with pytest.raises(InvalidInput):
        emvco.tlv("62", "x" * 100)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (2590, "SGD", "25.90"),
        (5, "SGD", "0.05"),
        (15000, "KRW", "15000"),
        (120000, "THB", "1200.00"),
        (99, "VND", "99"),
    ],
)
def test_amount_has_as_many_decimals_as_the_currency(minor: int, currency: str, text: str) -> None:
    assert emvco.format_amount(minor, currency) == text


def test_amount_must_be_positive() -> None:
    with pytest.raises(InvalidInput):
        emvco.format_amount(0, "SGD")


def test_paynow_to_a_mobile_number_carries_proxy_amount_and_reference() -> None:
    payload = emvco.paynow(
        "9123 4567", amount_minor=2590, reference="SVT-FML-3-I1", merchant_name="Gina's GO"
    )
    top = fields(payload)
    assert payload.startswith("000201010212")
    assert list(top) == sorted(top)
    account = dict(emvco.parse_tlv(top["26"]))
    assert account == {"00": "SG.PAYNOW", "01": "0", "02": "+6591234567", "03": "0"}
    assert (top["52"], top["53"], top["54"], top["58"], top["60"]) == (
        "0000",
        "702",
        "25.90",
        "SG",
        "Singapore",
    )
    assert top["59"] == "Ginas GO"
    assert dict(emvco.parse_tlv(top["62"])) == {"01": "SVT-FML-3-I1", "05": "SVT-FML-3-I1"}


def test_paynow_to_a_uen() -> None:
    account = dict(
        emvco.parse_tlv(fields(emvco.paynow("201912345k", amount_minor=100, reference="R1"))["26"])
    )
    assert (account["01"], account["02"]) == ("2", "201912345K")
    with pytest.raises(InvalidInput):
        emvco.paynow("12345", amount_minor=100, reference="R1")


def test_promptpay_to_a_phone_number_and_to_a_tax_id() -> None:
    phone = fields(emvco.promptpay("081-234-5678", amount_minor=12050, reference="ORD1"))
    assert dict(emvco.parse_tlv(phone["29"])) == {"00": "A000000677010111", "01": "0066812345678"}
    assert (phone["53"], phone["54"], phone["58"]) == ("764", "120.50", "TH")
    tax = fields(emvco.promptpay("1234567890123", amount_minor=100, reference="ORD1"))
    assert dict(emvco.parse_tlv(tax["29"]))["02"] == "1234567890123"
    with pytest.raises(InvalidInput):
        emvco.promptpay("12", amount_minor=100, reference="ORD1")


def static_bank_qr() -> str:
    """A static DuitNow-style QR as a bank app would print it: no amount, its own id 62."""
    account = emvco.tlv("00", "A0000006150001") + emvco.tlv("01", "89000000") + emvco.tlv("02", "1234567890")
    body = (
        emvco.tlv("00", "01")
        + emvco.tlv("01", "11")
        + emvco.tlv("26", account)
        + emvco.tlv("52", "5999")
        + emvco.tlv("53", "458")
        + emvco.tlv("58", "MY")
        + emvco.tlv("59", "GINA STORE")
        + emvco.tlv("60", "KUALA LUMPUR")
        + emvco.tlv("62", emvco.tlv("07", "T1"))
    )
    return emvco.with_crc(body)


def test_a_pasted_static_qr_is_re_emitted_with_amount_reference_and_a_new_crc() -> None:
    static = static_bank_qr()
    dynamic = emvco.reemit(static, amount_minor=4550, currency="MYR", reference="NJZ-OMG-2-I1")
    top = fields(dynamic)
    original = fields(static)
    assert top["01"] == "12" and top["54"] == "45.50"
    assert top["26"] == original["26"] and top["59"] == "GINA STORE"
    assert dict(emvco.parse_tlv(top["62"])) == {"01": "NJZ-OMG-2-I1", "05": "NJZ-OMG-2-I1", "07": "T1"}
    assert dynamic[-4:] != static[-4:]
    described = emvco.describe(dynamic)
    assert (described.currency, described.amount, described.reference, described.dynamic) == (
        "MYR",
        "45.50",
        "NJZ-OMG-2-I1",
        True,
    )


def test_a_pasted_qr_with_a_wrong_crc_or_another_currency_is_refused() -> None:
    static = static_bank_qr()
    with pytest.raises(InvalidInput, match="checksum"):
        emvco.reemit(static[:-4] + "0000", amount_minor=1, currency="MYR", reference="R")
    with pytest.raises(InvalidInput, match="MYR"):
        emvco.reemit(static, amount_minor=1, currency="SGD", reference="R")
    with pytest.raises(InvalidInput):
        emvco.reemit("hello", amount_minor=1, currency="MYR", reference="R")


def test_the_qr_image_decodes_back_to_the_payload() -> None:
    payload = emvco.paynow("+6591234567", amount_minor=2590, reference="SVT-FML-3-I1")
    png = qr_png(payload)
    assert png.startswith(b"\x89PNG")
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert decoded.text == payload
