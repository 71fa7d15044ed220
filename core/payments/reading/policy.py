"""Deciding a proof from what its screenshot was read to say.

``suggest`` (the default) shows the GOM each field beside what the request asked for;
``auto`` also approves, but only a reading that matches the request in every field, with
a transaction id never seen before, dated after the order, and nothing that looks edited
or reused; ``off`` reads nothing. Everything here is pure: the service gathers the facts
(what is owed, other proofs' ids and hashes) under the order's lock and asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.errors import GomflowError
from core.money import format_money
from core.payments.reading import ProofReading
from core.render import N_


class Policy(StrEnum):
    SUGGEST = "suggest"
    AUTO = "auto"
    OFF = "off"


DEFAULT_POLICY = Policy.SUGGEST
# How sure the reader must be before its reading can approve anything by itself.
MIN_CONFIDENCE = 0.6
# Perceptual hashes this close (bits of 64) are the same picture, re-saved or re-sent.
SAME_IMAGE_BITS = 4


@dataclass(frozen=True)
class Expected:
    """What the request asks for, at the moment of the check."""

    amount_minor: int
    currency: str
    reference: str
    ordered_at: datetime
    # the GO's time zone: a receipt's time without a zone is read as local there
    timezone: str = "UTC"


@dataclass(frozen=True)
class FieldCheck:
    """One field as read, and whether it is what was asked ("✓", or "✗" with the expected)."""

    field: str
    read: str
    expected: str
    ok: bool


@dataclass(frozen=True)
class Verdict:
    checks: tuple[FieldCheck, ...]
    # What looks wrong beyond the fields: duplicates, edits. Never approved by itself.
    flags: tuple[str, ...]
    # whether the reader was sure enough of what it read to approve on it
    confident: bool = True

    @property
    def exact(self) -> bool:
        """Amount, currency and reference read and all as asked: ``/approve all`` takes it."""
        core_fields = [c for c in self.checks if c.field in ("amount", "currency", "reference")]
        return len(core_fields) == 3 and all(c.ok for c in core_fields)

    @property
    def approvable(self) -> bool:
        """Everything checked, matching, and nothing flagged: ``auto`` approves it."""
        return self.exact and all(c.ok for c in self.checks) and not self.flags and self.confident

    @property
    def mismatches(self) -> list[str]:
        return [f"{c.field} read {c.read}, expected {c.expected}" for c in self.checks if not c.ok]


# What OCR cannot tell apart in many fonts, read as the digit.
_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})


def normal_reference(text: str) -> str:
    """References compared as a bank keeps them (no spaces or dashes, any letter case) and
    as OCR reads them (O for 0, I or l for 1)."""
    return "".join(ch for ch in text.casefold() if ch.isalnum()).translate(_LOOKALIKES)


def judge(reading: ProofReading, expected: Expected, flags: tuple[str, ...] = ()) -> Verdict:
    """Each field read against what was asked; a field not read is a mismatch ("not read")."""
    checks = [
        _check(
            N_("amount"),
            None
            if reading.amount_minor is None
            else _money(reading.amount_minor, reading.currency, expected),
            format_money(expected.amount_minor, expected.currency),
            reading.amount_minor == expected.amount_minor,
        ),
        _check(
            N_("currency"),
            reading.currency,
            expected.currency,
            (reading.currency or "").upper() == expected.currency.upper(),
        ),
        _check(
            N_("reference"),
            reading.reference,
            expected.reference,
            reading.reference is not None
            and normal_reference(reading.reference) == normal_reference(expected.reference),
        ),
        _check(
            N_("date"),
            reading.paid_at.isoformat(timespec="minutes") if reading.paid_at else None,
            f"after {expected.ordered_at.isoformat(timespec='minutes')}",
            reading.paid_at is not None and _after(reading.paid_at, expected),
        ),
        _check(N_("transaction id"), reading.txn_id, N_("a transaction id"), bool(reading.txn_id)),
    ]
    more = list(flags)
    more += [f"looks edited: {why}" for why in reading.edited]
    return Verdict(tuple(checks), tuple(more), reading.confidence >= MIN_CONFIDENCE)


def _check(field: str, read: str | None, expected: str, ok: bool) -> FieldCheck:
    return FieldCheck(field, N_("not read") if read is None else read, expected, ok and read is not None)


def _money(amount_minor: int, currency: str | None, expected: Expected) -> str:
    try:
        return format_money(amount_minor, currency or expected.currency)
    except (GomflowError, ValueError, KeyError):  # an unknown code read off a picture is still shown
        return f"{amount_minor} {currency}"


def _after(paid_at: datetime, expected: Expected) -> bool:
    """Paid no earlier than the minute the order was placed (receipts show minutes only);
    a time read without a zone is the GO's local time, as the buyer's phone showed it."""
    if paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=ZoneInfo(expected.timezone))
    return paid_at >= expected.ordered_at.replace(second=0, microsecond=0)
