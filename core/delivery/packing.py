"""The packing list of a GO: every buyer's parcel with its orders, lines and destination.

As CSV (one row per order line) for a spreadsheet: UTF-8 with a BOM, every cell quoted and
CRLF line ends, so names in Korean, Thai or Vietnamese open as typed. As a printable page
(``printable``): one block per parcel and one sheet per pickup slot. Addresses are in both,
so only the GO's GOM and helpers may have them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select

from core.db.models import (
    Address,
    GroupOrder,
    Item,
    Order,
    OrderLine,
    Parcel,
    PickupSlot,
    ShippingOption,
    User,
    Variant,
)
from core.delivery.addresses import AddressView, view_of
from core.delivery.fees import decode_tiers, parcel_fee
from core.errors import InvalidInput
from core.lookups import load_go
from core.money import format_money, minor_to_plain
from core.services.accounts import Actor, require_admin
from core.services.reports import SPREADSHEET, safe_cell
from core.status import ORDER_LIVE, OrderStatus
from core.uow import UnitOfWork
from core.when import local_text

PACKING_COLUMNS = (
    "buyer",
    "order",
    "item",
    "version",
    "quantity",
    "option",
    "address or pickup slot",
    "phone",
    "shipping fee",
    "paid",
    "carrier",
    "tracking",
)
NOT_CHOSEN = "(not chosen)"


@dataclass(frozen=True)
class PackedLine:
    item: str
    version: str
    quantity: int


@dataclass(frozen=True)
class PackedOrder:
    number: str
    paid: bool
    lines: tuple[PackedLine, ...]


@dataclass(frozen=True)
class PackedParcel:
    buyer: str
    orders: tuple[PackedOrder, ...]
    option: str
    address: AddressView | None
    slot_id: int | None
    pickup: str
    fee: str  # "" while a weight-tiered parcel is not weighed
    fee_plain: str
    carrier: str
    tracking: str

    @property
    def paid(self) -> bool:
        return all(o.paid for o in self.orders)

    @property
    def units(self) -> int:
        return sum(line.quantity for o in self.orders for line in o.lines)


@dataclass(frozen=True)
class PickupSheet:
    option: str
    place: str
    starts: str
    capacity: int
    parcels: tuple[PackedParcel, ...]


@dataclass(frozen=True)
class PackingView:
    go_code: str
    title: str
    parcels: tuple[PackedParcel, ...]
    sheets: tuple[PickupSheet, ...]


async def packing_list_csv(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[str, bytes]:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        view = await packing_view(uow, go)
    buffer = io.StringIO()
    writer = csv.writer(buffer, SPREADSHEET)
    writer.writerow(PACKING_COLUMNS)
    for parcel in view.parcels:
        where = parcel.pickup or (parcel.address.label if parcel.address else "")
        phone = parcel.address.phone if parcel.address else ""
        for order in parcel.orders:
            for line in order.lines:
                cells = (
                    parcel.buyer,
                    order.number,
                    line.item,
                    line.version,
                    line.quantity,
                    parcel.option,
                    where,
                    phone,
                    parcel.fee_plain,
                    "yes" if order.paid else "no",
                    parcel.carrier,
                    parcel.tracking,
                )
                writer.writerow([safe_cell(c) for c in cells])
    return f"{go.code}-packing.csv", b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


async def packing_view(uow: UnitOfWork, go: GroupOrder) -> PackingView:
    """Every live order of the GO, gathered into its buyer's parcel, buyers by name."""
    rows = (
        await uow.session.execute(
            # what arrived: units that went short (a shortfall) are not packed
            select(
                User.display_name, Order, Item.name, Variant.name, OrderLine.quantity - OrderLine.short_units
            )
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Item, Item.id == OrderLine.item_id)
            .outerjoin(Variant, Variant.id == OrderLine.variant_id)
            .join(User, User.id == Order.buyer_id)
            .where(
                Order.go_id == go.id, Order.status.in_(ORDER_LIVE), OrderLine.quantity > OrderLine.short_units
            )
            .order_by(User.display_name, Order.buyer_id, Order.id, OrderLine.id)
        )
    ).all()
    parcels = {p.buyer_id: p for p in await uow.session.scalars(select(Parcel).where(Parcel.go_id == go.id))}
    options = {
        o.id: o
        for o in await uow.session.scalars(
            select(ShippingOption).where(ShippingOption.go_id == go.id).order_by(ShippingOption.position)
        )
    }
    slots = {
        s.id: s
        for s in await uow.session.scalars(
            select(PickupSlot)
            .where(PickupSlot.option_id.in_(list(options)))
            .order_by(PickupSlot.option_id, PickupSlot.position)
        )
    }
    address_ids = [p.address_id for p in parcels.values() if p.address_id is not None]
    found = await uow.session.scalars(select(Address).where(Address.id.in_(address_ids)))
    addresses = {a.id: view_of(a) for a in found}

    by_buyer: dict[int, tuple[str, dict[str, tuple[bool, list[PackedLine]]]]] = {}
    for buyer, order, item, variant, quantity in rows:
        _, orders = by_buyer.setdefault(order.buyer_id, (buyer, {}))
        _, lines = orders.setdefault(order.number, (order.status == OrderStatus.PAID, []))
        lines.append(PackedLine(item, variant or "", quantity))
    packed = []
    for buyer_id, (buyer, orders) in by_buyer.items():
        packed_orders = tuple(PackedOrder(n, paid, tuple(lines)) for n, (paid, lines) in orders.items())
        packed.append(_parcel(go, buyer, packed_orders, parcels.get(buyer_id), options, slots, addresses))
    sheets = tuple(
        PickupSheet(
            options[slot.option_id].name,
            slot.place,
            local_text(slot.starts_at, go.timezone),
            slot.capacity,
            tuple(p for p in packed if p.slot_id == slot.id),
        )
        for slot in slots.values()
    )
    return PackingView(go.code, go.title, tuple(packed), sheets)


def _parcel(
    go: GroupOrder,
    buyer: str,
    orders: tuple[PackedOrder, ...],
    parcel: Parcel | None,
    options: dict[int, ShippingOption],
    slots: dict[int, PickupSlot],
    addresses: dict[int, AddressView],
) -> PackedParcel:
    if parcel is None:
        return PackedParcel(buyer, orders, NOT_CHOSEN, None, None, "", "", "", "", "")
    option = options[parcel.option_id]
    slot = slots.get(parcel.slot_id) if parcel.slot_id is not None else None
    pickup = f"{slot.place} · {local_text(slot.starts_at, go.timezone)}" if slot else ""
    address = addresses.get(parcel.address_id) if parcel.address_id is not None else None
    try:
        amount = parcel_fee(option.fee_minor, decode_tiers(option.tiers), parcel.weight_grams)
    except InvalidInput:  # heavier than its tiers: the GOM enters the fee by hand
        amount = None
    return PackedParcel(
        buyer,
        orders,
        option.name,
        address,
        parcel.slot_id,
        pickup,
        "" if amount is None else format_money(amount, go.currency),
        "" if amount is None else minor_to_plain(amount, go.currency),
        parcel.carrier or "",
        parcel.tracking or "",
    )
