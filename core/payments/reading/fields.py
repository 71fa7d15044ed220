"""From a receipt's lines of text to what it says: amount, currency, date, recipient, ids.

Pure functions on ``TextLine``s: no image, no OCR. Bank apps write "label: value", "label
value" on one row, or the label above its value; labels come in English, Malay, Indonesian,
Tagalog and Thai. OCR drops the space between a label and its value ("AmountSGD 49.00"),
so a label may run straight into its value when the value starts with a capital or digit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.payments.reading import dates
from core.payments.reading.amounts import AmountSeen, amounts_in, ascii_digits
from core.payments.reading.lines import CELL_GAP, TextLine

AMOUNT_LABELS = (
    "transfer amount", "amount paid", "amount sent", "total amount", "total paid", "amount",
    "jumlah pindahan", "jumlah transfer", "jumlah bayar", "jumlah", "amaun",
    "nominal transfer", "total transfer", "total bayar", "nominal", "total",
    "halaga", "kabuuan", "จำนวนเงิน", "ยอดเงิน", "จำนวน", "số tiền",
)  # fmt: skip
# Rows whose amount is not what was sent: fees, balances.
OTHER_MONEY_LABELS = (
    "fee", "fees", "charge", "charges", "service charge", "balance", "available balance",
    "biaya", "biaya admin", "caj", "yuran", "baki", "saldo", "bayad sa serbisyo",
    "ค่าธรรมเนียม", "ยอดคงเหลือ", "phí",
)  # fmt: skip
TXN_LABELS = (
    "transaction reference", "transaction ref", "transaction id", "transaction no", "txn id", "txn ref",
    "reference number", "reference no", "ref number", "ref no", "ref. no", "ref id", "trace no",
    "no. referensi", "no referensi", "nomor referensi", "no. transaksi", "no transaksi", "id transaksi",
    "kod transaksi", "no. rujukan", "no rujukan", "nombor rujukan", "reference id",
    "เลขที่รายการ", "รหัสอ้างอิง", "หมายเลขอ้างอิง", "mã giao dịch",
)  # fmt: skip
REFERENCE_LABELS = (
    "recipient reference", "payment reference", "payment details", "reference", "ref",
    "comments", "comment", "remarks", "remark", "message", "notes", "note", "purpose",
    "rujukan penerima", "rujukan", "butiran pembayaran", "berita", "keterangan", "catatan",
    "mensahe", "tala", "บันทึกช่วยจำ", "หมายเหตุ", "nội dung",
)  # fmt: skip
RECIPIENT_LABELS = (
    "transfer to", "paid to", "pay to", "sent to", "send to", "recipient name", "recipient",
    "beneficiary", "payee", "receiver", "merchant", "to", "nama penerima", "penerima", "kepada",
    "ke", "tatanggap", "ipinadala kay", "ไปยัง", "ผู้รับ", "ถึง", "người nhận",
)  # fmt: skip
DATE_LABELS = ("date", "time", "tarikh", "masa", "tanggal", "waktu", "petsa", "oras", "วันที่", "เวลา")

# Brand names a receipt shows in Latin letters, which tell the currency when no mark does.
_BRANDS = (
    ("paynow", "SGD"), ("dbs", "SGD"), ("posb", "SGD"), ("ocbc", "SGD"), ("uob", "SGD"),
    ("duitnow", "MYR"), ("maybank", "MYR"), ("cimb", "MYR"), ("touch 'n go", "MYR"),
    ("promptpay", "THB"), ("k plus", "THB"), ("kbank", "THB"), ("scb", "THB"), ("krungthai", "THB"),
    ("qris", "IDR"), ("bca", "IDR"), ("mandiri", "IDR"), ("bri", "IDR"), ("gopay", "IDR"),
    ("gcash", "PHP"), ("maya", "PHP"), ("bpi", "PHP"), ("instapay", "PHP"),
    ("momo", "VND"), ("vietcombank", "VND"), ("napas", "VND"),
)  # fmt: skip
# gomflow's own payment references ("KPOP1-7-P1", a bundle "KPOP1-B12"), found anywhere.
OUR_REFERENCE = re.compile(
    r"(?<![A-Z0-9])([A-Z0-9]{2,16}-\d{1,7}-[PR]\d{1,3}|[A-Z0-9]{2,16}-B\d{1,9})(?![A-Z0-9])", re.I
)
MAX_FIELD = 80


@dataclass
class Fields:
    """What the text said, with why, for ``read_proof`` to weigh."""

    amount_minor: int | None = None
    currency: str | None = None
    paid_at: datetime | None = None
    reference: str | None = None
    txn_id: str | None = None
    recipient: str | None = None
    confidence: float = 0.0
    amount_line: int | None = None  # index into the lines, for the edit checks
    amount_span: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)
    how: dict[str, str] = field(default_factory=dict)


def _label_pattern(labels: Sequence[str]) -> re.Pattern[str]:
    """Labels at the start of a line, spaces optional, then ':' or a gap, a capital or a digit."""
    parts = []
    for label in sorted(labels, key=len, reverse=True):
        words = [re.escape(w) for w in re.split(r"[\s.]+", label) if w]
        parts.append(r"[\s.]*".join(words))
    return re.compile(
        rf"^\s*(?:{'|'.join(parts)})\.?(?:\s*[:：#\-=]\s*|\s+|(?=(?-i:[A-Z0-9$฿₱₫]))|(?=[^\x00-\x7f])|$)",
        re.I,
    )


_AMOUNT = _label_pattern(AMOUNT_LABELS)
_OTHER_MONEY = _label_pattern(OTHER_MONEY_LABELS)
_TXN = _label_pattern(TXN_LABELS)
_REFERENCE = _label_pattern(REFERENCE_LABELS)
_RECIPIENT = _label_pattern(RECIPIENT_LABELS)
_DATE = _label_pattern(DATE_LABELS)
_ANY_LABEL = (_AMOUNT, _OTHER_MONEY, _TXN, _REFERENCE, _RECIPIENT, _DATE)


def parse_fields(lines: Sequence[TextLine], *, expect_currency: str | None = None) -> Fields:
    """Read every field from ``lines`` (reading order). Never raises on odd text: what
    cannot be read stays None, with a note saying why where a GOM would ask."""
    texts = [ascii_digits(line.text)[:500] for line in lines]
    whole = "\n".join(texts)
    fields = Fields()
    brand = _brand_currency(whole)
    _read_amount(fields, lines, texts, brand, expect_currency)
    fields.txn_id = _clean_id(_labelled(texts, _TXN))
    if fields.txn_id is None:
        fields.txn_id = _unlabelled_id(texts)
        if fields.txn_id:
            fields.how["txn_id"] = "a long number standing alone"
    fields.reference = _clean_text(_labelled(texts, _REFERENCE, exclude=_TXN))
    ours = OUR_REFERENCE.search(whole)
    if ours and (
        fields.reference is None or ours.group(1).upper() not in fields.reference.upper().replace(" ", "")
    ):
        if fields.reference is None:
            fields.how["reference"] = "found in the text"
        fields.reference = fields.reference or ours.group(1).upper()
    fields.recipient = _clean_text(_labelled(texts, _RECIPIENT, exclude=_TXN))
    fields.paid_at = _read_datetime(texts, fields.currency or brand or expect_currency)
    fields.confidence = _confidence(fields, lines)
    return fields


def _brand_currency(text: str) -> str | None:
    low = text.casefold()
    for name, code in _BRANDS:
        if re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", low):
            return code
    return None


def _read_amount(
    fields: Fields, lines: Sequence[TextLine], texts: Sequence[str], brand: str | None, expect: str | None
) -> None:
    labelled: list[tuple[int, AmountSeen]] = []
    loose: list[tuple[int, AmountSeen]] = []
    for index, text in enumerate(texts):
        if _OTHER_MONEY.match(text):
            continue
        label = _AMOUNT.match(text)
        seen = amounts_in(text[label.end() :] if label else text)
        if label and not seen and index + 1 < len(texts) and not _starts_with_label(texts[index + 1]):
            after = amounts_in(texts[index + 1])
            labelled.extend((index + 1, a) for a in after[:1])
        offset = label.end() if label else 0
        shifted = [_shift(a, offset) for a in seen]
        (labelled if label else loose).extend((index, a) for a in shifted[:1] if label)
        if not label:
            loose.extend((index, a) for a in shifted)
    pool, how = (labelled, "labelled") if labelled else ([p for p in loose if p[1].marked], "marked")
    if not pool:
        pool, how = loose, "unmarked"
    if not pool:
        fields.notes.append("no amount found")
        return
    valued = [(i, a, code, minor) for i, a in pool for code in [_currency_of(a, brand, expect)] if code
              for minor in [a.minor(code)] if minor is not None]  # fmt: skip
    if not valued:
        if all(_currency_of(a, brand, expect) is None for _, a in pool):
            fields.notes.append("an amount was found but no currency is shown on it and none was expected")
        else:
            fields.notes.append(
                "the amount could not be read as money (too large, or decimals the currency lacks)"
            )
        return
    # A 0.00 row (no fee) is never the sum sent; drop it when anything else was found.
    valued = [v for v in valued if v[3] > 0] or valued
    distinct = {(code, minor) for _, _, code, minor in valued}
    chosen = valued[0]
    if len(distinct) > 1:
        tallest = _tallest(lines, valued)
        if tallest is None:
            shown = ", ".join(sorted(a.raw for _, a, _, _ in valued))
            fields.notes.append(f"several different amounts ({shown}); which one was paid is unclear")
            fields.how["amount"] = "ambiguous"
            return
        chosen = tallest
        how += ", the largest of several"
    index, picked, code, minor = chosen
    fields.amount_minor, fields.currency = minor, code
    fields.amount_line, fields.amount_span = index, (picked.start, picked.end)
    fields.how["amount"] = how
    fields.how["currency"] = (
        "marked" if picked.currency and picked.currency != "$" else ("brand" if brand else "expected")
    )


def _shift(seen: AmountSeen, offset: int) -> AmountSeen:
    return AmountSeen(
        seen.integer, seen.fraction, seen.currency, seen.start + offset, seen.end + offset, seen.raw
    )


def _currency_of(seen: AmountSeen, brand: str | None, expect: str | None) -> str | None:
    if seen.currency == "$":
        return expect if expect in ("SGD", "USD") else "SGD"
    return seen.currency or brand or expect


def _tallest(
    lines: Sequence[TextLine], valued: list[tuple[int, AmountSeen, str, int]]
) -> tuple[int, AmountSeen, str, int] | None:
    """The headline amount: on a line at least 1.3 times taller than any other candidate's,
    as bank apps draw the sum sent; None when no line stands out (plain text has no heights)."""
    ranked = sorted(valued, key=lambda v: lines[v[0]].height, reverse=True)
    top = ranked[0]
    others = [v for v in ranked if (v[2], v[3]) != (top[2], top[3])]
    if lines[top[0]].height and all(lines[top[0]].height >= 1.3 * lines[v[0]].height for v in others):
        return top
    return None


def _starts_with_label(text: str) -> bool:
    return any(pattern.match(text) for pattern in _ANY_LABEL)


def _labelled(
    texts: Sequence[str], pattern: re.Pattern[str], exclude: re.Pattern[str] | None = None
) -> str | None:
    """The value after the first matching label: the rest of its line, or the next line
    when the label stands alone (and the next line is not another label)."""
    for index, text in enumerate(texts):
        if exclude is not None and exclude.match(text):
            continue
        match = pattern.match(text)
        if not match:
            continue
        value = text[match.end() :].strip(" :：-")
        if value:
            return value
        if index + 1 < len(texts) and not _starts_with_label(texts[index + 1]):
            return texts[index + 1].strip()
    return None


def _clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())[:MAX_FIELD]
    return cleaned or None


def _clean_id(value: str | None) -> str | None:
    """A bank's transaction id: letters, digits and dashes, spaces dropped ("1234 567 890")."""
    if value is None:
        return None
    first = re.match(r"[A-Za-z0-9\- ]+", value)
    compact = first.group(0).replace(" ", "").strip("-") if first else ""
    if len(compact) < 4 or not any(ch.isdigit() for ch in compact) or len(compact) > 40:
        return None
    return compact


def _unlabelled_id(texts: Sequence[str]) -> str | None:
    """A transaction id whose label could not be read (Thai, for the OCR): a row's last
    cell that is one long run of digits and capitals, at least eight of them digits."""
    for text in texts:
        if any(p.match(text) for p in (_AMOUNT, _OTHER_MONEY, _RECIPIENT, _REFERENCE, _DATE)):
            continue
        cell = text.split(CELL_GAP)[-1].strip()
        compact = cell.replace(" ", "")
        if (
            re.fullmatch(r"[A-Z0-9]{10,32}", compact)
            and sum(ch.isdigit() for ch in compact) >= 8
            and not OUR_REFERENCE.search(cell)
        ):
            return compact
    return None


def _read_datetime(texts: Sequence[str], currency: str | None) -> datetime | None:
    ordered = sorted(range(len(texts)), key=lambda i: 0 if _DATE.match(texts[i]) else 1)
    month_first, buddhist = currency == "PHP", currency == "THB"
    for index in ordered:
        found = dates.find_date(texts[index], month_first=month_first, buddhist=buddhist)
        if found is None:
            continue
        day, end = found
        clock = dates.find_time(texts[index][end:]) or dates.find_time(texts[index][: max(0, end - 12)])
        if clock is None:
            nearby = [texts[j] for j in (index + 1, index - 1) if 0 <= j < len(texts)]
            clock = next((t for t in map(dates.find_time, nearby) if t), None)
        return dates.combine(day, clock, dates.find_zone("\n".join(texts), currency))
    return None


def _confidence(fields: Fields, lines: Sequence[TextLine]) -> float:
    """Half for the amount (less when it was not labelled or marked), a third for a
    reference, the rest for a currency written beside the amount; scaled by OCR's own score."""
    score = 0.0
    if fields.amount_minor is not None and fields.amount_line is not None:
        how = fields.how.get("amount", "")
        weight = 0.5 if how.startswith(("labelled", "marked")) else 0.3
        score += weight * lines[fields.amount_line].score
        if fields.how.get("currency") == "marked":
            score += 0.2
    if fields.reference:
        score += 0.3
    return min(score, 1.0)
