"""Which credit pays which request: by reference (spaced, cased, cut), by a unique amount,
and the cases that must never be applied."""

from __future__ import annotations

from datetime import date

from core.payments.statements.matching import OpenRequest, match
from core.payments.statements.model import Transaction

REQUESTS = [
    OpenRequest(1, "SVT-FML-1-I1", "SGD", 4907, "SVT-FML-1"),
    OpenRequest(2, "SVT-FML-12-I1", "SGD", 5190, "SVT-FML-12"),
    OpenRequest(3, "SVT-FML-13-I1", "SGD", 2590, "SVT-FML-13"),
    OpenRequest(4, "SVT-FML-14-I1", "SGD", 2590, "SVT-FML-14"),
    OpenRequest(5, "SVT-FML-2-I1", "SGD", 7777, "SVT-FML-2"),
]


def credit(row: int, amount: int, text: str, currency: str = "SGD") -> Transaction:
    return Transaction(row, date(2026, 11, 1), amount, currency, text)


def decide(*lines: Transaction, closed: dict[str, str] | None = None) -> list[tuple[str, int | None, str]]:
    report = match(lines, REQUESTS, closed)
    return [(d.outcome, d.request_id, d.how or d.why) for d in report.decisions]


def test_a_reference_matches_whatever_spacing_case_or_dashes_the_bank_wrote() -> None:
    for text in ("PAYNOW SVT-FML-12-I1", "paynow svt fml 12 i1", "IBG SVTFML12I1 FROM TAN"):
        assert decide(credit(1, 5190, text)) == [("matched", 2, "reference")]


def test_a_reference_cut_by_the_bank_matches_only_when_it_fits_one_request() -> None:
    assert decide(credit(1, 5190, "IB FUND TRF SVTFML12I")) == [("matched", 2, "reference")]
    [(outcome, request, why)] = decide(credit(1, 5190, "IB FUND TRF SVT-FML-1"))
    assert (outcome, request) == ("ambiguous", None) and "SVT-FML-12-I1" in why and "SVT-FML-1-I1" in why


def test_a_longer_reference_wins_over_one_it_contains() -> None:
    assert decide(credit(1, 4907, "SVT-FML-1-I1")) == [("matched", 1, "reference")]


def test_a_unique_amount_alone_matches_and_a_shared_one_is_ambiguous() -> None:
    assert decide(credit(1, 7777, "TRANSFER FROM LIM")) == [("matched", 5, "amount")]
    [(outcome, request, why)] = decide(credit(1, 2590, "TRANSFER FROM LIM"))
    assert (outcome, request) == ("ambiguous", None) and "2 open requests owe this amount" in why


def test_a_credit_one_cent_short_is_not_matched_and_says_why() -> None:
    [(outcome, request, why)] = decide(credit(1, 5189, "PAYNOW SVT-FML-12-I1"))
    assert (outcome, request) == ("unmatched", None)
    assert why == "names SVT-FML-12-I1 but S$51.89 is S$0.01 short of the S$51.90 owed"


def test_a_credit_in_another_currency_is_not_matched() -> None:
    [(outcome, _, why)] = decide(credit(1, 5190, "PAYNOW SVT-FML-12-I1", "USD"))
    assert outcome == "unmatched" and "in USD and the request in SGD" in why
    [(outcome, _, why)] = decide(credit(1, 7777, "TRANSFER", "USD"))
    assert outcome == "unmatched" and why == "no open request is in USD"


def test_two_credits_for_one_request_the_first_takes_it() -> None:
    assert decide(credit(4, 5190, "SVT-FML-12-I1"), credit(9, 5190, "SVT-FML-12-I1 again")) == [
        ("matched", 2, "reference"),
        ("unmatched", None, "SVT-FML-12-I1 was already paid by row 4 of this file"),
    ]


def test_a_reference_no_longer_open_is_reported_not_matched_by_amount() -> None:
    [(outcome, _, why)] = decide(credit(1, 7777, "PAYNOW SVT-FML-9-I1"), closed={"SVT-FML-9-I1": "paid"})
    assert (outcome, why) == ("unmatched", "names SVT-FML-9-I1, which is paid")


def test_a_near_reference_picks_among_requests_owing_the_amount() -> None:
    assert decide(credit(1, 2590, "PAYNOW SVT-FML-14-I1X"))[0][:2] == ("matched", 4)
    assert decide(credit(1, 2590, "PAYNOW SVT-FML-1S-I1"))[0][0] == "ambiguous"


def test_debits_are_counted_and_requests_left_unpaid_are_listed() -> None:
    report = match([credit(1, -500, "NETS"), credit(2, 7777, "X")], REQUESTS)
    assert report.debits == 1
    assert [r.request_id for r in report.unpaid] == [1, 2, 3, 4]
