"""A GO's money terms applied to its orders: the rate and fee each order is locked to, what
its items payment asks (its lines plus the GOM's fee), and that payment in parts — a
deposit and a balance, or instalments on the GOM's dates.

Runs inside the caller's unit of work and never commits. The arithmetic is
``core.payments.parts``; this module only reads and writes the rows around it.

**Locking.** Placing an order writes nothing here: an order without an ``order_terms`` row
was placed under the GO's current terms. Every change of the rate or the fee first locks
the GO's row (the row each order placement updates with the same lock) and writes the
current terms for every order that has none (``stamp_orders``), then changes them and
bumps the GO's ``catalogue_version``, so an order that read the old prices is refused and
read again. No order is ever charged at a rate its buyer did not see.

**Parts.** A paid deposit, or a paid first instalment, secures the claim: the order is
paid (its slots are safe from expiry). It is *fully* paid once every part is paid. The
part requests are opened by ``core.payments.part_requests``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import delete, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import GOMoney, GroupOrder, Order, OrderLine, OrderTerms, PaymentRequest
from core.payments.parts import Rate, fee_for_line, share, surcharge_for
from core.payments.status import PART_KINDS, RequestStatus
from core.status import GOStatus
from core.uow import UnitOfWork
from core.when import zone

ARRIVED_OR_LATER = frozenset({GOStatus.ARRIVED, GOStatus.PACKING, GOStatus.SHIPPING, GOStatus.COMPLETED})
DEPOSIT_PERCENT = "percent"
DEPOSIT_PER_UNIT = "per_unit"


@dataclass(frozen=True)
class Terms:
    """The rate and fee one order is charged under."""

    rate: Rate | None = None
    fee_fixed_minor: int = 0
    fee_bp: int = 0

    @property
    def has_fee(self) -> bool:
        return bool(self.fee_fixed_minor or self.fee_bp)


@dataclass(frozen=True)
class Surcharge:
    method: str
    fixed_minor: int
    bp: int


async def money_of(uow: UnitOfWork, go_id: int) -> GOMoney | None:
    return await uow.session.get(GOMoney, go_id)


def rate_of(source: str | None, num: int | None, den: int | None, target: str) -> Rate | None:
    if source is None or not num or not den:
        return None
    return Rate(source, target, num, den)


def go_terms(row: GOMoney | None, currency: str) -> Terms:
    if row is None:
        return Terms()
    return Terms(
        rate_of(row.source_currency, row.rate_num, row.rate_den, currency), row.fee_fixed_minor, row.fee_bp
    )


async def order_terms(uow: UnitOfWork, order: Order) -> Terms:
    """The terms ``order`` was placed under: its stamped row, else the GO's current terms."""
    stamped = await uow.session.get(OrderTerms, order.id)
    if stamped is not None:
        rate = rate_of(stamped.source_currency, stamped.rate_num, stamped.rate_den, order.currency)
        return Terms(rate, stamped.fee_fixed_minor, stamped.fee_bp)
    return go_terms(await money_of(uow, order.go_id), order.currency)


async def terms_by_order(uow: UnitOfWork, go: GroupOrder, order_ids: list[int]) -> dict[int, Terms]:
    """The terms of many orders of one GO at once (for exports and sheets)."""
    current = go_terms(await money_of(uow, go.id), go.currency)
    found = {order_id: current for order_id in order_ids}
    if not order_ids:
        return found
    for row in (
        await uow.session.scalars(select(OrderTerms).where(OrderTerms.order_id.in_(order_ids)))
    ).all():
        found[row.order_id] = Terms(
            rate_of(row.source_currency, row.rate_num, row.rate_den, go.currency),
            row.fee_fixed_minor,
            row.fee_bp,
        )
    return found


async def stamp_orders(uow: UnitOfWork, go: GroupOrder) -> int:
    """Write the GO's current terms for each of its orders that has none: called with the
    GO's row locked, just before its terms change. Returns how many were written."""
    row = await money_of(uow, go.id)
    if row is None:  # no terms yet: every order so far was placed without a rate or fee
        values = (literal(None), literal(None), literal(None), literal(0), literal(0))
    else:
        values = (
            literal(row.source_currency),
            literal(row.rate_num),
            literal(row.rate_den),
            literal(row.fee_fixed_minor),
            literal(row.fee_bp),
        )
    unstamped = select(Order.id, *values, literal(uow.now, OrderTerms.stamped_at.type)).where(
        Order.go_id == go.id, ~exists().where(OrderTerms.order_id == Order.id)
    )
    dialect = uow.session.bind.dialect.name if uow.session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OrderTerms).from_select(
        ["order_id", "source_currency", "rate_num", "rate_den", "fee_fixed_minor", "fee_bp", "stamped_at"],
        unstamped,
    )
    result = await uow.session.execute(statement.on_conflict_do_nothing(index_elements=["order_id"]))
    return int(getattr(result, "rowcount", 0) or 0)


async def fee_of(uow: UnitOfWork, order: Order, terms: Terms | None = None) -> int:
    """The GOM's fee on ``order``: per line, by the terms it was placed under."""
    terms = terms or await order_terms(uow, order)
    if not terms.has_fee:
        return 0
    lines = (
        await uow.session.execute(
            select(OrderLine.quantity, OrderLine.unit_price_minor).where(OrderLine.order_id == order.id)
        )
    ).all()
    return sum(fee_for_line(q, price, terms.fee_fixed_minor, terms.fee_bp) for q, price in lines)


async def items_owed(uow: UnitOfWork, order: Order) -> int:
    """What the items payment asks: the lines' total plus the GOM's fee."""
    return order.total_minor + await fee_of(uow, order)


def surcharges_of(row: GOMoney | None) -> dict[str, Surcharge]:
    if row is None or not row.surcharges:
        return {}
    return {
        entry["method"]: Surcharge(entry["method"], int(entry["fixed"]), int(entry["bp"]))
        for entry in json.loads(row.surcharges)
    }


async def surcharge_on(uow: UnitOfWork, go_id: int, method: str, amount_minor: int) -> int:
    """What paying ``amount_minor`` by ``method`` adds in this GO (0 when it adds nothing)."""
    found = surcharges_of(await money_of(uow, go_id)).get(method)
    return surcharge_for(amount_minor, found.fixed_minor, found.bp) if found else 0


# --- parts --------------------------------------------------------------------------


def instalment_dates(row: GOMoney | None) -> list[date]:
    if row is None or not row.instalment_dates:
        return []
    return [date.fromisoformat(text) for text in row.instalment_dates.split(",")]


def end_of_day(day: date, tz: str) -> datetime:
    """23:59 on ``day`` in the GO's timezone: when a part dated that day falls due."""
    return datetime.combine(day, time(23, 59), tzinfo=zone(tz))


def deposit_of(row: GOMoney | None, owed_minor: int, units: int) -> int:
    """The deposit an order of ``units`` owing ``owed_minor`` pays now (0: no deposit, pay in full)."""
    if row is None or row.deposit_kind is None:
        return 0
    if row.deposit_kind == DEPOSIT_PERCENT:
        deposit = share(owed_minor, row.deposit_value)
    else:
        deposit = row.deposit_value * units
    return deposit if 0 < deposit < owed_minor else 0


async def parts_of(uow: UnitOfWork, order: Order) -> list[PaymentRequest]:
    """The order's part requests that still count (not voided), in order."""
    return list(
        (
            await uow.session.scalars(
                select(PaymentRequest)
                .where(
                    PaymentRequest.order_id == order.id,
                    PaymentRequest.kind.in_(PART_KINDS),
                    PaymentRequest.status != RequestStatus.VOID,
                )
                .order_by(PaymentRequest.id)
            )
        ).all()
    )


async def part_count(uow: UnitOfWork, order_id: int) -> tuple[int, int]:
    """(paid parts, all parts) of an order, for the words "part 2 of 3"."""
    rows = (
        await uow.session.execute(
            select(PaymentRequest.status, func.count())
            .where(
                PaymentRequest.order_id == order_id,
                PaymentRequest.kind.in_(PART_KINDS),
                PaymentRequest.status != RequestStatus.VOID,
            )
            .group_by(PaymentRequest.status)
        )
    ).all()
    return (sum(n for s, n in rows if s == RequestStatus.PAID), sum(n for _, n in rows))


async def fees_by_order(uow: UnitOfWork, go: GroupOrder, order_ids: list[int]) -> dict[int, int]:
    """The GOM's fee of each of these orders of one GO, read in two queries (for sheets)."""
    locked = await terms_by_order(uow, go, order_ids)
    if not any(t.has_fee for t in locked.values()):
        return {}
    fees: dict[int, int] = {}
    charged = [order_id for order_id, t in locked.items() if t.has_fee]
    for start in range(0, len(charged), 1000):
        chunk = charged[start : start + 1000]
        lines = await uow.session.execute(
            select(OrderLine.order_id, OrderLine.quantity, OrderLine.unit_price_minor).where(
                OrderLine.order_id.in_(chunk)
            )
        )
        for order_id, quantity, price in lines.all():
            t = locked[order_id]
            fees[order_id] = fees.get(order_id, 0) + fee_for_line(
                quantity, price, t.fee_fixed_minor, t.fee_bp
            )
    return fees


async def forget(uow: UnitOfWork, order: Order) -> None:
    """An order priced again (``/change``) is under the GO's current terms from now on."""
    await uow.session.execute(delete(OrderTerms).where(OrderTerms.order_id == order.id))
