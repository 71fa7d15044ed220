"""Behaviour of core.quantities: what a buyer may type as a quantity and as an item token."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, InvalidQuantity
from core.quantities import (
    MAX_LINES,
    MAX_QUANTITY,
    LineRequest,
    parse_item_token,
    parse_line_pairs,
    parse_quantity,
)

# --- parse_quantity -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), (" 3 ", 3), ("\t7\n", 7), ("42", 42), ("1000", 1000), ("007", 7)],
)
def test_accepts_whole_numbers_from_one_to_the_maximum(text: str, expected: int) -> None:
    assert parse_quantity(text) == expected


def test_maximum_quantity_is_one_thousand() -> None:
    assert MAX_QUANTITY == 1000
    assert parse_quantity(str(MAX_QUANTITY)) == MAX_QUANTITY


@pytest.mark.parametrize("text", ["0", "-1", "-0", "-999"])
def test_refuses_quantity_of_zero_or_less(text: str) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        parse_quantity(text)
    assert refused.value.message == "Quantity must be at least 1."


@pytest.mark.parametrize(
    "text",
    ["1.5", "abc", "", "   ", "１", "٣", "²", "10**12", "1e3", "2 units", "½", "0x10", "1 000"],
)
def test_refuses_text_that_is_not_a_whole_ascii_number(text: str) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        parse_quantity(text)
    assert "is not a quantity; use a whole number like 2." in refused.value.message
    assert refused.value.message.startswith(f"'{text}'")


def test_refusal_of_very_long_junk_is_shortened() -> None:
    with pytest.raises(InvalidQuantity) as refused:
        parse_quantity("x" * 200)
    assert len(refused.value.message) < 100
    assert "…" in refused.value.message


@pytest.mark.parametrize("text", ["1001", "5000", "999999"])
def test_refuses_more_than_one_order_can_hold(text: str) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        parse_quantity(text)
    assert refused.value.message == f"{text} is more than one order can hold (max 1000)."


@pytest.mark.parametrize("text", ["1000000000000", "99999999", "1" * 500])
def test_refuses_absurdly_large_numbers_without_converting_them(text: str) -> None:
    with pytest.raises(InvalidQuantity, match=r"is far more than anyone can order \(max 1000\)"):
        parse_quantity(text)


def test_quantity_refusals_are_invalid_input_with_their_own_code() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_quantity("0")
    assert refused.value.code == "invalid_quantity"


@pytest.mark.parametrize("text", ["--1", "+-1", "-+5"])
def test_refuses_repeated_signs_as_not_a_quantity(text: str) -> None:
    with pytest.raises(InvalidQuantity):
        parse_quantity(text)


# --- parse_item_token -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("alb", ("ALB", None)),
        ("ALB", ("ALB", None)),
        ("alb:a", ("ALB", "A")),
        ("ALB/A", ("ALB", "A")),
        ("Alb/b", ("ALB", "B")),
        ("pc:v2", ("PC", "V2")),
    ],
)
def test_reads_item_and_optional_version(token: str, expected: tuple[str, str | None]) -> None:
    assert parse_item_token(token) == expected


@pytest.mark.parametrize("token", [":A", "ALB:", ":", "/A", "ALB/", "/"])
def test_refuses_an_item_token_with_an_empty_side(token: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_item_token(token)
    assert refused.value.message == f"'{token}' should look like ITEM or ITEM:VERSION."


# --- parse_line_pairs -----------------------------------------------------------------------


def test_reads_item_quantity_pairs_in_order() -> None:
    assert parse_line_pairs(["alb:a", "2", "PC", "1", "alb/b", " 3 "]) == [
        LineRequest("ALB", "A", 2),
        LineRequest("PC", None, 1),
        LineRequest("ALB", "B", 3),
    ]


@pytest.mark.parametrize("tokens", [[], ["ALB"], ["ALB", "2", "PC"]])
def test_refuses_an_item_without_its_quantity(tokens: list[str]) -> None:
    with pytest.raises(InvalidInput, match=r"Give each item with a quantity: ITEM QTY"):
        parse_line_pairs(tokens)


def test_accepts_exactly_the_maximum_number_of_lines() -> None:
    tokens = [w for i in range(MAX_LINES) for w in (f"I{i}", "1")]
    lines = parse_line_pairs(tokens)
    assert len(lines) == MAX_LINES
    assert lines[-1] == LineRequest(f"I{MAX_LINES - 1}", None, 1)


def test_refuses_more_than_the_maximum_number_of_lines() -> None:
    tokens = [w for i in range(MAX_LINES + 1) for w in (f"I{i}", "1")]
    with pytest.raises(InvalidInput) as refused:
        parse_line_pairs(tokens)
    assert refused.value.message == f"One order can have at most {MAX_LINES} lines."


def test_a_bad_quantity_in_any_line_refuses_the_whole_request() -> None:
    with pytest.raises(InvalidQuantity):
        parse_line_pairs(["ALB", "1", "PC", "0"])


def test_a_bad_item_token_in_any_line_refuses_the_whole_request() -> None:
    with pytest.raises(InvalidInput, match="should look like ITEM or ITEM:VERSION"):
        parse_line_pairs(["ALB", "1", "PC:", "2"])


def test_pairs_must_be_item_then_quantity() -> None:
    with pytest.raises(InvalidQuantity, match="'ALB' is not a quantity"):
        parse_line_pairs(["2", "ALB"])
