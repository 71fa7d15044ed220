"""Random inclusions (photocards, pre-order benefits): what an item comes with, how buyers
rank them, and what arrived.

Every writer of a GO's inclusion state locks its ``InclusionSettings`` row first, so a
ranking and the GOM locking rankings (or an allocation) take turns on PostgreSQL as on
SQLite: a ranking is never written after the lock that should have refused it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from core.db.models import (
    Allocation,
    GroupOrder,
    Inclusion,
    InclusionRanking,
    InclusionSettings,
    Item,
    Order,
    OrderLine,
)
from core.db.upsert import insert_ignoring_conflict
from core.errors import Conflict, InvalidInput, NotFound, UnknownItem, UnknownOrder
from core.lookups import load_go, load_order
from core.services.accounts import Actor, require_admin
from core.services.group_orders import normalise_item_code
from core.status import ORDER_LIVE, GOStatus
from core.text import clean_name
from core.uow import UnitOfWork

MAX_INCLUSIONS = 30
MAX_NAME = 80
MAX_RECEIVED = 100_000
ANNOUNCED = "announced"
# A GO's goods are in the GOM's hands from "arrived" on: only then can they say what came.
ARRIVED_OR_LATER = frozenset({GOStatus.ARRIVED, GOStatus.PACKING, GOStatus.SHIPPING, GOStatus.COMPLETED})


@dataclass(frozen=True)
class InclusionView:
    number: int
    name: str
    received: int | None


@dataclass(frozen=True)
class ItemInclusions:
    go_code: str
    item_code: str
    item_name: str
    inclusions: list[InclusionView]
    locked: bool  # buyers can no longer change their rankings


@dataclass(frozen=True)
class RankingView:
    order_number: str
    item: ItemInclusions
    ranking: list[int]  # inclusion numbers, most wanted first


# --- the GOM ------------------------------------------------------------------------------


async def add_inclusions(
    uow: UnitOfWork, actor: Actor, go_code: str, item_code: str, names: str
) -> ItemInclusions:
    """Add comma-separated inclusions to an item, numbered after those it has."""
    wanted = _names(names)
    async with uow:
        go, item = await _admin_item(uow, actor, go_code, item_code)
        settings = await settings_for(uow, go.id, create=True)
        assert settings is not None
        _refuse_if_locked(go, settings)
        rows = await _inclusions(uow, item.id)
        known = {r.name.casefold() for r in rows}
        again = [n for n in wanted if n.casefold() in known]
        if again:
            raise InvalidInput("%(code)s already has %(again)s.", code=item.code, again=", ".join(again))
        if len(rows) + len(wanted) > MAX_INCLUSIONS:
            raise InvalidInput(
                "An item can have at most %(max_inclusions)s inclusions.", max_inclusions=MAX_INCLUSIONS
            )
        start = max((r.position for r in rows), default=0)
        for offset, name in enumerate(wanted, start=1):
            uow.session.add(
                Inclusion(item_id=item.id, name=name, position=start + offset, created_at=uow.now)
            )
        uow.audit(
            actor_id=actor.user_id,
            entity="item",
            entity_id=item.id,
            action="inclusions_added",
            detail=", ".join(wanted),
        )
        await uow.session.flush()
        view = await _view(uow, go, item, settings)
        await uow.commit()
        return view


async def remove_inclusion(
    uow: UnitOfWork, actor: Actor, go_code: str, item_code: str, which: str
) -> ItemInclusions:
    """Remove one inclusion, by number or name, while buyers may still change their rankings."""
    async with uow:
        go, item = await _admin_item(uow, actor, go_code, item_code)
        settings = await settings_for(uow, go.id)
        if settings is None:
            raise NotFound("%(code)s has no inclusions.", code=item.code)
        _refuse_if_locked(go, settings)
        rows = await _inclusions(uow, item.id)
        gone = _pick(rows, which, item.code)
        await uow.session.execute(delete(Inclusion).where(Inclusion.id == gone.id))
        uow.audit(
            actor_id=actor.user_id,
            entity="item",
            entity_id=item.id,
            action="inclusion_removed",
            detail=gone.name,
        )
        view = await _view(uow, go, item, settings)
        await uow.commit()
        return view


async def list_inclusions(
    uow: UnitOfWork, actor: Actor, go_code: str, item_code: str | None
) -> list[ItemInclusions]:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        settings = await uow.session.get(InclusionSettings, go.id)
        if item_code is not None:
            return [await _view(uow, go, await find_item(uow, go, item_code), settings)]
        items = (
            await uow.session.scalars(
                select(Item)
                .where(Item.go_id == go.id, Item.id.in_(select(Inclusion.item_id)))
                .order_by(Item.position, Item.id)
            )
        ).all()
        return [await _view(uow, go, item, settings) for item in items]


async def lock_rankings(uow: UnitOfWork, actor: Actor, go_code: str, *, lock: bool) -> str:
    """Stop (or, before any allocation, let again) buyers change their rankings."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        settings = await settings_for(uow, go.id)
        if settings is None:
            raise NotFound(
                ('%(code)s has no inclusions to rank. Add some with /inclusions %(code)s ITEM add "…".'),
                code=go.code,
            )
        if not lock and await uow.session.scalar(select(func.count()).where(Allocation.go_id == go.id)):
            raise Conflict(
                "%(code)s's inclusions were already allocated; rankings stay locked.", code=go.code
            )
        changed = await uow.session.execute(
            update(InclusionSettings)
            .where(
                InclusionSettings.go_id == go.id,
                InclusionSettings.rankings_locked_at.is_(None)
                if lock
                else InclusionSettings.rankings_locked_at.is_not(None),
            )
            .values(rankings_locked_at=uow.now if lock else None)
        )
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            uow.audit(
                actor_id=actor.user_id,
                entity="group_order",
                entity_id=go.id,
                action="rankings_locked" if lock else "rankings_unlocked",
            )
        await uow.commit()
        return go.code


async def set_received(
    uow: UnitOfWork, actor: Actor, go_code: str, item_code: str, counts: str
) -> ItemInclusions:
    """What arrived: ``"Mingyu PC=3,Wonwoo PC=2"`` (names or numbers); any not named is 0."""
    async with uow:
        go, item = await _admin_item(uow, actor, go_code, item_code)
        if go.status not in ARRIVED_OR_LATER:
            raise InvalidInput(
                ("%(code)s has not arrived yet; enter what came once it has (/status %(code)s arrived)."),
                code=go.code,
            )
        settings = await settings_for(uow, go.id)
        rows = await _inclusions(uow, item.id)
        if settings is None or not rows:
            raise NotFound("%(code)s has no inclusions.", code=item.code)
        status = await uow.session.scalar(select(Allocation.status).where(Allocation.item_id == item.id))
        if status == ANNOUNCED:
            raise Conflict(
                ("%(code)s's inclusions were allocated and announced; what arrived can no longer change."),
                code=item.code,
            )
        given = parse_counts(counts, rows, item.code)
        for row in rows:
            await uow.session.execute(
                update(Inclusion).where(Inclusion.id == row.id).values(received=given.get(row.id, 0))
            )
        uow.audit(
            actor_id=actor.user_id,
            entity="item",
            entity_id=item.id,
            action="inclusions_received",
            detail=", ".join(f"{r.name}={given.get(r.id, 0)}" for r in rows),
        )
        view = await _view(uow, go, item, settings)
        await uow.commit()
        return view


# --- the buyer ----------------------------------------------------------------------------


async def my_rankings(uow: UnitOfWork, buyer: Actor, order_number: str) -> list[RankingView]:
    """What a buyer can rank in one order, and how they ranked it so far."""
    async with uow:
        order = await _own_order(uow, buyer, order_number)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        settings = await uow.session.get(InclusionSettings, go.id)
        items = (
            await uow.session.scalars(
                select(Item)
                .where(
                    Item.id.in_(select(OrderLine.item_id).where(OrderLine.order_id == order.id)),
                    Item.id.in_(select(Inclusion.item_id)),
                )
                .order_by(Item.position, Item.id)
            )
        ).all()
        return [await _ranking_view(uow, go, order, item, settings) for item in items]


async def rank(
    uow: UnitOfWork, buyer: Actor, order_number: str, item_code: str | None, text: str
) -> RankingView:
    """Set a ranking (``3,1,2``), add one inclusion after those ranked (``+3``), or ``clear`` it.

    Every line of the item in the order gets the same ranking; each of its units draws with it.
    """
    async with uow:
        order = await _own_order(uow, buyer, order_number)
        go = await uow.session.get_one(GroupOrder, order.go_id)
        settings = await settings_for(uow, go.id, shared=True)
        choices = (
            await uow.session.scalars(
                select(Item)
                .where(
                    Item.id.in_(select(OrderLine.item_id).where(OrderLine.order_id == order.id)),
                    Item.id.in_(select(Inclusion.item_id)),
                )
                .order_by(Item.position, Item.id)
            )
        ).all()
        if settings is None or not choices:
            raise NotFound("Nothing in order %(number)s comes with inclusions to rank.", number=order.number)
        if item_code is None:
            if len(choices) > 1:
                codes = ", ".join(i.code for i in choices)
                raise InvalidInput(
                    "Say which item: /rank %(number)s ITEM 3,1,2 (one of %(codes)s).",
                    number=order.number,
                    codes=codes,
                )
            item = choices[0]
        else:
            code = normalise_item_code(item_code)
            found = next((i for i in choices if i.code == code), None)
            if found is None:
                raise UnknownItem(
                    "Order %(number)s has no %(code)s with inclusions to rank.",
                    number=order.number,
                    code=code,
                )
            item = found
        if settings.rankings_locked_at is not None:
            raise Conflict(
                "%(code)s's rankings are locked: the GOM is sharing out the inclusions.", code=go.code
            )
        # two taps on one order take turns: each reads the ranking the other left
        await uow.session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
        rows = await _inclusions(uow, item.id)
        ranking = await _ranked(uow, order.id, item.id, rows)
        word = text.strip().lower()
        if word == "clear":
            ranking = []
        elif word.startswith("+"):
            for extra in parse_ranking(word[1:], len(rows)):
                ranking = [n for n in ranking if n != extra] + [extra]
        else:
            ranking = parse_ranking(text, len(rows))
        stored = ",".join(str(rows[n - 1].id) for n in ranking)
        lines = (
            await uow.session.scalars(
                select(OrderLine.id).where(OrderLine.order_id == order.id, OrderLine.item_id == item.id)
            )
        ).all()
        for line_id in lines:
            await uow.session.execute(delete(InclusionRanking).where(InclusionRanking.line_id == line_id))
            if stored:
                uow.session.add(InclusionRanking(line_id=line_id, ranking=stored, updated_at=uow.now))
        uow.audit(
            actor_id=buyer.user_id,
            entity="order",
            entity_id=order.id,
            action="inclusions_ranked",
            detail=f"{item.code}: " + ", ".join(rows[n - 1].name for n in ranking),
        )
        await uow.session.flush()
        view = await _ranking_view(uow, go, order, item, settings)
        await uow.commit()
        return view


# --- reading what people typed ------------------------------------------------------------


def parse_ranking(text: str, count: int) -> list[int]:
    """``3,1,2`` (or ``3 1 2``, ``3>1>2``): inclusion numbers, each once, most wanted first."""
    words = [w for w in re.split(r"[\s,>;]+", text.strip()) if w]
    if not words:
        raise InvalidInput("Give inclusion numbers, most wanted first, like 3,1,2.")
    numbers: list[int] = []
    for word in words:
        if not (word.isascii() and word.isdigit()) or len(word) > 3 or not 1 <= int(word) <= count:
            raise InvalidInput(
                "'%(word)s' is not an inclusion number: choose from 1 to %(count)s.",
                word=word[:12],
                count=count,
            )
        if int(word) in numbers:
            raise InvalidInput("%(word)s is in the ranking twice.", word=word)
        numbers.append(int(word))
    return numbers


def parse_counts(text: str, rows: list[Inclusion], item_code: str) -> dict[int, int]:
    """``"Mingyu PC=3, 2=1"``: inclusion (name or number) to copies received, each named once."""
    given: dict[int, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, number = part.rpartition("=")
        if not sep or not name.strip():
            raise InvalidInput(
                "Write each as NAME=COUNT, like \"%(name)s=3\"; '%(part)s' is not.",
                name=rows[0].name,
                part=part[:30],
            )
        row = _pick(rows, name, item_code)
        cleaned = number.strip()
        if not (cleaned.isascii() and cleaned.isdigit()) or int(cleaned[:9]) > MAX_RECEIVED:
            raise InvalidInput(
                "The count for %(name)s must be a whole number up to %(max_received)s.",
                name=row.name,
                max_received=format(MAX_RECEIVED, ","),
            )
        if row.id in given:
            raise InvalidInput("%(name)s is given twice.", name=row.name)
        given[row.id] = int(cleaned)
    if not given:
        raise InvalidInput('Say what came, like "%(name)s=3".', name=rows[0].name)
    return given


def _names(text: str) -> list[str]:
    names = [clean_name(part) for part in text.split(",")]
    names = [n for n in names if n]
    if not names:
        raise InvalidInput('Name the inclusions, separated by commas: "Mingyu PC,Wonwoo PC".')
    for name in names:
        if len(name) > MAX_NAME or "=" in name:
            raise InvalidInput(
                "An inclusion's name has at most %(max_name)s characters and no '='.", max_name=MAX_NAME
            )
        if name.isdigit():
            raise InvalidInput("'%(name)s' would read as a number; give the inclusion a name.", name=name)
    folded = [n.casefold() for n in names]
    if len(set(folded)) != len(folded):
        raise InvalidInput("The same inclusion is named twice.")
    return names


def _pick(rows: list[Inclusion], which: str, item_code: str) -> Inclusion:
    key = clean_name(which)
    if key.isascii() and key.isdigit() and len(key) < 4 and 1 <= int(key) <= len(rows):
        return rows[int(key) - 1]
    found = next((r for r in rows if r.name.casefold() == key.casefold()), None)
    if found is None:
        raise NotFound(
            "%(item_code)s has no inclusion '%(key)s' (/inclusions lists them).",
            item_code=item_code,
            key=key[:40],
        )
    return found


# --- shared with allocations --------------------------------------------------------------


async def settings_for(
    uow: UnitOfWork, go_id: int, *, create: bool = False, shared: bool = False
) -> InclusionSettings | None:
    """The GO's inclusion settings row, locked for the rest of the transaction: ``shared``
    for a buyer's ranking (many buyers rank at once; the GOM's lock waits for them all)."""
    if create:
        await uow.session.execute(
            insert_ignoring_conflict(
                uow.session, InclusionSettings, {"go_id": go_id, "created_at": uow.now}, ["go_id"]
            )
        )
    return await uow.session.scalar(
        select(InclusionSettings)
        .where(InclusionSettings.go_id == go_id)
        .with_for_update(read=shared)
        .execution_options(populate_existing=True)
    )


async def find_item(uow: UnitOfWork, go: GroupOrder, item_code: str) -> Item:
    code = normalise_item_code(item_code)
    item = await uow.session.scalar(select(Item).where(Item.go_id == go.id, Item.code == code))
    if item is None:
        raise UnknownItem(
            "%(code)s has no item %(code2)s. /go %(code)s lists them.", code=go.code, code2=code
        )
    return item


async def _inclusions(uow: UnitOfWork, item_id: int) -> list[Inclusion]:
    rows = await uow.session.scalars(
        select(Inclusion)
        .where(Inclusion.item_id == item_id)
        .order_by(Inclusion.position, Inclusion.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def inclusions_of(uow: UnitOfWork, item_id: int) -> list[Inclusion]:
    return await _inclusions(uow, item_id)


def numbers_of(ranking: str | None, rows: list[Inclusion]) -> list[int]:
    """A stored ranking (inclusion ids) as today's numbers, dropping removed inclusions."""
    number = {row.id: n for n, row in enumerate(rows, start=1)}
    seen: list[int] = []
    for part in (ranking or "").split(","):
        n = number.get(int(part)) if part.isdigit() else None
        if n is not None and n not in seen:
            seen.append(n)
    return seen


async def _admin_item(uow: UnitOfWork, actor: Actor, go_code: str, item_code: str) -> tuple[GroupOrder, Item]:
    go = await load_go(uow, go_code)
    await require_admin(uow, actor, go)
    return go, await find_item(uow, go, item_code)


def _refuse_if_locked(go: GroupOrder, settings: InclusionSettings) -> None:
    if settings.rankings_locked_at is not None:
        raise Conflict(
            "%(code)s's rankings are locked, so its inclusions can no longer change.", code=go.code
        )


async def _own_order(uow: UnitOfWork, buyer: Actor, number: str) -> Order:
    order = await load_order(uow, number)
    if order.buyer_id != buyer.user_id:
        raise UnknownOrder(
            "There is no order %(number)s of yours. /myorders lists yours.", number=order.number
        )
    if order.status not in ORDER_LIVE:
        raise InvalidInput(
            "Order %(number)s is %(status)s; there is nothing to rank.",
            number=order.number,
            status=order.status,
        )
    return order


async def _ranked(uow: UnitOfWork, order_id: int, item_id: int, rows: list[Inclusion]) -> list[int]:
    stored = await uow.session.scalar(
        select(InclusionRanking.ranking)
        .join(OrderLine, OrderLine.id == InclusionRanking.line_id)
        .where(OrderLine.order_id == order_id, OrderLine.item_id == item_id)
        .order_by(OrderLine.id)
        .limit(1)
    )
    return numbers_of(stored, rows)


async def _view(
    uow: UnitOfWork, go: GroupOrder, item: Item, settings: InclusionSettings | None
) -> ItemInclusions:
    rows = await _inclusions(uow, item.id)
    return ItemInclusions(
        go.code,
        item.code,
        item.name,
        [InclusionView(n, r.name, r.received) for n, r in enumerate(rows, start=1)],
        settings is not None and settings.rankings_locked_at is not None,
    )


async def _ranking_view(
    uow: UnitOfWork, go: GroupOrder, order: Order, item: Item, settings: InclusionSettings | None
) -> RankingView:
    view = await _view(uow, go, item, settings)
    rows = await _inclusions(uow, item.id)
    return RankingView(order.number, view, await _ranked(uow, order.id, item.id, rows))
