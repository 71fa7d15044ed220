"""Drop-day benchmark: N buyers ordering one group order from C concurrent tasks.

Measures ``place_order`` through the service layer (orders/s and latency percentiles),
checks that nothing was oversold, and in the same run measures the floor: the same
order transaction done by a bare loop on the same database engine (sqlite3 for SQLite,
asyncpg for PostgreSQL). Run: ``python -m bench.drop [--backend sqlite|postgres|both]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import func, select

from bench.common import Drop, percentile, postgres_url, seed_buyers, seed_drop, table, wipe_postgres
from core.app import Core, build_core
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import BuyerQuota, GroupOrder, Item, Order, OrderLine
from core.errors import GomflowError
from core.quantities import parse_line_pairs
from core.services.accounts import Actor
from core.services.ordering import place_order

WISHES = ["ALB 1", "POB 1", "ALB 1 POB 1", "ALB 2", "POB 2"]


@dataclass
class DropResult:
    backend: str
    buyers: int
    concurrency: int
    placed: int
    refused: int
    seconds: float
    latencies_ms: list[float]
    floor_tps: float
    oversell: int

    @property
    def orders_per_second(self) -> float:
        return (self.placed + self.refused) / self.seconds

    @property
    def ratio(self) -> float:
        return self.orders_per_second / self.floor_tps if self.floor_tps else 0.0

    def rows(self) -> list[tuple[str, str]]:
        lat = sorted(self.latencies_ms)
        return [
            ("backend", self.backend + (" (room for all)" if not self.refused else " (sells out)")),
            ("cores", str(os.cpu_count())),
            ("buyers / concurrent tasks", f"{self.buyers} / {self.concurrency}"),
            ("placed / refused", f"{self.placed} / {self.refused}"),
            ("place_order calls per second", f"{self.orders_per_second:,.0f}"),
            ("orders placed per second", f"{self.placed / self.seconds:,.0f}"),
            (
                "latency p50 / p95 / p99",
                " / ".join(f"{percentile(lat, q):.1f} ms" for q in (0.5, 0.95, 0.99)),
            ),
            ("floor (bare loop) transactions/s", f"{self.floor_tps:,.0f}"),
            ("ours as a share of the floor", f"{self.ratio:.0%}"),
            ("oversell", str(self.oversell)),
        ]


async def run_drop(
    core: Core, backend: str, buyers: int, concurrency: int, floor_runs: int, room: bool
) -> DropResult:
    if room:  # every order fits: each call does the full order transaction
        drop = Drop(
            code="DROP-1", capacity=min(100_000, buyers * 4), stock=min(100_000, buyers * 4), per_buyer=4
        )
    else:  # demand far beyond supply: most calls are refusals
        drop = Drop(code="DROP-1", capacity=max(1, buyers * 3 // 5), stock=max(1, buyers // 6), per_buyer=2)
    await seed_drop(core, drop)
    actors = await seed_buyers(core, buyers)
    rng = random.Random(42)
    wishes = [parse_line_pairs(rng.choice(WISHES).split()) for _ in actors]
    queue = iter(range(buyers))
    latencies: list[float] = []
    outcome = {"placed": 0, "refused": 0}

    async def buyer_task() -> None:
        for index in queue:
            started = time.perf_counter()
            try:
                await place_order(core.uow(), actors[index], drop.code, wishes[index])
                outcome["placed"] += 1
            except GomflowError:
                outcome["refused"] += 1
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(buyer_task() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    oversell = await count_oversell(core, drop)
    floor = await measure_floor(core, backend, floor_runs, actors[0])
    return DropResult(
        backend,
        buyers,
        concurrency,
        outcome["placed"],
        outcome["refused"],
        seconds,
        latencies,
        floor,
        oversell,
    )


async def count_oversell(core: Core, drop: Drop) -> int:
    """Units beyond any limit, plus any counter that disagrees with the live order lines."""
    async with core.reader() as uow:
        s = uow.session
        go = (await s.scalars(select(GroupOrder).where(GroupOrder.code == drop.code))).one()
        live = await s.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.go_id == go.id, Order.status.in_(["placed", "paid"]))
        )
        items = (await s.scalars(select(Item).where(Item.go_id == go.id))).all()
        per_item = dict(
            (
                await s.execute(
                    select(OrderLine.item_id, func.sum(OrderLine.quantity)).group_by(OrderLine.item_id)
                )
            ).all()
        )
        quotas = (
            (await s.execute(select(BuyerQuota.reserved).where(BuyerQuota.go_id == go.id))).scalars().all()
        )
        per_buyer = (
            (
                await s.execute(
                    select(func.sum(Order.units)).where(Order.go_id == go.id).group_by(Order.buyer_id)
                )
            )
            .scalars()
            .all()
        )
    over = max(0, go.reserved_units - go.capacity) + abs(go.reserved_units - int(live or 0))
    for item in items:
        over += max(0, item.reserved - (item.stock if item.stock is not None else item.reserved))
        over += abs(item.reserved - int(per_item.get(item.id, 0)))
    over += sum(max(0, q - drop.per_buyer) for q in quotas) + sum(
        max(0, u - drop.per_buyer) for u in per_buyer
    )
    return over


async def measure_floor(core: Core, backend: str, runs: int, buyer: Actor) -> float:
    """The order transaction as a bare loop: reserve, order, line, audit, commit."""
    async with core.uow() as uow:
        go = (await uow.session.scalars(select(GroupOrder).where(GroupOrder.code == "DROP-1"))).one()
        item = (await uow.session.scalars(select(Item).where(Item.go_id == go.id))).first()
        assert item is not None
        floor_go = GroupOrder(
            code="FLOOR-1",
            gom_id=go.gom_id,
            title="floor",
            description="",
            currency="SGD",
            timezone="UTC",
            moq=0,
            capacity=10**9,
            per_buyer_limit=None,
            deadline=uow.now + timedelta(days=1),
            payment_window_hours=48,
            status="open",
            reserved_units=0,
            order_seq=0,
            created_at=uow.now,
            updated_at=uow.now,
        )
        uow.session.add(floor_go)
        await uow.session.flush()
        ids = (floor_go.id, item.id)
        await uow.commit()
    if backend == "sqlite":
        return await asyncio.to_thread(
            _sqlite_floor, core.db.engine.url.database or "", runs, ids, buyer.user_id
        )
    return await _postgres_floor(
        str(core.db.engine.url.render_as_string(hide_password=False)), runs, ids, buyer.user_id
    )


def _sqlite_floor(path: str, runs: int, ids: tuple[int, int], buyer_id: int) -> float:
    go_id, item_id = ids
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    started = time.perf_counter()
    for _ in range(runs):
        connection.execute("BEGIN IMMEDIATE")
        (seq,) = connection.execute(
            "UPDATE group_orders SET reserved_units = reserved_units + 1, order_seq = order_seq + 1 "
            "WHERE id = ? AND reserved_units + 1 <= capacity RETURNING order_seq",
            (go_id,),
        ).fetchone()
        (order_id,) = connection.execute(
            "INSERT INTO orders (number, go_id, buyer_id, status, units, total_minor, currency, channel, "
            "placed_at, payment_due_at, updated_at) VALUES (?, ?, ?, 'placed', 1, 2590, 'SGD', 'console', "
            "?, ?, ?) RETURNING id",
            (f"FLOOR-1-{seq}", go_id, buyer_id, now, now, now),
        ).fetchone()
        connection.execute(
            "INSERT INTO order_lines (order_id, item_id, quantity, unit_price_minor) VALUES (?, ?, 1, 2590)",
            (order_id, item_id),
        )
        connection.execute(
            "INSERT INTO audit_log (at, actor_id, entity, entity_id, action, detail) "
            "VALUES (?, ?, 'order', ?, 'placed', '')",
            (now, buyer_id, order_id),
        )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return runs / elapsed


async def _postgres_floor(url: str, runs: int, ids: tuple[int, int], buyer_id: int) -> float:
    go_id, item_id = ids
    connection: Any = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    now = datetime.now(UTC)
    started = time.perf_counter()
    for _ in range(runs):
        async with connection.transaction():
            seq = await connection.fetchval(
                "UPDATE group_orders SET reserved_units = reserved_units + 1, order_seq = order_seq + 1 "
                "WHERE id = $1 AND reserved_units + 1 <= capacity RETURNING order_seq",
                go_id,
            )
            order_id = await connection.fetchval(
                "INSERT INTO orders (number, go_id, buyer_id, status, units, total_minor, currency, channel, "
                "placed_at, payment_due_at, updated_at) VALUES ($1, $2, $3, 'placed', 1, 2590, 'SGD', "
                "'console', $4, $4, $4) RETURNING id",
                f"FLOOR-1-{seq}",
                go_id,
                buyer_id,
                now,
            )
            await connection.execute(
                "INSERT INTO order_lines (order_id, item_id, quantity, unit_price_minor) "
                "VALUES ($1, $2, 1, 2590)",
                order_id,
                item_id,
            )
            await connection.execute(
                "INSERT INTO audit_log (at, actor_id, entity, entity_id, action, detail) "
                "VALUES ($1, $2, 'order', $3, 'placed', '')",
                now,
                buyer_id,
                order_id,
            )
    elapsed = time.perf_counter() - started
    await connection.close()
    return runs / elapsed


async def bench(backend: str, buyers: int, concurrency: int, floor_runs: int, room: bool) -> DropResult:
    with tempfile.TemporaryDirectory() as tmp:
        if backend == "postgres":
            url = postgres_url()
            if url is None:
                raise SystemExit(
                    "set GOMFLOW_BENCH_POSTGRES_URL (its public schema is wiped) to run on PostgreSQL"
                )
            await wipe_postgres(url)
        else:
            url = f"sqlite+aiosqlite:///{tmp}/drop.db"
        core = build_core(Settings(database_url=url))
        await upgrade(core.db)
        try:
            return await run_drop(core, backend, buyers, concurrency, floor_runs, room)
        finally:
            await core.close()


def main(argv: list[str] | None = None) -> list[DropResult]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--buyers", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--floor-runs", type=int, default=5000)
    parser.add_argument("--room", action="store_true", help="capacity for every buyer (no refusals)")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        result = asyncio.run(bench(backend, args.buyers, args.concurrency, args.floor_runs, args.room))
        print(table(result.rows()), end="\n\n", flush=True)
        results.append(result)
    return results


if __name__ == "__main__":
    main()
