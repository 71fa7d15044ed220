"""Moving a person's rows from one user to another: joining two people (``/link``) and
parting an identity with the orders placed from its app (``/unlink``).

Everything runs in the caller's transaction. Counters move by relative updates (``reserved
+ n``, ``reserved - n``), as concurrent orders change them, so whichever commits first the
quotas still equal the live lines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import (
    Address,
    Broadcast,
    BuyerQuota,
    GroupOrder,
    Identity,
    LinkCode,
    LinkTries,
    Order,
    OrderLine,
    Parcel,
    PaymentProof,
    PaymentRequest,
    PickupSlot,
    StaffInvite,
    StaffMember,
    User,
    WaitlistEntry,
)
from core.errors import Conflict, InvalidInput
from core.status import ORDER_LIVE
from core.uow import UnitOfWork

HANDLE_LENGTH = 120  # as long as a name may be (accounts.MAX_NAME)


async def lock_people(uow: UnitOfWork, *user_ids: int) -> None:
    """Take the people's rows in id order (PostgreSQL), so two links of one person queue.

    ``FOR NO KEY UPDATE``: an order being written for one of them (its foreign key takes a
    key-share lock on the person) goes on; the link waits for it at the identities instead.
    """
    await uow.session.execute(
        select(User.id).where(User.id.in_(user_ids)).order_by(User.id).with_for_update(key_share=True)
    )


async def move_person(uow: UnitOfWork, keep: int, gone: int) -> None:
    """Everything of ``gone`` becomes ``keep``'s, in the caller's transaction.

    The identities move first: that waits for any order being written from one of them
    (it share-locks its identity, see the order desk), and an order written after it goes
    to ``keep`` directly; so the orders moved below are all of ``gone``'s there will be.
    """
    session = uow.session
    await session.execute(
        update(Identity)
        .where(Identity.user_id == gone)
        .values(user_id=keep)
        .execution_options(synchronize_session=False)
    )
    quotas = (
        await session.execute(
            select(BuyerQuota.go_id, BuyerQuota.reserved).where(BuyerQuota.buyer_id == gone).with_for_update()
        )
    ).all()
    for go_id, reserved in quotas:
        await add_quota(uow, go_id, keep, reserved)
    await session.execute(delete(BuyerQuota).where(BuyerQuota.buyer_id == gone))
    for column in (
        Order.buyer_id,
        WaitlistEntry.buyer_id,
        PaymentProof.buyer_id,
        GroupOrder.gom_id,
        Broadcast.author_id,
        StaffInvite.gom_id,
        StaffInvite.used_by,
    ):
        await _repoint(uow, column, gone, keep)
    await move_staff(uow, keep, gone)
    await move_delivery(uow, keep, gone)
    gone_user = await session.get_one(User, gone)
    if gone_user.is_gom:
        (await session.get_one(User, keep)).is_gom = True
    await session.execute(delete(LinkCode).where(LinkCode.user_id == gone))
    await session.execute(delete(LinkTries).where(LinkTries.user_id == gone))


async def move_staff(uow: UnitOfWork, keep: int, gone: int) -> None:
    """Staff rights follow the person: ``gone``'s roles become ``keep``'s (a role the person
    already holds is kept once; helping oneself is dropped)."""
    session = uow.session
    await session.execute(
        delete(StaffMember).where(
            ((StaffMember.gom_id == keep) & (StaffMember.member_id == gone))
            | ((StaffMember.gom_id == gone) & (StaffMember.member_id == keep))
        )
    )
    rows = list(
        await session.scalars(
            select(StaffMember).where((StaffMember.gom_id == gone) | (StaffMember.member_id == gone))
        )
    )
    roles = await session.execute(
        select(StaffMember.gom_id, StaffMember.member_id).where(
            (StaffMember.gom_id == keep) | (StaffMember.member_id == keep)
        )
    )
    held = {(gom_id, member_id) for gom_id, member_id in roles}
    for row in rows:
        moved = (keep if row.gom_id == gone else row.gom_id, keep if row.member_id == gone else row.member_id)
        if moved in held:
            await session.delete(row)
        else:
            row.gom_id, row.member_id = moved
            held.add(moved)


async def add_quota(uow: UnitOfWork, go_id: int, buyer_id: int, units: int) -> None:
    """Add units to a buyer's quota in a GO, relative to what it holds (concurrent orders
    add theirs the same way, so the sum stays right)."""
    if units == 0:
        return
    dialect = uow.session.bind.dialect.name if uow.session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(BuyerQuota).values(go_id=go_id, buyer_id=buyer_id, reserved=units)
    await uow.session.execute(
        statement.on_conflict_do_update(
            index_elements=["go_id", "buyer_id"], set_={"reserved": BuyerQuota.reserved + units}
        )
    )


async def move_orders_of_channel(uow: UnitOfWork, person: int, own: int, channel: str) -> None:
    """The orders (and their quota, proofs, waitlist places) placed from ``channel`` go to ``own``."""
    session = uow.session
    orders = list(
        await session.scalars(
            select(Order.id).where(Order.buyer_id == person, Order.channel == channel).with_for_update()
        )
    )
    if orders:
        live = (
            await session.execute(
                select(Order.go_id, func.sum(OrderLine.quantity))
                .join(OrderLine, OrderLine.order_id == Order.id)
                .where(Order.id.in_(orders), Order.status.in_(ORDER_LIVE))
                .group_by(Order.go_id)
            )
        ).all()
        for go_id, units in live:
            await session.execute(
                update(BuyerQuota)
                .where(BuyerQuota.go_id == go_id, BuyerQuota.buyer_id == person)
                .values(reserved=BuyerQuota.reserved - int(units))
                .execution_options(synchronize_session=False)
            )
            await add_quota(uow, go_id, own, int(units))
        await session.execute(
            update(Order)
            .where(Order.id.in_(orders))
            .values(buyer_id=own)
            .execution_options(synchronize_session=False)
        )
        requests = select(PaymentRequest.id).where(PaymentRequest.order_id.in_(orders))
        await session.execute(
            update(PaymentProof)
            .where(PaymentProof.buyer_id == person, PaymentProof.request_id.in_(requests))
            .values(buyer_id=own)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.buyer_id == person, WaitlistEntry.channel == channel)
        .values(buyer_id=own)
        .execution_options(synchronize_session=False)
    )


async def move_delivery(uow: UnitOfWork, keep: int, gone: int) -> None:
    """One address book, and one parcel per person per GO: where both had a parcel in a GO,
    ``keep``'s stays and the other's pickup place goes back to its slot. Refused (nothing
    changes) when that other parcel is already on its way: link once it has arrived."""
    session = uow.session
    kept_gos = select(Parcel.go_id).where(Parcel.buyer_id == keep)
    doubles = list(
        await session.scalars(
            select(Parcel).where(Parcel.buyer_id == gone, Parcel.go_id.in_(kept_gos)).with_for_update()
        )
    )
    for parcel in doubles:
        if parcel.fee_request_id is not None or parcel.shipped_at is not None or parcel.tracking:
            go = await session.get_one(GroupOrder, parcel.go_id)
            raise Conflict(
                (
                    "Both accounts have a parcel for %(code)s, and this one's shipping is already "
                    "under way; link them once it has arrived. Nothing was changed."
                ),
                code=go.code,
            )
        if parcel.slot_id is not None:
            await session.execute(
                update(PickupSlot)
                .where(PickupSlot.id == parcel.slot_id)
                .values(reserved=PickupSlot.reserved - 1)
                .execution_options(synchronize_session=False)
            )
        await session.delete(parcel)
    await session.flush()
    await _repoint(uow, Parcel.buyer_id, gone, keep)
    await _repoint(uow, Address.user_id, gone, keep)


async def _repoint(uow: UnitOfWork, column: Any, gone: int, keep: int) -> None:
    """Every row of ``column``'s table that was ``gone``'s becomes ``keep``'s."""
    await uow.session.execute(
        update(column.class_)
        .where(column == gone)
        .values({column.key: keep})
        .execution_options(synchronize_session=False)
    )


async def person_by_handle(uow: UnitOfWork, handle: str) -> tuple[int, str]:
    """The one person who wrote to gomflow as @handle (on any app): their id and name.

    Unknown and ambiguous handles are refused: a GOM's words about "@mina" must not land
    on the wrong Mina."""
    cleaned = handle.strip().lstrip("@").lower()[:HANDLE_LENGTH]
    found = (
        await uow.session.execute(
            select(User.id, User.display_name)
            .join(Identity, Identity.user_id == User.id)
            .where(func.lower(Identity.handle) == cleaned, Identity.kind == "person")
            .group_by(User.id, User.display_name)
            .limit(2)
        )
    ).all()
    if not cleaned or not found:
        raise InvalidInput("gomflow knows nobody as @%(cleaned)s.", cleaned=cleaned or "…")
    if len(found) > 1:
        raise InvalidInput(
            "More than one person wrote as @%(cleaned)s, so I cannot tell who you mean.", cleaned=cleaned
        )
    [(user_id, name)] = found
    return int(user_id), str(name)
