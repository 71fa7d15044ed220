"""A bank's notification of money received, read as a statement of one line."""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import InvalidInput
from core.payments.statements.notification import read_notification

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("text", "amount", "currency", "reference"),
    [
        ("DBS: You've received S$25.97 via PayNow from ANA LIM. Comments: SVT-FML-12-I1",
         2597, "SGD", "SVT-FML-12-I1"),
        ("Maybank: RM 120.50 telah dikreditkan ke akaun anda dari SITI.\nRujukan: KPOP-7-I1",
         12050, "MYR", "KPOP-7-I1"),
        ("BCA: Dana masuk Rp 150.000 dari BUDI. Berita: SVT-FML-4-I1", 15_000_000, "IDR", "SVT-FML-4-I1"),
        ("GCash: You have received PHP 1,250.00 from JUAN D. Ref SVT-FML-9-I1",
         125_000, "PHP", "SVT-FML-9-I1"),
    ],
)  # fmt: skip
def test_a_notification_becomes_one_credit_naming_its_reference(
    text: str, amount: int, currency: str, reference: str
) -> None:
    statement = read_notification(text, None, today=TODAY)
    (line,) = statement.transactions
    assert (line.amount_minor, line.currency, line.row) == (amount, currency, 1)
    assert reference in line.description and line.fingerprint
    # the same text is the same line: applied once however often it is forwarded
    assert read_notification(text, None, today=TODAY).transactions[0].fingerprint == line.fingerprint


@pytest.mark.parametrize(
    "text",
    [
        "You have sent SGD 10.00 to BOB. Ref: SVT-FML-1-I1",
        "SGD 10.00 was debited from your account",
        "Your OTP is 123456.",
        "You have received a new message.",
        "",
    ],
)
def test_money_going_out_or_no_money_at_all_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        read_notification(text, "SGD", today=TODAY)
