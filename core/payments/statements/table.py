"""A statement that is a table (CSV, XLSX): find the header row, then read each line.

Banks put a preamble (account number, period, opening balance) above the header and
totals below the data. The header is the first row, among the first ``HEADER_SEARCH``, that
names a date column and either an amount column or a debit or credit column, in English,
Malay, Indonesian, Thai or Tagalog. Data rows whose date cell is not a date (totals,
balances carried forward, notes) are skipped and listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from core.errors import InvalidInput, UnknownCurrency
from core.money import CURRENCIES
from core.payments.statements.model import Statement, Transaction, with_fingerprints
from core.payments.statements.values import (
    decimal_text_minor,
    marker_sign,
    parse_amount,
    parse_date,
    split_mark,
)

HEADER_SEARCH = 40
Cell = object  # a CSV cell is text; an XLSX cell may be a number or a date

HEADERS: dict[str, tuple[str, ...]] = {
    "date": (
        "date", "transaction date", "txn date", "trans date", "posting date", "post date",
        "value date", "booking date", "tarikh", "tarikh transaksi", "tarikh urus niaga",
        "tanggal", "tanggal transaksi", "tgl", "tgl.", "วันที่", "วันที่ทำรายการ", "วัน/เวลา",
        "petsa", "petsa ng transaksyon", "date/time", "date & time", "date and time",
    ),
    "description": (
        "description", "transaction description", "details", "transaction details",
        "particulars", "remarks", "narrative", "transaction", "keterangan", "butiran",
        "deskripsi", "uraian", "keterangan transaksi", "รายการ", "รายละเอียด", "คำอธิบาย",
        "paglalarawan", "detalye", "memo",
    ),
    "reference": (
        "reference", "ref", "ref no", "ref no.", "reference no", "reference no.", "reference number",
        "client reference", "transaction reference", "rujukan", "no. rujukan", "referensi",
        "berita", "อ้างอิง", "เลขที่อ้างอิง", "sanggunian", "additional reference", "note",
    ),
    "debit": (
        "debit", "debit amount", "withdrawal", "withdrawals", "withdrawal amount", "money out",
        "paid out", "debit (dr)", "debet", "pengeluaran", "keluar", "ถอนเงิน", "ถอน", "เงินออก",
        "withdrawal (dr)", "halagang inilabas",
    ),
    "credit": (
        "credit", "credit amount", "deposit", "deposits", "deposit amount", "money in",
        "paid in", "credit (cr)", "kredit", "pemasukan", "masuk", "ฝากเงิน", "ฝาก", "เงินเข้า",
        "deposit (cr)", "halagang idineposito",
    ),
    "amount": (
        "amount", "transaction amount", "jumlah transaksi", "amaun transaksi", "amount (signed)",
        "jumlah", "amaun", "nominal",
        "mutasi", "จำนวนเงิน", "จำนวน", "halaga",
    ),
    "marker": ("cr/dr", "dr/cr", "db/cr", "cr/db", "d/c", "c/d", "type", "jenis", "dc", "ประเภท"),
    "currency": ("currency", "ccy", "curr", "mata wang", "mata uang", "สกุลเงิน", "salapi"),
    "balance": ("balance", "running balance", "baki", "saldo", "ยอดคงเหลือ", "balanse"),
}  # fmt: skip
_NOT_TEXT = ("date", "debit", "credit", "amount", "marker", "currency", "balance")
_LOOKUP = {name: key for key, names in HEADERS.items() for name in names}
_CODE = re.compile(r"\b([A-Z]{3})\b")


@dataclass(frozen=True)
class Layout:
    header_row: int
    columns: dict[str, int]
    currency: str | None  # named above or in the header, when the file has no currency column


def read_table(
    rows: Sequence[tuple[int, Sequence[Cell]]], layout_name: str, currency: str | None
) -> Statement:
    """Transactions of a table whose rows are ``(row number, cells)``."""
    layout = find_layout(rows)
    fallback = layout.currency or (currency.upper() if currency else None)
    found: list[Transaction] = []
    skipped: list[int] = []
    for number, cells in rows:
        if number <= layout.header_row or not any(_text(c) for c in cells):
            continue
        transaction = _transaction(number, cells, layout.columns, fallback)
        if transaction is None:
            skipped.append(number)
        else:
            found.append(transaction)
    return Statement(layout_name, tuple(with_fingerprints(found)), tuple(skipped))


def find_layout(rows: Sequence[tuple[int, Sequence[Cell]]]) -> Layout:
    preamble: list[str] = []
    for number, cells in rows[:HEADER_SEARCH]:
        columns: dict[str, int] = {}
        for index, cell in enumerate(cells):
            name = _header_name(_text(cell))
            if name and name not in columns:
                columns[name] = index
        amounts = {"amount", "debit", "credit"} & columns.keys()
        if "date" in columns and amounts:
            named = _currency_named(" ".join([*preamble, *(_text(c) for c in cells)]))
            return Layout(number, columns, named)
        preamble.extend(_text(c) for c in cells)
    raise InvalidInput(
        "No header row found: I look for a row naming a date column and an amount (or debit "
        "and credit) column, such as Date,Description,Debit,Credit. Is this a bank statement export?"
    )


def _header_name(text: str) -> str | None:
    words = " ".join(text.lower().replace("\ufeff", "").split())
    if words in _LOOKUP:
        return _LOOKUP[words]
    base = re.sub(r"\s*[\(\[].*?[\)\]]\s*$", "", words).strip(" :")  # "Amount (SGD)"
    return _LOOKUP.get(base)


def _currency_named(text: str) -> str | None:
    """A currency code written above or in the header ("Currency: SGD", "Amount (THB)")."""
    codes = [c for c in _CODE.findall(text.upper()) if c in CURRENCIES]
    return codes[0] if len(set(codes)) == 1 else None


def _transaction(
    number: int, cells: Sequence[Cell], columns: dict[str, int], fallback: str | None
) -> Transaction | None:
    def cell(name: str) -> Cell:
        at = columns.get(name)
        return cells[at] if at is not None and at < len(cells) else ""

    when = _date_of(cell("date"))
    if when is None:
        return None
    currency = _text(cell("currency")).upper() or fallback
    if not currency:
        raise UnknownCurrency(
            "The file does not say its currency (no currency column, none named above the "
            "header): name it, e.g. with --currency SGD."
        )
    if currency not in CURRENCIES:
        raise UnknownCurrency(
            "Row %(number)s: %(currency)s is not a currency gomflow knows.",
            number=number,
            currency=repr(currency[:12]),
        )
    amount = _signed_amount(cell, columns, currency)
    if amount is None:
        return None
    # every other column is description: banks spread it over Ref1, Ref2, Remarks…
    numeric = {columns[k] for k in _NOT_TEXT if k in columns}
    text = " ".join(t for i, c in enumerate(cells) if i not in numeric and (t := _text(c)))
    return Transaction(number, when, amount, currency, " ".join(text.split())[:500])


def _signed_amount(get: Callable[[str], Cell], columns: dict[str, int], currency: str) -> int | None:
    """Credits positive: a credit less a debit column, or one amount signed by its own
    sign, a CR/DR mark in the cell, or a CR/DR column."""
    credit = _amount(get("credit"), currency) if "credit" in columns else None
    debit = _amount(get("debit"), currency) if "debit" in columns else None
    if credit is not None or debit is not None:
        return abs(credit[0] if credit else 0) - abs(debit[0] if debit else 0)
    if "amount" not in columns:
        return None
    found = _amount(get("amount"), currency)
    if found is None:
        return None
    value, mark = found
    sign = mark or (marker_sign(_text(get("marker"))) if "marker" in columns else 0)
    return abs(value) * sign if sign else value


def _amount(value: Cell, currency: str) -> tuple[int, int] | None:
    """(minor units, the sign a CR/DR marker gave or 0) of one amount cell."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        minor = decimal_text_minor(repr(value), currency)
        return None if minor is None else (minor, 0)
    if value is None or value == "":
        return None
    text, mark = split_mark(_text(value))
    minor = parse_amount(text, currency)
    return None if minor is None else (minor, mark)


def _date_of(value: Cell) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(_text(value))


def _text(value: Cell) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)
