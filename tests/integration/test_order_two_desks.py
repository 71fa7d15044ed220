"""Two workers' order desks on one hot group order: the limits hold whoever wins.

Each worker process runs its own desk on its own engine, so their batches reach the
database at the same moment. On PostgreSQL a batch writes its orders first and takes the
GO's and the items' units last, for the whole batch in one UPDATE each, falling back to
deciding order by order in arrival order when the total does not fit; these tests race
two desks over the last slots, the last stock and the same buyers' quotas, and drive
the server function directly for what a batch writes and what a refusal leaves behind.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select

from bench.common import Drop, seed_buyers, seed_drop
from bench.drop import count_oversell
from bench.scale import Target, target
from core.app import Core, build_core
from core.config import Settings
from core.db.models import AuditEntry, GroupOrder, Item, Order, User
from core.errors import BuyerLimitReached, CapacityFull, GomflowError, OutOfStock
from core.quantities import parse_line_pairs
from core.services import ordering
from core.services.accounts import Actor, Caller
from core.views import OrderView
from main import App, bootstrap
from tests.conftest import BACKENDS, NO_POSTGRES, POSTGRES_URL, assert_checks_pass, fresh_database_url

HOT = Drop(code="HOT-2", capacity=44, stock=2, per_buyer=2)
BUYERS = 48
# what each buyer asks of each worker: 120 units against 40 slots left, 24 cards against
# 2, and half the buyers 3 units against a limit of 2; the first buyer holds 2 already,
# and the first batches of both desks ask 4 cards, so every limit refuses someone
FIRST = ("ALB 1", "POB 1", "ALB 2", "ALB 1")
SECOND = ("ALB 2", "ALB 1", "ALB 1", "POB 1")
TASKS = 8  # callers per desk: many small batches from each, interleaving with the other's


@pytest.fixture(params=BACKENDS)
async def two_workers(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[App, Core]]:
    """The app (seeding, checks) with its desk, and a second core on the same database."""
    url = await fresh_database_url(request.param, tmp_path)
    app = bootstrap(Settings(database_url=url), write=lambda _: None)
    other = build_core(Settings(database_url=url))
    yield app, other
    await other.close()
    await app.core.close()


async def place_all(core: Core, actors: list[Actor], wishes: list[str]) -> list[OrderView | GomflowError]:
    """Every order through ``core``'s desk from ``TASKS`` callers; each answer in order."""
    answers: list[OrderView | GomflowError | None] = [None] * len(actors)
    queue = iter(range(len(actors)))

    async def caller() -> None:
        for index in queue:
            try:
                answers[index] = await ordering.place_order(
                    core.uow(), actors[index], HOT.code, parse_line_pairs(wishes[index].split())
                )
            except (CapacityFull, OutOfStock, BuyerLimitReached) as refusal:
                answers[index] = refusal

    await asyncio.gather(*(caller() for _ in range(TASKS)))
    assert all(answer is not None for answer in answers)  # every order answered
    return [answer for answer in answers if answer is not None]


def units_of(wish: str) -> tuple[int, int]:
    """(units, cards) an order asks for."""
    lines = parse_line_pairs(wish.split())
    return sum(x.quantity for x in lines), sum(x.quantity for x in lines if x.item_code == "POB")


async def test_two_desks_on_one_hot_go_never_oversell(two_workers: tuple[App, Core]) -> None:
    app, other = two_workers
    await seed_drop(app.core, HOT)
    actors = await seed_buyers(app.core, BUYERS)
    await ordering.place_order(app.core.uow(), actors[0], HOT.code, parse_line_pairs(["ALB", "2"]))
    first = [FIRST[i % 4] for i in range(BUYERS)]
    second = [SECOND[i % 4] for i in range(BUYERS)]
    answered = await asyncio.gather(place_all(app.core, actors, first), place_all(other, actors, second))

    assert await count_oversell(app.core, HOT) == 0
    async with app.core.reader() as uow:
        go = (await uow.session.scalars(select(GroupOrder).where(GroupOrder.code == HOT.code))).one()
        card = (await uow.session.scalars(select(Item).where(Item.go_id == go.id, Item.code == "POB"))).one()
        numbers = (await uow.session.scalars(select(Order.number).where(Order.go_id == go.id))).all()
        held = dict(
            (
                await uow.session.execute(
                    select(Order.buyer_id, func.sum(Order.units))
                    .where(Order.go_id == go.id)
                    .group_by(Order.buyer_id)
                )
            ).all()
        )
    placed = [("ALB 2", None)] + [  # the first buyer's order before the race, and the race's
        (wishes[i], a)
        for wishes, answers in zip((first, second), answered, strict=True)
        for i, a in enumerate(answers)
        if isinstance(a, OrderView)
    ]
    assert go.reserved_units == sum(units_of(wish)[0] for wish, _ in placed) <= HOT.capacity
    assert card.reserved == sum(units_of(wish)[1] for wish, _ in placed) <= HOT.stock
    assert all(units <= HOT.per_buyer for units in held.values())
    assert sorted(numbers) == sorted(f"{HOT.code}-{n}" for n in range(1, go.order_seq + 1))
    assert len(numbers) == go.order_seq == len(placed)  # no number lost or given twice

    # every refusal tells the truth as it stood: limits only fill up during the race, so
    # what was left then is at least what is left now, and less than what was asked
    kinds: set[type] = set()
    for wishes, answers in zip((first, second), answered, strict=True):
        for index, answer in enumerate(answers):
            if isinstance(answer, OrderView):
                continue
            kinds.add(type(answer))
            units, cards = units_of(wishes[index])
            text = str(answer)
            if isinstance(answer, CapacityFull):
                left = re.fullmatch(
                    rf"Only (\d+) slot\(s\) left in {HOT.code}; you asked for {units}\.", text
                )
                assert left or text.startswith(f"{HOT.code} is full."), text
                assert HOT.capacity - go.reserved_units <= (int(left[1]) if left else 0) < units
            elif isinstance(answer, OutOfStock):
                left = re.fullmatch(rf"Only (\d+) of Photocard left; you asked for {cards}\.", text)
                assert left or text.startswith("Photocard is sold out."), text
                assert HOT.stock - card.reserved <= (int(left[1]) if left else 0) < cards
            else:
                hold = re.search(
                    rf"allows {HOT.per_buyer} per buyer; you hold (\d+), so you can add (\d+) more", text
                )
                assert hold, text
                assert int(hold[1]) + int(hold[2]) == HOT.per_buyer and int(hold[1]) + units > HOT.per_buyer
                assert int(hold[1]) <= held.get(actors[index].user_id, 0)
    assert kinds == {CapacityFull, OutOfStock, BuyerLimitReached}  # the race reached every limit
    await assert_checks_pass(app)


# --- the server function itself -----------------------------------------------------------

needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
NOW = datetime.now(UTC)


async def test_newcomers_ordering_on_two_desks_at_once_are_each_one_person(
    two_workers: tuple[App, Core],
) -> None:
    """Each first contact orders on both desks at the same moment: whichever desk signs
    them up first, the other finds them (on PostgreSQL its own sign-up meets the first's
    identity and is undone), and nobody is left as two people or as a person with no way
    to reach them."""
    app, other = two_workers
    await seed_drop(app.core, Drop(code="NEW-2", capacity=100, stock=100, per_buyer=2))
    async with app.core.reader() as uow:
        people = await uow.session.scalar(select(func.count()).select_from(User))
    callers = [Caller("console", f"new{n}", f"New {n}", f"new_{n}") for n in range(12)]

    async def order(core: Core, caller: Caller) -> OrderView:
        return await ordering.place_order(core.uow(), caller, "NEW-2", parse_line_pairs(["ALB", "1"]))

    placed = await asyncio.gather(*(order(core, c) for c in callers for core in (app.core, other)))
    async with app.core.reader() as uow:
        orders = (
            (
                await uow.session.execute(
                    select(Order.buyer_id).where(Order.go_id == GroupOrder.id, GroupOrder.code == "NEW-2")
                )
            )
            .scalars()
            .all()
        )
        added = await uow.session.scalar(select(func.count()).select_from(User)) - (people or 0)
    assert len(placed) == 24 and added == 12  # one person each, none left over
    assert sorted(orders.count(buyer) for buyer in set(orders)) == [2] * 12
    await assert_checks_pass(app)


@pytest.fixture
async def pg_app(tmp_path: Path) -> AsyncIterator[App]:
    url = await fresh_database_url("postgres", tmp_path) if POSTGRES_URL else ""
    app = bootstrap(Settings(database_url=url), write=lambda _: None)
    yield app
    await app.core.close()


def entry(
    go: Target, code: str, buyer: int, wish: str, *, limit: int, new_buyer: str | None = None
) -> dict[str, Any]:
    """One order as the desk sends it to ``gomflow_place_orders``."""
    prices = {"ALB": 2590, "POB": 300}
    lines = [(go.items[x.item_code], x.quantity, prices[x.item_code]) for x in parse_line_pairs(wish.split())]
    units = sum(q for _, q, _ in lines)
    found: dict[str, Any] = {
        "go": go.go_id,
        "code": code,
        "version": go.version,
        "limit": limit,
        "units": units,
        "total": sum(q * p for _, q, p in lines),
        "currency": "SGD",
        "channel": "console",
        "due": (NOW + timedelta(hours=48)).isoformat(),
        "buyer": buyer,
        "items": sorted([i, q] for i, q, _ in lines),
        "variants": [],
        "lines": [[i, None, q, p] for i, q, p in lines],
        "detail": f"{units} units",
    }
    if new_buyer is not None:
        found["new_buyer"] = new_buyer
    return found


PLACE = "SELECT gomflow_place_orders($1::jsonb, $2)"


def bare(url: str | None) -> str:
    assert url is not None
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def call(entries: list[dict[str, Any]]) -> tuple[list[Any], dict[str, int]]:
    """One batch in one transaction; its answers, and the rows it updated per table."""
    connection = await asyncpg.connect(bare(POSTGRES_URL))
    try:
        async with connection.transaction():
            answers = json.loads(
                await connection.fetchval(
                    "SELECT gomflow_place_orders($1::jsonb, $2)", json.dumps(entries), NOW
                )
            )
            updated = {
                row["relname"]: row["n_tup_upd"]
                for row in await connection.fetch("SELECT relname, n_tup_upd FROM pg_stat_xact_user_tables")
            }
        return answers, updated
    finally:
        await connection.close()


@needs_postgres
async def test_a_batch_that_fits_writes_the_hot_rows_once(pg_app: App) -> None:
    drop = Drop(code="ONCE-1", capacity=100, stock=100, per_buyer=4)
    await seed_drop(pg_app.core, drop)
    go = await target(pg_app.core, drop.code)
    fans = await seed_buyers(pg_app.core, 20)
    wishes = ["ALB 1 POB 1", "ALB 2", "POB 1"]
    batch = [entry(go, drop.code, f.user_id, wishes[i % 3], limit=4) for i, f in enumerate(fans)]
    answers, updated = await call(batch)
    assert [a["r"] for a in answers] == ["ok"] * 20
    assert [a["seq"] for a in answers] == list(range(1, 21))  # numbered in arrival order
    # the GO row and each item row once for the whole batch, not once per order
    assert updated["group_orders"] == 1 and updated["items"] == 2
    async with pg_app.core.reader() as uow:
        numbers = (
            await uow.session.scalars(select(Order.number).where(Order.go_id == go.go_id).order_by(Order.id))
        ).all()
        row = (await uow.session.scalars(select(GroupOrder).where(GroupOrder.id == go.go_id))).one()
    assert numbers == [f"ONCE-1-{n}" for n in range(1, 21)]
    assert (row.reserved_units, row.order_seq) == (sum(units_of(w)[0] for w in (wishes * 7)[:20]), 20)
    await assert_checks_pass(pg_app)


@needs_postgres
async def test_a_batch_that_does_not_fit_is_decided_in_arrival_order(pg_app: App) -> None:
    drop = Drop(code="TURN-1", capacity=6, stock=2, per_buyer=3)
    await seed_drop(pg_app.core, drop)
    go = await target(pg_app.core, drop.code)
    ann, bob, cat = (f.user_id for f in await seed_buyers(pg_app.core, 3))
    batch = [
        entry(go, drop.code, ann, "ALB 3", limit=3),  # placed: 3 of 6
        entry(go, drop.code, bob, "ALB 2 POB 2", limit=3),  # 4 asked, 3 left
        entry(go, drop.code, 0, "POB 1", limit=3, new_buyer="Newcomer"),  # placed: the buyer is new
        entry(go, drop.code, ann, "POB 1", limit=3),  # ann holds 3 already
        entry(go, drop.code, bob, "POB 2", limit=3),  # one card left
        entry(go, drop.code, cat, "ALB 2", limit=3),  # placed: the last 2 slots
        entry(go, drop.code, cat, "ALB 1", limit=3),  # full now
    ]
    answers, updated = await call(batch)
    assert [a["r"] for a in answers] == ["ok", "go", "ok", "quota", "stock", "ok", "go"]
    assert [a["seq"] for a in answers if a["r"] == "ok"] == [1, 2, 3]  # refusals took no number
    assert (answers[1]["reserved"], answers[1]["capacity"]) == (3, 6)
    assert answers[3]["held"] == 3
    assert (answers[4]["stock"], answers[4]["reserved"], answers[4]["quantity"]) == (2, 1, 2)
    assert answers[6]["reserved"] == 6
    assert updated["group_orders"] > 1  # decided order by order
    async with pg_app.core.reader() as uow:
        numbers = (
            await uow.session.scalars(select(Order.number).where(Order.go_id == go.go_id).order_by(Order.id))
        ).all()
        audited = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "order")
        )
        newcomers = (await uow.session.scalars(select(User.id).where(User.display_name == "Newcomer"))).all()
    assert numbers == ["TURN-1-1", "TURN-1-2", "TURN-1-3"]
    assert audited == 3  # a refused order leaves no row behind
    assert newcomers == [answers[2]["buyer"]]
    await assert_checks_pass(pg_app)


@needs_postgres
async def test_a_refused_newcomer_leaves_no_account(pg_app: App) -> None:
    drop = Drop(code="FULL-1", capacity=2, stock=5, per_buyer=2)
    await seed_drop(pg_app.core, drop)
    go = await target(pg_app.core, drop.code)
    (fan,) = await seed_buyers(pg_app.core, 1)
    answers, _ = await call([entry(go, drop.code, fan.user_id, "ALB 2", limit=2)])
    assert answers[0]["r"] == "ok"
    answers, _ = await call([entry(go, drop.code, 0, "ALB 1", limit=2, new_buyer="Too Late")])
    assert answers[0]["r"] == "go" and answers[0]["reserved"] == 2
    async with pg_app.core.reader() as uow:
        assert not (await uow.session.scalars(select(User.id).where(User.display_name == "Too Late"))).all()
        assert len((await uow.session.scalars(select(Order.id))).all()) == 1
    await assert_checks_pass(pg_app)


@needs_postgres
async def test_a_take_together_that_does_not_fit_gives_back_all_it_took(pg_app: App) -> None:
    drop = Drop(code="BACK-1", capacity=100, stock=2, per_buyer=3)
    await seed_drop(pg_app.core, drop)
    go = await target(pg_app.core, drop.code)
    ann, bob = (f.user_id for f in await seed_buyers(pg_app.core, 2))
    answers, _ = await call([entry(go, drop.code, ann, "ALB 2", limit=3)])
    assert answers[0]["r"] == "ok"
    late = {
        "the card's stock, after the GO": [(bob, "POB 3")],
        "ann's quota, after the GO, the items and bob's quota": [(bob, "ALB 1 POB 1"), (ann, "ALB 2")],
    }
    connection = await asyncpg.connect(bare(POSTGRES_URL))
    try:
        for why, wishes in late.items():
            batch = [entry(go, drop.code, b, w, limit=3) for b, w in wishes]
            transaction = connection.transaction()
            await transaction.start()
            before = await held_rows(connection)
            taken = await connection.fetchval(
                "SELECT gomflow_take_together($1::jsonb, $2, $3::integer[], $4::integer[])",
                json.dumps(batch),
                NOW,
                list(range(len(batch))),
                [b for b, _ in wishes],
            )
            assert taken is None, why
            assert await held_rows(connection) == before, why
            await transaction.rollback()
    finally:
        await connection.close()


async def held_rows(connection: Any) -> list[Any]:
    """What the GO, the items and the quotas hold (a quota given back to 0 holds nothing)."""
    return [
        await connection.fetch("SELECT id, reserved_units, order_seq FROM group_orders ORDER BY id"),
        await connection.fetch("SELECT id, reserved FROM items ORDER BY id"),
        await connection.fetch(
            "SELECT go_id, buyer_id, reserved FROM buyer_quotas WHERE reserved > 0 ORDER BY 1, 2"
        ),
    ]


@needs_postgres
async def test_a_batch_overtaken_between_its_look_and_its_take_is_decided_in_turn(pg_app: App) -> None:
    drop = Drop(code="RACE-1", capacity=10, stock=10, per_buyer=10)
    await seed_drop(pg_app.core, drop)
    go = await target(pg_app.core, drop.code)
    ann, bob = (f.user_id for f in await seed_buyers(pg_app.core, 2))
    first, second, watcher = [await asyncpg.connect(bare(POSTGRES_URL)) for _ in range(3)]
    try:
        overtaking = first.transaction()
        await overtaking.start()
        answers = json.loads(
            await first.fetchval(PLACE, json.dumps([entry(go, drop.code, ann, "ALB 9", limit=10)]), NOW)
        )
        assert answers[0]["r"] == "ok"  # 9 of 10 taken, not committed yet
        pid = await second.fetchval("SELECT pg_backend_pid()")

        async def bobs_batch() -> list[Any]:
            batch = [
                entry(go, drop.code, bob, "ALB 1", limit=10),
                entry(go, drop.code, bob, "ALB 1", limit=10),
            ]
            async with second.transaction():  # sees 10 free, writes both orders, waits for the GO row
                return list(json.loads(await second.fetchval(PLACE, json.dumps(batch), NOW)))

        task = asyncio.create_task(bobs_batch())
        waiting = "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1"
        for _ in range(3000):
            if await watcher.fetchval(waiting, pid):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("bob's batch never waited for the GO row")
        await overtaking.commit()
        answers = await asyncio.wait_for(task, 30)
    finally:
        for connection in (first, second, watcher):
            await connection.close()
    assert [a["r"] for a in answers] == ["ok", "go"] and answers[1]["reserved"] == 10
    async with pg_app.core.reader() as uow:
        numbers = (await uow.session.scalars(select(Order.number).order_by(Order.id))).all()
        audited = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "order")
        )
    assert numbers == ["RACE-1-1", "RACE-1-2"] and audited == 2  # the refused one's rows taken back
    await assert_checks_pass(pg_app)


@needs_postgres
async def test_one_buyer_twice_in_a_batch_is_held_to_the_limit(pg_app: App) -> None:
    drop = Drop(code="TWICE-1", capacity=50, stock=50, per_buyer=3)
    await seed_drop(pg_app.core, drop)
    go = await target(pg_app.core, drop.code)
    ann, bob = (f.user_id for f in await seed_buyers(pg_app.core, 2))
    # everything else fits; ann's two orders together ask 4 of her 3
    wishes = [(ann, "ALB 2"), (bob, "POB 1"), (ann, "POB 2"), (bob, "ALB 2")]
    answers, _ = await call([entry(go, drop.code, b, w, limit=3) for b, w in wishes])
    assert [a["r"] for a in answers] == ["ok", "ok", "quota", "ok"] and answers[2]["held"] == 2
    await assert_checks_pass(pg_app)
