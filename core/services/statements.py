"""Bank statements reconciled: a GOM's export read and matched (``preview_statement``),
then, once they confirm, every match applied in one transaction (``apply_statement``).

Which requests a statement is matched against: the open payment requests of every GO
whose team the sender is on with the right to review payments. Each applied line becomes
a payment with provider ``statement`` whose ``provider_ref`` is the GOM's id and the
line's fingerprint; the unique (provider, provider_ref) pair makes a line count once,
whichever import, file or person brings it again.

Nothing is applied that the GOM has not seen: only lines the preview showed as matched,
each checked again under its order's lock (a request paid meanwhile, by a gateway, a proof
or ``/markpaid``, is skipped and reported; one with a proof waiting is left to the review).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core.db.models import (
    BundleRequest,
    GroupOrder,
    Order,
    Payment,
    PaymentBundle,
    PaymentRequest,
    StaffMember,
    StatementImport,
    StatementLine,
)
from core.errors import AlreadyChanged, NotFound, PermissionDenied
from core.lookups import lock_order
from core.money import format_money
from core.payments import ledger
from core.payments.statements import Statement, Transaction, read_statement
from core.payments.statements.matching import OpenRequest, match
from core.payments.statements.notification import read_notification
from core.payments.status import PAYABLE, AttemptStatus, RequestStatus
from core.permissions import DOES, grants
from core.services.accounts import Actor
from core.uow import UnitOfWork

PROVIDER = "statement"
APPLIED_BY_STATEMENT = "statement_paid"
SHOWN_LINES = 10
_CHUNK = 500


@dataclass(frozen=True)
class LineView:
    """One credit as the report shows it."""

    row: int
    date: str
    amount: str
    description: str
    reference: str = ""  # the request it pays (or named)
    order: str = ""
    how: str = ""
    why: str = ""


@dataclass(frozen=True)
class StatementReport:
    """What a statement did or would do: counts, and the lines that need a look."""

    import_id: int
    filename: str
    layout: str
    status: str  # "pending" (waiting for confirmation) or "applied"
    again: bool  # the same file was sent before: this is that import
    credits: int
    matched: tuple[LineView, ...]
    ambiguous: tuple[LineView, ...]
    unmatched: tuple[LineView, ...]
    seen_before: int  # lines another import already applied
    unpaid: int  # open requests no line of this file pays
    applied: tuple[LineView, ...] = ()
    skipped: tuple[LineView, ...] = ()

    @property
    def to_apply(self) -> int:
        return len(self.matched) if self.status == "pending" else 0


def read_file(content: bytes, currency: str | None = None) -> Statement:
    """The file's transactions (``gomflow statement read``): no database, no matching."""
    return read_statement(content, currency)


async def preview_statement(
    uow: UnitOfWork, actor: Actor, content: bytes, filename: str = "", currency: str | None = None
) -> StatementReport:
    """Read and match a statement and keep it, waiting for confirmation; the same file
    sent again by the same person is answered with the import it already is."""
    return await _preview(
        uow, actor, content, filename, currency, lambda fallback: read_statement(content, fallback)
    )


async def preview_notification(
    uow: UnitOfWork, actor: Actor, text: str, currency: str | None = None
) -> StatementReport:
    """A bank's notification of one incoming transfer, pasted or forwarded, previewed as a
    statement of one line: the same matching, the same confirmation, counted once."""
    text = text.strip()
    return await _preview(
        uow,
        actor,
        text.encode("utf-8"),
        "notification",
        currency,
        lambda fallback: read_notification(text, fallback, today=uow.now.date()),
    )


async def _preview(
    uow: UnitOfWork,
    actor: Actor,
    content: bytes,
    filename: str,
    currency: str | None,
    read: Callable[[str | None], Statement],
) -> StatementReport:
    digest = hashlib.sha256(content).hexdigest()
    async with uow:
        teams = await _teams(uow, actor)
        earlier = await _import_by_hash(uow, actor.user_id, digest)
        if earlier is not None:
            return await _report(uow, earlier, teams, again=True)
        fallback = currency or await _only_currency(uow, teams)
    statement = read(fallback)
    async with uow:
        credits = [t for t in statement.transactions if t.amount_minor > 0]
        seen = await _applied_fingerprints(uow, teams, [t.fingerprint for t in credits])
        fresh = [t for t in credits if t.fingerprint not in seen]
        requests, closed = await _open_requests(uow, teams)
        decisions = match(fresh, requests, closed)
        imported = StatementImport(
            author_id=actor.user_id,
            content_hash=digest,
            filename=filename[:200],
            layout=statement.layout,
            status="pending",
            lines=len(statement.transactions),
            created_at=uow.now,
        )
        uow.session.add(imported)
        try:
            await uow.session.flush()
        except IntegrityError:  # the same file, sent twice at once: the other one kept it
            await uow.session.rollback()
            again = await _import_by_hash(uow, actor.user_id, digest)
            if again is None:
                raise
            return await _report(uow, again, teams, again=True)
        rows = [
            _line(imported.id, t, "seen", why="applied by an earlier statement")
            for t in credits
            if t.fingerprint in seen
        ]
        waiting = await _under_review(uow, [d.request_id for d in decisions.decisions if d.request_id])
        rows += [
            _line(
                imported.id,
                d.transaction,
                d.outcome,
                d.request_id,
                d.how,
                waiting.get(d.request_id or 0, d.why),
            )
            for d in decisions.decisions
        ]
        uow.session.add_all(rows)
        await uow.session.flush()
        report = await _report(uow, imported, teams)
        await uow.commit()
        return report


async def apply_statement(uow: UnitOfWork, actor: Actor, import_id: int) -> StatementReport:
    """Apply every line the preview matched, in one transaction; a second confirmation
    (a double tap) is refused. Each line is checked again under its order's lock."""
    async with uow:
        imported = await uow.session.get(StatementImport, import_id)
        if imported is None or imported.author_id != actor.user_id:
            raise NotFound("There is no statement #%(import_id)s of yours.", import_id=import_id)
        teams = await _teams(uow, actor)
        claimed = await uow.session.execute(
            update(StatementImport)
            .where(StatementImport.id == import_id, StatementImport.status == "pending")
            .values(status="applied", applied_at=uow.now)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            raise AlreadyChanged(
                "Statement #%(import_id)s was already applied; nothing was applied again.",
                import_id=import_id,
            )
        lines = (
            await uow.session.execute(
                select(StatementLine, PaymentRequest.order_id)
                .join(PaymentRequest, PaymentRequest.id == StatementLine.request_id)
                .where(StatementLine.import_id == import_id, StatementLine.outcome == "matched")
                .order_by(PaymentRequest.order_id, StatementLine.row)  # one lock order for all
            )
        ).all()
        for line, order_id in lines:
            await _apply_line(uow, actor, imported, line, order_id)
        await uow.session.flush()
        await uow.session.refresh(imported)
        report = await _report(uow, imported, teams)
        await uow.commit()
        return report


async def _apply_line(
    uow: UnitOfWork, actor: Actor, imported: StatementImport, line: StatementLine, order_id: int
) -> None:
    order = await lock_order(uow, order_id)
    assert line.request_id is not None
    request = await ledger.locked(uow, PaymentRequest, line.request_id)
    go = await uow.session.get_one(GroupOrder, order.go_id)
    provider_ref = f"{go.gom_id}:{line.fingerprint}"
    why = ""
    if await uow.session.scalar(
        select(Payment.id).where(Payment.provider == PROVIDER, Payment.provider_ref == provider_ref)
    ):
        why = "already applied by another statement"
    elif request.status == RequestStatus.REVIEW:
        why = f"a proof waits for review: /approve {order.number} (this bank line confirms it)"
    elif request.status not in PAYABLE:
        why = f"{request.reference} is {request.status} now"
    elif (owed := await ledger.outstanding(uow, request)) != line.amount_minor:
        why = f"{format_money(owed, request.currency)} is owed on {request.reference} now"
    if why:
        line.outcome, line.why = "skipped", why
        return
    key = f"gf-stmt-{go.gom_id}-{line.fingerprint}"
    payment = Payment(
        request_id=request.id,
        provider=PROVIDER,
        status=AttemptStatus.CREATED,
        idempotency_key=key,
        provider_ref=provider_ref,
        charge_ref=None,
        amount_minor=line.amount_minor,
        currency=request.currency,
        note=f"bank statement #{imported.id} row {line.row}",
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(payment)
    await uow.session.flush()
    # the description (often the payer's name) stays sealed on the line; the audit row,
    # kept in clear, points at it
    evidence = (
        f"{imported.filename or 'statement'} row {line.row}, {line.posted_on}, "
        f"{format_money(line.amount_minor, line.currency)} (statement #{imported.id}, line {line.id})"
    )
    uow.audit(
        actor_id=actor.user_id,
        entity="payment",
        entity_id=payment.id,
        action=APPLIED_BY_STATEMENT,
        detail=evidence[:1000],
    )
    await ledger.credit(uow, order, request, payment, actor.user_id, f"bank statement #{imported.id}")
    line.outcome, line.payment_id = "applied", payment.id


async def _under_review(uow: UnitOfWork, request_ids: list[int]) -> dict[int, str]:
    """Matched requests whose buyer's proof waits for review: Apply leaves those to the
    review, so the report says so beside the line."""
    found: dict[int, str] = {}
    for start in range(0, len(request_ids), _CHUNK):
        rows = await uow.session.execute(
            select(PaymentRequest.id, Order.number)
            .join(Order, Order.id == PaymentRequest.order_id)
            .where(
                PaymentRequest.id.in_(request_ids[start : start + _CHUNK]),
                PaymentRequest.status == RequestStatus.REVIEW,
            )
        )
        for request_id, number in rows:
            found[request_id] = f"a proof waits for review: /approve {number} (this line confirms it)"
    return found


async def _teams(uow: UnitOfWork, actor: Actor) -> list[int]:
    """The GOMs whose teams let this person review payments: whose requests are matched."""
    roles = (
        await uow.session.execute(
            select(StaffMember.gom_id, StaffMember.role).where(StaffMember.member_id == actor.user_id)
        )
    ).all()
    teams = sorted(gom for gom, role in roles if grants(role, actor.acting))
    if not teams:
        raise PermissionDenied(
            ("Only a GOM, or someone on a GOM's team who may %(does)s, can read a bank statement."),
            does=DOES[actor.acting],
        )
    return teams


async def _only_currency(uow: UnitOfWork, teams: list[int]) -> str | None:
    """The currency of these teams' GOs, when they all use one: a file that names none is in it."""
    found = (
        await uow.session.scalars(select(GroupOrder.currency).where(GroupOrder.gom_id.in_(teams)).distinct())
    ).all()
    return found[0] if len(found) == 1 else None


async def _import_by_hash(uow: UnitOfWork, author_id: int, digest: str) -> StatementImport | None:
    return await uow.session.scalar(
        select(StatementImport).where(
            StatementImport.author_id == author_id, StatementImport.content_hash == digest
        )
    )


async def _applied_fingerprints(uow: UnitOfWork, teams: list[int], fingerprints: list[str]) -> set[str]:
    """Which of these lines a statement already applied for one of these GOMs."""
    seen: set[str] = set()
    refs = [f"{gom}:{fp}" for gom in teams for fp in fingerprints]
    for start in range(0, len(refs), _CHUNK):
        chunk = refs[start : start + _CHUNK]
        found = await uow.session.scalars(
            select(Payment.provider_ref).where(Payment.provider == PROVIDER, Payment.provider_ref.in_(chunk))
        )
        seen.update(ref.split(":", 1)[1] for ref in found if ref)
    return seen


async def _open_requests(uow: UnitOfWork, teams: list[int]) -> tuple[list[OpenRequest], dict[str, str]]:
    """Open requests with what is still owed on each, and the references that no longer
    take money (paid, void; a bundle's), with why."""
    paid = (
        select(Payment.request_id, func.sum(Payment.amount_minor).label("got"))
        .where(Payment.status == AttemptStatus.SUCCEEDED)
        .group_by(Payment.request_id)
        .subquery()
    )
    rows = (
        await uow.session.execute(
            select(PaymentRequest, Order.number, func.coalesce(paid.c.got, 0))
            .join(Order, Order.id == PaymentRequest.order_id)
            .join(GroupOrder, GroupOrder.id == Order.go_id)
            .outerjoin(paid, paid.c.request_id == PaymentRequest.id)
            .where(GroupOrder.gom_id.in_(teams))
            .order_by(PaymentRequest.id)
        )
    ).all()
    requests: list[OpenRequest] = []
    closed: dict[str, str] = {}
    for request, number, got in rows:
        owed = request.amount_minor - int(got)
        if request.status in PAYABLE and owed > 0:
            requests.append(OpenRequest(request.id, request.reference, request.currency, owed, number))
        else:
            closed[request.reference] = str(request.status)
    bundles = await uow.session.scalars(
        select(PaymentBundle.reference)
        .join(GroupOrder, GroupOrder.id == PaymentBundle.go_id)
        .where(
            GroupOrder.gom_id.in_(teams),
            select(BundleRequest.bundle_id).where(BundleRequest.bundle_id == PaymentBundle.id).exists(),
        )
    )
    for reference in bundles:
        closed[reference] = "one payment for several orders: record it with /markpaid " + reference
    return requests, closed


def _line(
    import_id: int,
    t: Transaction,
    outcome: str,
    request_id: int | None = None,
    how: str = "",
    why: str = "",
) -> StatementLine:
    return StatementLine(
        import_id=import_id,
        row=t.row,
        posted_on=t.date.isoformat(),
        amount_minor=t.amount_minor,
        currency=t.currency,
        description=t.description,
        fingerprint=t.fingerprint,
        outcome=outcome,
        how=how,
        why=why[:500],
        request_id=request_id,
    )


async def _report(
    uow: UnitOfWork, imported: StatementImport, teams: list[int], *, again: bool = False
) -> StatementReport:
    rows = (
        await uow.session.execute(
            select(StatementLine, PaymentRequest.reference, Order.number)
            .outerjoin(PaymentRequest, PaymentRequest.id == StatementLine.request_id)
            .outerjoin(Order, Order.id == PaymentRequest.order_id)
            .where(StatementLine.import_id == imported.id)
            .order_by(StatementLine.row)
        )
    ).all()
    by: dict[str, list[LineView]] = {}
    matched_ids: set[int] = set()
    for line, reference, number in rows:
        by.setdefault(line.outcome, []).append(
            LineView(
                row=line.row,
                date=line.posted_on,
                amount=format_money(line.amount_minor, line.currency),
                description=line.description[:60],
                reference=reference or "",
                order=number or "",
                how=line.how,
                why=line.why,
            )
        )
        if line.request_id is not None and line.outcome in ("matched", "applied"):
            matched_ids.add(line.request_id)
    requests, _ = await _open_requests(uow, teams)
    return StatementReport(
        import_id=imported.id,
        filename=imported.filename,
        layout=imported.layout,
        status=imported.status,
        again=again,
        credits=len(rows),
        matched=tuple(by.get("matched", [])),
        ambiguous=tuple(by.get("ambiguous", [])),
        unmatched=tuple(by.get("unmatched", [])),
        seen_before=len(by.get("seen", [])),
        unpaid=sum(r.request_id not in matched_ids for r in requests),
        applied=tuple(by.get("applied", [])),
        skipped=tuple(by.get("skipped", [])),
    )
