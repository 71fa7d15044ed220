"""The arithmetic of deposits, instalments, rates, fees and surcharges: exact, one rounding
rule (halves up), the same answer every time."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.payments.parts import (
    Rate,
    convert,
    fee_for_line,
    parse_percent,
    parse_rate,
    percent_text,
    round_half_up,
    share,
    split,
    surcharge_for,
)

amounts = st.integers(min_value=0, max_value=10**15)


@given(amounts, st.integers(min_value=1, max_value=4))
def test_parts_sum_exactly_to_the_total_and_differ_by_less_than_one_part(total: int, parts: int) -> None:
    split_up = split(total, parts)
    assert sum(split_up) == total and len(split_up) == parts
    assert all(isinstance(p, int) for p in split_up)
    first, *rest = split_up
    assert all(p == total // parts for p in rest)
    assert 0 <= first - (total // parts) < parts  # the remainder goes to the first part only


def test_every_split_of_small_totals_is_exact_and_deterministic() -> None:
    for total in range(0, 2_000):
        for parts in range(1, 5):
            assert sum(split(total, parts)) == total
            assert split(total, parts) == split(total, parts)
    assert split(1000, 3) == [334, 333, 333]
    assert split(2, 4) == [2, 0, 0, 0]


@pytest.mark.parametrize("parts", [0, 5, -1])
def test_only_one_to_four_parts(parts: int) -> None:
    with pytest.raises(ValueError):
        split(100, parts)


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=1, max_value=10**9))
def test_rounding_is_half_up_and_matches_exact_fractions(numerator: int, denominator: int) -> None:
    exact = Fraction(numerator, denominator)
    rounded = round_half_up(numerator, denominator)
    assert abs(exact - rounded) <= Fraction(1, 2)
    if exact - int(exact) == Fraction(1, 2):
        assert rounded == int(exact) + 1


def test_halves_round_up() -> None:
    assert [round_half_up(n, 2) for n in (1, 3, 5)] == [1, 2, 3]
    assert share(2590, 3000) == 777  # 30% of 25.90 is 7.77
    assert share(5, 5000) == 3  # 2.5 cents → 3


@given(amounts, st.integers(min_value=0, max_value=10_000))
def test_a_share_and_its_rest_sum_to_the_whole(amount: int, bp: int) -> None:
    part = share(amount, bp)
    assert 0 <= part <= amount and part + (amount - part) == amount


def test_percentages_read_exactly() -> None:
    assert parse_percent("30%") == 3000
    assert parse_percent("2.5%") == 250
    assert parse_percent("3.45%") == 345
    assert percent_text(250) == "2.5%" and percent_text(3000) == "30%" and percent_text(345) == "3.45%"
    for bad in ("30", "101%", "1.234%", "-5%", "%", "５%", "1e2%"):
        with pytest.raises(InvalidInput):
            parse_percent(bad)


def test_krw_converts_to_sgd_with_both_exponents() -> None:
    rate = parse_rate("1000 KRW = 0.98 SGD", "SGD")
    assert (rate.source, rate.target, rate.ratio) == ("KRW", "SGD", Fraction(98, 100_000))
    assert convert(18_000, rate) == 1764  # ₩18,000 → S$17.64
    assert convert(1, rate) == 0  # ₩1 is S$0.00098: rounds to nothing
    assert rate.text() == "100 KRW = 0.098 SGD"


def test_sgd_converts_to_jpy_and_rounds_half_up() -> None:
    rate = parse_rate("1 SGD = 112.5 JPY", "JPY")
    assert convert(1, rate) == 1  # S$0.01 = ¥1.125 → ¥1
    assert convert(4, rate) == 5  # S$0.04 = ¥4.5 → ¥5 (half up)
    assert convert(2590, rate) == 2914  # S$25.90 = ¥2,913.75 → ¥2,914


def test_usd_to_krw_and_cny_to_sgd() -> None:
    assert convert(1999, parse_rate("1 USD = 1350 KRW", "KRW")) == 26_987  # 19.99 × 1350 = 26,986.5
    # CNY is not a payment currency here, so it is refused by name
    with pytest.raises(Exception, match="CNY"):
        parse_rate("1 CNY = 0.19 SGD", "SGD")


@given(st.integers(min_value=0, max_value=10**9), st.integers(1, 10**6), st.integers(1, 10**6))
def test_conversion_is_deterministic_and_monotonic(source: int, num: int, den: int) -> None:
    rate = Rate("KRW", "SGD", num, den)
    once = convert(source, rate)
    assert once == convert(source, rate)
    assert convert(source + 1, rate) >= once
    exact = Fraction(source * num, den) * 100
    assert abs(exact - once) <= Fraction(1, 2)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1 KRW = 0.00098 USD", "this GO's currency"),
        ("0 KRW = 1 SGD", "above zero"),
        ("1 KRW = 0 SGD", "above zero"),
        ("1 SGD = 1 SGD", "must differ"),
        ("KRW 1 SGD", "couldn't read"),
        ("1 KRW = 1e-3 SGD", "couldn't read"),
        ("1 XYZ = 1 SGD", "XYZ"),
        ("１ KRW = 1 SGD", "couldn't read"),
    ],
)
def test_bad_rates_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(Exception, match=problem):
        parse_rate(text, "SGD")


def test_fee_is_per_unit_and_surcharge_on_the_amount_paid() -> None:
    assert fee_for_line(3, 2590, 100, 0) == 300
    assert fee_for_line(3, 2590, 0, 500) == 3 * 130  # 5% of 25.90 is 1.295 → 1.30, per unit
    assert fee_for_line(2, 2590, 50, 500) == 2 * (50 + 130)
    assert surcharge_for(10_000, 50, 340) == 390
    assert surcharge_for(0, 50, 340) == 0
