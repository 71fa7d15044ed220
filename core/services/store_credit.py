"""Store credit for people: a buyer's balances (``/credit``), a buyer's as their GOM's team
sees it (``/credit @buyer``), and paying an order with it (``/pay ORDER credit``).

Credit pays only orders in the GOM's own group orders, in its currency. Paying with it is
a payment like any other (provider ``store_credit``) credited to the request through the
ledger, so a partial cover leaves the rest owed on the same request; the credit is taken
under the order's lock and the balance row's, with one conditional UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import func, select

from core.db.models import (
    GroupOrder,
    Payment,
    StaffMember,
    StoreCreditBalance,
    StoreCreditEntry,
    User,
)
from core.errors import InvalidInput, PermissionDenied
from core.lookups import load_order, lock_order
from core.money import CURRENCIES, format_money, parse_amount
from core.payments import ledger, store_credit
from core.payments.status import AttemptStatus
from core.permissions import Permission, grants
from core.services.accounts import Actor
from core.services.payments import request_to_pay
from core.services.people import person_by_handle
from core.uow import UnitOfWork
from core.when import local_text

RECENT = 10
ADJUST_USAGE = "/credit @buyer +AMOUNT|-AMOUNT [CURRENCY] REASON"


@dataclass(frozen=True)
class CreditLine:
    gom: str
    currency: str
    balance: str
    balance_minor: int


@dataclass(frozen=True)
class CreditEntryView:
    when: str
    amount: str
    kind: str
    reason: str


@dataclass(frozen=True)
class CreditView:
    buyer: str
    lines: tuple[CreditLine, ...]
    entries: tuple[CreditEntryView, ...]
    for_staff: bool
    adjusted: str = ""  # the GOM's adjustment just made, signed ("+S$5.00")


@dataclass(frozen=True)
class CreditUse:
    number: str
    used: str
    remaining: str  # still owed on the request, "" when paid
    balance: str  # credit left with this GOM in this currency
    paid: bool


async def my_credit(uow: UnitOfWork, actor: Actor) -> CreditView:
    async with uow:
        return await _view(uow, actor.user_id, actor.name, None, for_staff=False)


async def buyer_credit(uow: UnitOfWork, staff: Actor, handle: str) -> CreditView:
    """A buyer's credit with the GOMs whose team ``staff`` may handle orders for."""
    async with uow:
        teams = (
            await uow.session.execute(
                select(StaffMember.gom_id, StaffMember.role).where(StaffMember.member_id == staff.user_id)
            )
        ).all()
        goms = [gom_id for gom_id, role in teams if grants(role, Permission.ORDERS)]
        if not goms:
            raise PermissionDenied("Only a GOM's team sees a buyer's store credit; /credit shows yours.")
        user_id, name = await person_by_handle(uow, handle)
        return await _view(uow, user_id, name, goms, for_staff=True)


async def adjust_credit(uow: UnitOfWork, staff: Actor, handle: str, words: list[str]) -> CreditView:
    """The GOM (or a manager) corrects a buyer's credit with them: ``+5.00 goodwill`` or
    ``-2.50 SGD paid in cash instead``. Taking away never goes below what the buyer holds."""
    if len(words) < 2 or words[0][:1] not in "+-":
        raise InvalidInput(
            "Say how much, with + or -, and why.\nUsage: %(adjust_usage)s", adjust_usage=ADJUST_USAGE
        )
    sign, amount_text, rest = words[0][0], words[0][1:], words[1:]
    async with uow:
        teams = (
            await uow.session.execute(
                select(StaffMember.gom_id, StaffMember.role).where(StaffMember.member_id == staff.user_id)
            )
        ).all()
        goms = [gom_id for gom_id, role in teams if grants(role, Permission.REFUNDS)]
        if not goms:
            raise PermissionDenied("Only a GOM, or a manager on one GOM's team, adjusts store credit.")
        if len(goms) > 1:
            raise PermissionDenied(
                "You may adjust store credit on several GOMs' teams; ask the GOM to do it."
            )
        [gom_id] = goms
        currency = rest[0].upper() if rest[0].upper() in CURRENCIES and len(rest) > 1 else None
        if currency is None:
            currency = await uow.session.scalar(
                select(GroupOrder.currency)
                .where(GroupOrder.gom_id == gom_id)
                .order_by(GroupOrder.id.desc())
                .limit(1)
            )
        else:
            rest = rest[1:]
        if currency is None:
            raise InvalidInput("Name the currency: %(adjust_usage)s", adjust_usage=ADJUST_USAGE)
        reason = " ".join(rest)[:200]
        amount = parse_amount(amount_text, currency)
        if amount == 0:
            raise InvalidInput("An adjustment of nothing changes nothing.")
        user_id, name = await person_by_handle(uow, handle)
        shown = f"{reason} (by {staff.name})"
        if sign == "+":
            await store_credit.grant(
                uow,
                buyer_id=user_id,
                gom_id=gom_id,
                currency=currency,
                amount_minor=amount,
                kind=store_credit.CreditKind.ADJUST,
                actor_id=staff.user_id,
                reason=shown,
            )
        else:
            holds = await store_credit.balance(uow, user_id, gom_id, currency)
            if amount > holds:
                raise InvalidInput(
                    "%(name)s holds %(holds)s of credit with you; take at most that.",
                    name=name,
                    holds=format_money(holds, currency),
                )
            await store_credit.spend(
                uow,
                buyer_id=user_id,
                gom_id=gom_id,
                currency=currency,
                most_minor=amount,
                kind=store_credit.CreditKind.ADJUST,
                actor_id=staff.user_id,
                reason=shown,
            )
        view = await _view(uow, user_id, name, [gom_id], for_staff=True)
        await uow.commit()
        return replace(view, adjusted=f"{sign}{format_money(amount, currency)}")


async def _view(
    uow: UnitOfWork, buyer_id: int, name: str, goms: list[int] | None, *, for_staff: bool
) -> CreditView:
    balances = select(StoreCreditBalance, User.display_name).join(User, User.id == StoreCreditBalance.gom_id)
    entries = select(StoreCreditEntry).where(StoreCreditEntry.buyer_id == buyer_id)
    balances = balances.where(StoreCreditBalance.buyer_id == buyer_id)
    if goms is not None:
        balances = balances.where(StoreCreditBalance.gom_id.in_(goms))
        entries = entries.where(StoreCreditEntry.gom_id.in_(goms))
    lines = tuple(
        CreditLine(gom, row.currency, format_money(row.balance_minor, row.currency), row.balance_minor)
        for row, gom in (
            await uow.session.execute(balances.order_by(User.display_name, StoreCreditBalance.currency))
        )
        if row.balance_minor
    )
    recent = (await uow.session.scalars(entries.order_by(StoreCreditEntry.id.desc()).limit(RECENT))).all()
    return CreditView(
        buyer=name,
        lines=lines,
        entries=tuple(
            CreditEntryView(
                local_text(e.created_at, "UTC"),
                format_money(e.amount_minor, e.currency),
                e.kind,
                e.reason,
            )
            for e in recent
        ),
        for_staff=for_staff,
    )


async def pay_with_credit(uow: UnitOfWork, actor: Actor, number: str) -> CreditUse:
    """Pay what the order owes now with the buyer's credit with its GOM, as far as it goes."""
    async with uow:
        found = await load_order(uow, number)
        if found.buyer_id != actor.user_id:
            raise PermissionDenied(
                "%(number)s is not your order; store credit pays only your own.", number=found.number
            )
        order = await lock_order(uow, found.id)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        request = await request_to_pay(uow, order)
        owed = await ledger.outstanding(uow, request)
        count = await uow.session.scalar(
            select(func.count()).select_from(Payment).where(Payment.request_id == request.id)
        )
        payment = Payment(
            request_id=request.id,
            provider=store_credit.PROVIDER,
            status=AttemptStatus.CREATED,
            idempotency_key=f"gf-credit-{request.id}-{(count or 0) + 1}",
            amount_minor=0,
            currency=request.currency,
            note="store credit",
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(payment)
        await uow.session.flush()
        used = await store_credit.spend(
            uow,
            buyer_id=order.buyer_id,
            gom_id=go.gom_id,
            currency=request.currency,
            most_minor=owed,
            kind=store_credit.CreditKind.PAYMENT,
            actor_id=actor.user_id,
            reason=f"paid {request.reference}",
            order_id=order.id,
            payment_id=payment.id,
        )
        if used == 0:
            gom = await uow.session.get_one(User, go.gom_id)
            raise InvalidInput(
                (
                    "You have no store credit in %(currency)s with %(display_name)s; /pay %(number)s "
                    "shows the other ways to pay."
                ),
                currency=request.currency,
                display_name=gom.display_name,
                number=order.number,
            )
        payment.amount_minor = used
        await uow.session.flush()
        outcome = await ledger.credit(uow, order, request, payment, actor.user_id, "store credit")
        left = await store_credit.balance(uow, order.buyer_id, go.gom_id, request.currency)
        uow.audit(
            actor_id=actor.user_id,
            entity="order",
            entity_id=order.id,
            action="paid_with_credit",
            detail=f"{used} {request.currency} of {owed} owed on {request.reference}; {outcome.result}; "
            f"credit left {left}",
        )
        await uow.commit()
        return CreditUse(
            number=order.number,
            used=format_money(used, request.currency),
            remaining=format_money(outcome.remaining_minor, request.currency)
            if outcome.remaining_minor
            else "",
            balance=format_money(left, request.currency),
            paid=outcome.result in ("paid", "overpaid"),
        )
