"""Delivery rules that need no database: postal codes and phones per country, fees, carriers."""

from __future__ import annotations

import pytest

from core.delivery.addresses import NewAddress, check_address, check_phone, check_postal_code
from core.delivery.carriers import carrier_table, check_tracking, find_carrier
from core.delivery.fees import Tier, decode_tiers, describe_fee, encode_tiers, parcel_fee, parse_tiers
from core.delivery.stages import stage_sentence
from core.errors import InvalidInput


@pytest.mark.parametrize(
    ("country", "good", "bad"),
    [
        ("SG", "238823", ["23882", "2388230", "S23882", "ABCDEF"]),
        ("VN", "700000", ["70000", "7000000"]),
        ("PH", "1226", ["122", "12260"]),
        ("MY", "50450", ["5045", "504500"]),
        ("ID", "10110", ["1011", "101100"]),
        ("TH", "10330", ["1033", "103300"]),
    ],
)
def test_postal_codes_follow_their_country(country: str, good: str, bad: list[str]) -> None:
    assert check_postal_code(f" {good} ", country) == good
    for code in bad:
        with pytest.raises(InvalidInput, match=f"not a postal code in {country}"):
            check_postal_code(code, country)


def test_a_country_without_a_rule_takes_any_plausible_postal_code() -> None:
    assert check_postal_code("sw1a 1aa", "GB") == "SW1A 1AA"
    with pytest.raises(InvalidInput, match="does not look like a postal code"):
        check_postal_code("!", "GB")


@pytest.mark.parametrize(
    ("text", "country", "e164"),
    [
        ("9123 4567", "SG", "+6591234567"),
        ("+65 9123-4567", "MY", "+6591234567"),  # a number with its country code wins
        ("012-345 6789", "MY", "+60123456789"),
        ("0917 123 4567", "PH", "+639171234567"),
        ("081 234 5678", "TH", "+66812345678"),
        ("0812-3456-7890", "ID", "+6281234567890"),
        ("091 234 56 78", "VN", "+84912345678"),
    ],
)
def test_phones_are_kept_in_e164(text: str, country: str, e164: str) -> None:
    assert check_phone(text, country) == e164


@pytest.mark.parametrize("text", ["12345", "+6500000000", "call me", "", "+999 123"])
def test_numbers_that_cannot_exist_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="not a phone number"):
        check_phone(text, "SG")


def test_an_address_is_cleaned_and_checked_as_a_whole() -> None:
    checked = check_address(NewAddress("  Kim   Min ", "91234567", " 1 Orchard  Rd ", "238823", "sg"))
    assert (checked.recipient, checked.phone, checked.line1, checked.country) == (
        "Kim Min",
        "+6591234567",
        "1 Orchard Rd",
        "SG",
    )
    with pytest.raises(InvalidInput, match="recipient"):
        check_address(NewAddress(" ", "91234567", "1 Orchard Rd", "238823", "SG"))
    with pytest.raises(InvalidInput, match="country code"):
        check_address(NewAddress("Kim", "91234567", "1 Orchard Rd", "238823", "Singapore"))


def test_weight_tiers_price_a_parcel_by_its_weight_in_exact_minor_units() -> None:
    tiers = parse_tiers("500:3.50, 1000g:5.20,2000:8.05", "SGD")
    assert tiers == (Tier(500, 350), Tier(1000, 520), Tier(2000, 805))
    assert decode_tiers(encode_tiers(tiers)) == tiers
    assert [parcel_fee(0, tiers, g) for g in (1, 500, 501, 1000, 1999, 2000)] == [
        350,
        350,
        520,
        520,
        805,
        805,
    ]
    assert parcel_fee(0, tiers, None) is None  # not weighed yet
    with pytest.raises(InvalidInput, match="heavier than the heaviest tier"):
        parcel_fee(0, tiers, 2001)


def test_a_flat_fee_ignores_the_weight_and_zero_decimal_currencies_stay_whole() -> None:
    assert parcel_fee(410, (), None) == parcel_fee(410, (), 5000) == 410
    assert parse_tiers("1000:35000", "KRW") == (Tier(1000, 35000),)
    assert parse_tiers("1000:35000", "IDR") == (Tier(1000, 3500000),)
    assert describe_fee(0, (), "SGD") == "free"
    assert describe_fee(350, (), "SGD") == "S$3.50"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("500", "looks like 500:3.50"),
        ("abc:1", "looks like 500:3.50"),
        ("1000:5,500:3", "lightest to heaviest"),
        ("500:5,1000:3", "cannot cost less"),
        ("0:1", "between 1 and"),
        ("500:3.505", "SGD"),
    ],
)
def test_bad_tier_tables_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_tiers(text, "SGD")


def test_the_carrier_table_can_be_extended_and_links_escape_the_number() -> None:
    table = carrier_table("lalamove=Lalamove|https://share.example/{tracking};xpress=XPress|")
    assert find_carrier(table, "Ninja Van").key == "ninjavan"
    assert find_carrier(table, "J&T").key == "jnt"
    assert table["lalamove"].url("AB-12") == "https://share.example/AB-12"
    assert table["xpress"].url("AB12") == ""
    with pytest.raises(InvalidInput, match="Known:"):
        find_carrier(table, "pigeon")
    with pytest.raises(ValueError, match="GOMFLOW_CARRIER_LINKS"):
        carrier_table("no-equals-sign")
    assert check_tracking(" rr123456789sg ") == "RR123456789SG"
    for bad in ("RR1", "RR 123456", "x" * 41):
        with pytest.raises(InvalidInput, match="not a tracking number"):
            check_tracking(bad)


def test_stages_read_as_what_happened() -> None:
    values = {"code": "SVT-FML", "title": "FML"}
    assert stage_sentence("arrived") % values == "SVT-FML (FML) has arrived at the GOM."
    assert stage_sentence("ordered") % values == "SVT-FML (FML) has been ordered from the supplier."
    assert stage_sentence("lost") % values == "SVT-FML (FML) is in progress."
