"""EMVCo merchant-presented QR payloads: PayNow/SGQR, PromptPay, DuitNow, QR Ph.

A payload is a list of TLV data objects: a two-digit id, a two-digit length and the
value, some of which are templates holding TLVs of their own. It starts with the payload
format indicator (id 00) and ends with a CRC-16/CCITT-FALSE over everything before it,
including the CRC's own id and length ("6304").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidInput
from core.money import get_currency, minor_to_plain

# ISO 4217 numeric codes for id 53, and the country (id 58) a scheme expects.
NUMERIC_CURRENCY = {
    "SGD": "702",
    "THB": "764",
    "MYR": "458",
    "PHP": "608",
    "IDR": "360",
    "VND": "704",
    "USD": "840",
    "KRW": "410",
    "JPY": "392",
}
CURRENCY_BY_NUMERIC = {number: code for code, number in NUMERIC_CURRENCY.items()}

PAYLOAD_FORMAT = "00"
INITIATION = "01"
MCC = "52"
CURRENCY = "53"
AMOUNT = "54"
COUNTRY = "58"
MERCHANT_NAME = "59"
MERCHANT_CITY = "60"
ADDITIONAL_DATA = "62"
CRC = "63"
BILL_NUMBER = "01"  # inside 62
REFERENCE_LABEL = "05"  # inside 62

STATIC, DYNAMIC = "11", "12"
PAYNOW_AID = "SG.PAYNOW"
PROMPTPAY_AID = "A000000677010111"
DUITNOW_AID = "A0000006150001"  # PayNet's application id, first in template 26
QRPH_P2P_GUID = "com.p2pqrpay"  # QR Ph person-to-person, template 27
QRPH_INSTAPAY = "99964403"  # QR Ph's payment type for an InstaPay transfer
MAX_REFERENCE = 25
# Format indicators a payload may carry: EMVCo's 01, and the 02 Malaysian bank apps print.
FORMATS = ("01", "02")
SCHEME_NAMES = {
    PAYNOW_AID: "PayNow",
    PROMPTPAY_AID: "PromptPay",
    DUITNOW_AID: "DuitNow",
    QRPH_P2P_GUID: "QR Ph",
    "ph.ppmi.p2m": "QR Ph",
}
# Which sub-fields of a scheme's account template name the payee, best first.
ACCOUNT_FIELDS = {
    PAYNOW_AID: ("02",),
    PROMPTPAY_AID: ("01", "02", "03"),
    DUITNOW_AID: ("02",),
    QRPH_P2P_GUID: ("04", "03", "05"),
    "ph.ppmi.p2m": ("03", "04"),
}


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def tlv(tag: str, value: str) -> str:
    if len(tag) != 2 or not tag.isdigit():
        raise ValueError(f"bad EMVCo id {tag!r}")
    if not 0 < len(value) <= 99:
        raise InvalidInput(
            "An EMVCo field must hold 1 to 99 characters, got %(value_count)s.", value_count=len(value)
        )
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(text: str) -> list[tuple[str, str]]:
    """Split a run of TLVs; refuses anything that does not add up exactly."""
    fields: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        head = text[at : at + 4]
        if len(head) < 4 or not head.isdigit():
            raise InvalidInput("That is not an EMVCo QR payload (a field header is broken).")
        length = int(head[2:])
        value = text[at + 4 : at + 4 + length]
        if len(value) != length:
            raise InvalidInput("That is not an EMVCo QR payload (a field runs past the end).")
        fields.append((head[:2], value))
        at += 4 + length
    return fields


def with_crc(body: str) -> str:
    """Append id 63 with the checksum over ``body`` followed by "6304"."""
    unsigned = body + CRC + "04"
    return unsigned + f"{crc16_ccitt_false(unsigned.encode('utf-8')):04X}"


def check_crc(payload: str) -> bool:
    if len(payload) < 8 or payload[-8:-4] != CRC + "04":
        return False
    return with_crc(payload[:-8]) == payload


def format_amount(minor: int, currency: str) -> str:
    """Id 54: digits with '.' before the minor units, as many as the currency has."""
    if minor <= 0:
        raise InvalidInput("A QR amount must be more than zero.")
    text = minor_to_plain(minor, currency)
    if len(text) > 13:
        raise InvalidInput("That amount is too large for a payment QR code.")
    return text


def _clean_reference(reference: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9-]", "", reference)[:MAX_REFERENCE]
    if not cleaned:
        raise InvalidInput("A payment reference needs letters or digits.")
    return cleaned


def _additional(reference: str, existing: str | None = None) -> str:
    """Template 62 with the reference as bill number and reference label, keeping other sub-fields."""
    inner = dict(parse_tlv(existing)) if existing else {}
    inner[BILL_NUMBER] = reference
    inner[REFERENCE_LABEL] = reference
    return "".join(tlv(tag, value) for tag, value in sorted(inner.items()))


def build(fields: dict[str, str]) -> str:
    """Emit id 00 first, the rest in ascending id order, and the CRC last."""
    body = tlv(PAYLOAD_FORMAT, fields.get(PAYLOAD_FORMAT, "01"))
    body += "".join(
        tlv(tag, value) for tag, value in sorted(fields.items()) if tag not in (PAYLOAD_FORMAT, CRC)
    )
    return with_crc(body)


@dataclass(frozen=True)
class QrPayment:
    """What a payload asks for, decoded: enough to show it and to check it."""

    scheme: str
    merchant_name: str
    currency: str | None
    amount: str | None
    reference: str | None
    dynamic: bool
    account: str = ""  # the payee's number or account, as the scheme holds it

    @property
    def scheme_name(self) -> str:
        """What a person calls the scheme ("DuitNow"), or "EMVCo" for one gomflow does not name."""
        return SCHEME_NAMES.get(self.scheme, "EMVCo")


def paynow(
    proxy: str, *, amount_minor: int, reference: str, merchant_name: str = "GOMFLOW", editable: bool = False
) -> str:
    """PayNow to a Singapore mobile number (+65…) or a UEN, for an exact SGD amount."""
    kind, value = paynow_proxy(proxy)
    account = tlv("00", PAYNOW_AID) + tlv("01", kind) + tlv("02", value) + tlv("03", "1" if editable else "0")
    reference = _clean_reference(reference)
    return build(
        {
            INITIATION: DYNAMIC,
            "26": account,
            MCC: "0000",
            CURRENCY: NUMERIC_CURRENCY["SGD"],
            AMOUNT: format_amount(amount_minor, "SGD"),
            COUNTRY: "SG",
            MERCHANT_NAME: _name(merchant_name),
            MERCHANT_CITY: "Singapore",
            ADDITIONAL_DATA: _additional(reference),
        }
    )


def paynow_proxy(proxy: str) -> tuple[str, str]:
    """("0", "+6591234567") for a mobile number, ("2", "201912345K") for a UEN."""
    compact = re.sub(r"[\s-]", "", proxy)
    if re.fullmatch(r"(\+?65)?[89]\d{7}", compact):
        return "0", "+65" + compact[-8:]
    if re.fullmatch(r"[0-9A-Za-z]{9,10}", compact) and compact[-1].isalpha():
        return "2", compact.upper()
    raise InvalidInput(
        ("'%(proxy)s' is neither a Singapore mobile number (+6591234567) nor a UEN (201912345K)."),
        proxy=proxy[:20],
    )


def promptpay(target: str, *, amount_minor: int, reference: str) -> str:
    """PromptPay to a Thai mobile number (0812345678) or a 13-digit tax/citizen id, in THB."""
    digits = re.sub(r"\D", "", target)
    if len(digits) == 13:
        account = tlv("00", PROMPTPAY_AID) + tlv("02", digits)
    elif len(digits) in (9, 10, 11) and (digits.startswith("0") or digits.startswith("66")):
        national = digits[2:] if digits.startswith("66") else digits[1:]
        account = tlv("00", PROMPTPAY_AID) + tlv("01", ("0066" + national).rjust(13, "0"))
    else:
        raise InvalidInput(
            "'%(target)s' is neither a Thai mobile number nor a 13-digit tax id.", target=target[:20]
        )
    return build(
        {
            INITIATION: DYNAMIC,
            "29": account,
            CURRENCY: NUMERIC_CURRENCY["THB"],
            AMOUNT: format_amount(amount_minor, "THB"),
            COUNTRY: "TH",
            ADDITIONAL_DATA: _additional(_clean_reference(reference)),
        }
    )


def duitnow(target: str, *, amount_minor: int, reference: str, merchant_name: str = "GOMFLOW") -> str:
    """DuitNow (Malaysia, MYR) to ``ACQUIRER:ACCOUNT``: the bank's PayNet participant code
    and the account it pays into, as a DuitNow QR holds them in template 26."""
    acquirer, number = duitnow_account(target)
    account = tlv("00", DUITNOW_AID) + tlv("01", acquirer) + tlv("02", number)
    place = ("26", "5999", "MYR", "MY", "Kuala Lumpur")
    return _regional(account, place, merchant_name, amount_minor, reference)


def duitnow_account(target: str) -> tuple[str, str]:
    acquirer, _, number = target.partition(":")
    if not re.fullmatch(r"\d{6,8}", acquirer.strip()):
        raise InvalidInput(
            "DuitNow needs the bank's 6-8 digit PayNet participant code, then ':' and the account "
            "(duitnow:890053:512345678901)."
        )
    return acquirer.strip(), _account(number, "DuitNow")


def qrph(target: str, *, amount_minor: int, reference: str, merchant_name: str = "GOMFLOW") -> str:
    """QR Ph person-to-person (Philippines, PHP) to ``BIC:ACCOUNT``: the receiving bank or
    e-wallet's SWIFT BIC and the account or mobile number there, paid by InstaPay."""
    bic, number = qrph_account(target)
    account = tlv("00", QRPH_P2P_GUID) + tlv("01", bic) + tlv("02", QRPH_INSTAPAY) + tlv("04", number)
    place = ("27", "6016", "PHP", "PH", "Manila")
    return _regional(account, place, merchant_name, amount_minor, reference)


def qrph_account(target: str) -> tuple[str, str]:
    bic, _, number = target.partition(":")
    bic = bic.strip().upper()
    if not re.fullmatch(r"[A-Z]{4}PH[A-Z0-9]{2}([A-Z0-9]{3})?", bic):
        raise InvalidInput(
            "QR Ph needs the Philippine bank or e-wallet's BIC (GXCHPHM2XXX for GCash), then ':' and "
            "the account or mobile number (qrph:GXCHPHM2XXX:09171234567)."
        )
    return bic.ljust(11, "X"), _account(number, "QR Ph")


def _account(text: str, scheme: str) -> str:
    compact = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"[0-9A-Za-z]{4,25}", compact):
        raise InvalidInput(
            "The %(scheme)s account must be 4 to 25 letters or digits, not '%(text)s'.",
            scheme=scheme,
            text=text[:30],
        )
    return compact.upper()


def _regional(
    account: str, place: tuple[str, str, str, str, str], merchant_name: str, amount_minor: int, reference: str
) -> str:
    """A dynamic payload in the shape DuitNow and QR Ph share with PayNow: one account
    template, the amount in the scheme's currency, and the reference in template 62.
    ``place``: the template's id, the merchant category, currency, country and city."""
    template, mcc, currency, country, city = place
    return build(
        {
            INITIATION: DYNAMIC,
            template: account,
            MCC: mcc,
            CURRENCY: NUMERIC_CURRENCY[currency],
            AMOUNT: format_amount(amount_minor, currency),
            COUNTRY: country,
            MERCHANT_NAME: _name(merchant_name),
            MERCHANT_CITY: city,
            ADDITIONAL_DATA: _additional(_clean_reference(reference)),
        }
    )


def parse_static(payload: str) -> dict[str, str]:
    """Read a pasted bank QR payload, refusing one whose CRC does not match."""
    payload = payload.strip()
    if not check_crc(payload):
        raise InvalidInput("That QR payload's checksum is wrong: please paste the whole text of the QR code.")
    fields = dict(parse_tlv(payload[:-8]))
    if fields.get(PAYLOAD_FORMAT) not in FORMATS:
        raise InvalidInput("That is not an EMVCo merchant QR payload (it should start with 000201).")
    if not any("26" <= tag <= "51" for tag in fields):
        raise InvalidInput("That QR payload names no account to pay.")
    return fields


def reemit(payload: str, *, amount_minor: int, currency: str, reference: str) -> str:
    """The GOM's own static bank QR, made dynamic with this amount and reference."""
    fields = parse_static(payload)
    code = get_currency(currency).code
    numeric = NUMERIC_CURRENCY.get(code)
    if numeric is None:
        raise InvalidInput("%(code)s cannot be paid by QR code.", code=code)
    if fields.get(CURRENCY, numeric) != numeric:
        theirs = CURRENCY_BY_NUMERIC.get(fields[CURRENCY], fields[CURRENCY])
        raise InvalidInput(
            "That QR code takes %(theirs)s, but this group order is in %(code)s.", theirs=theirs, code=code
        )
    fields[INITIATION] = DYNAMIC
    fields[CURRENCY] = numeric
    fields[AMOUNT] = format_amount(amount_minor, code)
    fields[ADDITIONAL_DATA] = _additional(_clean_reference(reference), fields.get(ADDITIONAL_DATA))
    return build(fields)


def describe(payload: str) -> QrPayment:
    """Decode a payload back into what it asks for (for tests and the GOM's check)."""
    fields = dict(parse_tlv(payload[:-8])) if check_crc(payload) else {}
    if not fields:
        raise InvalidInput("That QR payload's checksum is wrong.")
    scheme, account = "unknown", ""
    for tag, value in fields.items():
        if "26" <= tag <= "51":
            inner = dict(parse_tlv(value))
            scheme = inner.get("00", "unknown")
            account = next((inner[k] for k in ACCOUNT_FIELDS.get(scheme, ("02", "01")) if k in inner), "")
            break
    additional = dict(parse_tlv(fields[ADDITIONAL_DATA])) if ADDITIONAL_DATA in fields else {}
    return QrPayment(
        scheme=scheme,
        merchant_name=fields.get(MERCHANT_NAME, ""),
        currency=CURRENCY_BY_NUMERIC.get(fields.get(CURRENCY, "")),
        amount=fields.get(AMOUNT),
        reference=additional.get(REFERENCE_LABEL) or additional.get(BILL_NUMBER),
        dynamic=fields.get(INITIATION) == DYNAMIC,
        account=account,
    )


def _name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9 .&-]", "", name).strip()[:25]
    return cleaned or "GOMFLOW"
