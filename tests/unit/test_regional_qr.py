"""DuitNow and QR Ph built natively, and every scheme's QR round-tripped through a real decoder.

Each payload is rendered to a PNG, read back by zxing-cpp (a scanner that knows nothing of
gomflow), parsed by gomflow's own EMVCo parser, and must say the same thing it was built with.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import zxingcpp
from PIL import Image

from core.errors import InvalidInput
from core.payments import emvco
from core.payments.qr import qr_png
from tests.qr_pictures import static_duitnow


def scanned(payload: str) -> str:
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(payload))).convert("L"))
    assert decoded.format == zxingcpp.BarcodeFormat.QRCode
    return decoded.text


def top(payload: str) -> dict[str, str]:
    assert emvco.check_crc(payload)
    return dict(emvco.parse_tlv(payload[:-8]))


def test_duitnow_carries_paynets_aid_acquirer_account_and_ringgit() -> None:
    payload = emvco.duitnow(
        "890053:5123-4567-8901", amount_minor=4550, reference="NJZ-OMG-2-I1", merchant_name="Mei's GO"
    )
    fields = top(payload)
    assert payload.startswith("000201010212")
    assert dict(emvco.parse_tlv(fields["26"])) == {
        "00": "A0000006150001",
        "01": "890053",
        "02": "512345678901",
    }
    assert (fields["53"], fields["54"], fields["58"], fields["59"]) == ("458", "45.50", "MY", "Meis GO")
    assert dict(emvco.parse_tlv(fields["62"])) == {"01": "NJZ-OMG-2-I1", "05": "NJZ-OMG-2-I1"}


def test_qr_ph_carries_the_p2p_guid_bic_instapay_type_and_account() -> None:
    payload = emvco.qrph(
        "gxchphm2xxx:0917 123 4567", amount_minor=125000, reference="BTS-PH-1-I1", merchant_name="Ana"
    )
    fields = top(payload)
    assert dict(emvco.parse_tlv(fields["27"])) == {
        "00": "com.p2pqrpay",
        "01": "GXCHPHM2XXX",
        "02": "99964403",
        "04": "09171234567",
    }
    assert (fields["52"], fields["53"], fields["54"], fields["58"]) == ("6016", "608", "1250.00", "PH")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("5123456789", "participant"),  # no acquirer
        ("89:5123456789", "participant"),  # too short an acquirer code
        ("890053:", "account"),
        ("890053:" + "1" * 30, "account"),
        ("890053:ab#cd", "account"),
    ],
)
def test_a_duitnow_target_that_is_not_acquirer_and_account_is_refused(target: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        emvco.duitnow(target, amount_minor=100, reference="R1")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("09171234567", "BIC"),
        ("GXCH:09171234567", "BIC"),
        ("GXCHSGM2XXX:09171234567", "BIC"),  # a Singapore bank
        ("GXCHPHM2XXX:", "account"),
        ("GXCHPHM2XXX:09-17😀", "account"),
    ],
)
def test_a_qr_ph_target_that_is_not_bic_and_account_is_refused(target: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        emvco.qrph(target, amount_minor=100, reference="R1")


Build = Callable[[], str]
ROUND_TRIPS: list[tuple[str, Build, str, str, str, str]] = [
    (
        "PayNow",
        lambda: emvco.paynow(
            "+6591234567", amount_minor=2590, reference="SVT-FML-3-I1", merchant_name="Gina"
        ),
        "+6591234567",
        "SGD",
        "25.90",
        "SVT-FML-3-I1",
    ),
    (
        "PromptPay",
        lambda: emvco.promptpay("0812345678", amount_minor=12050, reference="TH-1-I1"),
        "0066812345678",
        "THB",
        "120.50",
        "TH-1-I1",
    ),
    (
        "DuitNow",
        lambda: emvco.duitnow(
            "890053:512345678901", amount_minor=4550, reference="MY-2-I1", merchant_name="Mei"
        ),
        "512345678901",
        "MYR",
        "45.50",
        "MY-2-I1",
    ),
    (
        "QR Ph",
        lambda: emvco.qrph(
            "GXCHPHM2XXX:09171234567", amount_minor=125000, reference="PH-3-I2", merchant_name="Ana"
        ),
        "09171234567",
        "PHP",
        "1250.00",
        "PH-3-I2",
    ),
]


@pytest.mark.parametrize(
    ("scheme", "build", "account", "currency", "amount", "reference"),
    ROUND_TRIPS,
    ids=[row[0] for row in ROUND_TRIPS],
)
def test_generate_scan_parse_gives_back_the_same_fields(
    scheme: str, build: Build, account: str, currency: str, amount: str, reference: str
) -> None:
    payload = build()
    text = scanned(payload)
    assert text == payload and emvco.check_crc(text)
    read = emvco.describe(text)
    assert (read.scheme_name, read.account, read.currency, read.amount, read.reference, read.dynamic) == (
        scheme,
        account,
        currency,
        amount,
        reference,
        True,
    )


def test_a_static_duitnow_qr_printed_with_format_02_is_read_and_re_emitted() -> None:
    """Bank apps in Malaysia print DuitNow QRs whose payload format indicator is 02."""
    static = static_duitnow()
    read = emvco.describe(static)
    assert (read.scheme_name, read.merchant_name, read.account, read.dynamic) == (
        "DuitNow",
        "MEI STORE",
        "MD00167575",
        False,
    )
    again = emvco.describe(emvco.reemit(static, amount_minor=1000, currency="MYR", reference="R1"))
    assert (again.amount, again.reference, again.account) == ("10.00", "R1", "MD00167575")
