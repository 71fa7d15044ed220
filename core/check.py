"""``gomflow check``: the database's invariants, each verified by one aggregate query.

The counters that concurrent buyers race on (a GO's ``reserved_units``, an item's or a
version's ``reserved``, a buyer's quota) are kept beside the orders they count, so a
lost race shows up as a counter that no longer equals the live lines. Money is checked
the same way: what a paid request owes against the payments that settled it. Each check
is a list of queries that return the offending rows (none when it holds); the SQL does
the aggregation, so a check costs a few scans however large the tables, and nothing is
written.

To add an invariant, append a ``Check`` to ``CHECKS``; to excuse a paid request whose
payments differ from its amount because the difference is on record, append a predicate
to ``RECORDED_DIFFERENCES``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from core.db.engine import READ_ONLY, Database, connect, normalise_url
from core.db.migrate import alembic_config
from core.db.models import (
    AuditEntry,
    BuyerQuota,
    GroupOrder,
    InboundUpdate,
    Item,
    Order,
    OrderLine,
    OutboxMessage,
    Parcel,
    Payment,
    PaymentRequest,
    PickupSlot,
    Refund,
    StoreCreditBalance,
    StoreCreditEntry,
    Variant,
)
from core.errors import DatabaseNotReady
from core.payments.ledger import MANUAL_PROVIDERS, MARKED_KEY, MARKED_PAID
from core.payments.status import PAYABLE, SECURING_KINDS, AttemptStatus, RequestStatus
from core.status import GO_LIVE, ORDER_LIVE, OrderStatus

Query: TypeAlias = Select[*tuple[Any, ...]]  # a query of any columns
SHOWN = 5  # offending rows shown per check; the count says how many more there are


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str  # the offending rows when it failed, "" when it holds


@dataclass(frozen=True)
class Check:
    """An invariant: it holds when none of its queries returns a row."""

    name: str
    queries: Callable[[], Sequence[Query]]


# --- live lines, the truth the counters must equal ---------------------------------------


def _live_sum(*keys: Any) -> Any:
    """Units held by live orders, summed per ``keys`` (columns of order_lines or orders)."""
    return (
        select(*keys, func.sum(OrderLine.quantity).label("live"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(ORDER_LIVE))
        .group_by(*keys)
        .subquery()
    )


def _stock_reserved(table: type[Item] | type[Variant], key: Any, label: str) -> list[Query]:
    """An item's or a version's ``reserved`` equals the live lines that name it."""
    live = _live_sum(key)
    held = func.coalesce(live.c.live, 0)
    return [
        select(table.id.label(label), table.code, table.reserved, held.label("live_lines"))
        .outerjoin(live, live.c[key.key] == table.id)
        .where(table.reserved != held)
        .order_by(table.id)
    ]


def _items_reserved() -> list[Query]:
    return _stock_reserved(Item, OrderLine.item_id, "item")


def _variants_reserved() -> list[Query]:
    return _stock_reserved(Variant, OrderLine.variant_id, "variant")


def _go_reserved() -> list[Query]:
    live = _live_sum(Order.go_id)
    held = func.coalesce(live.c.live, 0)
    return [
        select(GroupOrder.code.label("go"), GroupOrder.reserved_units, held.label("live_lines"))
        .outerjoin(live, live.c.go_id == GroupOrder.id)
        .where(GroupOrder.reserved_units != held)
        .order_by(GroupOrder.id)
    ]


def _quotas_reserved() -> list[Query]:
    """Both ways: a quota row off its buyer's lines, and live lines with no quota row at all."""
    live = _live_sum(Order.go_id, Order.buyer_id)
    held = func.coalesce(live.c.live, 0)
    quota_off = (
        select(BuyerQuota.go_id.label("go"), BuyerQuota.buyer_id.label("buyer"), BuyerQuota.reserved)
        .add_columns(held.label("live_lines"))
        .outerjoin(live, and_(live.c.go_id == BuyerQuota.go_id, live.c.buyer_id == BuyerQuota.buyer_id))
        .where(BuyerQuota.reserved != held)
        .order_by(BuyerQuota.go_id, BuyerQuota.buyer_id)
    )
    no_quota = (
        select(live.c.go_id.label("go"), live.c.buyer_id.label("buyer"), literal(0).label("reserved"))
        .add_columns(live.c.live.label("live_lines"))
        .where(~exists().where(BuyerQuota.go_id == live.c.go_id, BuyerQuota.buyer_id == live.c.buyer_id))
        .order_by(live.c.go_id, live.c.buyer_id)
    )
    return [quota_off, no_quota]


def _within_limits() -> list[Query]:
    """Nothing negative, nothing past a GO's capacity, a stock or a per-buyer limit.

    The schema's CHECK constraints guard most of these on every write; this also catches
    a database restored or edited by hand, and the per-buyer limit, which has no constraint.
    """
    return [
        select(GroupOrder.code.label("go"), GroupOrder.reserved_units, GroupOrder.capacity)
        .where(or_(GroupOrder.reserved_units < 0, GroupOrder.reserved_units > GroupOrder.capacity))
        .order_by(GroupOrder.id),
        select(Item.id.label("item"), Item.code, Item.reserved, Item.stock)
        .where(or_(Item.reserved < 0, Item.reserved > Item.stock))
        .order_by(Item.id),
        select(Variant.id.label("variant"), Variant.code, Variant.reserved, Variant.stock)
        .where(or_(Variant.reserved < 0, Variant.reserved > Variant.stock))
        .order_by(Variant.id),
        select(
            GroupOrder.code.label("go"),
            BuyerQuota.buyer_id.label("buyer"),
            BuyerQuota.reserved,
            GroupOrder.per_buyer_limit,
        )
        .join(GroupOrder, GroupOrder.id == BuyerQuota.go_id)
        .where(or_(BuyerQuota.reserved < 0, BuyerQuota.reserved > GroupOrder.per_buyer_limit))
        .order_by(BuyerQuota.go_id, BuyerQuota.buyer_id),
    ]


def _live_orders_in_live_gos() -> list[Query]:
    """A failed or cancelled GO has given every order's slots back."""
    return [
        select(Order.number.label("order"), Order.status, GroupOrder.status.label("go_status"))
        .join(GroupOrder, GroupOrder.id == Order.go_id)
        .where(Order.status.in_(ORDER_LIVE), GroupOrder.status.not_in(GO_LIVE))
        .order_by(Order.id)
    ]


def _order_totals() -> list[Query]:
    lines = (
        select(
            OrderLine.order_id,
            func.sum(OrderLine.quantity).label("units"),
            # units stay as ordered (the reservation); the total is what is delivered
            func.sum((OrderLine.quantity - OrderLine.short_units) * OrderLine.unit_price_minor).label(
                "total"
            ),
        )
        .group_by(OrderLine.order_id)
        .subquery()
    )
    units, total = func.coalesce(lines.c.units, 0), func.coalesce(lines.c.total, 0)
    return [
        select(
            Order.number.label("order"),
            Order.units,
            units.label("line_units"),
            Order.total_minor,
            total.label("line_total_minor"),
        )
        .outerjoin(lines, lines.c.order_id == Order.id)
        .where(or_(Order.units != units, Order.total_minor != total))
        .order_by(Order.id)
    ]


# --- money ------------------------------------------------------------------------------


def _accepted_held_payment(request_id: Any) -> ColumnElement[bool]:
    """The GOM accepted a held payment (a different amount or currency) for this request."""
    return exists().where(
        Payment.request_id == request_id,
        Payment.status == AttemptStatus.SUCCEEDED,
        AuditEntry.entity == "payment",
        AuditEntry.entity_id == Payment.id,
        AuditEntry.action == "held",
    )


def _overpaid_by_proof(request_id: Any) -> ColumnElement[bool]:
    """A proof the GOM approved said more arrived than was owed: the excess is shown as
    overpaid (refund or credit due) beside the proof's own payment."""
    proof_payment, each, request = aliased(Payment), aliased(Payment), aliased(PaymentRequest)
    received = (
        select(func.sum(each.amount_minor))
        .where(each.request_id == request_id, each.status == AttemptStatus.SUCCEEDED)
        .scalar_subquery()
    )
    return exists().where(
        proof_payment.request_id == request_id,
        proof_payment.status == AttemptStatus.SUCCEEDED,
        proof_payment.idempotency_key.like("gf-proof-%"),
        request.id == request_id,
        request.amount_minor < received,
    )


def _short_delivered(request_id: Any) -> ColumnElement[bool]:
    """Units of the request's order went short after money arrived: what it received beyond
    its lowered amount is given back (a refund or store credit, each on record)."""
    request = aliased(PaymentRequest)
    return exists().where(
        request.id == request_id,
        OrderLine.order_id == request.order_id,
        OrderLine.short_units > 0,
    )


# Why a paid request's payments may differ from its amount, each a predicate on its id.
RECORDED_DIFFERENCES: list[Callable[[Any], ColumnElement[bool]]] = [
    _accepted_held_payment,
    _overpaid_by_proof,
    _short_delivered,
]


def _paid_requests_covered() -> list[Query]:
    """A paid request's succeeded payments add up to what it asked, unless the gap is on record."""
    paid = (
        select(Payment.request_id, func.sum(Payment.amount_minor - Payment.surcharge_minor).label("paid"))
        .where(Payment.status == AttemptStatus.SUCCEEDED)
        .group_by(Payment.request_id)
        .subquery()
    )
    received = func.coalesce(paid.c.paid, 0)
    recorded = [difference(PaymentRequest.id) for difference in RECORDED_DIFFERENCES]
    return [
        select(
            PaymentRequest.reference.label("request"),
            PaymentRequest.amount_minor,
            received.label("succeeded_minor"),
        )
        .outerjoin(paid, paid.c.request_id == PaymentRequest.id)
        .where(PaymentRequest.status == RequestStatus.PAID, PaymentRequest.amount_minor != received)
        .where(*(~r for r in recorded))
        .order_by(PaymentRequest.id)
    ]


def _paid_orders() -> list[Query]:
    """A paid order has a paid items request, and a paid items request never leaves its order unpaid."""
    paid_items = exists().where(
        PaymentRequest.order_id == Order.id,
        PaymentRequest.kind.in_(SECURING_KINDS),
        PaymentRequest.status == RequestStatus.PAID,
    )
    return [
        select(Order.number.label("order"), Order.status, literal("no paid items request").label("problem"))
        .where(Order.status == OrderStatus.PAID, ~paid_items)
        .order_by(Order.id),
        select(Order.number.label("order"), Order.status, PaymentRequest.reference.label("paid_request"))
        .join(PaymentRequest, PaymentRequest.order_id == Order.id)
        .where(
            PaymentRequest.kind.in_(SECURING_KINDS),
            PaymentRequest.status == RequestStatus.PAID,
            Order.status.in_([OrderStatus.PLACED, OrderStatus.EXPIRED]),
        )
        .order_by(Order.id),
    ]


def _taken_money_accounted() -> list[Query]:
    """Money taken pays a request of a live order (all of it, or part of one still owed),
    or a refund of it is recorded (due or sent).

    An order that ended after it was paid (cancelled, refunded) keeps its request paid
    until the refund goes out; the refund row is what says the money is owed back. A
    request still payable may hold part payments (a short proof, cash recorded with
    /markpaid), never as much as it asks: that much would have paid it.
    """
    refunded = exists().where(Refund.payment_id == Payment.id)
    each = aliased(Payment)
    received = (
        select(func.coalesce(func.sum(each.amount_minor - each.surcharge_minor), 0))
        .where(each.request_id == PaymentRequest.id, each.status == AttemptStatus.SUCCEEDED)
        .scalar_subquery()
    )
    part_paid = and_(PaymentRequest.status.in_(PAYABLE), received < PaymentRequest.amount_minor)
    return [
        select(
            Payment.id.label("payment"),
            Payment.provider,
            Payment.amount_minor,
            PaymentRequest.reference.label("request"),
            PaymentRequest.status.label("request_status"),
            Order.status.label("order_status"),
        )
        .join(PaymentRequest, PaymentRequest.id == Payment.request_id)
        .join(Order, Order.id == PaymentRequest.order_id)
        .where(
            Payment.status == AttemptStatus.SUCCEEDED,
            or_(
                and_(PaymentRequest.status != RequestStatus.PAID, ~part_paid),
                Order.status.not_in(ORDER_LIVE),
            ),
            ~refunded,
        )
        .order_by(Payment.id)
    ]


def _provider_events_once() -> list[Query]:
    """No provider's payment is counted twice, by its reference or by its charge.

    Manual payments are left out of the charge check: their charge reference is what the
    buyer typed, which may repeat.
    """
    counted = Payment.status.in_([AttemptStatus.SUCCEEDED, AttemptStatus.REFUNDED])
    return [
        select(Payment.provider, Payment.provider_ref, func.count().label("payments"))
        .where(counted, Payment.provider_ref.is_not(None))
        .group_by(Payment.provider, Payment.provider_ref)
        .having(func.count() > 1)
        .order_by(Payment.provider, Payment.provider_ref),
        select(Payment.provider, Payment.charge_ref, func.count().label("payments"))
        .where(counted, Payment.charge_ref.is_not(None), Payment.provider.not_in(MANUAL_PROVIDERS))
        .group_by(Payment.provider, Payment.charge_ref)
        .having(func.count() > 1)
        .order_by(Payment.provider, Payment.charge_ref),
    ]


def _recorded_by_hand_audited() -> list[Query]:
    """Money a GOM recorded by hand (/markpaid) names who recorded it: its audit row is
    written in the same transaction as the payment."""
    audited = exists().where(
        AuditEntry.entity == "payment",
        AuditEntry.entity_id == Payment.id,
        AuditEntry.action == MARKED_PAID,
    )
    return [
        select(Payment.id.label("payment"), Payment.amount_minor, Payment.status)
        .where(Payment.idempotency_key.like(f"{MARKED_KEY}%"), ~audited)
        .order_by(Payment.id)
    ]


# --- messages ---------------------------------------------------------------------------


def _outbox_settled() -> list[Query]:
    """Every message is sent, still to be sent (or in flight, or waiting for its recipient to
    write again), or failed with the reason why."""
    no_reason = or_(OutboxMessage.last_error.is_(None), func.trim(OutboxMessage.last_error) == "")
    return [
        select(OutboxMessage.id.label("message"), OutboxMessage.status, OutboxMessage.last_error)
        .where(
            or_(
                OutboxMessage.status.not_in(["pending", "waiting", "sent", "failed"]),
                and_(OutboxMessage.status == "failed", no_reason),
                and_(OutboxMessage.status == "sent", OutboxMessage.sent_at.is_(None)),
            )
        )
        .order_by(OutboxMessage.id)
    ]


def _inbound_handled() -> list[Query]:
    """Every update acknowledged to a platform was handled (a running gomflow works off the
    few just received; after a stop and a restart there are none)."""
    return [
        select(InboundUpdate.source, InboundUpdate.external_id, InboundUpdate.received_at)
        .where(InboundUpdate.handled_at.is_(None))
        .order_by(InboundUpdate.id)
    ]


def _pickup_slots_held() -> list[Query]:
    """A pickup slot's ``reserved`` equals the parcels collected in it, never over capacity."""
    held = (
        select(Parcel.slot_id, func.count().label("parcels"))
        .where(Parcel.slot_id.is_not(None))
        .group_by(Parcel.slot_id)
        .subquery()
    )
    parcels = func.coalesce(held.c.parcels, 0)
    return [
        select(
            PickupSlot.id.label("slot"), PickupSlot.reserved, PickupSlot.capacity, parcels.label("parcels")
        )
        .outerjoin(held, held.c.slot_id == PickupSlot.id)
        .where(or_(PickupSlot.reserved != parcels, PickupSlot.reserved > PickupSlot.capacity))
        .order_by(PickupSlot.id)
    ]


def _credit_balanced() -> list[Query]:
    """Each store credit balance is the sum of its entries, both ways (a balance row with
    no entries, entries with no balance row), and none is below zero."""
    entries = (
        select(
            StoreCreditEntry.buyer_id,
            StoreCreditEntry.gom_id,
            StoreCreditEntry.currency,
            func.sum(StoreCreditEntry.amount_minor).label("entries"),
        )
        .group_by(StoreCreditEntry.buyer_id, StoreCreditEntry.gom_id, StoreCreditEntry.currency)
        .subquery()
    )
    same = and_(
        entries.c.buyer_id == StoreCreditBalance.buyer_id,
        entries.c.gom_id == StoreCreditBalance.gom_id,
        entries.c.currency == StoreCreditBalance.currency,
    )
    summed = func.coalesce(entries.c.entries, 0)
    return [
        select(
            StoreCreditBalance.buyer_id.label("buyer"),
            StoreCreditBalance.gom_id.label("gom"),
            StoreCreditBalance.currency,
            StoreCreditBalance.balance_minor,
            summed.label("entries_minor"),
        )
        .outerjoin(entries, same)
        .where(or_(StoreCreditBalance.balance_minor != summed, StoreCreditBalance.balance_minor < 0))
        .order_by(StoreCreditBalance.buyer_id, StoreCreditBalance.gom_id),
        select(entries.c.buyer_id.label("buyer"), entries.c.gom_id.label("gom"), entries.c.currency)
        .add_columns(entries.c.entries.label("entries_minor"))
        .where(entries.c.entries != 0, ~exists().where(same))
        .order_by(entries.c.buyer_id, entries.c.gom_id),
    ]


CHECKS: list[Check] = [
    Check("items reserved = live lines", _items_reserved),
    Check("versions reserved = live lines", _variants_reserved),
    Check("group orders reserved = live lines", _go_reserved),
    Check("buyer quotas = live lines", _quotas_reserved),
    Check("within capacity, stock and limits", _within_limits),
    Check("live orders only in live group orders", _live_orders_in_live_gos),
    Check("order totals = lines", _order_totals),
    Check("paid requests = succeeded payments", _paid_requests_covered),
    Check("paid orders have a paid items request", _paid_orders),
    Check("money taken is paid for or refunded", _taken_money_accounted),
    Check("provider payments counted once", _provider_events_once),
    Check("money recorded by hand is audited", _recorded_by_hand_audited),
    Check("outbox rows sent, pending or failed with a reason", _outbox_settled),
    Check("inbound updates handled", _inbound_handled),
    Check("pickup slots reserved = parcels in them", _pickup_slots_held),
    Check("store credit balances = their entries", _credit_balanced),
]


# --- running ----------------------------------------------------------------------------


async def check_database(db: Database, checks: Sequence[Check] = CHECKS) -> list[CheckResult]:
    """Run every check in one read-only transaction, so all of them see the same moment.

    On PostgreSQL the transaction is REPEATABLE READ (one snapshot for every query); a
    SQLite read transaction in WAL mode sees one snapshot already.
    """
    await require_current_schema(db)
    results = []
    async with db.engine.connect() as connection:
        connection = await connection.execution_options(**{READ_ONLY: True})
        async with connection.begin():
            if not db.is_sqlite:
                await connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for check in checks:
                results.append(await _run(connection, check))
    return results


async def _run(connection: AsyncConnection, check: Check) -> CheckResult:
    shown: list[str] = []
    more = 0
    for query in check.queries():
        rows = (await connection.execute(query.limit(SHOWN + 1))).mappings().all()
        if len(rows) > SHOWN:
            # only a violation pays for counting its rows
            count = select(func.count()).select_from(query.order_by(None).subquery())
            more += int((await connection.execute(count)).scalar_one()) - SHOWN
            rows = rows[:SHOWN]
        shown.extend(" ".join(f"{key}={value}" for key, value in row.items()) for row in rows)
    if not shown:
        return CheckResult(check.name, True, "")
    detail = "; ".join(shown[:SHOWN])
    more += max(0, len(shown) - SHOWN)
    return CheckResult(check.name, False, detail + (f"; … and {more} more" if more else ""))


def database_for_check(url: str) -> Database:
    """Connect without creating anything: a SQLite file that is not there is an error,
    not a new empty database that would pass every check."""
    parsed = make_url(normalise_url(url))
    path = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and path not in ("", ":memory:") and not Path(path).is_file():
        raise DatabaseNotReady("There is no SQLite database at %(path)s.", path=path)
    return connect(url, pool_size=1)


async def require_current_schema(db: Database) -> None:
    """Refuse to check a database that Alembic has not brought to the newest schema."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())

    def current(sync: Connection) -> set[str]:
        return set(MigrationContext.configure(sync).get_current_heads())

    async with db.engine.connect() as connection:
        connection = await connection.execution_options(**{READ_ONLY: True})
        at = await connection.run_sync(current)
        await connection.rollback()
    if not at:
        raise DatabaseNotReady("The database has no gomflow schema; run `gomflow db upgrade` first.")
    if at != heads:
        raise DatabaseNotReady(
            (
                "The database is at revision %(at)s, not the newest (%(heads)s); run `gomflow db "
                "upgrade` first."
            ),
            at=", ".join(sorted(at)),
            heads=", ".join(sorted(heads)),
        )
