"""The order path on PostgreSQL: batches from several processes on one GO never oversell.

Each worker process has its own order desk, so their batches reach the server function
at the same time and interleave at READ COMMITTED; every limit must still hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from bench.common import Drop, seed_buyers, seed_drop, wipe_postgres
from bench.drop import count_oversell
from bench.scale import workers_case
from core.config import Settings
from core.db.migrate import upgrade
from core.db.models import GroupOrder, Order
from core.errors import CapacityFull, OutOfStock
from core.quantities import LineRequest
from core.services import ordering
from core.views import OrderView
from main import App, bootstrap
from tests.conftest import NO_POSTGRES, POSTGRES_URL, assert_checks_pass

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)

BUYERS = 60
SOLD_OUT = Drop(code="HOT-1", capacity=25, stock=9, per_buyer=2)


@pytest.fixture
async def pg_app() -> AsyncIterator[App]:
    """On the system clock: the worker processes run on it too, so deadlines agree."""
    assert POSTGRES_URL is not None
    await wipe_postgres(POSTGRES_URL)
    app = bootstrap(Settings(database_url=POSTGRES_URL), write=lambda _: None)
    await upgrade(app.core.db)
    yield app
    await app.core.close()


async def test_two_processes_batches_on_one_go_never_oversell(pg_app: App) -> None:
    assert POSTGRES_URL is not None
    core = pg_app.core
    actors = await seed_buyers(core, BUYERS)
    wishes = [("ALB 1", "POB 1", "ALB 1 POB 1", "ALB 2")[i % 4] for i in range(BUYERS)]
    # two worker processes, 15 buyers at once in each: many batches, all on the same GO row
    run, _ = await workers_case(POSTGRES_URL, core, actors, wishes, 2, 30, SOLD_OUT)
    assert run.answered == BUYERS
    assert await count_oversell(core, SOLD_OUT) == 0
    async with core.reader() as uow:
        go = (await uow.session.scalars(select(GroupOrder).where(GroupOrder.code == "HOT-1"))).one()
        placed = await uow.session.scalar(select(func.count()).select_from(Order).where(Order.go_id == go.id))
        numbers = (await uow.session.scalars(select(Order.number).where(Order.go_id == go.id))).all()
    assert go.reserved_units == go.capacity  # demand was far beyond it: it sold out exactly
    assert placed and len(set(numbers)) == placed == go.order_seq  # no number lost or given twice
    await assert_checks_pass(pg_app)


async def test_refusals_from_the_server_keep_their_codes_and_numbers(pg_app: App) -> None:
    core = pg_app.core
    await seed_drop(core, Drop(code="TINY-1", capacity=5, stock=1, per_buyer=3))
    fans = await seed_buyers(core, 5)
    album, card = LineRequest("ALB", None, 1), LineRequest("POB", None, 1)
    wishes = [
        [album, album],  # placed: 2 of 5 slots
        [card],  # placed: the last card
        [card],  # a slot is free, the card is not
        [album, album, album],  # 3 asked, 2 left
        [album],  # placed: it fits
    ]
    results = await asyncio.gather(
        *(ordering.place_order(core.uow(), f, "TINY-1", w) for f, w in zip(fans, wishes, strict=True)),
        return_exceptions=True,
    )
    placed = [r for r in results if isinstance(r, OrderView)]
    assert [v.number for v in placed] == ["TINY-1-1", "TINY-1-2", "TINY-1-3"]  # refusals took no number
    assert isinstance(results[2], OutOfStock) and str(results[2]).startswith("Photocard is sold out")
    assert isinstance(results[3], CapacityFull)
    assert "Only 2 slot(s) left in TINY-1; you asked for 3." in str(results[3])
    await assert_checks_pass(pg_app)
