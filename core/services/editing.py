"""Fixing a GO's mistakes while buyers order: edits that never slip under live orders.

Buyers may be ordering at the very moment a GOM edits. Every edit locks the GO row
first, the row every order takes its slots on, then writes with one conditional UPDATE
(``SET capacity = :new WHERE id = :id AND reserved_units <= :new``), so a limit can
never be lowered below what live orders hold, and the refusal is explained afterwards
from what the database says. An edit that changes what an order reads of the GO (a
price, the per-buyer limit, the payment window, a retired item) also bumps the GO's
``catalogue_version``: an order that read the GO before the edit is refused by its own
slot-taking UPDATE and read again, never placed at a price or under a limit that no
longer holds. Orders already placed keep the prices they were placed at.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, select, update

from core.db.models import BuyerQuota, GroupOrder, Item, OrderLine, Variant, WaitlistEntry
from core.errors import Conflict, InvalidInput, UnknownItem
from core.languages import ENGLISH, LANGUAGES, chosen_language
from core.lookups import load_go
from core.money import format_money
from core.services.accounts import Actor, require_admin
from core.services.group_orders import (
    MAX_DESCRIPTION,
    MAX_TITLE,
    check_limits,
    check_stock,
    clean_text,
    normalise_item_code,
)
from core.status import GOStatus, WaitlistStatus
from core.transitions import transition_all
from core.uow import UnitOfWork
from core.when import future_deadline, local_text

# Before it closes, a GO's limits, prices and items may change; its words at any time
# until it ends.
BEFORE_CLOSING = frozenset({GOStatus.DRAFT, GOStatus.OPEN})
ENDED = frozenset({GOStatus.FAILED, GOStatus.CANCELLED, GOStatus.COMPLETED})


@dataclass(frozen=True)
class GroupOrderEdit:
    """What to change of a GO; None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    moq: int | None = None
    capacity: int | None = None
    per_buyer_limit: int | None = None  # 0 lifts the limit
    payment_window_hours: int | None = None
    deadline: str | None = None  # as typed, in the GO's timezone
    # for buyers with no language of their own (core.languages), as typed; "none": English
    language: str | None = None

    @property
    def empty(self) -> bool:
        return all(value is None for value in astuple(self))

    @property
    def limits(self) -> bool:
        return any(
            value is not None
            for value in (
                self.moq,
                self.capacity,
                self.per_buyer_limit,
                self.payment_window_hours,
                self.deadline,
            )
        )


@dataclass(frozen=True)
class ItemEdit:
    """What to change of an item or one version; None leaves a field as it is."""

    name: str | None = None
    price_minor: int | None = None
    stock: int | None = None
    unlimited_stock: bool = False  # stock=none: no stock limit of its own

    @property
    def empty(self) -> bool:
        return (
            self.name is None and self.price_minor is None and self.stock is None and not self.unlimited_stock
        )


async def edit_group_order(uow: UnitOfWork, actor: Actor, go_code: str, edit: GroupOrderEdit) -> list[str]:
    """Change a GO's words, limits, payment window or deadline; returns what changed, in words."""
    if edit.empty:
        raise InvalidInput('Say what to change, e.g. /editgo CODE cap=120 limit=3 title="New title".')
    async with uow:
        go = await load_go(uow, go_code, lock=True)
        await require_admin(uow, actor, go)
        if go.status in ENDED:
            raise InvalidInput(
                "%(code)s is %(status)s; it cannot be edited any more.", code=go.code, status=go.status
            )
        if edit.limits and go.status not in BEFORE_CLOSING:
            raise InvalidInput(
                (
                    "%(code)s is %(status)s; its MOQ, capacity, limits and deadline change only "
                    "before it closes."
                ),
                code=go.code,
                status=go.status,
            )
        values, changes = _go_values(edit, go, uow)
        capacity = values.get("capacity", go.capacity)
        limit = values.get("per_buyer_limit", go.per_buyer_limit)
        check_limits(
            values.get("moq", go.moq),
            capacity,
            limit,
            values.get("payment_window_hours", go.payment_window_hours),
        )
        if {"per_buyer_limit", "payment_window_hours"} & values.keys():
            values["catalogue_version"] = GroupOrder.catalogue_version + 1
        conditions: list[ColumnElement[bool]] = [
            GroupOrder.id == go.id,
            GroupOrder.reserved_units <= capacity,
        ]
        if limit is not None:
            over = (BuyerQuota.go_id == go.id) & (BuyerQuota.reserved > limit)
            conditions.append(~exists().where(over))
        written = await uow.session.execute(
            update(GroupOrder)
            .where(*conditions)
            .values(updated_at=uow.now, **values)
            .execution_options(synchronize_session=False)
        )
        if written.rowcount != 1:  # type: ignore[attr-defined]
            raise await _limit_refusal(uow, go, capacity, limit)
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="edited",
            detail="; ".join(changes),
        )
        await uow.commit()
        return changes


def _go_values(edit: GroupOrderEdit, go: GroupOrder, uow: UnitOfWork) -> tuple[dict[str, Any], list[str]]:
    """The columns to write and the words that say what changed."""
    values: dict[str, Any] = {}
    changes: list[str] = []
    if edit.title is not None:
        values["title"] = clean_text(edit.title, "Title", MAX_TITLE, required=True)
        changes.append(f"title: {values['title']}")
    if edit.description is not None:
        values["description"] = clean_text(edit.description, "Description", MAX_DESCRIPTION)
        changes.append("description" if values["description"] else "description removed")
    if edit.moq is not None:
        values["moq"] = edit.moq
        changes.append(f"MOQ {edit.moq}")
    if edit.capacity is not None:
        values["capacity"] = edit.capacity
        changes.append(f"capacity {edit.capacity}")
    if edit.per_buyer_limit is not None:
        values["per_buyer_limit"] = edit.per_buyer_limit or None
        changes.append(f"{edit.per_buyer_limit} per buyer" if edit.per_buyer_limit else "no per-buyer limit")
    if edit.payment_window_hours is not None:
        values["payment_window_hours"] = edit.payment_window_hours
        changes.append(f"pay within {edit.payment_window_hours} h (new orders)")
    if edit.deadline is not None:
        values["deadline"] = future_deadline(edit.deadline, go.timezone, uow.now)
        changes.append(f"closes {local_text(values['deadline'], go.timezone)}")
    if edit.language is not None:
        none = edit.language.strip().lower() in {"none", "no", "off"}
        values["language"] = None if none else chosen_language(edit.language)
        changes.append(
            f"buyers without a language of their own read {LANGUAGES[values['language'] or ENGLISH]}"
        )
    return values, changes


async def _limit_refusal(uow: UnitOfWork, go: GroupOrder, capacity: int, limit: int | None) -> Conflict:
    taken = await uow.session.scalar(select(GroupOrder.reserved_units).where(GroupOrder.id == go.id)) or 0
    if taken > capacity:
        return Conflict(
            (
                "%(code)s has %(taken)s units taken by live orders; its capacity cannot go below "
                "that (you asked for %(capacity)s). Cancel orders first, or keep a capacity of "
                "at least %(taken)s."
            ),
            code=go.code,
            taken=taken,
            capacity=capacity,
        )
    most = (
        await uow.session.scalar(select(func.max(BuyerQuota.reserved)).where(BuyerQuota.go_id == go.id)) or 0
    )
    return Conflict(
        (
            "A buyer already holds %(most)s units of %(code)s; the per-buyer limit cannot go "
            "below that (you asked for %(limit)s)."
        ),
        most=most,
        code=go.code,
        limit=limit,
    )


async def edit_item(uow: UnitOfWork, actor: Actor, go_code: str, token: str, edit: ItemEdit) -> str:
    """Rename, reprice or restock an item (``ALB``) or one version (``ALB:A``); returns the words."""
    if edit.empty:
        raise InvalidInput('Say what to change, e.g. /edititem CODE ALB:A price=30 stock=40 name="…".')
    if edit.price_minor is not None and edit.price_minor <= 0:
        raise InvalidInput("The price must be more than zero.")
    async with uow:
        target = await _locked_target(uow, actor, go_code, token, BEFORE_CLOSING)
        table, row = target.table, target.row
        values: dict[str, Any] = {}
        changes: list[str] = []
        if edit.name is not None:
            values["name"] = clean_text(edit.name, "Name", MAX_TITLE, required=True)
            changes.append(f"name: {values['name']}")
        if edit.price_minor is not None:
            values["price_minor"] = edit.price_minor
            changes.append(f"price {format_money(edit.price_minor, target.go.currency)} (new orders)")
        conditions: list[ColumnElement[bool]] = [table.id == row.id]
        if edit.unlimited_stock or edit.stock is not None:
            check_stock(edit.stock, row.name)
            values["stock"] = None if edit.unlimited_stock else edit.stock
            changes.append("no stock limit" if edit.unlimited_stock else f"stock {edit.stock}")
            if edit.stock is not None:
                conditions.append(table.reserved <= edit.stock)
        written = await uow.session.execute(
            update(table).where(*conditions).values(**values).execution_options(synchronize_session=False)
        )
        if written.rowcount != 1:  # type: ignore[attr-defined]
            held = await uow.session.scalar(select(table.reserved).where(table.id == row.id))
            raise Conflict(
                (
                    "Live orders hold %(held)s of %(label)s; its stock cannot go below that (you "
                    "asked for %(stock)s)."
                ),
                held=held,
                label=target.label,
                stock=edit.stock,
            )
        if edit.price_minor is not None:
            await _bump_catalogue(uow, target.go)
        summary = f"{target.label}: " + "; ".join(changes)
        _audit(uow, actor, target, "item_edited", summary)
        await uow.commit()
        return summary


async def remove_item(uow: UnitOfWork, actor: Actor, go_code: str, token: str) -> str:
    """Delete an item or version nobody has ordered or queued for; returns its label."""
    async with uow:
        target = await _locked_target(uow, actor, go_code, token, BEFORE_CLOSING)
        ordered = await uow.session.scalar(select(exists().where(target.of(OrderLine))))
        queued = await uow.session.scalar(select(exists().where(target.of(WaitlistEntry))))
        if ordered or queued:
            raise Conflict(
                (
                    "%(label)s has been ordered or queued for, so it stays on those orders. /retire "
                    "%(code)s %(label)s stops new orders of it instead."
                ),
                label=target.label,
                code=target.go.code,
            )
        if target.variant is not None:
            await uow.session.execute(delete(Variant).where(Variant.id == target.variant.id))
        else:
            await uow.session.execute(delete(Variant).where(Variant.item_id == target.item.id))
            await uow.session.execute(delete(Item).where(Item.id == target.item.id))
        await _bump_catalogue(uow, target.go)
        _audit(uow, actor, target, "item_removed", target.label)
        await uow.commit()
        return target.label


async def retire_item(uow: UnitOfWork, actor: Actor, go_code: str, token: str) -> str:
    """Stop offering an item or version; the orders that hold it keep it. Returns its label.

    Its waiting waitlist places are dropped: no slot of it will ever be offered again.
    """
    async with uow:
        target = await _locked_target(uow, actor, go_code, token, frozenset(GOStatus) - ENDED)
        if target.row.retired:
            raise Conflict("%(label)s is retired already.", label=target.label)
        table = target.table
        retire = update(table).where(table.id == target.row.id).values(retired=True)
        await uow.session.execute(retire.execution_options(synchronize_session=False))
        waiting = (WaitlistEntry.go_id == target.go.id) & target.of(WaitlistEntry)
        await transition_all(uow, WaitlistEntry, waiting, WaitlistStatus.WAITING, WaitlistStatus.DROPPED)
        await _bump_catalogue(uow, target.go)
        _audit(uow, actor, target, "item_retired", target.label)
        await uow.commit()
        return target.label


@dataclass(frozen=True)
class _Target:
    """The item or version an edit names, with the GO it belongs to (locked)."""

    go: GroupOrder
    item: Item
    variant: Variant | None

    @property
    def label(self) -> str:
        return f"{self.item.code}:{self.variant.code}" if self.variant is not None else self.item.code

    @property
    def row(self) -> Item | Variant:
        return self.variant if self.variant is not None else self.item

    @property
    def table(self) -> type[Item] | type[Variant]:
        return Variant if self.variant is not None else Item

    def of(self, rows: type[OrderLine] | type[WaitlistEntry]) -> ColumnElement[bool]:
        """The order lines or waitlist places that name this item or version."""
        if self.variant is not None:
            return rows.variant_id == self.variant.id
        return rows.item_id == self.item.id


async def _locked_target(
    uow: UnitOfWork, actor: Actor, go_code: str, token: str, statuses: frozenset[GOStatus]
) -> _Target:
    """Lock the GO (the row every order takes its slots on), check who asks, find the item."""
    go = await load_go(uow, go_code, lock=True)
    await require_admin(uow, actor, go)
    if go.status not in statuses:
        raise InvalidInput(
            "%(code)s is %(status)s; its items can no longer change.", code=go.code, status=go.status
        )
    item, variant = await _find(uow, go, token)
    return _Target(go, item, variant)


def _audit(uow: UnitOfWork, actor: Actor, target: _Target, action: str, detail: str) -> None:
    uow.audit(
        actor_id=actor.user_id, entity="group_order", entity_id=target.go.id, action=action, detail=detail
    )


async def _bump_catalogue(uow: UnitOfWork, go: GroupOrder) -> None:
    """Orders that read the GO before this edit are refused by their own slot-taking UPDATE."""
    await uow.session.execute(
        update(GroupOrder)
        .where(GroupOrder.id == go.id)
        .values(catalogue_version=GroupOrder.catalogue_version + 1, updated_at=uow.now)
        .execution_options(synchronize_session=False)
    )


async def _find(uow: UnitOfWork, go: GroupOrder, token: str) -> tuple[Item, Variant | None]:
    """The item ``ALB`` or the version ``ALB:A`` of this GO, read afresh."""
    item_code, _, variant_code = token.partition(":")
    code = normalise_item_code(item_code)
    item = await uow.session.scalar(
        select(Item).where(Item.go_id == go.id, Item.code == code).execution_options(populate_existing=True)
    )
    if item is None:
        raise UnknownItem(
            "%(code)s has no item %(code2)s. /go %(code)s lists them.", code=go.code, code2=code
        )
    if not variant_code:
        return item, None
    version = normalise_item_code(variant_code)
    variant = await uow.session.scalar(
        select(Variant)
        .where(Variant.item_id == item.id, Variant.code == version)
        .execution_options(populate_existing=True)
    )
    if variant is None:
        raise UnknownItem(
            "%(name)s has no version %(version)s. /go %(code)s lists them.",
            name=item.name,
            version=version,
            code=go.code,
        )
    return item, variant
