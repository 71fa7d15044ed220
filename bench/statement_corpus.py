"""Statement exports in several banks' styles, each with its ground truth, for the
statement benchmark and tests.

Every file pays a generated set of open requests: by their reference (whole, spaced, in
lower case, cut short by the bank), by a unique amount alone, and mixed with traps that
must never be applied: two requests owing the same amount, a reference a cent short, a
second credit for a request already paid by the file, a reference cut so short that it
fits several requests, and credits nobody owes. Debits and trailing totals are noise.
Nothing is written to disk here: callers put files where they like (a temp dir).
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from xml.sax.saxutils import escape

from core.payments.statements.matching import OpenRequest

EPOCH = date(2026, 11, 1)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True)
class Truth:
    """One line as it really is: where, when, how much, and the request it pays (or None)."""

    row: int
    date: date
    amount_minor: int
    currency: str
    pays: str | None  # the reference of the request it must be matched to


@dataclass
class Sample:
    bank: str
    layout: str
    filename: str
    content: bytes
    requests: list[OpenRequest]
    truth: list[Truth] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    """A line before it is written in a bank's style."""

    when: date
    amount_minor: int  # signed, credits positive
    description: str
    pays: str | None


def make_requests(count: int, currency: str, rng: random.Random, go: str = "SVT-FML") -> list[OpenRequest]:
    """Open requests with distinct amounts (a few cents apart, as unique amounts make them)."""
    used: set[int] = set()
    requests = []
    for n in range(1, count + 1):
        amount = rng.randrange(1000, 90000)
        while amount in used:
            amount += 7
        used.add(amount)
        requests.append(OpenRequest(n, f"{go}-{n}-I1", currency, amount, f"{go}-{n}"))
    return requests


def plan(requests: list[OpenRequest], lines: int, rng: random.Random) -> list[Line]:
    """About half the lines debits; the credits pay requests in every way, and the traps."""
    owed = {r.owed_minor for r in requests}
    out: list[Line] = []
    pool = list(requests)
    rng.shuffle(pool)
    # two requests made to owe the same amount: a credit of that amount without a reference
    twin_a, twin_b, *pool = pool
    twin_amount = twin_a.owed_minor
    requests[requests.index(twin_b)] = OpenRequest(
        twin_b.request_id, twin_b.reference, twin_b.currency, twin_amount, twin_b.order_number
    )
    out.append(Line(EPOCH, twin_amount, "PAYNOW TRANSFER FROM A FRIEND", None))
    styles: list[Callable[[OpenRequest], tuple[int, str, str | None]]] = [
        lambda r: (r.owed_minor, f"PAYNOW OTHR {r.reference} TAN MEI LING", r.reference),
        lambda r: (r.owed_minor, f"FAST {r.reference.lower().replace('-', ' ')} from lim", r.reference),
        lambda r: (r.owed_minor, f"IB FUND TRF {r.reference.replace('-', '')[:-1]}", r.reference),
        lambda r: (r.owed_minor, "TRANSFER FROM ONG BEE HOON", r.reference),  # unique amount only
        lambda r: (r.owed_minor - 1, f"PAYNOW {r.reference}", None),  # a cent short
    ]
    credits_wanted = max(len(styles), lines // 2)
    paid_twice = None
    for i in range(credits_wanted):
        when = EPOCH + timedelta(days=i % 28)
        if pool:
            request = pool.pop()
            amount, text, pays = styles[i % len(styles)](request)
            if paid_twice is None and pays:
                paid_twice = request
            out.append(Line(when, amount, text, pays))
        else:
            amount = rng.randrange(100, 500000)
            while amount in owed:
                amount += 1
            out.append(Line(when, amount, "INTEREST CREDIT" if i % 2 else "REFUND FROM SHOPEE", None))
    if paid_twice is not None:
        out.append(
            Line(EPOCH, paid_twice.owed_minor, f"PAYNOW {paid_twice.reference} AGAIN", paid_twice.reference)
        )
    out.append(Line(EPOCH, 4321, "IB FUND TRF SVTFML", None))  # cut to fit many requests
    while len(out) < lines:
        amount = rng.randrange(100, 200000)
        out.append(Line(EPOCH + timedelta(days=len(out) % 28), -amount, "NETS PURCHASE NTUC FAIRPRICE", None))
    rng.shuffle(out)
    # of two credits for one request the first in the file takes it; the other pays nothing
    taken: set[str] = set()
    fixed = []
    for ln in out:
        if ln.pays in taken:
            ln = Line(ln.when, ln.amount_minor, ln.description, None)
        elif ln.pays:
            taken.add(ln.pays)
        fixed.append(ln)
    return fixed


def _plain(minor: int, thousands: str = ",", decimal: str = ".") -> str:
    whole, cents = divmod(abs(minor), 100)
    return f"{whole:,}".replace(",", thousands) + f"{decimal}{cents:02d}"


def _truths(lines: Sequence[Line], first_row: int, currency: str, step: int = 1) -> list[Truth]:
    return [
        Truth(first_row + i * step, ln.when, ln.amount_minor, currency, ln.pays) for i, ln in enumerate(lines)
    ]


def dbs(lines: Sequence[Line], currency: str = "SGD") -> tuple[bytes, list[Truth]]:
    head = [
        "Account Details For:,POSB eSavings Account 123-45678-9",
        "Statement as at:,02 Dec 2026",
        f"Available Balance:,12345.67 {currency}",
        "",
        "Transaction Date,Reference,Debit Amount,Credit Amount,Transaction Ref1,Transaction Ref2",
    ]
    body = [
        f"{ln.when.day:02d} {MONTHS[ln.when.month - 1]} {ln.when.year},ITR,"
        + (f"{_plain(-ln.amount_minor, '')},," if ln.amount_minor < 0 else f",{_plain(ln.amount_minor, '')},")
        + f'"{ln.description}",'
        for ln in lines
    ]
    text = "\n".join([*head, *body, ",,,,Total,"]) + "\n"
    return text.encode("utf-8-sig"), _truths(lines, len(head) + 1, currency)


def ocbc(lines: Sequence[Line], currency: str = "SGD") -> tuple[bytes, list[Truth]]:
    head = ["Account details,360 Account,'5012345678", "", 'Available balance,"1,234.00"', ""]
    head.append(f"Transaction date,Value date,Description,Withdrawals ({currency}),Deposits ({currency})")
    body = []
    for ln in lines:
        d = f"{ln.when.day:02d}/{ln.when.month:02d}/{ln.when.year}"
        money = f'"{_plain(-ln.amount_minor)}",' if ln.amount_minor < 0 else f',"{_plain(ln.amount_minor)}"'
        body.append(f'{d},{d},"{ln.description} café",{money}')
    text = "\n".join([*head, *body]) + "\r\n"
    return text.encode("cp1252"), _truths(lines, len(head) + 1, currency)


def maybank(lines: Sequence[Line], currency: str = "MYR") -> tuple[bytes, list[Truth]]:
    head = ["Penyata Akaun", f"Mata Wang: {currency}", "Tarikh Transaksi;Keterangan;Jumlah Transaksi;Baki"]
    body = [
        f"{ln.when.day:02d}/{ln.when.month:02d}/{ln.when.year};{ln.description};"
        f"{'-' if ln.amount_minor < 0 else '+'}{_plain(ln.amount_minor)};1.000,00"
        for ln in lines
    ]
    return ("\n".join([*head, *body]) + "\n").encode("utf-8"), _truths(lines, len(head) + 1, currency)


def kasikorn(lines: Sequence[Line], currency: str = "THB") -> tuple[bytes, list[Truth]]:
    """TIS-620, Buddhist-era years, Thai headers, separate withdrawal and deposit columns."""
    head = ["ธนาคารกสิกรไทย", "วันที่,รายการ,ถอนเงิน,ฝากเงิน,ยอดคงเหลือ"]
    body = []
    for ln in lines:
        d = f"{ln.when.day:02d}/{ln.when.month:02d}/{ln.when.year + 543}"
        money = f'"{_plain(-ln.amount_minor)}",' if ln.amount_minor < 0 else f',"{_plain(ln.amount_minor)}"'
        body.append(f'{d},"รับโอนเงิน {ln.description}",{money},"10,000.00"')
    return ("\n".join([*head, *body]) + "\n").encode("tis-620"), _truths(lines, len(head) + 1, currency)


def bca(lines: Sequence[Line], currency: str = "IDR") -> tuple[bytes, list[Truth]]:
    """Amounts with CR/DR marks, a Rupiah statement with thousands in dots."""
    head = ["No. Rekening,=,'1234567890", "Nama,=,TOKO KPOP", f"Mata Uang,=,{currency}", ""]
    head.append("Tanggal Transaksi,Keterangan,Cabang,Jumlah,Saldo")
    body = [
        f'{ln.when.day:02d}/{ln.when.month:02d}/{ln.when.year},"TRSF E-BANKING {ln.description}",0000,'
        f'"{_plain(ln.amount_minor, ".", ",")} {"CR" if ln.amount_minor > 0 else "DB"}","1.000.000,00"'
        for ln in lines
    ]
    tail = ['Saldo Awal,=,"1.000.000,00"', 'Mutasi Kredit,=,"5.000,00"']
    return ("\n".join([*head, *body, *tail]) + "\n").encode("utf-8"), _truths(lines, len(head) + 1, currency)


def bdo(lines: Sequence[Line], currency: str = "PHP") -> tuple[bytes, list[Truth]]:
    head = ["Posting Date,Description,Debit,Credit,Running Balance,Currency"]
    body = [
        f'"{MONTHS[ln.when.month - 1]} {ln.when.day:02d}, {ln.when.year}","{ln.description}",'
        + (f'"{_plain(-ln.amount_minor)}",,' if ln.amount_minor < 0 else f',"{_plain(ln.amount_minor)}",')
        + f'"50,000.00",{currency}'
        for ln in lines
    ]
    return ("\n".join([*head, *body]) + "\n").encode("utf-8"), _truths(lines, 2, currency)


def cimb_xlsx(lines: Sequence[Line], currency: str = "MYR") -> tuple[bytes, list[Truth]]:
    rows: list[list[object]] = [["CIMB Clicks statement"], [f"Currency {currency}"], []]
    rows.append(["Date", "Description", "Debit", "Credit", "Balance"])
    for ln in lines:
        d = f"{ln.when.day:02d}/{ln.when.month:02d}/{ln.when.year}"
        money = abs(ln.amount_minor) / 100  # a spreadsheet's number: read back exactly via its repr
        rows.append(
            [
                d,
                ln.description,
                money if ln.amount_minor < 0 else "",
                money if ln.amount_minor > 0 else "",
                1000.5,
            ]
        )
    return xlsx(rows), _truths(lines, 5, currency)


def scb_ofx(lines: Sequence[Line], currency: str = "THB") -> tuple[bytes, list[Truth]]:
    head = ["OFXHEADER:100", "DATA:OFXSGML", "VERSION:102", "", "<OFX>", "<BANKMSGSRSV1><STMTTRNRS><STMTRS>",
            f"<CURDEF>{currency}", "<BANKTRANLIST>"]  # fmt: skip
    body = []
    for i, ln in enumerate(lines):
        sign = "-" if ln.amount_minor < 0 else ""
        body += [
            "<STMTTRN>",
            f"<TRNTYPE>{'DEBIT' if sign else 'CREDIT'}",
            f"<DTPOSTED>{ln.when:%Y%m%d}120000",
            f"<TRNAMT>{sign}{_plain(ln.amount_minor, '')}",
            f"<FITID>SCB{i:08d}",
            f"<NAME>{escape(ln.description[:32])}",
            f"<MEMO>{escape(ln.description)}",
            "</STMTTRN>",
        ]
    text = "\n".join([*head, *body, "</BANKTRANLIST>", "</STMTRS></STMTTRNRS></BANKMSGSRSV1>", "</OFX>"])
    return text.encode("utf-8"), _truths(lines, len(head) + 1, currency, step=8)


def mt940(lines: Sequence[Line], currency: str = "SGD") -> tuple[bytes, list[Truth]]:
    head = [":20:STMT2612", ":25:DBSSSGSG/0123456789", ":28C:1/1", f":60F:C261101{currency}1000,00"]
    body = []
    for ln in lines:
        mark = "D" if ln.amount_minor < 0 else "C"
        body += [
            f":61:{ln.when:%y%m%d}{ln.when:%m%d}{mark}{_plain(ln.amount_minor, '', ',')}NTRFNONREF",
            f":86:{ln.description}",
        ]
    text = "\n".join([*head, *body, f":62F:C261130{currency}1000,00", "-"]) + "\n"
    return text.encode("utf-8"), _truths(lines, len(head) + 1, currency, step=2)


STYLES: dict[str, tuple[str, str, Callable[[Sequence[Line], str], tuple[bytes, list[Truth]]], str]] = {
    "DBS/POSB": ("csv", "dbs.csv", dbs, "SGD"),
    "OCBC": ("csv", "ocbc.csv", ocbc, "SGD"),
    "Maybank": ("csv", "maybank.csv", maybank, "MYR"),
    "CIMB": ("xlsx", "cimb.xlsx", cimb_xlsx, "MYR"),
    "Kasikorn": ("csv", "kbank.csv", kasikorn, "THB"),
    "SCB": ("ofx", "scb.ofx", scb_ofx, "THB"),
    "BCA": ("csv", "bca.csv", bca, "IDR"),
    "BDO": ("csv", "bdo.csv", bdo, "PHP"),
    "DBS MT940": ("mt940", "dbs.sta", mt940, "SGD"),
}


def corpus(lines: int = 200, requests: int = 60, seed: int = 16) -> list[Sample]:
    """One file per bank style, each with its own requests and ground truth."""
    rng = random.Random(seed)
    samples = []
    for bank, (layout, filename, write, currency) in STYLES.items():
        wanted = make_requests(requests, currency, rng)
        planned = plan(wanted, lines, rng)
        content, truth = write(planned, currency)
        samples.append(Sample(bank, layout, filename, content, wanted, truth))
    return samples


def foreign(sample: Sample) -> Sample:
    """The same file as if it were in another currency: nothing in it may match."""
    other = "USD"
    content, truth = dbs(
        [Line(t.date, t.amount_minor, f"PAYNOW {t.pays or ''}", None) for t in sample.truth], other
    )
    return Sample(f"{sample.bank} in {other}", "csv", "usd.csv", content, sample.requests, truth)


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    """A minimal XLSX workbook of one sheet (numbers as numbers, the rest as inline text)."""
    cells = []
    for r, row in enumerate(rows, 1):
        parts = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if isinstance(value, int | float) and not isinstance(value, bool):
                parts.append(f'<c r="{ref}"><v>{value!r}</v></c>')
            elif value != "":
                parts.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
        cells.append(f'<row r="{r}">{"".join(parts)}</row>')
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{"".join(cells)}</sheetData></worksheet>'
    )
    main = "http://schemas.openxmlformats.org"
    files = {
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{main}/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
        'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{main}/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{main}/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}/spreadsheetml/'
        f'2006/main" xmlns:r="{main}/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" '
        'sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{main}/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{main}/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
