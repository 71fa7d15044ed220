"""A GOM's use cases for running a group order, from draft to completed."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from core.db.models import GroupOrder, Item, Variant, WaitlistEntry
from core.errors import DuplicateCode, InvalidInput, PermissionDenied
from core.lookups import load_go
from core.money import get_currency
from core.payments import methods, part_requests
from core.reservations import load_catalogue
from core.services.accounts import Actor, require_admin
from core.services.gom_defaults import default_limit
from core.services.notices import notify_go_buyers
from core.services.ordering import end_live_orders
from core.services.payments import methods_of
from core.status import GOStatus, WaitlistStatus, check_go_transition
from core.transitions import transition, transition_all
from core.uow import UnitOfWork
from core.when import future_deadline, local_text, parse_when, zone

GO_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")
ITEM_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
MAX_CAPACITY = 100_000
MAX_WINDOW_HOURS = 24 * 30
MAX_TITLE = 200
MAX_DESCRIPTION = 2_000
MAX_VARIANTS = 50


@dataclass(frozen=True)
class NewGroupOrder:
    code: str
    title: str
    currency: str
    moq: int
    capacity: int
    deadline: str
    timezone: str
    per_buyer_limit: int | None = None
    payment_window_hours: int = 48
    description: str = ""


@dataclass(frozen=True)
class NewVariant:
    code: str
    name: str
    stock: int | None = None


@dataclass(frozen=True)
class NewItem:
    go_code: str
    code: str
    name: str
    price_minor: int
    stock: int | None = None
    variants: tuple[NewVariant, ...] = ()


async def create_group_order(uow: UnitOfWork, gom: Actor, command: NewGroupOrder) -> str:
    if not gom.is_gom:
        raise PermissionDenied("Only a GOM can open group orders. Ask the operator to register you.")
    code = normalise_go_code(command.code)
    title = clean_text(command.title, "Title", MAX_TITLE, required=True)
    description = clean_text(command.description, "Description", MAX_DESCRIPTION)
    currency = get_currency(command.currency).code
    zone(command.timezone)
    check_limits(command.moq, command.capacity, command.per_buyer_limit, command.payment_window_hours)
    async with uow:
        deadline = future_deadline(command.deadline, command.timezone, uow.now)
        per_buyer = command.per_buyer_limit
        if per_buyer is None and (default := await default_limit(uow, gom.user_id)) is not None:
            per_buyer = min(default, command.capacity)  # the GOM's /defaults, never above the GO
        await add_draft(
            uow,
            gom.user_id,
            code=code,
            gom_id=gom.user_id,
            title=title,
            description=description,
            currency=currency,
            timezone=command.timezone.strip(),
            moq=command.moq,
            capacity=command.capacity,
            per_buyer_limit=per_buyer,
            deadline=deadline,
            payment_window_hours=command.payment_window_hours,
        )
        await uow.commit()
        return code


async def add_draft(uow: UnitOfWork, actor_id: int, *, detail: str = "", **fields: Any) -> GroupOrder:
    """Write a new draft GO with ``fields`` (code, owner, words, limits, deadline), audited.

    Its code must be free; nothing is reserved and no order is numbered yet.
    """
    await _require_free_code(uow, fields["code"])
    go = GroupOrder(
        status=GOStatus.DRAFT, reserved_units=0, order_seq=0, created_at=uow.now, updated_at=uow.now, **fields
    )
    uow.session.add(go)
    await uow.session.flush()
    uow.audit(
        actor_id=actor_id,
        entity="group_order",
        entity_id=go.id,
        action="created",
        to_status=GOStatus.DRAFT,
        detail=detail,
    )
    return go


async def code_available(uow: UnitOfWork, code: str) -> str:
    """Check a GO code before a conversation asks the next question; returns it cleaned."""
    cleaned = normalise_go_code(code)
    async with uow:
        await _require_free_code(uow, cleaned)
    return cleaned


async def _require_free_code(uow: UnitOfWork, code: str) -> None:
    if await uow.session.scalar(select(GroupOrder.id).where(GroupOrder.code == code)) is not None:
        raise DuplicateCode("The code %(code)s is taken; pick another.", code=code)


async def add_item(uow: UnitOfWork, actor: Actor, command: NewItem) -> str:
    code = normalise_item_code(command.code)
    name = clean_text(command.name, "Item name", MAX_TITLE, required=True)
    if command.price_minor <= 0:
        raise InvalidInput("The price must be more than zero.")
    check_stock(command.stock, name)
    if len(command.variants) > MAX_VARIANTS:
        raise InvalidInput("An item can have at most %(max_variants)s versions.", max_variants=MAX_VARIANTS)
    variant_codes = [normalise_item_code(v.code) for v in command.variants]
    if len(set(variant_codes)) != len(variant_codes):
        raise InvalidInput("Each version needs its own code.")
    for variant in command.variants:
        check_stock(variant.stock, variant.name)
    async with uow:
        go = await load_go(uow, command.go_code, lock=True)
        await require_admin(uow, actor, go)
        if go.status not in (GOStatus.DRAFT, GOStatus.OPEN):
            raise InvalidInput(
                "%(code)s is %(status)s; items can only be added before it closes.",
                code=go.code,
                status=go.status,
            )
        if await uow.session.scalar(select(Item.id).where(Item.go_id == go.id, Item.code == code)):
            raise DuplicateCode("%(code)s already has an item %(code2)s.", code=go.code, code2=code)
        position = await uow.session.scalar(select(func.count()).where(Item.go_id == go.id)) or 0
        item = Item(
            go_id=go.id,
            code=code,
            name=name,
            price_minor=command.price_minor,
            stock=command.stock,
            reserved=0,
            position=position,
        )
        uow.session.add(item)
        await uow.session.flush()
        for index, (variant, variant_code) in enumerate(zip(command.variants, variant_codes, strict=True)):
            uow.session.add(
                Variant(
                    item_id=item.id,
                    code=variant_code,
                    name=clean_text(variant.name, "Version name", MAX_TITLE, required=True),
                    stock=variant.stock,
                    reserved=0,
                    position=index,
                )
            )
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="item_added",
            detail=f"{code} {name}",
        )
        await uow.commit()
        return code


async def open_group_order(
    uow: UnitOfWork, actor: Actor, go_code: str, offered: Collection[str] = frozenset()
) -> None:
    """Start taking orders. A buyer must be able to pay, so the GO needs a payment method
    that works here: a QR, a bank transfer or proofs always do, a gateway only when it is
    in ``offered`` (the ones this server is configured for)."""
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        check_go_transition(go.status, GOStatus.OPEN)
        if not await load_catalogue(uow.session, go.id):
            raise InvalidInput(
                "Add at least one item to %(code)s before opening it (/additem).", code=go.code
            )
        if go.deadline <= uow.now:
            raise InvalidInput("The deadline of %(code)s has passed; /extend it first.", code=go.code)
        accepted = await methods_of(uow, go.id)
        if not methods.working(accepted, offered):
            raise methods.missing(go.code, accepted, offered)
        await transition(uow, go, GOStatus.OPEN, actor_id=actor.user_id)
        await uow.commit()


@dataclass(frozen=True)
class ClosingOutcome:
    status: str  # confirmed, failed, or closed (waiting for the GOM's decision)
    units: int  # live units when it closed
    moq: int


async def close_group_order(
    uow: UnitOfWork, actor: Actor | None, go_code: str, *, proceed: bool = False, fail: bool = False
) -> ClosingOutcome:
    """Stop taking orders and decide the MOQ.

    ``actor`` is None when the scheduler closes a GO at its deadline: past its MOQ it is
    confirmed; below it the GO rests CLOSED with its orders kept, waiting for the GOM's
    decision (``go_decision``), because nobody but the GOM may give up a drop. The GOM
    decides an open or waiting GO: confirmed when the MOQ is reached or she chooses to
    ``proceed`` below it, else failed and unwound; ``fail`` says so outright and is
    refused for a GO that reached its MOQ, so a tap meant for another GO confirms nothing.
    """
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        if actor is not None:
            await require_admin(uow, actor, go)
        actor_id = actor.user_id if actor else None
        units, reached = go.reserved_units, go.reserved_units >= go.moq
        if fail and reached:
            raise InvalidInput(
                (
                    "%(code)s reached its MOQ (%(units)s/%(moq)s): /close %(code)s confirm confirms "
                    "it, /cancelgo %(code)s cancels it."
                ),
                code=go.code,
                units=units,
                moq=go.moq,
            )
        if go.status != GOStatus.CLOSED or actor is None:  # a waiting GO is closed already
            waiting = "" if reached else f"MOQ not met: {units}/{go.moq}; waiting for the GOM's decision"
            await transition(uow, go, GOStatus.CLOSED, actor_id=actor_id, detail=waiting)
            await _drop_waitlist(uow, go)
        if reached or (proceed and actor is not None):
            below = " (below the MOQ, by the GOM's choice)" if not reached else ""
            await transition(
                uow, go, GOStatus.CONFIRMED, actor_id=actor_id, detail=f"{units}/{go.moq} units{below}"
            )
            await notify_go_buyers(uow, go, "go_confirmed")
        elif actor is not None:
            await fail_group_order(uow, go, actor_id, f"MOQ not met: {units}/{go.moq}")
        await uow.commit()
        return ClosingOutcome(go.status, units, go.moq)


async def fail_group_order(uow: UnitOfWork, go: GroupOrder, actor_id: int | None, detail: str) -> None:
    """Fail a closed GO below its MOQ: buyers told, live orders ended, refunds queued."""
    await transition(uow, go, GOStatus.FAILED, actor_id=actor_id, detail=detail)
    await notify_go_buyers(uow, go, "go_failed")
    await end_live_orders(uow, go, actor_id, reason="the group order did not reach its MOQ")


async def cancel_group_order(uow: UnitOfWork, actor: Actor, go_code: str) -> None:
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        await transition(uow, go, GOStatus.CANCELLED, actor_id=actor.user_id)
        await _drop_waitlist(uow, go)
        await notify_go_buyers(uow, go, "go_cancelled")
        await end_live_orders(uow, go, actor.user_id, reason="the GOM cancelled the group order")
        await uow.commit()


async def advance_group_order(uow: UnitOfWork, actor: Actor, go_code: str, target: str) -> None:
    """Move a confirmed GO along: ordered from the supplier, arrived, packing, shipping, completed."""
    steps = {GOStatus.ORDERED, GOStatus.ARRIVED, GOStatus.PACKING, GOStatus.SHIPPING, GOStatus.COMPLETED}
    try:
        status = GOStatus(target.strip().lower())
    except ValueError:
        status = None
    if status not in steps:
        raise InvalidInput("Status must be one of: ordered, arrived, packing, shipping, completed.")
    assert status is not None
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        await transition(uow, go, status, actor_id=actor.user_id)
        if status == GOStatus.ARRIVED:  # deposits: each balance falls due from now
            await part_requests.open_balances(uow, go)
        await notify_go_buyers(uow, go, "go_status")
        await uow.commit()


async def extend_deadline(uow: UnitOfWork, actor: Actor, go_code: str, when: str) -> datetime:
    """Move the deadline later: ``+2d`` counts from the current deadline (from now if it has
    passed), a date sets it. Every refusal names the current deadline."""
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        current = f"{go.code} closes {local_text(go.deadline, go.timezone)}"
        if go.status not in (GOStatus.DRAFT, GOStatus.OPEN):
            raise InvalidInput(
                "%(code)s is %(status)s; only a draft or open GO has a deadline to move.",
                code=go.code,
                status=go.status,
            )
        try:
            deadline = parse_when(when, go.timezone, uow.now, relative_to=max(go.deadline, uow.now))
        except InvalidInput as refusal:
            raise InvalidInput(
                "%(message)s Now %(current)s.", message=refusal.message, current=current
            ) from refusal
        if deadline <= uow.now:
            raise InvalidInput("That time has already passed. Now %(current)s.", current=current)
        if deadline <= go.deadline:
            raise InvalidInput(
                (
                    "The new deadline must be later than the current one: now %(current)s. To bring "
                    'it earlier: /editgo %(code)s deadline="…".'
                ),
                current=current,
                code=go.code,
            )
        old = go.deadline
        go.deadline = deadline
        go.updated_at = uow.now
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="deadline_extended",
            detail=f"{old.isoformat()} -> {deadline.isoformat()}",
        )
        await uow.commit()
        return deadline


async def due_for_closing(uow: UnitOfWork, grace: timedelta = timedelta(0)) -> list[str]:
    """Open GOs whose deadline has passed: the scheduler closes each once."""
    async with uow:
        return list(
            (
                await uow.session.scalars(
                    select(GroupOrder.code).where(
                        GroupOrder.status == GOStatus.OPEN, GroupOrder.deadline <= uow.now - grace
                    )
                )
            ).all()
        )


def normalise_go_code(code: str) -> str:
    cleaned = code.strip().upper()
    if not GO_CODE.match(cleaned):
        raise InvalidInput("A GO code is 2–20 letters, digits or dashes, like SVT-FML.")
    return cleaned


def normalise_item_code(code: str) -> str:
    cleaned = code.strip().upper()
    if not ITEM_CODE.match(cleaned):
        raise InvalidInput(
            "'%(code)s' is not an item code; use up to 20 letters or digits, like ALB.", code=code[:20]
        )
    return cleaned


async def _drop_waitlist(uow: UnitOfWork, go: GroupOrder) -> None:
    await transition_all(
        uow, WaitlistEntry, WaitlistEntry.go_id == go.id, WaitlistStatus.WAITING, WaitlistStatus.DROPPED
    )


def check_limits(moq: int, capacity: int, per_buyer: int | None, window: int) -> None:
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(
            "Capacity must be between 1 and %(max_capacity)s.", max_capacity=format(MAX_CAPACITY, ",")
        )
    if not 0 <= moq <= capacity:
        raise InvalidInput("The MOQ must be between 0 and the capacity.")
    if per_buyer is not None and not 1 <= per_buyer <= capacity:
        raise InvalidInput("The per-buyer limit must be between 1 and the capacity.")
    if not 1 <= window <= MAX_WINDOW_HOURS:
        raise InvalidInput(
            "The payment window must be between 1 and %(max_window_hours)s hours.",
            max_window_hours=MAX_WINDOW_HOURS,
        )


def check_stock(stock: int | None, name: str) -> None:
    if stock is not None and not 0 <= stock <= MAX_CAPACITY:
        raise InvalidInput(
            "Stock of %(name)s must be between 0 and %(max_capacity)s.",
            name=name[:40],
            max_capacity=format(MAX_CAPACITY, ","),
        )


def clean_text(value: str, label: str, limit: int, *, required: bool = False) -> str:
    cleaned = " ".join(value.split()) if "\n" not in value else value.strip()
    if required and not cleaned:
        raise InvalidInput("%(label)s cannot be empty.", label=label)
    if len(cleaned) > limit:
        raise InvalidInput(
            "%(label)s is too long (%(cleaned_count)s characters; the limit is %(limit)s).",
            label=label,
            cleaned_count=len(cleaned),
            limit=limit,
        )
    return cleaned
