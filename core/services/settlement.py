"""How each payment was settled, for the books (``/reconcile``): a gateway, an approved
proof, a bank statement line, or money recorded by hand, with the evidence of each."""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import Payment, StatementImport, StatementLine
from core.payments import ledger
from core.services.statements import PROVIDER
from core.uow import UnitOfWork

_CHUNK = 500


async def statement_evidence(uow: UnitOfWork, payment_ids: list[int]) -> dict[int, str]:
    """For payments a statement applied: the file, row, date and description of the line."""
    found: dict[int, str] = {}
    for start in range(0, len(payment_ids), _CHUNK):
        rows = await uow.session.execute(
            select(StatementLine, StatementImport.filename)
            .join(StatementImport, StatementImport.id == StatementLine.import_id)
            .where(StatementLine.payment_id.in_(payment_ids[start : start + _CHUNK]))
        )
        for line, filename in rows:
            assert line.payment_id is not None
            found[line.payment_id] = (
                f"{filename or 'statement'} row {line.row}, {line.posted_on}: {line.description}"
            )
    return found


def how_settled(payment: Payment, statement_line: str | None) -> tuple[str, str]:
    """(how, evidence) for one payment: a gateway, an approved proof, a statement line, or
    recorded by hand (``/markpaid``)."""
    if payment.provider == PROVIDER:
        return "statement line", statement_line or payment.note
    if payment.provider in ledger.MANUAL_PROVIDERS:
        if payment.idempotency_key.startswith(ledger.MARKED_KEY):
            return "manual", "; ".join(p for p in (payment.note, payment.charge_ref or "") if p)
        if "proof" in payment.idempotency_key:
            typed = f"reference typed: {payment.charge_ref}" if payment.charge_ref else "no reference typed"
            return "proof", f"{payment.provider_ref or 'proof'}, {typed}; {payment.note}".rstrip("; ")
        return "manual", payment.note
    refs = " ".join(r for r in (payment.provider_ref, payment.charge_ref) if r)
    return "gateway", f"{payment.provider} {refs}".strip()
