"""Store credit: money a buyer holds with one GOM, in one currency, to pay future orders.

Every movement is an entry that is never changed (granted by a shortfall or by a refund
of money paid with credit, used by a payment, adjusted by the GOM with a reason); the
balance is their sum, kept on one row. Granting adds to that row with one upsert;
spending locks it and takes at most what it holds with one conditional UPDATE, so two
payments at once never spend the same credit twice. These functions run inside the
caller's unit of work and never commit.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import StoreCreditBalance, StoreCreditEntry
from core.errors import Conflict
from core.uow import UnitOfWork

PROVIDER = "store_credit"  # the provider of a Payment made with store credit


class CreditKind(StrEnum):
    SHORTFALL = "shortfall"  # units never delivered, given back as credit
    REFUND = "refund"  # money paid with credit, refunded: it goes back to credit
    PAYMENT = "payment"  # used to pay an order
    ADJUST = "adjust"  # the GOM's correction, with a reason


async def balance(uow: UnitOfWork, buyer_id: int, gom_id: int, currency: str) -> int:
    held = await uow.session.scalar(
        select(StoreCreditBalance.balance_minor).where(
            StoreCreditBalance.buyer_id == buyer_id,
            StoreCreditBalance.gom_id == gom_id,
            StoreCreditBalance.currency == currency,
        )
    )
    return int(held or 0)


async def grant(
    uow: UnitOfWork,
    *,
    buyer_id: int,
    gom_id: int,
    currency: str,
    amount_minor: int,
    kind: CreditKind,
    actor_id: int | None,
    reason: str,
    order_id: int | None = None,
    payment_id: int | None = None,
    shortfall_id: int | None = None,
) -> StoreCreditEntry:
    """Add credit (``amount_minor`` > 0): the entry and the balance in the same transaction."""
    if amount_minor <= 0:
        raise ValueError("credit granted is a positive amount")
    dialect = uow.session.bind.dialect.name if uow.session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(StoreCreditBalance).values(
        buyer_id=buyer_id, gom_id=gom_id, currency=currency, balance_minor=amount_minor, updated_at=uow.now
    )
    await uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=["buyer_id", "gom_id", "currency"],
            set_={"balance_minor": StoreCreditBalance.balance_minor + amount_minor, "updated_at": uow.now},
        )
    )
    return await _entry(
        uow,
        buyer_id,
        gom_id,
        currency,
        amount_minor,
        kind,
        actor_id,
        reason,
        order_id,
        payment_id,
        shortfall_id,
    )


async def spend(
    uow: UnitOfWork,
    *,
    buyer_id: int,
    gom_id: int,
    currency: str,
    most_minor: int,
    kind: CreditKind,
    actor_id: int | None,
    reason: str,
    order_id: int | None = None,
    payment_id: int | None = None,
) -> int:
    """Take up to ``most_minor`` of the buyer's credit; returns how much was taken (0 when
    they hold none). The balance row is locked, then taken from only if it still holds the
    amount: a second payment waits for the first and sees what is left."""
    if most_minor <= 0:
        return 0
    key = (
        StoreCreditBalance.buyer_id == buyer_id,
        StoreCreditBalance.gom_id == gom_id,
        StoreCreditBalance.currency == currency,
    )
    held = await uow.session.scalar(
        select(StoreCreditBalance.balance_minor)
        .where(*key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    take = min(int(held or 0), most_minor)
    if take <= 0:
        return 0
    result = await uow.session.execute(
        update(StoreCreditBalance)
        .where(*key, StoreCreditBalance.balance_minor >= take)
        .values(balance_minor=StoreCreditBalance.balance_minor - take, updated_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("That store credit was just used for another payment; try again.")
    await _entry(uow, buyer_id, gom_id, currency, -take, kind, actor_id, reason, order_id, payment_id, None)
    return take


async def _entry(
    uow: UnitOfWork,
    buyer_id: int,
    gom_id: int,
    currency: str,
    amount_minor: int,
    kind: CreditKind,
    actor_id: int | None,
    reason: str,
    order_id: int | None,
    payment_id: int | None,
    shortfall_id: int | None,
) -> StoreCreditEntry:
    entry = StoreCreditEntry(
        buyer_id=buyer_id,
        gom_id=gom_id,
        currency=currency,
        amount_minor=amount_minor,
        kind=kind,
        reason=reason[:500],
        actor_id=actor_id,
        order_id=order_id,
        payment_id=payment_id,
        shortfall_id=shortfall_id,
        created_at=uow.now,
    )
    uow.session.add(entry)
    await uow.session.flush()
    uow.audit(
        actor_id=actor_id,
        entity="store_credit",
        entity_id=entry.id,
        action=f"credit_{kind}",
        detail=f"buyer={buyer_id} gom={gom_id} {amount_minor:+d} {currency} {reason}"[:1000],
    )
    return entry
