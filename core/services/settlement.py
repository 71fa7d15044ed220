"""How each payment was settled, for the books (``/reconcile``): a gateway, an approved
proof, a bank statement line, or money recorded by hand, with the evidence of each."""

from __future__ import annotations

import json

from sqlalchemy import select

from core.db.models import Payment, PaymentProof, StatementImport, StatementLine
from core.money import format_money
from core.payments import ledger
from core.payments.reading import ProofReading
from core.services.statements import PROVIDER
from core.uow import UnitOfWork

_CHUNK = 500
PROOF_REF = "proof-"  # an approved proof's payment names it: proof-<id>


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


async def proof_evidence(uow: UnitOfWork, payments: list[Payment]) -> dict[int, str]:
    """For payments an approved proof made whose screenshot was read: what was read, and
    whether the proof policy or a person approved it."""
    by_proof = {
        int(p.provider_ref[len(PROOF_REF) :]): p.id
        for p in payments
        if p.provider_ref
        and p.provider_ref.startswith(PROOF_REF)
        and p.provider_ref[len(PROOF_REF) :].isdigit()
    }
    found: dict[int, str] = {}
    ids = list(by_proof)
    for start in range(0, len(ids), _CHUNK):
        rows = await uow.session.execute(
            select(PaymentProof.id, PaymentProof.reading, PaymentProof.decided_by).where(
                PaymentProof.id.in_(ids[start : start + _CHUNK]), PaymentProof.reading.is_not(None)
            )
        )
        for proof_id, reading, decided_by in rows:
            found[by_proof[proof_id]] = _read_summary(reading or "", decided_by)
    return found


def _read_summary(stored: str, decided_by: str | None) -> str:
    try:
        reading = ProofReading.from_json(json.loads(stored))
    except (ValueError, TypeError, AttributeError):
        return "screenshot read (the reading could not be shown)"
    parts = []
    if reading.amount_minor is not None and reading.currency:
        parts.append(f"amount {format_money(reading.amount_minor, reading.currency)}")
    parts += [
        f"{name} {value}"
        for name, value in (("reference", reading.reference), ("txn", reading.txn_id))
        if value
    ]
    if reading.paid_at:
        parts.append(f"dated {reading.paid_at.isoformat(timespec='minutes')}")
    parts += [f"looked edited: {why}" for why in reading.edited]
    who = "approved by the proof policy" if decided_by == "policy" else "approved by a person"
    return f"read: {', '.join(parts) or 'nothing'}; {who}"


def how_settled(
    payment: Payment, statement_line: str | None, proof_read: str | None = None
) -> tuple[str, str]:
    """(how, evidence) for one payment: a gateway, an approved proof (read or not), a
    statement line, or recorded by hand (``/markpaid``)."""
    if payment.provider == PROVIDER:
        return "statement line", statement_line or payment.note
    if payment.provider in ledger.MANUAL_PROVIDERS:
        if payment.idempotency_key.startswith(ledger.MARKED_KEY):
            return "manual", "; ".join(p for p in (payment.note, payment.charge_ref or "") if p)
        if "proof" in payment.idempotency_key:
            typed = f"reference typed: {payment.charge_ref}" if payment.charge_ref else "no reference typed"
            evidence = f"{payment.provider_ref or 'proof'}, {typed}; {payment.note}".rstrip("; ")
            if proof_read:
                return "proof read", f"{evidence}; {proof_read}"
            return "proof", evidence
        return "manual", payment.note
    refs = " ".join(r for r in (payment.provider_ref, payment.charge_ref) if r)
    return "gateway", f"{payment.provider} {refs}".strip()
