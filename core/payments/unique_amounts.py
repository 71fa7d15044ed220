"""Unique amounts: each payment request of a GO asks its amount plus or minus a few cents,
chosen so that no two open requests of the same GOM in the same currency ask the same.

One bank line then belongs to one request even when the buyer left out the reference.
The amount is claimed with one conditional statement per candidate (``INSERT … ON
CONFLICT DO UPDATE … WHERE`` the claim's request is no longer payable): the database, not
a read before the write, settles two requests wanting the same amount at once. When every
amount within the GOM's maximum is taken, the request asks the plain amount and relies on
its reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import AmountClaim, GroupOrder, PaymentRequest, UniqueAmountSetting
from core.errors import InvalidInput
from core.lookups import load_go
from core.money import format_money, parse_amount
from core.payments.status import PAYABLE
from core.services.accounts import Actor, require_admin
from core.uow import UnitOfWork

USAGE = "/uniqueamounts CODE MAX|off (e.g. 0.10: at most 10 cents more or less)"
# At most this many minor units either way: beyond it the amount stops looking like the price.
MAX_STEPS = 99


@dataclass(frozen=True)
class UniqueView:
    go_code: str
    max_amount: str  # "" when off
    example: str = ""  # what a request of 49.00 might ask, in words


async def set_unique(uow: UnitOfWork, actor: Actor, go_code: str, text: str) -> UniqueView:
    """Turn unique amounts on for a GO (up to ``text`` either way) or ``off``."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        word = text.strip().lower()
        current = await uow.session.get(UniqueAmountSetting, go.id)
        if word in ("off", "0", "none"):
            if current is not None:
                await uow.session.delete(current)
            most = 0
        else:
            most = parse_amount(text, go.currency)
            if not 1 <= most <= MAX_STEPS:
                top = format_money(MAX_STEPS, go.currency)
                raise InvalidInput(
                    "The most an amount may move is from the smallest coin up to %(top)s. %(usage)s",
                    top=top,
                    usage=USAGE,
                )
            if current is None:
                uow.session.add(UniqueAmountSetting(go_id=go.id, max_minor=most, updated_at=uow.now))
            else:
                current.max_minor, current.updated_at = most, uow.now
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="unique_amounts_set",
            detail=str(most),
        )
        await uow.commit()
        return view_of(go, most)


def view_of(go: GroupOrder, most: int) -> UniqueView:
    if not most:
        return UniqueView(go.code, "")
    plain, step = format_money(4900, go.currency), format_money(7 if most >= 7 else most, go.currency)
    example = f"{plain} + {step} = {format_money(4900 + min(7, most), go.currency)}"
    return UniqueView(go.code, format_money(most, go.currency), example)


def offsets(base_minor: int, most: int) -> list[int]:
    """+1, -1, +2, -2 … up to ``most``: the nearest to the price first, never to zero or below."""
    steps = [sign * step for step in range(1, most + 1) for sign in (1, -1)]
    return [step for step in steps if base_minor + step > 0]


async def claim(uow: UnitOfWork, go: GroupOrder, request: PaymentRequest) -> int:
    """Inside the request's transaction: move its amount to a unique one and return the
    adjustment (0: unique amounts off, or none free within the maximum)."""
    most = await uow.session.scalar(
        select(UniqueAmountSetting.max_minor).where(UniqueAmountSetting.go_id == go.id)
    )
    if not most:
        return 0
    base = request.amount_minor
    live = exists().where(PaymentRequest.id == AmountClaim.request_id, PaymentRequest.status.in_(PAYABLE))
    payable = select(PaymentRequest.id).where(PaymentRequest.status.in_(PAYABLE))
    taken = set(
        (
            await uow.session.scalars(
                select(AmountClaim.amount_minor).where(
                    AmountClaim.gom_id == go.gom_id,
                    AmountClaim.currency == request.currency,
                    AmountClaim.amount_minor.between(base - most, base + most),
                    live,
                )
            )
        ).all()
    )
    dialect = uow.session.bind.dialect.name if uow.session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for step in offsets(base, most):
        if base + step in taken:
            continue
        values = {"gom_id": go.gom_id, "currency": request.currency, "amount_minor": base + step}
        statement = insert(AmountClaim).values(**values, request_id=request.id)
        statement = statement.on_conflict_do_update(
            index_elements=["gom_id", "currency", "amount_minor"],
            set_={"request_id": request.id},
            # uncorrelated on purpose: inside ON CONFLICT a correlated subquery would not
            # name the conflicting row; the open requests are few, so the set is small
            where=AmountClaim.request_id.not_in(payable),
        )
        done = await uow.session.execute(statement)
        if getattr(done, "rowcount", 0) == 1:
            request.amount_minor = base + step
            request.adjust_minor = step
            await uow.session.flush()
            return step
    return 0


def unique_line(request: PaymentRequest) -> str:
    """The adjustment as its own line: "S$49.00 + S$0.07 = S$49.07"; "" when there is none."""
    step = request.adjust_minor
    if not step:
        return ""
    plain = format_money(request.amount_minor - step, request.currency)
    moved = format_money(abs(step), request.currency)
    whole = format_money(request.amount_minor, request.currency)
    return f"{plain} {'+' if step > 0 else '−'} {moved} = {whole}"
