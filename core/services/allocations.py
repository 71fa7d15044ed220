"""Sharing out an item's inclusions: the lottery seed committed in advance, the allocation
that runs once, its announcement, and checking it again (docs/allocation.md).

Each allocation is one row per item, taken by the insert that meets its unique key while
the GO's inclusion settings row is locked: two ``/allocate`` at once give one result, and
the second is shown it. A redo and the announcement are compare-and-sets on it.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import delete, select, update

from core import allocation as algo
from core.db.models import (
    AllocatedUnit,
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
from core.errors import AlreadyChanged, Conflict, InvalidInput, NotFound
from core.lookups import load_go
from core.services.accounts import Actor, require_admin
from core.services.inclusions import (
    ANNOUNCED,
    ARRIVED_OR_LATER,
    find_item,
    inclusions_of,
    numbers_of,
    settings_for,
)
from core.services.linked_channels import notify_linked
from core.status import ORDER_LIVE
from core.text import clean_text
from core.uow import UnitOfWork

ALLOCATED = "allocated"
MAX_SEED = 128


@dataclass(frozen=True)
class SeedView:
    go_code: str
    commitment: str | None
    committed: bool
    revealed: bool
    posted_to: int  # linked channels the commitment was posted to (0 when only shown)


@dataclass(frozen=True)
class Share:
    number: int | None
    name: str  # "nothing left" for a claim that got none
    units: int


@dataclass(frozen=True)
class AllocationView:
    go_code: str
    item_code: str
    item_name: str
    status: str
    tie_break: str
    seed_commitment: str | None
    seed: str | None  # only once announced
    runs: int
    units: int
    received: int
    shares: list[Share]  # how many units got each inclusion
    claims: list[tuple[str, int, str]]  # claim, draw, what it got, in claim order
    already: bool = False  # a second /allocate: this is the result it found


@dataclass(frozen=True)
class Export:
    filename: str
    content: bytes


# --- the seed -----------------------------------------------------------------------------


async def commit_seed(uow: UnitOfWork, actor: Actor, go_code: str, given: str | None) -> SeedView:
    """Draw a seed (or take the GOM's), keep it private, and post its commitment to the
    GO's linked channels: published before any draw, revealed with the first result
    announced with it."""
    seed = _given_seed(given) if given is not None else secrets.token_hex(32)
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        settings = await settings_for(uow, go.id, create=True)
        assert settings is not None
        if settings.seed is not None and settings.seed_revealed_at is None:
            raise Conflict(
                (
                    "%(code)s already has a seed committed (%(seed_commitment)s); it is revealed "
                    "when a result drawn with it is announced, and only then can another be drawn."
                ),
                code=go.code,
                seed_commitment=settings.seed_commitment,
            )
        committed = algo.commitment(go.code, seed)
        await uow.session.execute(
            update(InclusionSettings)
            .where(InclusionSettings.go_id == go.id)
            .values(seed=seed, seed_commitment=committed, seed_committed_at=uow.now, seed_revealed_at=None)
        )
        uow.audit(
            actor_id=actor.user_id,
            entity="group_order",
            entity_id=go.id,
            action="lottery_seed_committed",
            detail=json.dumps({"commitment": committed, "given_by_gom": given is not None}),
        )
        posted = await notify_linked(
            uow,
            go,
            "lottery_committed",
            {"go_code": go.code, "go_title": go.title, "commitment": committed},
            dedupe=f"lottery:{go.id}:{committed}",
        )
        await uow.commit()
        return SeedView(go.code, committed, True, False, posted)


async def seed_status(uow: UnitOfWork, actor: Actor, go_code: str) -> SeedView:
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        settings = await uow.session.get(InclusionSettings, go.id)
        if settings is None or settings.seed_commitment is None:
            return SeedView(go.code, None, False, False, 0)
        return SeedView(go.code, settings.seed_commitment, True, settings.seed_revealed_at is not None, 0)


def _given_seed(text: str) -> str:
    seed = clean_text(text).strip()
    if not 8 <= len(seed) <= MAX_SEED or not seed.isprintable():
        raise InvalidInput(
            "A seed you give must be 8 to %(max_seed)s printable characters.", max_seed=MAX_SEED
        )
    return seed


# --- allocating ---------------------------------------------------------------------------


async def allocate_item(
    uow: UnitOfWork,
    actor: Actor,
    go_code: str,
    item_code: str,
    *,
    tie_break: str | None = None,
    redo: bool = False,
) -> AllocationView:
    """Share out an item's inclusions once; a second call shows the result it finds, and
    ``redo`` runs it again only before the result is announced."""
    if tie_break is not None and tie_break not in algo.TIE_BREAKS:
        raise InvalidInput(
            "Ties are broken by %(tie_breaks)s, not '%(tie_break)s'.",
            tie_breaks=" or ".join(algo.TIE_BREAKS),
            tie_break=tie_break[:20],
        )
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        item = await find_item(uow, go, item_code)
        if go.status not in ARRIVED_OR_LATER:
            raise InvalidInput(
                "%(code)s has not arrived yet; allocate once it has (/status %(code)s arrived).", code=go.code
            )
        settings = await settings_for(uow, go.id)
        if settings is None:
            raise NotFound("%(code)s has no inclusions to allocate.", code=item.code)
        existing = await _allocation(uow, item.id)
        if existing is not None and not redo:
            return await _view(uow, go, item, existing, already=True)
        if redo and existing is None:
            raise InvalidInput(
                "%(code)s was not allocated yet: /allocate %(code2)s %(code)s.", code=item.code, code2=go.code
            )
        if existing is not None and existing.status == ANNOUNCED:
            raise Conflict("%(code)s's result was announced; it can no longer be redone.", code=item.code)
        ties = tie_break or algo.LOTTERY
        seed = None
        if ties == algo.LOTTERY:
            if settings.seed is None or settings.seed_revealed_at is not None:
                raise InvalidInput(
                    (
                        "A lottery needs a seed committed in advance: /lottery %(code)s seed (its "
                        "commitment is posted before the draw), or break ties by claim time: /allocate "
                        "%(code)s %(code2)s ties=claim_time."
                    ),
                    code=go.code,
                    code2=item.code,
                )
            seed = settings.seed
        if settings.rankings_locked_at is None:
            await uow.session.execute(
                update(InclusionSettings)
                .where(InclusionSettings.go_id == go.id, InclusionSettings.rankings_locked_at.is_(None))
                .values(rankings_locked_at=uow.now)
            )
            uow.audit(actor_id=actor.user_id, entity="group_order", entity_id=go.id, action="rankings_locked")
        inputs, orders, rows = await _inputs(uow, go, item, ties, settings.seed_commitment if seed else None)
        result = algo.allocate(inputs, seed)
        values: dict[str, Any] = {
            "tie_break": ties,
            "seed": seed,
            "inputs": algo.canonical(inputs.as_json()),
            "result": algo.canonical(algo.result_json(result)),
            "actor_id": actor.user_id,
            "allocated_at": uow.now,
        }
        if existing is None:
            taken = await uow.session.execute(
                insert_ignoring_conflict(
                    uow.session,
                    Allocation,
                    {"go_id": go.id, "item_id": item.id, "status": ALLOCATED, "runs": 1, **values},
                    ["item_id"],
                )
            )
            row = await _allocation(uow, item.id)
            assert row is not None
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return await _view(uow, go, item, row, already=True)
        else:
            moved = await uow.session.execute(
                update(Allocation)
                .where(
                    Allocation.id == existing.id,
                    Allocation.status == ALLOCATED,
                    Allocation.runs == existing.runs,
                )
                .values(runs=existing.runs + 1, **values)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise AlreadyChanged(
                    "%(code)s's allocation was changed by someone else just now.", code=item.code
                )
            await uow.session.execute(delete(AllocatedUnit).where(AllocatedUnit.allocation_id == existing.id))
            row = await _allocation(uow, item.id)
            assert row is not None
        names = {n: r for n, r in enumerate(rows, start=1)}
        for allotted in result:
            got = names.get(allotted.inclusion) if allotted.inclusion is not None else None
            uow.session.add(
                AllocatedUnit(
                    allocation_id=row.id,
                    claim=allotted.claim,
                    order_id=orders[allotted.claim],
                    draw=allotted.draw,
                    inclusion_id=got.id if got else None,
                    inclusion_name=got.name if got else None,
                )
            )
        uow.audit(
            actor_id=actor.user_id,
            entity="allocation",
            entity_id=row.id,
            action="reallocated" if existing is not None else "allocated",
            detail=algo.canonical(
                {
                    "inputs": inputs.as_json(),
                    "inputs_sha256": algo.digest(inputs.as_json()),
                    "result": algo.result_json(result),
                    "run": row.runs,
                }
            ),
        )
        await uow.session.flush()
        view = await _view(uow, go, item, row)
        await uow.commit()
        return view


async def announce(uow: UnitOfWork, actor: Actor, go_code: str, item_code: str) -> AllocationView:
    """Tell every buyer what their units got, and reveal the seed to the linked channels."""
    async with uow:
        go = await load_go(uow, go_code)
        await require_admin(uow, actor, go)
        item = await find_item(uow, go, item_code)
        settings = await settings_for(uow, go.id)
        row = await _allocation(uow, item.id)
        if settings is None or row is None:
            raise InvalidInput(
                "%(code)s was not allocated yet: /allocate %(code2)s %(code)s.", code=item.code, code2=go.code
            )
        moved = await uow.session.execute(
            update(Allocation)
            .where(Allocation.id == row.id, Allocation.status == ALLOCATED)
            .values(status=ANNOUNCED, announced_at=uow.now)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise AlreadyChanged("%(code)s's result was already announced.", code=item.code)
        if row.seed is not None and settings.seed == row.seed and settings.seed_revealed_at is None:
            await uow.session.execute(
                update(InclusionSettings)
                .where(InclusionSettings.go_id == go.id)
                .values(seed_revealed_at=uow.now)
            )
        row = await _allocation(uow, item.id)
        assert row is not None
        uow.audit(
            actor_id=actor.user_id,
            entity="allocation",
            entity_id=row.id,
            action="announced",
            from_status=ALLOCATED,
            to_status=ANNOUNCED,
            detail=json.dumps({"seed": row.seed, "result_sha256": algo.digest(json.loads(row.result))}),
        )
        units = (
            await uow.session.execute(
                select(
                    AllocatedUnit.order_id,
                    AllocatedUnit.inclusion_name,
                    Order.number,
                    Order.buyer_id,
                    Order.channel,
                )
                .join(Order, Order.id == AllocatedUnit.order_id)
                .where(AllocatedUnit.allocation_id == row.id)
                .order_by(AllocatedUnit.order_id, AllocatedUnit.claim)
            )
        ).all()
        per_order: dict[int, list[Any]] = defaultdict(list)
        for unit in units:
            per_order[unit.order_id].append(unit)
        for order_id, got in per_order.items():
            first = got[0]
            await uow.notify_user(
                first.buyer_id,
                "inclusions_allotted",
                {
                    "go_code": go.code,
                    "item_name": item.name,
                    "number": first.number,
                    "got": [u.inclusion_name for u in got],
                },
                dedupe_key=f"allotted:{row.id}:{order_id}",
                prefer_channel=first.channel,
            )
        view = await _view(uow, go, item, row)
        await notify_linked(
            uow,
            go,
            "allocation_announced",
            {
                "go_code": go.code,
                "go_title": go.title,
                "item_code": item.code,
                "item_name": item.name,
                "tie_break": row.tie_break,
                "seed": row.seed,
                "commitment": view.seed_commitment,
                "shares": [{"name": s.name, "units": s.units} for s in view.shares],
                "runs": row.runs,
            },
            dedupe=f"allocation:{row.id}",
        )
        await uow.commit()
        return view


async def show(uow: UnitOfWork, actor: Actor, go_code: str, item_code: str) -> AllocationView:
    async with uow:
        go, item, row = await _recorded(uow, actor, go_code, item_code)
        return await _view(uow, go, item, row)


async def export(uow: UnitOfWork, actor: Actor, go_code: str, item_code: str) -> Export:
    """The inputs and result as a JSON file ``gomflow verify-allocation --inputs`` checks
    offline; the seed is in it once the result is announced."""
    async with uow:
        go, item, row = await _recorded(uow, actor, go_code, item_code)
        content = export_document(row, revealed=row.status == ANNOUNCED)
        return Export(f"allocation-{go.code}-{item.code}.json", content.encode())


def export_document(row: Allocation, *, revealed: bool) -> str:
    return json.dumps(
        {
            "algorithm": algo.ALGORITHM,
            "inputs": json.loads(row.inputs),
            "seed": row.seed if revealed else None,
            "result": json.loads(row.result),
            "runs": row.runs,
            "status": row.status,
        },
        ensure_ascii=False,
        indent=1,
        sort_keys=True,
    )


async def verify_recorded(uow: UnitOfWork, go_code: str, item_code: str, seed: str | None) -> algo.Verdict:
    """Re-run an item's allocation from the recorded inputs (and the recorded seed, unless
    one is given) and compare it with the result table."""
    async with uow:
        go = await load_go(uow, go_code)
        item = await find_item(uow, go, item_code)
        row = await _allocation(uow, item.id)
        if row is None:
            raise NotFound("%(code)s of %(code2)s was not allocated.", code=item.code, code2=go.code)
        inputs = algo.AllocationInputs.from_json(json.loads(row.inputs))
        number = {i.name: i.number for i in inputs.inclusions}
        units = (
            await uow.session.scalars(
                select(AllocatedUnit).where(AllocatedUnit.allocation_id == row.id).order_by(AllocatedUnit.id)
            )
        ).all()
        by_claim = {
            u.claim: algo.Allotted(
                u.claim, u.draw, None if u.inclusion_name is None else number.get(u.inclusion_name, -1)
            )
            for u in units
        }
        recorded = [by_claim[c.claim] for c in inputs.claims if c.claim in by_claim]
        recorded += [u for claim, u in by_claim.items() if claim not in {c.claim for c in inputs.claims}]
        verdict = algo.verify(inputs, seed if seed is not None else row.seed, recorded)
        if algo.result_from_json(json.loads(row.result)) != recorded:
            return algo.Verdict(
                False, (*verdict.reasons, "the result table differs from the recorded result")
            )
        return verdict


# --- reading ------------------------------------------------------------------------------


async def _allocation(uow: UnitOfWork, item_id: int) -> Allocation | None:
    return await uow.session.scalar(
        select(Allocation).where(Allocation.item_id == item_id).execution_options(populate_existing=True)
    )


async def _recorded(
    uow: UnitOfWork, actor: Actor, go_code: str, item_code: str
) -> tuple[GroupOrder, Item, Allocation]:
    go = await load_go(uow, go_code)
    await require_admin(uow, actor, go)
    item = await find_item(uow, go, item_code)
    row = await _allocation(uow, item.id)
    if row is None:
        raise InvalidInput(
            "%(code)s was not allocated yet: /allocate %(code2)s %(code)s.", code=item.code, code2=go.code
        )
    return go, item, row


async def _inputs(
    uow: UnitOfWork, go: GroupOrder, item: Item, tie_break: str, seed_commitment: str | None
) -> tuple[algo.AllocationInputs, dict[str, int], list[Inclusion]]:
    """Everything the result depends on, read once: the inclusions and what arrived, and one
    claim per unit of the item in a live order, in the order they were placed."""
    rows = await inclusions_of(uow, item.id)
    if not rows:
        raise NotFound("%(code)s has no inclusions to allocate.", code=item.code)
    missing = [r.name for r in rows if r.received is None]
    if missing:
        raise InvalidInput(
            'Enter what arrived first: /received %(code)s %(code2)s "%(name)s=3,…".',
            code=go.code,
            code2=item.code,
            name=rows[0].name,
        )
    lines = (
        await uow.session.execute(
            select(Order.id, Order.number, Order.placed_at, OrderLine.quantity, InclusionRanking.ranking)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .outerjoin(InclusionRanking, InclusionRanking.line_id == OrderLine.id)
            .where(Order.go_id == go.id, OrderLine.item_id == item.id, Order.status.in_(list(ORDER_LIVE)))
            .order_by(Order.placed_at, Order.id, OrderLine.id)
        )
    ).all()
    claims: list[algo.Claim] = []
    orders: dict[str, int] = {}
    units_in: dict[int, int] = defaultdict(int)
    for order_id, number, placed_at, quantity, ranking in lines:
        at = placed_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        for _ in range(quantity):
            units_in[order_id] += 1
            claim = f"{number}#{units_in[order_id]}"
            claims.append(algo.Claim(claim, at, tuple(numbers_of(ranking, rows))))
            orders[claim] = order_id
    inputs = algo.AllocationInputs(
        go=go.code,
        item=item.code,
        tie_break=tie_break,
        seed_commitment=seed_commitment,
        inclusions=tuple(algo.Inclusion(n, r.name, r.received or 0) for n, r in enumerate(rows, start=1)),
        claims=tuple(claims),
    )
    return inputs, orders, rows


async def _view(
    uow: UnitOfWork, go: GroupOrder, item: Item, row: Allocation, *, already: bool = False
) -> AllocationView:
    inputs = json.loads(row.inputs)
    names = {i["number"]: i["name"] for i in inputs["inclusions"]}
    result = algo.result_from_json(json.loads(row.result))
    counts: dict[int | None, int] = defaultdict(int)
    for allotted in result:
        counts[allotted.inclusion] += 1
    shares = [Share(n, name, counts[n]) for n, name in names.items()]
    if counts[None]:
        shares.append(Share(None, "nothing left", counts[None]))
    return AllocationView(
        go.code,
        item.code,
        item.name,
        row.status,
        row.tie_break,
        inputs.get("seed_commitment"),
        row.seed if row.status == ANNOUNCED else None,
        row.runs,
        len(result),
        sum(i["received"] for i in inputs["inclusions"]),
        shares,
        [
            (a.claim, a.draw, names.get(a.inclusion, "nothing left") if a.inclusion else "nothing left")
            for a in result
        ],
        already,
    )
