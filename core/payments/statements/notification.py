"""A bank's notification of money received, pasted or forwarded by the GOM: one statement line.

Banks tell account holders of each incoming transfer by SMS, e-mail or app push ("You have
received SGD 49.07 from TAN AH KOW. Ref: SVT-FML-3-I1"). Read with the same text rules
as a screenshot (``core.payments.reading.fields``), it becomes a one-line statement that
matching and applying treat exactly as a line of an export: shown first, applied only
when the GOM confirms, and counted once however often it is sent.
"""

from __future__ import annotations

import re
from datetime import date

from core.errors import InvalidInput
from core.payments.reading.fields import parse_fields
from core.payments.reading.lines import TextLine
from core.payments.statements.model import Statement, Transaction, with_fingerprints

MAX_CHARS = 4000
LAYOUT = "text"

# Words that say the money came in, in the languages gomflow's GOMs bank in.
_CREDIT = re.compile(
    r"\b(received|receive|credited|credit(?:ed)? to|incoming|deposit(?:ed)?|"
    r"diterima|masuk|dana masuk|dikreditkan|terima|menerima|"
    r"natanggap|nakatanggap|pumasok)\b|รับเงิน|เงินเข้า|ได้รับ",
    re.IGNORECASE,
)
_DEBIT = re.compile(
    r"\b(debited|withdrawn|withdrawal|you (?:have )?(?:sent|paid|transferred)|"
    r"didebit|keluar|pengeluaran|ipinadala|nagbayad)\b|โอนออก|ถอน",
    re.IGNORECASE,
)


def read_notification(text: str, currency: str | None = None, *, today: date) -> Statement:
    """The one credit a notification tells of; ``InvalidInput`` when it tells of none."""
    if len(text) > MAX_CHARS:
        raise InvalidInput(
            (
                "That message is %(text_count)s characters; paste one bank notification (at most "
                "%(max_chars)s), or send the bank's export as a file."
            ),
            text_count=len(text),
            max_chars=MAX_CHARS,
        )
    lines = [TextLine(line.strip()) for line in text.splitlines() if line.strip()]
    if not lines:
        raise InvalidInput("Paste the bank's notification of the money received after /statement.")
    whole = " ".join(line.text for line in lines)
    if _DEBIT.search(whole) or not _CREDIT.search(whole):
        raise InvalidInput(
            "That does not read as money received (it says nothing like 'received' or "
            "'credited', or it tells of money going out). Paste the notification of the "
            "incoming transfer, or send the bank's export as a file."
        )
    fields = parse_fields(lines, expect_currency=currency)
    if fields.amount_minor is None or fields.currency is None:
        why = f" ({'; '.join(fields.notes)})" if fields.notes else ""
        raise InvalidInput(
            "No amount with its currency could be read from that notification%(why)s.", why=why
        )
    described = " ".join(part for part in (fields.reference, fields.recipient, whole) if part)
    line = Transaction(
        row=1,
        date=fields.paid_at.date() if fields.paid_at else today,
        amount_minor=fields.amount_minor,
        currency=fields.currency,
        description=described[:500],
        bank_id=fields.txn_id or "",
    )
    return Statement(LAYOUT, tuple(with_fingerprints([line])))
