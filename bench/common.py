"""What the benchmarks share: a seeded group order, buyers in bulk, percentiles, tables."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from core.app import Core
from core.db.engine import normalise_url
from core.db.models import Identity, User
from core.services.accounts import Actor, register_gom
from core.services.group_orders import NewGroupOrder, NewItem, add_item, create_group_order, open_group_order
from core.services.payments import set_methods


def postgres_url() -> str | None:
    return os.environ.get("GOMFLOW_BENCH_POSTGRES_URL") or os.environ.get("GOMFLOW_TEST_POSTGRES_URL")


async def wipe_postgres(url: str) -> None:
    """Benchmarks own the database they are pointed at: its public schema is dropped."""
    engine = create_async_engine(normalise_url(url))
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def database_for(backend: str, folder: str, name: str) -> str:
    """Where a benchmark keeps its GO: a SQLite file ``name`` in ``folder``, or the
    PostgreSQL database of ``postgres_url`` with its public schema wiped."""
    if backend != "postgres":
        return f"sqlite+aiosqlite:///{folder}/{name}.db"
    url = postgres_url()
    if url is None:
        raise SystemExit("set GOMFLOW_BENCH_POSTGRES_URL (its public schema is wiped)")
    asyncio.run(wipe_postgres(url))
    return url


@dataclass(frozen=True)
class Drop:
    code: str
    capacity: int
    stock: int
    per_buyer: int


async def seed_drop(core: Core, drop: Drop) -> None:
    gom = await register_gom(core.uow(), "console", "bench-gom", "Bench GOM")
    await create_group_order(
        core.uow(),
        gom,
        NewGroupOrder(
            code=drop.code,
            title="Drop benchmark",
            currency="SGD",
            moq=1,
            capacity=drop.capacity,
            deadline="+7d",
            timezone="Asia/Singapore",
            per_buyer_limit=drop.per_buyer,
        ),
    )
    await add_item(core.uow(), gom, NewItem(drop.code, "ALB", "Album", 2590))
    await add_item(core.uow(), gom, NewItem(drop.code, "POB", "Photocard", 300, stock=drop.stock))
    await set_methods(core.uow(), gom, drop.code, ["manual"])
    await open_group_order(core.uow(), gom, drop.code)


async def seed_buyers(core: Core, count: int, prefix: str = "fan") -> list[Actor]:
    """Buyers in one bulk insert: the benchmark measures ordering, not sign-ups."""
    async with core.uow() as uow:
        now = uow.now
        await uow.session.execute(
            insert(User),
            [{"display_name": f"{prefix}{i}", "is_gom": False, "created_at": now} for i in range(count)],
        )
        users = (
            await uow.session.execute(
                select(User.id, User.display_name)
                .where(User.display_name.like(f"{prefix}%"))
                .order_by(User.id)
            )
        ).all()
        await uow.session.execute(
            insert(Identity),
            [
                {
                    "user_id": user_id,
                    "channel": "console",
                    "external_id": name,
                    "handle": name,
                    "reachable": True,
                    "created_at": now,
                }
                for user_id, name in users
            ],
        )
        await uow.commit()
    return [Actor(user_id, 0, "console", name, False, False) for user_id, name in users]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)
