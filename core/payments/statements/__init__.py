"""Bank statement exports read into transactions, and those matched to payment requests.

``read_statement`` recognises the file (CSV, XLSX, OFX, MT940) and returns every
transaction it understood; ``matching.match`` pairs incoming credits with open requests.
Both are pure: no database, no clock.
"""

from __future__ import annotations

from core.payments.statements.model import Statement, Transaction
from core.payments.statements.read import MAX_BYTES, read_statement

__all__ = ["MAX_BYTES", "Statement", "Transaction", "read_statement"]
