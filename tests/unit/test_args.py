"""Behaviour of bots.commands.args and gom.parse_versions: arguments as people type them on a phone."""

from __future__ import annotations

import pytest

from bots.commands.args import key_values, need, split_args, whole_number
from bots.commands.gom import parse_versions
from core.errors import InvalidInput
from core.services.group_orders import NewVariant

# --- split_args -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("   ", []),
        ("SVT-FML ALB 2", ["SVT-FML", "ALB", "2"]),
        ("  lots   of\tspace  ", ["lots", "of", "space"]),
        ('SVT "FML album" moq=2', ["SVT", "FML album", "moq=2"]),
        ("SVT 'FML album'", ["SVT", "'FML", "album'"]),  # single quotes are apostrophes
        ('title="Seventeen FML" cap=10', ["title=Seventeen FML", "cap=10"]),
        ('"세븐틴 FML 🎵" x', ["세븐틴 FML 🎵", "x"]),
        ('"Jin\'s album"', ["Jin's album"]),
        ('""', [""]),
    ],
)
def test_split_args_keeps_quoted_phrases_together(text: str, expected: list[str]) -> None:
    assert split_args(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SVT “FML album” moq=2", ["SVT", "FML album", "moq=2"]),
        ("SVT ‘FML album’", ["SVT", "'FML", "album'"]),
        ("„FML album“ x", ["FML album", "x"]),
        ("“Jin’s album”", ["Jin's album"]),
        (
            "ALB 25.90 “FML album” versions=“A:Faded Mono Life,B:Fallen Misfit”",
            ["ALB", "25.90", "FML album", "versions=A:Faded Mono Life,B:Fallen Misfit"],
        ),
    ],
)
def test_split_args_treats_curly_quotes_as_quotes(text: str, expected: list[str]) -> None:
    assert split_args(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('SVT "FML album', ["SVT", '"FML', "album"]),
        ("it's open", ["it's", "open"]),
        ("SVT “FML", ["SVT", '"FML']),
        ('a "b" "c', ["a", '"b"', '"c']),
    ],
)
def test_split_args_survives_an_unbalanced_quote_by_splitting_on_spaces(
    text: str, expected: list[str]
) -> None:
    assert split_args(text) == expected


@pytest.mark.parametrize(
    "text",
    ["Jin’s and Hoshi’s GO", "Jin's and Hoshi's GO"],
)
def test_split_args_keeps_apostrophes_inside_unquoted_words(text: str) -> None:
    assert split_args(text) == ["Jin's", "and", "Hoshi's", "GO"]


# --- key_values -----------------------------------------------------------------------------


def test_key_values_separates_options_from_positional_words() -> None:
    positional, options = key_values(["SVT-FML", "moq=20", "Seventeen", "cap=100", "FML"])
    assert positional == ["SVT-FML", "Seventeen", "FML"]
    assert options == {"moq": "20", "cap": "100"}


def test_key_values_lowercases_keys_but_keeps_values() -> None:
    _, options = key_values(["MOQ=20", "Currency=sgd", "versions=A:Faded Mono Life"])
    assert options == {"moq": "20", "currency": "sgd", "versions": "A:Faded Mono Life"}


def test_key_values_splits_at_the_first_equals_sign_only() -> None:
    _, options = key_values(["note=a=b", "empty="])
    assert options == {"note": "a=b", "empty": ""}


@pytest.mark.parametrize("word", ["=20", "1x=2", "per-buyer=3", "a b=1", "2+2=4", "plain"])
def test_key_values_keeps_words_whose_key_is_not_a_name_as_positional(word: str) -> None:
    positional, options = key_values([word])
    assert positional == [word]
    assert options == {}


def test_key_values_later_option_wins() -> None:
    _, options = key_values(["moq=2", "moq=5"])
    assert options == {"moq": "5"}


def test_key_values_of_nothing_is_empty() -> None:
    assert key_values([]) == ([], {})


# --- whole_number ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("7", 7), (" 42 ", 42), ("1,000", 1000), ("1_000", 1000), ("1,000,000", 1_000_000)],
)
def test_whole_number_reads_digits_with_thousands_separators(text: str, expected: int) -> None:
    assert whole_number(text, "Stock") == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "1.5", "-3", "+3", "1e3", "１２", "٣", "²", "1 000", "10**3", ",", "1234567890"]
)
def test_whole_number_refuses_anything_but_ascii_digits(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        whole_number(text, "MOQ")
    assert refused.value.message == f"MOQ must be a whole number, not '{text[:20]}'."


def test_whole_number_quotes_at_most_twenty_characters() -> None:
    with pytest.raises(InvalidInput) as refused:
        whole_number("x" * 100, "Cap")
    assert refused.value.message == f"Cap must be a whole number, not '{'x' * 20}'."


@pytest.mark.parametrize(
    ("text", "minimum", "maximum"),
    [("0", 1, 10), ("11", 1, 10), ("1,000,001", 0, 1_000_000), ("4", 5, 5)],
)
def test_whole_number_refuses_values_out_of_bounds(text: str, minimum: int, maximum: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        whole_number(text, "Cap", minimum=minimum, maximum=maximum)
    assert refused.value.message == f"Cap must be between {minimum:,} and {maximum:,}."


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("10", 10), ("5", 5)])
def test_whole_number_bounds_are_inclusive(text: str, expected: int) -> None:
    assert whole_number(text, "Cap", minimum=1, maximum=10) == expected


def test_whole_number_bound_message_uses_thousands_separators() -> None:
    with pytest.raises(InvalidInput, match=r"between 1,000 and 2,000,000\."):
        whole_number("5", "Cap", minimum=1000, maximum=2_000_000)


# --- need -----------------------------------------------------------------------------------


def test_need_passes_when_enough_arguments_are_given() -> None:
    assert need(["SVT", "2"], 2, "/x CODE QTY") is None
    assert need(["SVT", "2", "extra"], 2, "/x CODE QTY") is None


@pytest.mark.parametrize("args", [[], ["SVT"]])
def test_need_refuses_too_few_arguments_with_the_usage(args: list[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        need(args, 2, "/extend CODE WHEN")
    assert refused.value.message == "Usage: /extend CODE WHEN"


# --- parse_versions -------------------------------------------------------------------------


def test_parse_versions_reads_codes_names_and_stock() -> None:
    assert parse_versions("A:Photobook@20,B:Digipack") == (
        NewVariant(code="A", name="Photobook", stock=20),
        NewVariant(code="B", name="Digipack", stock=None),
    )


def test_parse_versions_plain_codes_are_their_own_names() -> None:
    assert parse_versions("A,B") == (NewVariant("A", "A", None), NewVariant("B", "B", None))


def test_parse_versions_keeps_spaces_and_unicode_in_names() -> None:
    assert parse_versions("A:Faded Mono Life,B:세븐틴 🎵@1000") == (
        NewVariant("A", "Faded Mono Life", None),
        NewVariant("B", "세븐틴 🎵", 1000),
    )


def test_parse_versions_reads_stock_written_with_a_thousands_separator() -> None:
    # whole_number accepts "1,000" everywhere else (stock=1,000 on /additem), so a GOM will type it here too;
    assert parse_versions("A:Photobook@1,000,B:Digipack") == (
        NewVariant("A", "Photobook", 1000),
        NewVariant("B", "Digipack", None),
    )


@pytest.mark.parametrize("text", ["", " ", ",", " , ,"])
def test_parse_versions_of_nothing_is_no_versions(text: str) -> None:
    assert parse_versions(text) == ()


def test_parse_versions_ignores_empty_parts_and_trims_names() -> None:
    assert parse_versions(" A:Photobook  ,, B ,") == (
        NewVariant("A", "Photobook", None),
        NewVariant("B", "B", None),
    )
    assert parse_versions("A: Photobook ")[0].name == "Photobook"


def test_parse_versions_without_a_name_but_with_stock() -> None:
    assert parse_versions("A@5,B:@7") == (NewVariant("A", "A", 5), NewVariant("B", "B", 7))


@pytest.mark.parametrize("text", ["A@lots", "A:Photobook@-1", "A@1.5"])
def test_parse_versions_refuses_stock_that_is_not_a_whole_number(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"^Stock of A must be a whole number"):
        parse_versions(text)
