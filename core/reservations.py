"""Taking and giving back slots, stock and per-buyer quota — the only code that races.

Each limit is checked and taken by one conditional UPDATE on the row that holds it, in a
fixed order (group order, items, variants, buyer quota), so concurrent buyers serialise
on the group order row and can never deadlock or oversell (DESIGN rule 4). A refusal
gives back what the order had taken before it, then raises.

The work is written as plans (``core.db.raw``): the same statements run in the order
desk's batches and inside ordinary units of work.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from core.db.raw import Plan, Statement, run_session, sqlite_datetime
from core.errors import (
    BuyerLimitReached,
    CapacityFull,
    CatalogueChanged,
    DeadlinePassed,
    GomflowError,
    InvalidInput,
    NotOpenForOrders,
    OutOfStock,
    UnknownGroupOrder,
    UnknownItem,
)
from core.quantities import LineRequest, check_requests
from core.status import GOStatus, OrderStatus

NO_LIMIT = 2**31 - 1
PLACED = OrderStatus.PLACED.value


class GoLimits(Protocol):
    """What reserving needs to know of a group order (a row, or ``GoFacts``)."""

    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def per_buyer_limit(self) -> int | None: ...
    @property
    def catalogue_version(self) -> int: ...


@dataclass(frozen=True, slots=True)
class GoFacts:
    """A group order as the order path reads it, without an ORM session."""

    id: int
    code: str
    title: str
    currency: str
    timezone: str
    per_buyer_limit: int | None
    payment_window_hours: int
    delivery_options: bool = False  # the GOM offers ways to deliver: a buyer chooses one
    catalogue_version: int = 0  # as read with the catalogue; taking slots checks it still is
    # the GO runs under a stored policy, or its GOM bans someone: each order passes
    # ``core.gate.gate_plan`` (one statement) first; otherwise it costs nothing
    gated: bool = False
    language: str | None = None  # the GO's language for buyers who have none (GroupOrder.language)


@dataclass(frozen=True, slots=True)
class CatalogueVariant:
    id: int
    code: str
    name: str
    price_minor: int | None = None  # None: the item's price
    retired: bool = False


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    id: int
    code: str
    name: str
    price_minor: int
    retired: bool = False
    variants: list[CatalogueVariant] = field(default_factory=list)
    with_inclusions: bool = False  # random photocards or benefits a buyer may rank


@dataclass(frozen=True, slots=True)
class ResolvedLine:
    item_id: int
    variant_id: int | None
    quantity: int
    unit_price_minor: int
    label: str = ""
    token: str = ""
    with_inclusions: bool = False


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    id: int
    number: str
    status: str
    units: int
    total_minor: int
    currency: str
    payment_due_at: datetime


GO_FACTS = (
    "SELECT g.id, g.code, g.title, g.currency, g.timezone, g.per_buyer_limit, g.payment_window_hours, "
    "EXISTS (SELECT 1 FROM shipping_options s WHERE s.go_id = g.id), g.catalogue_version, "
    "EXISTS (SELECT 1 FROM go_policies p WHERE p.gom_id = g.gom_id AND p.go_id IN (0, g.id)) "
    "OR EXISTS (SELECT 1 FROM buyer_bans b WHERE b.gom_id = g.gom_id), g.language "
    "FROM group_orders g WHERE g.code = ?"
)
ITEMS = (
    "SELECT id, code, name, price_minor, retired, "
    "EXISTS (SELECT 1 FROM inclusions n WHERE n.item_id = items.id) "
    "FROM items WHERE go_id = ? ORDER BY position"
)
VARIANTS = (
    "SELECT v.id, v.item_id, v.code, v.name, v.price_minor, v.retired FROM variants v "
    "JOIN items i ON i.id = v.item_id "
    "WHERE i.go_id = ? ORDER BY v.position"
)
GO_TAKE = (
    "UPDATE group_orders SET reserved_units = reserved_units + ?, order_seq = order_seq + ? "
    "WHERE id = ? AND status = 'open' AND deadline > ? AND reserved_units + ? <= capacity "
    "AND catalogue_version = ? RETURNING order_seq"
)
GO_STATE = (
    "SELECT status, deadline, reserved_units, capacity, catalogue_version FROM group_orders WHERE id = ?"
)
TAKE = "UPDATE {table} SET reserved = reserved + ? WHERE id = ? AND (stock IS NULL OR reserved + ? <= stock)"
STOCK_STATE = "SELECT name, stock, reserved FROM {table} WHERE id = ?"
# formatted once, not once per order
_TAKES = (("items", TAKE.format(table="items"), False), ("variants", TAKE.format(table="variants"), True))
QUOTA_TAKE = (
    "INSERT INTO buyer_quotas (go_id, buyer_id, reserved) VALUES (?, ?, ?) "
    "ON CONFLICT (go_id, buyer_id) DO UPDATE SET reserved = buyer_quotas.reserved + excluded.reserved "
    "WHERE buyer_quotas.reserved + excluded.reserved <= ? RETURNING reserved"
)
QUOTA_STATE = "SELECT reserved FROM buyer_quotas WHERE go_id = ? AND buyer_id = ?"
GO_RELEASE = "UPDATE group_orders SET reserved_units = reserved_units - ? WHERE id = ?"
GO_GIVE_BACK = (
    "UPDATE group_orders SET reserved_units = reserved_units - ?, order_seq = order_seq - ? WHERE id = ?"
)
RELEASE = "UPDATE {table} SET reserved = reserved - ? WHERE id = ?"
QUOTA_RELEASE = "UPDATE buyer_quotas SET reserved = reserved - ? WHERE go_id = ? AND buyer_id = ?"
ORDER_INSERT = (
    "INSERT INTO orders (number, go_id, buyer_id, status, units, total_minor, currency, channel, "
    "placed_at, payment_due_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
LINE_INSERT = "INSERT INTO order_lines (order_id, item_id, variant_id, quantity, unit_price_minor) VALUES "
LINE_VALUES = "(?, ?, ?, ?, ?)"
LINE_ROW_INSERT = LINE_INSERT + LINE_VALUES
AUDIT_INSERT = (
    "INSERT INTO audit_log (at, actor_id, entity, entity_id, action, from_status, to_status, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def load_go_facts(go_code: str) -> Plan[GoFacts]:
    code = go_code.strip().upper()
    row = (yield Statement(GO_FACTS, (code,), "row")) if code else None
    if row is None:
        raise UnknownGroupOrder(
            "There is no group order %(code)s. /browse lists open ones.", code=code[:20] or "(none given)"
        )
    go_id, code, title, currency, timezone, limit, window, offers_delivery, version, gated, language = row
    return GoFacts(
        go_id,
        code,
        title,
        currency,
        timezone,
        limit,
        window,
        bool(offers_delivery),
        version,
        bool(gated),
        language,
    )


def load_catalogue_plan(go_id: int) -> Plan[list[CatalogueItem]]:
    items = {
        row[0]: CatalogueItem(row[0], row[1], row[2], row[3], bool(row[4]), with_inclusions=bool(row[5]))
        for row in (yield Statement(ITEMS, (go_id,), "rows"))
    }
    for variant_id, item_id, code, name, price, retired in (yield Statement(VARIANTS, (go_id,), "rows")):
        items[item_id].variants.append(CatalogueVariant(variant_id, code, name, price, bool(retired)))
    return list(items.values())


async def load_catalogue(session: AsyncSession, go_id: int) -> list[CatalogueItem]:
    return await run_session(session, load_catalogue_plan(go_id))


def resolve_lines(
    go: GoLimits, items: list[CatalogueItem], requests: list[LineRequest]
) -> list[ResolvedLine]:
    """Match typed codes to the GO's items; merge repeats of the same item and variant.

    Every path to an order passes here, so the quantities are checked here too.
    """
    check_requests(requests)
    by_code = {item.code: item for item in items}
    merged: dict[tuple[int, int | None], ResolvedLine] = {}
    for request in requests:
        item = by_code.get(request.item_code)
        if item is None:
            known = ", ".join(by_code) or "none yet"
            raise UnknownItem(
                "%(code)s has no item %(item_code)s (items: %(known)s).",
                code=go.code,
                item_code=request.item_code,
                known=known,
            )
        variant = _pick_variant(item, request.variant_code)
        key = (item.id, variant.id if variant else None)
        label = f"{item.name} ({variant.name})" if variant else item.name
        token = f"{item.code}:{variant.code}" if variant else item.code
        if item.retired or (variant is not None and variant.retired):
            raise NotOpenForOrders(
                "%(label)s is no longer offered in %(code)s. /go %(code)s shows what is.",
                label=label,
                code=go.code,
            )
        previous = merged.get(key)
        quantity = request.quantity + (previous.quantity if previous else 0)
        merged[key] = ResolvedLine(
            item.id, key[1], quantity, unit_price(item, variant), label, token, item.with_inclusions
        )
    return list(merged.values())


def unit_price(item: CatalogueItem, variant: CatalogueVariant | None) -> int:
    """A version's own price where it has one, else its item's."""
    if variant is not None and variant.price_minor is not None:
        return variant.price_minor
    return item.price_minor


def _pick_variant(item: CatalogueItem, code: str | None) -> CatalogueVariant | None:
    if not item.variants:
        if code is not None:
            raise InvalidInput(
                "%(code)s (%(name)s) has no versions; order it as %(code)s.", code=item.code, name=item.name
            )
        return None
    choices = ", ".join(f"{item.code}:{v.code}" for v in item.variants)
    if code is None:
        raise InvalidInput(
            "%(name)s comes in versions; pick one: %(choices)s.", name=item.name, choices=choices
        )
    for variant in item.variants:
        if variant.code == code:
            return variant
    raise UnknownItem(
        "%(name)s has no version %(code)s (choose from %(choices)s).",
        name=item.name,
        code=code,
        choices=choices,
    )


def reserve_plan(
    go: GoLimits, buyer_id: int, lines: list[ResolvedLine], now: datetime, *, new_order: bool = True
) -> Plan[int]:
    """Take every limit the lines need; returns the GO's order sequence number.

    A new order takes the next number; changing an order keeps its own. Refused, it gives
    back what it took before the refusal (its numbers read first), so the order desk needs
    no savepoint per order: the takes were conditional updates on rows its transaction now
    holds, which nobody else can have seen or used.
    """
    units, numbered = sum(line.quantity for line in lines), 1 if new_order else 0
    seq = yield Statement(GO_TAKE, (units, numbered, go.id, now, units, go.catalogue_version), "scalar")
    if seq is None:
        raise (yield from _group_order_refusal(go, units, now))
    taken: list[tuple[str, int, int]] = []
    for table, take, by_variant in _TAKES:
        for row_id, quantity in totals(lines, by_variant=by_variant):
            if (yield Statement(take, (quantity, row_id, quantity), "count")) != 1:
                refusal = yield from _stock_refusal(table, row_id, quantity)
                yield from _give_back(go.id, units, numbered, taken)
                raise refusal
            taken.append((table, row_id, quantity))
    limit = NO_LIMIT if go.per_buyer_limit is None else go.per_buyer_limit
    held = None if units > limit else (yield Statement(QUOTA_TAKE, (go.id, buyer_id, units, limit), "scalar"))
    if held is None:
        refusal = quota_refusal(go, (yield Statement(QUOTA_STATE, (go.id, buyer_id), "scalar")))
        yield from _give_back(go.id, units, numbered, taken)
        raise refusal
    return int(seq)


def _give_back(go_id: int, units: int, numbered: int, taken: list[tuple[str, int, int]]) -> Plan[None]:
    """Undo a refused order's takes: the GO's units and number, then each stock row's."""
    yield Statement(GO_GIVE_BACK, (units, numbered, go_id))
    for table, row_id, quantity in taken:
        yield Statement(RELEASE.format(table=table), (quantity, row_id))


def release_plan(go_id: int, buyer_id: int, lines: list[ResolvedLine]) -> Plan[None]:
    """Give back what ``reserve_plan`` took; unconditional, the order held it."""
    units = sum(line.quantity for line in lines)
    yield Statement(GO_RELEASE, (units, go_id))
    for table, by_variant in (("items", False), ("variants", True)):
        for row_id, quantity in totals(lines, by_variant=by_variant):
            yield Statement(RELEASE.format(table=table), (quantity, row_id))
    yield Statement(QUOTA_RELEASE, (units, go_id, buyer_id))


@dataclass(slots=True)
class BatchRows:
    """The lines and audit rows of a batch's orders, written together at its end.

    Nothing in an order reads them back, and no limit lives in them: they are written by
    one ``executemany`` each (one prepared statement stepped in C) instead of two
    statements per order, in the batch's transaction. Whoever collects them writes them
    before anything else in the transaction may read them, and before it commits."""

    lines: list[tuple[int, int, int | None, int, int]] = field(default_factory=list)
    audits: list[tuple[datetime, int, str, int, str, None, str, str]] = field(default_factory=list)

    def write(self) -> Plan[None]:
        if self.lines:
            yield Statement(LINE_ROW_INSERT, self.lines, "many")
            self.lines = []
        if self.audits:
            yield Statement(AUDIT_INSERT, self.audits, "many")
            self.audits = []


def place_plan(
    go: GoFacts,
    buyer_id: int,
    channel: str,
    lines: list[ResolvedLine],
    now: datetime,
    *,
    on_behalf: tuple[int, str] | None = None,
    later: BatchRows | None = None,
) -> Plan[PlacedOrder]:
    """Reserve, then write the order, its lines and its audit row; nothing if refused.

    ``on_behalf`` (who, what to say) is a GOM or helper placing it for the buyer: the audit
    row names them as the actor, so who placed it for whom is kept with the order.
    With ``later`` the lines and the audit row are left there for the batch to write."""
    seq = yield from reserve_plan(go, buyer_id, lines, now)
    number = f"{go.code}-{seq}"
    units = total = 0
    for line in lines:
        units += line.quantity
        total += line.quantity * line.unit_price_minor
    due = now + timedelta(hours=go.payment_window_hours)
    order_id = yield Statement(
        ORDER_INSERT,
        (number, go.id, buyer_id, PLACED, units, total, go.currency, channel, now, due, now),
        "scalar",
    )
    rows = BatchRows() if later is None else later
    rows.lines += [(order_id, x.item_id, x.variant_id, x.quantity, x.unit_price_minor) for x in lines]
    rows.audits.append(
        (
            now,
            on_behalf[0] if on_behalf else buyer_id,
            "order",
            order_id,
            "placed",
            None,
            PLACED,
            f"{units} units, {on_behalf[1]}" if on_behalf else f"{units} units",
        )
    )
    if later is None:
        yield from rows.write()
    return PlacedOrder(order_id, number, PLACED, units, total, go.currency, due)


async def reserve(
    session: AsyncSession,
    go: GoLimits,
    buyer_id: int,
    lines: list[ResolvedLine],
    now: datetime,
    *,
    new_order: bool = True,
) -> int:
    return await run_session(session, reserve_plan(go, buyer_id, lines, now, new_order=new_order))


async def release(session: AsyncSession, go_id: int, buyer_id: int, lines: list[ResolvedLine]) -> None:
    await run_session(session, release_plan(go_id, buyer_id, lines))


def totals(lines: list[ResolvedLine], *, by_variant: bool) -> list[tuple[int, int]]:
    """Quantities per row id, in id order so every transaction locks rows alike."""
    if len(lines) == 1:  # most orders: nothing to add up or sort
        line = lines[0]
        key = line.variant_id if by_variant else line.item_id
        return [] if key is None else [(key, line.quantity)]
    totals: dict[int, int] = defaultdict(int)
    for line in lines:
        key = line.variant_id if by_variant else line.item_id
        if key is not None:
            totals[key] += line.quantity
    return sorted(totals.items())


def _stock_refusal(table: str, row_id: int, quantity: int) -> Plan[GomflowError]:
    name, stock, reserved = yield Statement(STOCK_STATE.format(table=table), (row_id,), "row")
    return stock_refusal(name, stock, reserved, quantity)


def stock_refusal(name: str, stock: int | None, reserved: int, quantity: int) -> GomflowError:
    """Why an item or version could not give ``quantity``, from its row as it stood."""
    left = max(0, (stock or 0) - reserved)
    if left == 0:
        return OutOfStock("%(name)s is sold out. Use /waitlist to queue for a freed slot.", name=name)
    return OutOfStock(
        "Only %(left)s of %(name)s left; you asked for %(quantity)s.", left=left, name=name, quantity=quantity
    )


def quota_refusal(go: GoLimits, held_before: int | None) -> GomflowError:
    """Why the buyer's quota could not take more, from what they already hold."""
    limit = NO_LIMIT if go.per_buyer_limit is None else go.per_buyer_limit
    left = max(0, limit - (held_before or 0))
    return BuyerLimitReached(
        (
            "%(code)s allows %(per_buyer_limit)s per buyer; you hold %(held_before)s, so you "
            "can add %(left)s more."
        ),
        code=go.code,
        per_buyer_limit=go.per_buyer_limit,
        held_before=held_before or 0,
        left=left,
    )


def _group_order_refusal(go: GoLimits, units: int, now: datetime) -> Plan[GomflowError]:
    status, deadline, reserved, capacity, version = yield Statement(GO_STATE, (go.id,), "row")
    if isinstance(deadline, str):
        deadline = sqlite_datetime(deadline)
    return group_order_refusal(go, units, now, status, deadline, reserved, capacity, version)


def group_order_refusal(
    go: GoLimits,
    units: int,
    now: datetime,
    status: str,
    deadline: datetime,
    reserved: int,
    capacity: int,
    version: int,
) -> GomflowError:
    """Why the group order row refused ``units``, from the row as it stood."""
    if status != GOStatus.OPEN:
        return NotOpenForOrders("%(code)s is %(status)s, not taking orders.", code=go.code, status=status)
    if deadline <= now:
        return DeadlinePassed("%(code)s closed for orders at its deadline.", code=go.code)
    if version != go.catalogue_version:
        return CatalogueChanged(
            "%(code)s was changed by its GOM just now; check /go %(code)s and order again.", code=go.code
        )
    left = capacity - reserved
    if left <= 0:
        return CapacityFull(
            "%(code)s is full. Use /waitlist %(code)s ITEM QTY to queue for a freed slot.", code=go.code
        )
    return CapacityFull(
        "Only %(left)s slot(s) left in %(code)s; you asked for %(units)s.",
        left=left,
        code=go.code,
        units=units,
    )
