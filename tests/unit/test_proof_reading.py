"""Reading a transfer receipt's text: each app's layout, each language, and text that is not one.

Pure text in, fields out: no image and no OCR, so these run in milliseconds.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from core.payments.reading.amounts import amounts_in, ascii_digits
from core.payments.reading.dates import find_date, find_time
from core.payments.reading.fields import Fields, parse_fields
from core.payments.reading.lines import TextLine, lines_from_text, rows


def read(text: str, currency: str | None = None) -> Fields:
    return parse_fields(lines_from_text(text), expect_currency=currency)


def test_reads_a_paynow_receipt_with_labels_glued_to_values_by_ocr() -> None:
    fields = read(
        "DBS digibank\nTransfer Successful\nS$49.07\nToMINJI GOODS\nAmountSGD 49.07\n"
        "Date  07 Jun 2026,09:15 PM\nComments  KPOP1-0007-P1\nTransaction Ref  DBS2612020001234"
    )
    assert (fields.amount_minor, fields.currency) == (4907, "SGD")
    assert fields.reference == "KPOP1-0007-P1"
    assert fields.txn_id == "DBS2612020001234"
    assert fields.recipient == "MINJI GOODS"
    assert fields.paid_at == datetime(2026, 6, 7, 21, 15, tzinfo=ZoneInfo("Asia/Singapore"))
    assert fields.confidence == pytest.approx(1.0)


def test_reads_a_duitnow_receipt_in_malay() -> None:
    fields = read(
        "Maybank2u DuitNow\nPemindahan Berjaya\nJumlah  RM1,234.50\nPenerima  Nur Aisyah Store\n"
        "Rujukan Penerima  IVE9-368-P3\nTarikh  13 Ogos 2026 15:32:00\nNo. Rujukan  632122330792"
    )
    assert (fields.amount_minor, fields.currency) == (123450, "MYR")
    assert fields.reference == "IVE9-368-P3"
    assert fields.txn_id == "632122330792"
    assert fields.recipient == "Nur Aisyah Store"
    assert fields.paid_at == datetime(2026, 8, 13, 15, 32, tzinfo=ZoneInfo("Asia/Kuala_Lumpur"))


def test_reads_a_thai_slip_with_a_buddhist_era_date_and_thai_digits() -> None:
    fields = read(
        "K PLUS\nโอนเงินสำเร็จ\n2 ธ.ค. 69 14:35 น.\nผู้รับ\nนาย มินจี ก.\nจำนวน:  ๑,๒๕๐.๐๐ บาท\n"
        "ค่าธรรมเนียม:  0.00 บาท\nเลขที่รายการ:  016336143512ABC12345\nบันทึกช่วยจำ:  KPOP1-12-P1"
    )
    assert (fields.amount_minor, fields.currency) == (125000, "THB")
    assert fields.txn_id == "016336143512ABC12345"
    assert fields.reference == "KPOP1-12-P1"
    assert fields.recipient == "นาย มินจี ก."
    assert fields.paid_at == datetime(2026, 12, 2, 14, 35, tzinfo=ZoneInfo("Asia/Bangkok"))


def test_reads_a_thai_slip_whose_thai_words_ocr_could_not_read() -> None:
    # What OCR makes of a K PLUS slip: Thai labels become noise, digits survive.
    fields = read(
        "K PLUS PromptPay\nTouDuanisa\n12/05/256915:33\nNSU  NurAisyah Store\nshusu:  12,297.03 un\n"
        "AnsssuLUau:  0.00 unn\nlaunsnsas:  819093786579\nNJZ24-382-P1"
    )
    assert (fields.amount_minor, fields.currency) == (1229703, "THB")
    assert fields.txn_id == "819093786579"
    assert fields.reference == "NJZ24-382-P1"
    assert fields.paid_at == datetime(2026, 5, 12, 15, 33, tzinfo=ZoneInfo("Asia/Bangkok"))


def test_reads_a_qris_receipt_with_dots_for_thousands() -> None:
    fields = read(
        "BCA mobile QRIS\nTransaksi Berhasil\nNominal  Rp 1.621.950\nTanggal  1 September 2026 06:57 WITA\n"
        "Penerima  TOKO KPOP JKT\nBerita  SVT17-4-P1\nNo. Referensi  7491 1862 5276"
    )
    assert (fields.amount_minor, fields.currency) == (162195000, "IDR")
    assert fields.txn_id == "749118625276"
    assert fields.paid_at == datetime(2026, 9, 1, 6, 57, tzinfo=ZoneInfo("Asia/Makassar"))


def test_reads_a_gcash_receipt_in_tagalog_with_the_peso_sign_read_as_p() -> None:
    fields = read(
        "GCash\nNaipadala\nHalaga  P14,365.76\nTatanggap  Juan Dela Cruz\nMensahe  SVT17-609-P2\n"
        "Ref No.\n9711 471 04974\nMay21,202611:05AM"
    )
    assert (fields.amount_minor, fields.currency) == (1436576, "PHP")
    assert fields.reference == "SVT17-609-P2"
    assert fields.txn_id == "971147104974"
    assert fields.recipient == "Juan Dela Cruz"
    assert fields.paid_at == datetime(2026, 5, 21, 11, 5, tzinfo=ZoneInfo("Asia/Manila"))


def test_reads_dong_written_after_the_number() -> None:
    fields = read("MoMo\nSố tiền  500.000đ\nNội dung  KPOP1-9-P1")
    assert (fields.amount_minor, fields.currency) == (500000, "VND")
    assert fields.reference == "KPOP1-9-P1"


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("Amount S$1,250.00", "SGD", 125000),
        ("Amount SGD 0.50", "SGD", 50),
        ("Amount $12", "SGD", 1200),
        ("Amount RM 120.5", "MYR", 12050),
        ("Amount ฿1,250.00", "THB", 125000),
        ("Amount 1,250 บาท", "THB", 125000),
        ("Amount Rp150.000,00", "IDR", 15000000),
        ("Amount IDR 1,500,000.00", "IDR", 150000000),
        ("Amount ₱1,500.00", "PHP", 150000),
        ("Amount PHP 99.99", "PHP", 9999),
        ("Amount 1.500.000 ₫", "VND", 1500000),
    ],
)
def test_reads_each_currencys_marks_and_separators_exactly(text: str, currency: str, minor: int) -> None:
    fields = read(text)
    assert (fields.amount_minor, fields.currency) == (minor, currency)
    assert isinstance(fields.amount_minor, int)


def test_uses_the_expected_currency_only_when_the_receipt_shows_none() -> None:
    assert read("Amount 49.00", "SGD").currency == "SGD"
    assert read("Amount RM 49.00", "SGD").currency == "MYR"
    assert read("Amount 49.00").amount_minor is None
    assert "no currency is shown" in read("Amount 49.00").notes[0]


def test_the_labelled_amount_wins_over_fees_and_balances() -> None:
    fields = read("Fee S$0.50\nAvailable balance S$1,000.00\nAmount S$12.00")
    assert fields.amount_minor == 1200


def test_two_different_amounts_without_labels_are_left_unread_with_a_reason() -> None:
    fields = read("RM 10.00\nRM 12.00")
    assert fields.amount_minor is None
    assert "several different amounts" in fields.notes[0]


def test_the_headline_amount_wins_when_it_is_drawn_larger() -> None:
    lines = [TextLine("S$49.07", (0, 0, 200, 60)), TextLine("Fee waived S$0.70", (0, 100, 300, 130))]
    assert parse_fields(lines).amount_minor == 4907


@pytest.mark.parametrize(
    "text",
    [
        "Transfer Successful\nThank you",
        "",
        "Amount S$1000000000000000000.00",
        "Amount 5 days",
        "Ref KPOP1-0007-P1",
        "Date 31/02/2026",
    ],
)
def test_text_without_a_readable_amount_gives_no_amount_and_never_raises(text: str) -> None:
    assert read(text).amount_minor is None


def test_an_absurd_amount_says_why() -> None:
    assert "could not be read as money" in read("Amount S$99999999999999999.00").notes[0]


def test_a_hostile_line_is_cut_short_and_read_without_raising() -> None:
    fields = read("Amount S$" + "9" * 100_000 + "\n" + "x" * 100_000)
    assert fields.amount_minor is None


def test_dong_decimals_are_not_money() -> None:
    assert read("Amount 500.5 VND").amount_minor is None


def test_digits_of_other_scripts_read_as_ascii() -> None:
    assert ascii_digits("๔๙.๐๐ ４９．００ 𝟒𝟗") == "49.00 49.00 49"
    assert read("Amount S$４９．００").amount_minor == 4900


def test_a_unit_ocr_could_not_read_stuck_to_the_amount_still_leaves_the_amount() -> None:
    assert read("K PLUS\n595.53unn\nAnsssuiuau:  0.00unn").amount_minor == 59553
    assert amounts_in("REF 123ABC 12.50X") == []


def test_ids_references_and_dates_are_not_amounts() -> None:
    assert amounts_in("KPOP1-0007-P1 DBS2612020001234 02/12/2026 14:35") == []


def test_a_reference_not_labelled_is_found_by_its_shape() -> None:
    fields = read("Transfer done\nAmount S$5.00\nsomething KPOP1-12-P3 else")
    assert fields.reference == "KPOP1-12-P3"
    assert fields.how["reference"] == "found in the text"


def test_a_recipient_label_does_not_match_inside_another_word() -> None:
    assert read("Total S$12.50").recipient is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 Dec 2026", date(2026, 12, 2)),
        ("Dec 2, 2026", date(2026, 12, 2)),
        ("02/12/2026", date(2026, 12, 2)),
        ("2026-12-02", date(2026, 12, 2)),
        ("02/12/2569", date(2026, 12, 2)),
        ("2 ธันวาคม 2569", date(2026, 12, 2)),
        ("2 ธ.ค. 69", date(2026, 12, 2)),
        ("2 Disember 2026", date(2026, 12, 2)),
        ("2 Desember 2026", date(2026, 12, 2)),
        ("Agosto 5, 2026", date(2026, 8, 5)),
        ("5 Hunyo 2026", date(2026, 6, 5)),
        ("13/04/2026", date(2026, 4, 13)),
        ("16Jul202620:35", date(2026, 7, 16)),
        ("180ct2026,04:51AM", date(2026, 10, 18)),
        ("31 0g0s 2026", date(2026, 8, 31)),
        ("280ktober202619:03WIB", date(2026, 10, 28)),
    ],
)
def test_reads_dates_in_every_layout(text: str, expected: date) -> None:
    found = find_date(text)
    assert found is not None and found[0] == expected


def test_an_ambiguous_numeric_date_is_month_first_only_in_the_philippines() -> None:
    assert find_date("03/04/2026") == (date(2026, 4, 3), 10)
    assert find_date("03/04/2026", month_first=True) == (date(2026, 3, 4), 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:35", time(14, 35)),
        ("2:35 PM", time(14, 35)),
        ("12:05 am", time(0, 5)),
        ("14.35 น.", time(14, 35)),
    ],
)
def test_reads_twelve_and_twenty_four_hour_clocks(text: str, expected: time) -> None:
    assert find_time(text) == expected


def test_impossible_dates_and_times_are_not_read() -> None:
    assert find_date("31/02/2026") is None
    assert find_date("01/01/1899") is None
    assert find_time("25:61") is None


def test_ocr_boxes_on_one_height_become_one_row_left_to_right() -> None:
    joined = rows(
        [
            TextLine("SGD 49.07", (400, 101, 600, 131)),
            TextLine("Amount", (40, 100, 160, 130)),
            TextLine("Date", (40, 170, 120, 200)),
        ]
    )
    assert [line.text for line in joined] == ["Amount  SGD 49.07", "Date"]
    cell, start = joined[0].cell_at(10)
    assert (cell.text, start) == ("SGD 49.07", 8)
