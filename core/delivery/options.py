"""Shipping options and pickup slots of a GO, and each buyer's choice of one.

A pickup slot is taken like stock: one conditional UPDATE
(``reserved = reserved + 1 WHERE reserved + 1 <= capacity``) settles who got the last
place; why a buyer was refused is worked out afterwards (DESIGN rule 4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, func, select, update

from core.db.models import Address, GroupOrder, Order, Parcel, PickupSlot, ShippingOption
from core.db.upsert import insert_ignoring_conflict
from core.delivery.addresses import AddressView, view_of
from core.delivery.fees import decode_tiers, describe_fee, encode_tiers, parse_tiers
from core.errors import CapacityFull, Conflict, DuplicateCode, InvalidInput, NotFound, UnknownGroupOrder
from core.lookups import load_go
from core.money import parse_amount
from core.services.accounts import Actor, is_admin_of, require_admin
from core.status import ORDER_LIVE, GOStatus
from core.uow import UnitOfWork
from core.when import local_text, parse_when

OPTION_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,19}")
MAX_OPTIONS = 10
MAX_SLOTS = 50
MAX_SLOT_CAPACITY = 10_000
# Until the parcels go out a buyer may still choose or change how theirs reaches them.
CHOOSING = frozenset(
    {GOStatus.OPEN, GOStatus.CLOSED, GOStatus.CONFIRMED, GOStatus.ORDERED, GOStatus.ARRIVED, GOStatus.PACKING}
)


class OptionKind(StrEnum):
    PICKUP = "pickup"
    COURIER = "courier"
    REGISTERED = "registered"
    MAIL = "mail"

    @property
    def needs_address(self) -> bool:
        return self is not OptionKind.PICKUP


@dataclass(frozen=True)
class NewOption:
    go_code: str
    code: str
    kind: str
    name: str
    fee: str = "0"
    tiers: str = ""


@dataclass(frozen=True)
class SlotView:
    number: int
    place: str
    starts: str
    capacity: int
    taken: int

    @property
    def left(self) -> int:
        return self.capacity - self.taken


@dataclass(frozen=True)
class OptionView:
    code: str
    kind: str
    name: str
    fee: str
    slots: tuple[SlotView, ...]


@dataclass(frozen=True)
class OptionsView:
    go_code: str
    title: str
    options: tuple[OptionView, ...]


@dataclass(frozen=True)
class ChoiceView:
    go_code: str
    option: OptionView
    slot: SlotView | None
    address: AddressView | None


def parse_kind(text: str) -> OptionKind:
    try:
        return OptionKind(text.strip().lower())
    except ValueError:
        kinds = ", ".join(k.value for k in OptionKind)
        raise InvalidInput("The kind of option must be one of: %(kinds)s.", kinds=kinds) from None


def option_code(text: str) -> str:
    code = text.strip().upper()
    if not OPTION_CODE.fullmatch(code):
        raise InvalidInput(
            "'%(text)s' is not an option code: letters, digits, - or _, up to 20.", text=text[:20]
        )
    return code


async def add_option(uow: UnitOfWork, actor: Actor, new: NewOption) -> OptionsView:
    code = option_code(new.code)
    kind = parse_kind(new.kind)
    name = " ".join(new.name.split())
    if not name or len(name) > 120:
        raise InvalidInput('Give the option a name of at most 120 characters, like "Meet-up at Bugis".')
    async with uow:
        go = await load_go(uow, new.go_code, lock=True)
        await require_admin(uow, actor, go)
        fee = parse_amount(new.fee, go.currency)
        tiers = parse_tiers(new.tiers, go.currency)
        existing = (
            await uow.session.scalars(select(ShippingOption.code).where(ShippingOption.go_id == go.id))
        ).all()
        if code in existing:
            raise DuplicateCode("%(code)s already has an option %(code2)s.", code=go.code, code2=code)
        if len(existing) >= MAX_OPTIONS:
            raise InvalidInput("A GO has at most %(max_options)s shipping options.", max_options=MAX_OPTIONS)
        uow.session.add(
            ShippingOption(
                go_id=go.id,
                code=code,
                kind=kind.value,
                name=name,
                fee_minor=fee,
                tiers=encode_tiers(tiers),
                position=len(existing) + 1,
                created_at=uow.now,
            )
        )
        await uow.session.flush()
        uow.audit(actor_id=actor.user_id, entity="group_order", entity_id=go.id, action=f"option {code}")
        view = await _options_view(uow, go)
        await uow.commit()
        return view


async def add_slot(
    uow: UnitOfWork, actor: Actor, go_code: str, code: str, when: str, capacity: int, place: str
) -> OptionsView:
    place = " ".join(place.split())
    if not place or len(place) > 200:
        raise InvalidInput("Say where the pickup is (at most 200 characters).")
    if not 1 <= capacity <= MAX_SLOT_CAPACITY:
        raise InvalidInput(
            "A slot holds between 1 and %(max_slot_capacity)s buyers.",
            max_slot_capacity=format(MAX_SLOT_CAPACITY, ","),
        )
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        option = await _option(uow, go, code)
        if option.kind != OptionKind.PICKUP:
            raise InvalidInput(
                "%(code)s is %(kind)s; only a pickup option has time slots.",
                code=option.code,
                kind=option.kind,
            )
        starts_at = parse_when(when, go.timezone, uow.now)
        count = await uow.session.scalar(
            select(func.count()).select_from(PickupSlot).where(PickupSlot.option_id == option.id)
        )
        if (count or 0) >= MAX_SLOTS:
            raise InvalidInput("An option has at most %(max_slots)s slots.", max_slots=MAX_SLOTS)
        uow.session.add(
            PickupSlot(
                option_id=option.id,
                position=(count or 0) + 1,
                place=place,
                starts_at=starts_at,
                capacity=capacity,
                reserved=0,
            )
        )
        await uow.session.flush()
        view = await _options_view(uow, go)
        await uow.commit()
        return view


async def list_options(uow: UnitOfWork, viewer: Actor, go_code: str) -> OptionsView:
    """A GO's options and slots; a draft's exist only for its GOM and helpers (as ``/go``)."""
    async with uow:
        go = await load_go(uow, go_code)
        if go.status == GOStatus.DRAFT and not await is_admin_of(uow, viewer, go):
            raise UnknownGroupOrder(
                "There is no group order %(code)s. /browse lists open ones.", code=go.code
            )
        return await _options_view(uow, go)


async def choose(
    uow: UnitOfWork, buyer: Actor, go_code: str, code: str, number: int | None = None
) -> ChoiceView:
    """The buyer's parcel in this GO goes by option ``code``: at pickup slot ``number``, or to
    address ``#number`` (their newest address when none is named).

    Choosing again moves the parcel: a new slot is taken before the old one is given back.
    """
    async with uow:
        go = await load_go(uow, go_code)
        if go.status not in CHOOSING:
            raise InvalidInput(
                "%(code)s is %(status)s; its delivery can no longer be chosen.",
                code=go.code,
                status=go.status,
            )
        live = await uow.session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.go_id == go.id, Order.buyer_id == buyer.user_id, Order.status.in_(ORDER_LIVE))
        )
        if not live:
            raise InvalidInput(
                "You have no order in %(code)s; order first, then choose delivery.", code=go.code
            )
        option = await _option(uow, go, code)
        slot, address = None, None
        if option.kind == OptionKind.PICKUP:
            slot = await _slot(uow, option, number)
        else:
            address = await _address(uow, buyer, number)
        parcel = await _claim_parcel(uow, go, buyer, option.id)
        if slot is not None and parcel.slot_id != slot.id:
            await _take_slot(uow, go, option, slot)
        if parcel.slot_id is not None and (slot is None or parcel.slot_id != slot.id):
            await uow.session.execute(
                update(PickupSlot)
                .where(PickupSlot.id == parcel.slot_id, PickupSlot.reserved > 0)
                .values(reserved=PickupSlot.reserved - 1)
            )
        parcel.option_id = option.id
        parcel.slot_id = slot.id if slot is not None else None
        parcel.address_id = address.id if address is not None else None
        parcel.updated_at = uow.now
        await uow.session.flush()
        taken = await _fresh_slot(uow, slot)
        view = ChoiceView(
            go.code,
            _option_view(go, option, []),
            _slot_view(go, taken) if taken is not None else None,
            view_of(address) if address is not None else None,
        )
        await uow.commit()
        return view


async def _claim_parcel(uow: UnitOfWork, go: GroupOrder, buyer: Actor, option_id: int) -> Parcel:
    """The buyer's parcel in ``go``, created if need be, locked: one buyer's two choices take turns."""
    await uow.session.execute(
        insert_ignoring_conflict(
            uow.session,
            Parcel,
            {
                "go_id": go.id,
                "buyer_id": buyer.user_id,
                "option_id": option_id,
                "created_at": uow.now,
                "updated_at": uow.now,
            },
            ["go_id", "buyer_id"],
        )
    )
    parcel = await uow.session.scalar(
        select(Parcel)
        .where(Parcel.go_id == go.id, Parcel.buyer_id == buyer.user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert parcel is not None
    if parcel.shipped_at is not None:
        raise Conflict("Your %(code)s parcel has already been sent; ask the GOM to change it.", code=go.code)
    return parcel


async def _take_slot(uow: UnitOfWork, go: GroupOrder, option: ShippingOption, slot: PickupSlot) -> None:
    take = (
        update(PickupSlot)
        .where(PickupSlot.id == slot.id, PickupSlot.reserved + 1 <= PickupSlot.capacity)
        .values(reserved=PickupSlot.reserved + 1)
    )
    taken = await uow.session.execute(take)
    if taken.rowcount != 1 and await _free_abandoned_places(uow, go, slot):  # type: ignore[attr-defined]
        taken = await uow.session.execute(take)
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise CapacityFull(
            (
                "Slot %(position)s of %(code)s (%(local_text)s) is full. /delivery %(code2)s "
                "shows slots with room."
            ),
            position=slot.position,
            code=option.code,
            local_text=local_text(slot.starts_at, go.timezone),
            code2=go.code,
        )


async def _free_abandoned_places(uow: UnitOfWork, go: GroupOrder, slot: PickupSlot) -> int:
    """Give back the places of a full slot held by buyers whose orders have all ended
    (cancelled, expired, refunded): their parcels go, and the counter drops by as many as
    were deleted here (a concurrent caller that deleted them first frees nothing twice)."""
    live = (
        select(Order.id)
        .where(Order.go_id == go.id, Order.buyer_id == Parcel.buyer_id, Order.status.in_(ORDER_LIVE))
        .exists()
    )
    gone = await uow.session.execute(
        delete(Parcel)
        .where(Parcel.slot_id == slot.id, Parcel.shipped_at.is_(None), ~live)
        .execution_options(synchronize_session=False)
    )
    freed = int(gone.rowcount)  # type: ignore[attr-defined]
    if freed:
        await uow.session.execute(
            update(PickupSlot).where(PickupSlot.id == slot.id).values(reserved=PickupSlot.reserved - freed)
        )
    return freed


async def _fresh_slot(uow: UnitOfWork, slot: PickupSlot | None) -> PickupSlot | None:
    if slot is None:
        return None
    return await uow.session.get_one(PickupSlot, slot.id, populate_existing=True)


async def _option(uow: UnitOfWork, go: GroupOrder, code: str) -> ShippingOption:
    cleaned = code.strip().upper()
    option = await uow.session.scalar(
        select(ShippingOption).where(ShippingOption.go_id == go.id, ShippingOption.code == cleaned)
    )
    if option is None:
        raise NotFound(
            "%(code)s has no shipping option %(cleaned)s. /delivery %(code)s lists them.",
            code=go.code,
            cleaned=cleaned[:20],
        )
    return option


async def _slot(uow: UnitOfWork, option: ShippingOption, number: int | None) -> PickupSlot:
    if number is None:
        raise InvalidInput("Which pickup slot? Add its number, like /deliver … %(code)s 1.", code=option.code)
    slot = await uow.session.scalar(
        select(PickupSlot).where(PickupSlot.option_id == option.id, PickupSlot.position == number)
    )
    if slot is None:
        raise NotFound("%(code)s has no slot %(number)s.", code=option.code, number=number)
    return slot


async def _address(uow: UnitOfWork, buyer: Actor, number: int | None) -> Address:
    query = select(Address).where(Address.user_id == buyer.user_id)
    query = query.where(Address.id == number) if number is not None else query.order_by(Address.id.desc())
    address = await uow.session.scalar(query.limit(1))
    if address is None:
        if number is not None:
            raise NotFound("You have no address #%(number)s. /address lists yours.", number=number)
        raise InvalidInput("This option is delivered to an address: add one first with /address add.")
    return address


async def _options_view(uow: UnitOfWork, go: GroupOrder) -> OptionsView:
    options = (
        await uow.session.scalars(
            select(ShippingOption).where(ShippingOption.go_id == go.id).order_by(ShippingOption.position)
        )
    ).all()
    slots = (
        await uow.session.scalars(
            select(PickupSlot)
            .where(PickupSlot.option_id.in_([o.id for o in options]))
            .order_by(PickupSlot.position)
        )
    ).all()
    views = tuple(_option_view(go, o, [s for s in slots if s.option_id == o.id]) for o in options)
    return OptionsView(go.code, go.title, views)


def _option_view(go: GroupOrder, option: ShippingOption, slots: list[PickupSlot]) -> OptionView:
    fee = describe_fee(option.fee_minor, decode_tiers(option.tiers), go.currency)
    return OptionView(option.code, option.kind, option.name, fee, tuple(_slot_view(go, s) for s in slots))


def _slot_view(go: GroupOrder, slot: PickupSlot) -> SlotView:
    return SlotView(
        slot.position, slot.place, _local(slot.starts_at, go.timezone), slot.capacity, slot.reserved
    )


def _local(moment: datetime, tz: str) -> str:
    return local_text(moment, tz)
