"""Bank exports read into exact transactions: each layout, encoding and date style, and the
files that must be refused with a clear answer."""

from __future__ import annotations

from datetime import date

import pytest

from bench.statement_corpus import (
    EPOCH,
    Line,
    bca,
    cimb_xlsx,
    dbs,
    kasikorn,
    maybank,
    mt940,
    ocbc,
    scb_ofx,
    xlsx,
)
from core.errors import InvalidInput, UnknownCurrency
from core.payments.statements import MAX_BYTES, read_statement
from core.payments.statements.values import decode, parse_amount, parse_date

LINES = [
    Line(EPOCH, 4907, "PAYNOW OTHR SVT-FML-12-I1 TAN", "SVT-FML-12-I1"),
    Line(date(2026, 11, 2), -123456, "NETS PURCHASE", None),
    Line(date(2026, 11, 30), 100000012, "FAST svt fml 3 i1", "SVT-FML-3-I1"),
]


@pytest.mark.parametrize(
    ("write", "currency"),
    [(dbs, "SGD"), (ocbc, "SGD"), (maybank, "MYR"), (kasikorn, "THB"), (bca, "IDR"), (cimb_xlsx, "MYR"),
     (scb_ofx, "THB"), (mt940, "SGD")],
    ids=["dbs-csv", "ocbc-cp1252", "maybank-signed", "kasikorn-tis620-buddhist", "bca-cr-dr", "cimb-xlsx",
         "scb-ofx", "mt940"],
)  # fmt: skip
def test_each_bank_style_reads_every_line_exactly_where_it_is(write, currency) -> None:  # type: ignore[no-untyped-def]
    content, truth = write(LINES, currency)
    statement = read_statement(content, currency)
    got = [(t.row, t.date, t.amount_minor, t.currency) for t in statement.transactions]
    assert got == [(t.row, t.date, t.amount_minor, t.currency) for t in truth]
    assert "SVT-FML-12-I1" in statement.transactions[0].description


def test_fingerprints_are_stable_and_tell_identical_lines_apart() -> None:
    content, _ = dbs([LINES[0], LINES[0]])
    first = read_statement(content).transactions
    again = read_statement(content).transactions
    assert [t.fingerprint for t in first] == [t.fingerprint for t in again]
    assert first[0].fingerprint != first[1].fingerprint


def test_the_header_is_found_below_a_preamble_and_totals_are_skipped() -> None:
    text = (
        "Account,123\nPeriod,01/11/2026 - 30/11/2026\n\nDate,Description,Amount,Currency\n"
        '01/11/2026,PAYNOW A,"1,234.56",SGD\n02/11/2026,CARD,-10.00,SGD\nTotal,,"1,224.56",\n'
    )
    statement = read_statement(text.encode())
    assert [(t.row, t.amount_minor) for t in statement.transactions] == [(5, 123456), (6, -1000)]
    assert statement.skipped_rows == (7,)


def test_xlsx_numbers_become_exact_minor_units() -> None:
    content = xlsx(
        [["Date", "Description", "Amount"], ["2026-11-01", "A", 0.1 + 0.2], ["2026-11-02", "B", 49.07]]
    )
    odd = read_statement(content, "SGD")  # 0.30000000000000004 is no amount a bank wrote
    assert [t.row for t in odd.transactions] == [3] and odd.skipped_rows == (2,)
    good = xlsx(
        [["Date", "Description", "Amount"], ["2026-11-02", "B", 49.07], ["2026-11-03", "C", 1234567.1]]
    )
    assert [t.amount_minor for t in read_statement(good, "SGD").transactions] == [4907, 123456710]


@pytest.mark.parametrize(
    ("text", "minor"),
    [("1,234.56", 123456), ("1.234,56", 123456), ("(12.00)", -1200), ("12.00-", -1200), ("S$ 49.07", 4907),
     ("12,50", 1250), ("1,234", 123400), ("-1,000,000.00", -100000000), ("abc", None), ("", None)],
)  # fmt: skip
def test_amounts_in_every_separator_style(text: str, minor: int | None) -> None:
    assert parse_amount(text, "SGD") == minor


@pytest.mark.parametrize(
    ("text", "day"),
    [("31/12/2025", date(2025, 12, 31)), ("2026-01-05", date(2026, 1, 5)), ("05 Jan 2026", date(2026, 1, 5)),
     ("5 Ogos 2026", date(2026, 8, 5)), ("01/02/2569", date(2026, 2, 1)), ("12 ม.ค. 2569", date(2026, 1, 12)),
     ("Dec 01, 2026", date(2026, 12, 1)), ("20260105", date(2026, 1, 5)), ("Total", None),
     ("31/02/2026", None)],
)  # fmt: skip
def test_dates_in_every_style_and_buddhist_years(text: str, day: date | None) -> None:
    assert parse_date(text) == day


def test_encodings_utf8_bom_cp1252_and_tis620() -> None:
    assert decode("\ufeffDate,Café".encode()) == "Date,Café"
    assert decode("Date,Café".encode("cp1252")) == "Date,Café"
    assert decode("วันที่,รายการ".encode("tis-620")) == "วันที่,รายการ"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"\n \n", "empty"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"name,phone\nAna,+6591234567\n", "No header row"),
        (b"x" * (MAX_BYTES + 1), "MB"),
    ],
    ids=["empty", "blank", "pdf", "no-header", "too-big"],
)
def test_bad_files_are_refused_with_a_clear_answer(content: bytes, words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_statement(content, "SGD")
    assert words in refused.value.message


def test_an_unknown_or_missing_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrency, match="EUR"):
        read_statement(b"Date,Description,Amount,Currency\n01/11/2026,A,1.00,EUR\n")
    with pytest.raises(UnknownCurrency, match="does not say its currency"):
        read_statement(b"Date,Description,Amount\n01/11/2026,A,1.00\n")


def test_ofx_xml_and_mt940_details_over_several_lines() -> None:
    ofx = (
        '<?xml version="1.0"?>\n<?OFX OFXHEADER="200" VERSION="220"?>\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>'
        "<CURDEF>PHP</CURDEF><BANKTRANLIST>\n<STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20261201</DTPOSTED>"
        "<TRNAMT>1500.25</TRNAMT><FITID>A1</FITID><NAME>INSTAPAY SVT-FML-2-I1</NAME></STMTTRN>\n"
        "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )
    [line] = read_statement(ofx.encode()).transactions
    assert (line.row, line.date, line.amount_minor, line.currency) == (4, date(2026, 12, 1), 150025, "PHP")
    assert line.description == "INSTAPAY SVT-FML-2-I1"
    swift = (
        ":20:X\n:25:ACC\n:60F:C261130SGD0,00\n:61:2612011201C49,07NTRFNONREF//B1\n:86:PAYNOW FROM TAN\n"
        "SVT-FML-2-I1\n:61:2612021202RC10,00NTRFNONREF\n:86:REVERSAL\n:62F:C261202SGD39,07\n-\n"
    )
    lines = read_statement(swift.encode()).transactions
    assert [(t.row, t.amount_minor) for t in lines] == [(4, 4907), (7, -1000)]
    assert lines[0].description == "PAYNOW FROM TAN SVT-FML-2-I1 NONREF"
