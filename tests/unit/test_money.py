"""Behaviour of core.money: exact parsing of chat input, per-currency formatting, Money maths."""

from __future__ import annotations

import pytest

from core.errors import InvalidAmount, UnknownCurrency
from core.money import (
    CURRENCIES,
    Currency,
    Money,
    format_money,
    get_currency,
    minor_to_plain,
    parse_amount,
)

REQUIRED_CODES = ("SGD", "MYR", "PHP", "IDR", "THB", "VND", "USD", "KRW", "JPY")

# --- currency table -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "exponent", "symbol"),
    [
        ("SGD", 2, "S$"),
        ("MYR", 2, "RM"),
        ("PHP", 2, "₱"),
        ("IDR", 2, "Rp"),
        ("THB", 2, "฿"),
        ("VND", 0, "₫"),
        ("USD", 2, "US$"),
        ("KRW", 0, "₩"),
        ("JPY", 0, "¥"),
    ],
)
def test_currency_table_uses_iso_exponents_and_local_symbols(code: str, exponent: int, symbol: str) -> None:
    cur = CURRENCIES[code]
    assert cur.code == code
    assert cur.exponent == exponent
    assert cur.symbol == symbol


@pytest.mark.parametrize("code", ["IDR", "VND"])
def test_idr_and_vnd_use_dot_for_thousands_and_comma_for_decimals(code: str) -> None:
    cur = CURRENCIES[code]
    assert (cur.thousands, cur.decimal) == (".", ",")


@pytest.mark.parametrize("code", ["SGD", "MYR", "PHP", "THB", "USD", "KRW", "JPY"])
def test_other_currencies_use_comma_for_thousands_and_dot_for_decimals(code: str) -> None:
    cur = CURRENCIES[code]
    assert (cur.thousands, cur.decimal) == (",", ".")


def test_only_vnd_puts_its_symbol_after_the_number() -> None:
    assert [c.code for c in CURRENCIES.values() if c.symbol_after] == ["VND"]


def test_idr_hides_minor_digits_while_other_decimal_currencies_show_them() -> None:
    assert CURRENCIES["IDR"].show_minor is False
    for cur in CURRENCIES.values():
        if cur.code != "IDR" and cur.exponent > 0:
            assert cur.show_minor is True


def test_currency_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        CURRENCIES["XXX"] = CURRENCIES["SGD"]  # type: ignore[index]


def test_currency_is_immutable() -> None:
    with pytest.raises(AttributeError):
        CURRENCIES["SGD"].exponent = 3  # type: ignore[misc]


@pytest.mark.parametrize("typed", ["SGD", "sgd", " Sgd ", "\tsgd\n"])
def test_get_currency_ignores_case_and_surrounding_space(typed: str) -> None:
    assert get_currency(typed) == CURRENCIES["SGD"]
    assert isinstance(get_currency(typed), Currency)


@pytest.mark.parametrize("typed", ["", "   ", "XYZ", "S$", "SGDX", "EUR"])
def test_get_currency_rejects_unknown_codes_listing_supported_ones(typed: str) -> None:
    with pytest.raises(UnknownCurrency) as err:
        get_currency(typed)
    for code in REQUIRED_CODES:
        assert code in err.value.message


# --- formatting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "code", "expected"),
    [
        (1250, "SGD", "S$12.50"),
        (120000, "PHP", "₱1,200.00"),
        (1500000, "IDR", "Rp15.000"),
        (1500000, "VND", "1.500.000₫"),
        (15000, "KRW", "₩15,000"),
        (1500, "JPY", "¥1,500"),
        (120000, "THB", "฿1,200.00"),
        (1250, "MYR", "RM12.50"),
        (1250, "USD", "US$12.50"),
    ],
)
def test_formats_each_currency_in_its_local_style(minor: int, code: str, expected: str) -> None:
    assert format_money(minor, code) == expected


@pytest.mark.parametrize(
    ("minor", "expected"),
    [
        (0, "S$0.00"),
        (1, "S$0.01"),
        (5, "S$0.05"),
        (99, "S$0.99"),
        (100, "S$1.00"),
        (100000, "S$1,000.00"),
        (123456789, "S$1,234,567.89"),
    ],
)
def test_formats_small_and_large_sgd_amounts_with_two_minor_digits(minor: int, expected: str) -> None:
    assert format_money(minor, "SGD") == expected


def test_formats_idr_without_minor_digits() -> None:
    assert format_money(1500000, "IDR") == "Rp15.000"
    assert format_money(0, "IDR") == "Rp0"
    assert format_money(123456700, "IDR") == "Rp1.234.567"


@pytest.mark.parametrize(
    ("minor", "expected"),
    [(1500050, "Rp15.000,50"), (1500005, "Rp15.000,05"), (1, "Rp0,01")],
)
def test_formats_idr_minor_digits_with_comma_when_nonzero(minor: int, expected: str) -> None:
    assert format_money(minor, "IDR") == expected


@pytest.mark.parametrize(
    ("minor", "code", "expected"),
    [
        (-1250, "SGD", "-S$12.50"),
        (-1500000, "VND", "-1.500.000₫"),
        (-1500000, "IDR", "-Rp15.000"),
        (-15000, "KRW", "-₩15,000"),
    ],
)
def test_formats_negative_amounts_with_leading_minus(minor: int, code: str, expected: str) -> None:
    assert format_money(minor, code) == expected


def test_format_accepts_currency_code_in_any_case() -> None:
    assert format_money(1250, " sgd ") == "S$12.50"


def test_format_rejects_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        format_money(100, "EUR")


@pytest.mark.parametrize("bad", [12.5, True, "1250"])
def test_format_refuses_non_integer_amounts(bad: object) -> None:
    with pytest.raises(TypeError):
        format_money(bad, "SGD")  # type: ignore[arg-type]


# --- plain machine form ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "code", "expected"),
    [
        (1250, "SGD", "12.50"),
        (1500000, "IDR", "15000.00"),
        (15000, "KRW", "15000"),
        (1500000, "VND", "1500000"),
        (1500, "JPY", "1500"),
        (120000, "PHP", "1200.00"),
        (5, "USD", "0.05"),
        (0, "MYR", "0.00"),
        (0, "JPY", "0"),
        (-1250, "THB", "-12.50"),
        (123456789012, "SGD", "1234567890.12"),
    ],
)
def test_minor_to_plain_uses_iso_exponent_without_grouping(minor: int, code: str, expected: str) -> None:
    assert minor_to_plain(minor, code) == expected


# --- parsing: accepted input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12.5", 1250),
        ("12.50", 1250),
        ("12", 1200),
        ("1,200", 120000),
        ("1,200.50", 120050),
        ("1,234,567.89", 123456789),
        (" 12.50 ", 1250),
        ("S$12.50", 1250),
        ("S$ 12.50", 1250),
        ("s$12.50", 1250),
        ("SGD 12.50", 1250),
        ("sgd12.50", 1250),
        ("$12.50", 1250),
        ("12.50 SGD", 1250),
        ("0", 0),
        ("0.00", 0),
        ("0.05", 5),
        ("012.50", 1250),
        ("999999999999999", 99999999999999900),
    ],
)
def test_parses_what_people_type_for_sgd(typed: str, expected: int) -> None:
    assert parse_amount(typed, "SGD") == expected


@pytest.mark.parametrize(
    ("typed", "code", "expected"),
    [
        ("15.000", "IDR", 1500000),
        ("15.000,50", "IDR", 1500050),
        ("15000", "IDR", 1500000),
        ("15000,5", "IDR", 1500050),
        ("Rp15.000", "IDR", 1500000),
        ("Rp 15.000", "IDR", 1500000),
        ("Rp. 15.000", "IDR", 1500000),
        ("IDR 1.250.000", "IDR", 125000000),
        ("15.000", "VND", 15000),
        ("1.500.000₫", "VND", 1500000),
        ("1.500.000 đ", "VND", 1500000),
        ("15000 VND", "VND", 15000),
        ("15000", "VND", 15000),
        ("₩15,000", "KRW", 15000),
        ("15,000원", "KRW", 15000),
        ("15000", "KRW", 15000),
        ("¥1,500", "JPY", 1500),
        ("1500円", "JPY", 1500),
        ("RM12.50", "MYR", 1250),
        ("rm 12.5", "MYR", 1250),
        ("₱1,200.00", "PHP", 120000),
        ("PHP 1200", "PHP", 120000),
        ("฿1,200.00", "THB", 120000),
        ("US$12.50", "USD", 1250),
        ("$12.50", "USD", 1250),
        ("usd 12.50", "USD", 1250),
    ],
)
def test_parses_local_symbols_codes_and_separators(typed: str, code: str, expected: int) -> None:
    assert parse_amount(typed, code) == expected


def test_parse_accepts_currency_code_in_any_case() -> None:
    assert parse_amount("12.50", " sgd ") == 1250


def test_parse_returns_exact_int_never_float() -> None:
    # 0.1 + 0.2 style drift must be impossible: 0.29 is exactly 29 cents.
    result = parse_amount("0.29", "SGD")
    assert type(result) is int
    assert result == 29


AMOUNTS = [0, 1, 5, 10, 99, 100, 101, 999, 1000, 1001, 12345, 999999, 1000000, 1500050]


@pytest.mark.parametrize("code", REQUIRED_CODES)
@pytest.mark.parametrize("minor", AMOUNTS)
def test_formatted_amounts_parse_back_to_same_minor_units(code: str, minor: int) -> None:
    assert parse_amount(format_money(minor, code), code) == minor


@pytest.mark.parametrize("code", REQUIRED_CODES)
def test_largest_accepted_amount_round_trips(code: str) -> None:
    largest = 10 ** (15 + CURRENCIES[code].exponent) - 1
    assert parse_amount(format_money(largest, code), code) == largest


@pytest.mark.parametrize("code", REQUIRED_CODES)
@pytest.mark.parametrize("minor", AMOUNTS)
def test_plain_form_parses_back_except_for_dot_thousands_currencies(code: str, minor: int) -> None:
    plain = minor_to_plain(minor, code)
    cur = CURRENCIES[code]
    if cur.decimal == ".":
        assert parse_amount(plain, code) == minor
    else:
        # The machine form uses '.' as decimal point; local IDR/VND style uses ','.
        assert parse_amount(plain.replace(".", ","), code) == minor


# --- parsing: rejected input ----------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "   ", "S$", "SGD", "$ "])
def test_rejects_empty_amount(typed: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, "SGD")
    assert err.value.message == "Please give an amount like 12.50."


@pytest.mark.parametrize("typed", ["-12.50", "-S$12.50", "S$-12.50", "\u221212.50", "SGD -1"])
def test_rejects_negative_amounts(typed: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, "SGD")
    assert "negative" in err.value.message


@pytest.mark.parametrize(
    "typed",
    ["abc", "twelve", "NaN", "nan", "inf", "-inf", "Infinity", "1e3", "1E3", "12.5a", "0x10"],
)
def test_rejects_letters_nan_infinity_and_scientific_notation(typed: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(typed, "SGD")


@pytest.mark.parametrize(
    "typed", ["+12", "12 50", "1 200", "12/5", "12_000", "(12)", "12.50!", "RM12.50", "US$12"]
)
def test_rejects_stray_characters_and_other_currencies_symbols(typed: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, "SGD")
    assert "Please give an amount like 12.50." in err.value.message


@pytest.mark.parametrize("typed", ["1.2.3", "12..50", "1.200.000"])
def test_rejects_multiple_decimal_points(typed: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, "SGD")
    assert "more than one decimal point" in err.value.message


def test_rejects_multiple_decimal_commas_for_idr() -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount("15,000,00", "IDR")
    assert "more than one decimal comma" in err.value.message


@pytest.mark.parametrize("typed", ["12.", ".50", "1,200."])
def test_rejects_a_decimal_point_without_digits_on_both_sides(typed: str) -> None:
    with pytest.raises(InvalidAmount):
        parse_amount(typed, "SGD")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("1,2000", "SGD"),
        ("1234,567", "SGD"),
        (",200", "SGD"),
        ("1,,200", "SGD"),
        ("1,200,00", "SGD"),
        ("1,200,", "SGD"),
        ("15,00", "KRW"),
        ("1.20", "IDR"),
        ("12.5", "VND"),
        ("1.5000", "VND"),
        ("1.50.000", "IDR"),
    ],
)
def test_rejects_thousands_groups_that_are_not_three_digits(typed: str, code: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, code)
    assert "grouped in threes" in err.value.message


def test_rejects_thousands_separator_after_the_decimal_point() -> None:
    with pytest.raises(InvalidAmount):
        parse_amount("1.200,000", "SGD")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("12.345", "SGD"),
        ("0.001", "MYR"),
        ("1.205", "USD"),
        ("12.3450", "THB"),
        ("15.000,505", "IDR"),
    ],
)
def test_rejects_more_decimals_than_the_currency_allows(typed: str, code: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, code)
    assert f"has more decimals than {code} allows (2)." in err.value.message


def test_too_many_decimals_message_reads_well_for_chat() -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount("12.345", "SGD")
    assert err.value.message == "'12.345' has more decimals than SGD allows (2)."


def test_reads_dot_as_decimal_point_outside_idr_and_vnd() -> None:
    assert parse_amount("1.20", "SGD") == 120
    with pytest.raises(InvalidAmount) as err:
        parse_amount("1.200", "SGD")  # not silently one thousand two hundred
    assert err.value.message == "'1.200' has more decimals than SGD allows (2)."


def test_idr_decimal_error_explains_local_separators() -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount("1,200", "IDR")
    assert "'.' separates thousands and ',' decimals" in err.value.message


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("1500.5", "JPY"),
        ("1500.0", "JPY"),
        ("15000.00", "KRW"),
        ("15.000,5", "VND"),
        ("15000,0", "VND"),
    ],
)
def test_rejects_any_decimal_part_for_currencies_without_minor_units(typed: str, code: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, code)
    assert f"{code} amounts are whole numbers" in err.value.message


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("1000000000000000", "SGD"),
        ("1,000,000,000,000,000", "SGD"),
        ("1000000000000000.00", "SGD"),
        ("1.000.000.000.000.000", "IDR"),
        ("9999999999999999", "JPY"),
    ],
)
def test_rejects_more_than_fifteen_integer_digits_as_too_large(typed: str, code: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, code)
    assert "too large" in err.value.message


def test_leading_zeros_do_not_count_towards_the_size_limit() -> None:
    assert parse_amount("0000000000000000012", "SGD") == 1200


def test_rejects_absurdly_long_input_without_echoing_it() -> None:
    typed = "1" * 5000
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, "SGD")
    assert len(err.value.message) < 200


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("๒๕.๙๐", 2590),  # Thai digits
        ("\uff12\uff15\uff0e\uff19\uff10", 2590),  # full-width digits and point (zh, ko keyboards)
        ("١٢", 1200),  # Arabic-Indic digits
        ("S$\u0661\u0662.\u0665\u0660", 1250),
        ("25,90", 2590),  # a decimal comma, as id and vi write it, where it cannot be thousands
        ("25,9", 2590),
        ("1,20", 120),
        ("1,200", 120000),  # three digits after it: thousands, as before
    ],
)
def test_reads_each_languages_digits_and_decimal_comma(typed: str, expected: int) -> None:
    assert parse_amount(typed, "SGD") == expected


def test_thai_digits_read_in_a_currency_with_a_decimal_comma_too() -> None:
    assert parse_amount("Rp ๑๕.๐๐๐", "IDR") == 1500000


@pytest.mark.parametrize("typed", ["12²", "½", "S$1²"])
def test_rejects_numerals_that_are_not_digits(typed: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, "SGD")
    assert "0-9" in err.value.message


def test_parse_rejects_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        parse_amount("12.50", "EUR")


@pytest.mark.parametrize("typed", ["", "abc", "-1", "1,2000", "1.2.3", "12.345", "1e3", "12²", "1" * 16])
def test_every_rejection_is_an_invalid_amount_with_a_user_message(typed: str) -> None:
    with pytest.raises(InvalidAmount) as err:
        parse_amount(typed, "SGD")
    assert err.value.message
    assert err.value.code == "invalid_amount"
    assert "Traceback" not in err.value.message


# --- Money ------------------------------------------------------------------------------------


def test_money_adds_and_subtracts_within_one_currency() -> None:
    a = Money(1250, "SGD")
    b = Money(350, "SGD")
    assert a + b == Money(1600, "SGD")
    assert a - b == Money(900, "SGD")


def test_money_subtraction_can_go_negative_and_formats_with_minus() -> None:
    result = Money(350, "SGD") - Money(1250, "SGD")
    assert result == Money(-900, "SGD")
    assert str(result) == "-S$9.00"


@pytest.mark.parametrize("factor", [0, 1, 3, 100])
def test_money_multiplies_by_whole_quantities_on_either_side(factor: int) -> None:
    price = Money(1250, "SGD")
    assert price * factor == Money(1250 * factor, "SGD")
    assert factor * price == Money(1250 * factor, "SGD")


@pytest.mark.parametrize("factor", [1.5, 2.0, "2"])
def test_money_refuses_non_integer_multipliers(factor: object) -> None:
    with pytest.raises(TypeError):
        Money(1250, "SGD") * factor  # type: ignore[operator]


@pytest.mark.parametrize("op", ["add", "sub"])
def test_money_refuses_to_mix_currencies(op: str) -> None:
    sgd = Money(1250, "SGD")
    myr = Money(1250, "MYR")
    with pytest.raises(ValueError, match="SGD and MYR"):
        _ = sgd + myr if op == "add" else sgd - myr


@pytest.mark.parametrize("other", [5, 12.5, "12.50"])
def test_money_refuses_to_add_plain_numbers(other: object) -> None:
    with pytest.raises(TypeError):
        _ = Money(1250, "SGD") + other  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Money(1250, "SGD") - other  # type: ignore[operator]


@pytest.mark.parametrize(
    ("minor", "code", "expected"),
    [(1250, "SGD", "S$12.50"), (1500000, "IDR", "Rp15.000"), (1500000, "VND", "1.500.000₫")],
)
def test_money_str_is_the_formatted_amount(minor: int, code: str, expected: str) -> None:
    assert str(Money(minor, code)) == expected


def test_money_normalises_currency_code_so_equal_amounts_compare_equal() -> None:
    assert Money(100, " sgd ") == Money(100, "SGD")
    assert Money(100, "sgd").currency == "SGD"
    assert hash(Money(100, "sgd")) == hash(Money(100, "SGD"))
    assert Money(100, "sgd") + Money(1, "SGD") == Money(101, "SGD")


def test_money_rejects_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        Money(100, "EUR")


@pytest.mark.parametrize("bad", [12.5, True, "1250"])
def test_money_rejects_non_integer_minor_units(bad: object) -> None:
    with pytest.raises(TypeError):
        Money(bad, "SGD")  # type: ignore[arg-type]


def test_money_is_immutable() -> None:
    price = Money(1250, "SGD")
    with pytest.raises(AttributeError):
        price.minor = 1  # type: ignore[misc]
