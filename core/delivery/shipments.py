"""Tracking numbers per parcel, and what a buyer sees of their parcels (``/track``).

Only a paid parcel ships: every live order of the buyer in the GO must be paid first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from core.db.models import Address, GroupOrder, Order, Parcel, PickupSlot, ShippingOption
from core.delivery.addresses import view_of
from core.delivery.carriers import Carrier, check_tracking, find_carrier
from core.delivery.fees import decode_tiers, parcel_fee
from core.delivery.options import OptionKind
from core.delivery.stages import stage_sentence
from core.errors import InvalidInput, OrderLocked
from core.lookups import load_order, lock_go
from core.money import format_money
from core.render import N_, Phrase
from core.services.accounts import Actor, require_admin
from core.status import ORDER_LIVE, OrderStatus
from core.uow import UnitOfWork
from core.when import local_text


@dataclass(frozen=True)
class ShipmentView:
    go_code: str
    orders: tuple[str, ...]
    buyer: str
    carrier: str
    tracking: str
    url: str


@dataclass(frozen=True)
class TrackView:
    go_code: str
    go_title: str
    stage: str
    orders: tuple[str, ...]
    option: str  # "" while the buyer has not chosen
    pickup: str  # "Bugis MRT exit C · Sat 12 Dec 2026, 14:00 +08"
    address: str
    fee: str
    carrier: str
    tracking: str
    url: str


async def ship(
    uow: UnitOfWork,
    actor: Actor,
    number: str,
    carrier_text: str,
    tracking_text: str,
    carriers: Mapping[str, Carrier],
) -> ShipmentView:
    carrier = find_carrier(carriers, carrier_text)
    tracking = check_tracking(tracking_text)
    async with uow:
        found = await load_order(uow, number, lock=True)  # its GO first, then the order
        go = await lock_go(uow, found.go_id)
        await require_admin(uow, actor, go)
        parcel, orders = await shippable_parcel(uow, go, found)
        view = await record_shipment(uow, actor, go, parcel, orders, carrier, tracking)
        await uow.commit()
        return view


async def shippable_parcel(uow: UnitOfWork, go: GroupOrder, found: Order) -> tuple[Parcel, list[Order]]:
    """The parcel holding ``found``, locked, with its live orders; refused unless every one
    of them is paid and the parcel goes by carrier (a pickup has no tracking number)."""
    if found.go_id != go.id:
        raise InvalidInput("%(number)s is not an order of %(code)s.", number=found.number, code=go.code)
    if found.status not in ORDER_LIVE:
        raise OrderLocked(
            "%(number)s is %(status)s; there is nothing to ship.", number=found.number, status=found.status
        )
    orders = list(
        (
            await uow.session.scalars(
                select(Order)
                .where(Order.go_id == go.id, Order.buyer_id == found.buyer_id, Order.status.in_(ORDER_LIVE))
                .order_by(Order.id)
            )
        ).all()
    )
    unpaid = [o.number for o in orders if o.status != OrderStatus.PAID]
    if unpaid:
        raise OrderLocked(
            "%(unpaid)s is not paid yet; a parcel ships only once every order in it is paid.",
            unpaid=", ".join(unpaid),
        )
    parcel = await uow.session.scalar(
        select(Parcel)
        .where(Parcel.go_id == go.id, Parcel.buyer_id == found.buyer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if parcel is None:
        raise InvalidInput(
            "The buyer of %(number)s has not chosen a delivery option yet.", number=found.number
        )
    option = await uow.session.get_one(ShippingOption, parcel.option_id)
    if option.kind == OptionKind.PICKUP:
        raise InvalidInput(
            "%(number)s is collected at a pickup; it gets no tracking number.", number=found.number
        )
    return parcel, orders


async def record_shipment(
    uow: UnitOfWork,
    actor: Actor,
    go: GroupOrder,
    parcel: Parcel,
    orders: list[Order],
    carrier: Carrier,
    tracking: str,
) -> ShipmentView:
    """Write the tracking number on the parcel and queue the buyer's message."""
    parcel.carrier = carrier.key
    parcel.tracking = tracking
    parcel.shipped_at = uow.now
    parcel.updated_at = uow.now
    first = orders[0]
    uow.audit(
        actor_id=actor.user_id,
        entity="order",
        entity_id=first.id,
        action="shipped",
        detail=f"{carrier.key} {tracking}",
    )
    numbers = tuple(o.number for o in orders)
    view = ShipmentView(go.code, numbers, "", carrier.name, tracking, carrier.url(tracking))
    await uow.notify_user(
        first.buyer_id,
        "parcel_shipped",
        {
            "code": go.code,
            "title": go.title,
            "orders": list(numbers),
            "carrier": carrier.name,
            "tracking": tracking,
            "url": view.url,
        },
        prefer_channel=first.channel,
        dedupe_key=f"shipped:{parcel.id}:{tracking}",
    )
    return view


async def track(uow: UnitOfWork, buyer: Actor, carriers: Mapping[str, Carrier]) -> list[TrackView]:
    """Each GO the buyer has live orders in: its stage and how their parcel reaches them."""
    async with uow:
        orders = (
            await uow.session.scalars(
                select(Order)
                .where(Order.buyer_id == buyer.user_id, Order.status.in_(ORDER_LIVE))
                .order_by(Order.go_id, Order.id)
            )
        ).all()
        views = []
        for go_id in dict.fromkeys(o.go_id for o in orders):
            go = await uow.session.get_one(GroupOrder, go_id)
            numbers = tuple(o.number for o in orders if o.go_id == go_id)
            views.append(await _track_one(uow, go, buyer.user_id, numbers, carriers))
        return views


async def _track_one(
    uow: UnitOfWork, go: GroupOrder, buyer_id: int, numbers: tuple[str, ...], carriers: Mapping[str, Carrier]
) -> TrackView:
    parcel = await uow.session.scalar(
        select(Parcel).where(Parcel.go_id == go.id, Parcel.buyer_id == buyer_id)
    )
    option_name = pickup = address = fee = carrier_name = tracking = url = ""
    if parcel is not None:
        option = await uow.session.get_one(ShippingOption, parcel.option_id)
        option_name = option.name
        amount = parcel_fee(option.fee_minor, decode_tiers(option.tiers), parcel.weight_grams)
        fee = Phrase(N_("to be set once weighed")) if amount is None else format_money(amount, go.currency)
        if parcel.slot_id is not None:
            slot = await uow.session.get_one(PickupSlot, parcel.slot_id)
            pickup = f"{slot.place} · {local_text(slot.starts_at, go.timezone)}"
        if parcel.address_id is not None:
            address = view_of(await uow.session.get_one(Address, parcel.address_id)).one_line
        if parcel.tracking and parcel.carrier:
            carrier = carriers.get(parcel.carrier)
            carrier_name = carrier.name if carrier else parcel.carrier
            tracking = parcel.tracking
            url = carrier.url(parcel.tracking) if carrier else ""
    return TrackView(
        go.code,
        go.title,
        stage_sentence(go.status),
        numbers,
        option_name,
        pickup,
        address,
        fee,
        carrier_name,
        tracking,
        url,
    )
