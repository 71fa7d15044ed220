"""What a statement line is once read, whatever file it came from."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Transaction:
    """One line of a bank statement.

    ``row`` is where a person finds it again: the file's line number (CSV, OFX, MT940) or
    the sheet's row (XLSX). ``amount_minor`` is exact and signed, credits positive.
    ``fingerprint`` names the line across re-imports of the same or an overlapping export.
    """

    row: int
    date: date
    amount_minor: int
    currency: str
    description: str
    bank_id: str = ""  # the bank's own id of the transaction, where the format has one
    fingerprint: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "row": self.row,
            "date": self.date.isoformat(),
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "description": self.description,
        }


@dataclass(frozen=True)
class Statement:
    """A file read: its layout, its transactions, and the rows it skipped (totals, notes)."""

    layout: str  # "csv", "xlsx", "ofx", "mt940"
    transactions: tuple[Transaction, ...]
    skipped_rows: tuple[int, ...] = field(default=())


def with_fingerprints(transactions: list[Transaction]) -> list[Transaction]:
    """Each line's fingerprint: the bank's id where there is one, else its date, amount,
    currency and description with the count of identical lines before it, so two equal
    lines of one file differ while the same line in a later export keeps its name."""
    seen: Counter[tuple[object, ...]] = Counter()
    marked = []
    for t in transactions:
        if t.bank_id:
            key: tuple[object, ...] = ("id", t.bank_id, t.currency)
        else:
            key = (t.date.isoformat(), t.amount_minor, t.currency, " ".join(t.description.split()).upper())
        seen[key] += 1
        text = "|".join(str(part) for part in (*key, seen[key]))
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
        marked.append(
            Transaction(t.row, t.date, t.amount_minor, t.currency, t.description, t.bank_id, digest)
        )
    return marked
