"""The packing list of a GO: one row per order line, with how its parcel goes out.

UTF-8 with a BOM, every cell quoted and CRLF line ends, so a spreadsheet opens names in
Korean, Thai or Vietnamese as they were typed. Addresses are in it, so only the GO's GOM
and helpers may have it.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from core.db.models import Address, Item, Order, OrderLine, Parcel, PickupSlot, ShippingOption, User, Variant
from core.delivery.addresses import view_of
from core.delivery.fees import decode_tiers, parcel_fee
from core.lookups import load_go
from core.money import minor_to_plain
from core.services.accounts import Actor, require_admin
from core.services.reports import SPREADSHEET, safe_cell
from core.status import ORDER_LIVE
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


async def packing_list_csv(uow: UnitOfWork, actor: Actor, go_code: str) -> tuple[str, bytes]:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        rows = (
            await uow.session.execute(
                select(User.display_name, Order, Item.name, Variant.name, OrderLine.quantity)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .join(Item, Item.id == OrderLine.item_id)
                .outerjoin(Variant, Variant.id == OrderLine.variant_id)
                .join(User, User.id == Order.buyer_id)
                .where(Order.go_id == go.id, Order.status.in_(ORDER_LIVE))
                .order_by(User.display_name, Order.buyer_id, Order.id, OrderLine.id)
            )
        ).all()
        parcels = {
            p.buyer_id: p for p in await uow.session.scalars(select(Parcel).where(Parcel.go_id == go.id))
        }
        options = {
            o.id: o
            for o in await uow.session.scalars(select(ShippingOption).where(ShippingOption.go_id == go.id))
        }
        slots = {
            s.id: s
            for s in await uow.session.scalars(
                select(PickupSlot).where(PickupSlot.option_id.in_(list(options)))
            )
        }
        address_ids = [p.address_id for p in parcels.values() if p.address_id is not None]
        addresses = {
            a.id: view_of(a)
            for a in await uow.session.scalars(select(Address).where(Address.id.in_(address_ids)))
        }
    buffer = io.StringIO()
    writer = csv.writer(buffer, SPREADSHEET)
    writer.writerow(PACKING_COLUMNS)
    for buyer, order, item, variant, quantity in rows:
        parcel = parcels.get(order.buyer_id)
        option = options.get(parcel.option_id) if parcel else None
        where = phone = fee = ""
        if parcel is not None and option is not None:
            if parcel.slot_id is not None:
                slot = slots[parcel.slot_id]
                where = f"{slot.place} · {local_text(slot.starts_at, go.timezone)}"
            elif parcel.address_id is not None:
                where = addresses[parcel.address_id].label
                phone = addresses[parcel.address_id].phone
            amount = parcel_fee(option.fee_minor, decode_tiers(option.tiers), parcel.weight_grams)
            fee = "" if amount is None else minor_to_plain(amount, go.currency)
        cells = (
            buyer,
            order.number,
            item,
            variant or "",
            quantity,
            option.name if option else "(not chosen)",
            where,
            phone,
            fee,
            "yes" if order.status == "paid" else "no",
            (parcel.carrier or "") if parcel else "",
            (parcel.tracking or "") if parcel else "",
        )
        writer.writerow([safe_cell(c) for c in cells])
    return f"{go.code}-packing.csv", b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
