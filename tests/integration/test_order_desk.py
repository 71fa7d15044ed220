"""The order desk: orders placed in one batch still get their own answers and limits."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import func, select

from core import desk
from core.db.models import Identity, InboundUpdate, Order
from core.errors import OutOfStock
from core.inbound import handling, record
from core.quantities import LineRequest
from core.services import ordering
from core.services.accounts import Actor, Caller
from main import App
from tests.conftest import buyer, count_desk_trips, open_go
from tests.integration.test_ordering import counters


async def test_a_refusal_inside_a_batch_undoes_only_that_order(any_app: App) -> None:
    app = any_app
    await open_go(app, cap=50, items=('ALB 25.90 "FML album"', 'POB 3 "Photocard" stock=2'))
    fans = [await buyer(app, f"fan{i}") for i in range(6)]
    # every order takes an album first (a GO slot and ALB), then a photocard: only two can
    wishes = [[LineRequest("ALB", None, 1), LineRequest("POB", None, 1)] for _ in fans]
    results = await asyncio.gather(
        *(
            ordering.place_order(app.core.uow(), fan, "SVT-FML", wish)
            for fan, wish in zip(fans, wishes, strict=True)
        ),
        return_exceptions=True,
    )
    placed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(placed) == 2 and len(refused) == 4
    assert all(isinstance(r, OutOfStock) and "Photocard is sold out" in r.message for r in refused)
    assert sorted(view.buyer for view in placed) == sorted({view.buyer for view in placed})
    state = await counters(app)
    assert state["go"] == state["live_lines"] == state["items"] == state["quotas"] == 4
    assert state["orders"] == 2
    assert sorted(int(view.number.rsplit("-", 1)[1]) for view in placed) == [1, 2]  # none skipped


async def test_orders_refused_at_the_buyers_limit_give_back_the_slots_and_stock_they_took(
    any_app: App,
) -> None:
    """The buyer's quota is taken last, after the GO's slots and the item's stock: a batch
    of one buyer's orders over their limit leaves every counter as its placed orders made
    it, and the numbers of the placed ones follow each other."""
    app = any_app
    await open_go(app, cap=50, limit=4, items=('ALB 25.90 "FML album"', 'POB 3 "Photocard" stock=20'))
    bob, amy = await buyer(app, "bob"), await buyer(app, "amy")
    wish = [LineRequest("ALB", None, 1), LineRequest("POB", None, 1)]
    results = await asyncio.gather(
        *(ordering.place_order(app.core.uow(), who, "SVT-FML", wish) for who in [bob] * 6 + [amy] * 2),
        return_exceptions=True,
    )
    placed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert [type(r).__name__ for r in refused] == ["BuyerLimitReached"] * 4  # bob's 3rd to 6th
    assert sorted(view.buyer for view in placed) == ["amy", "amy", "bob", "bob"]  # 2 units an order
    state = await counters(app)
    assert state["go"] == state["live_lines"] == state["items"] == state["quotas"] == 8
    assert state["orders"] == 4
    assert sorted(int(view.number.rsplit("-", 1)[1]) for view in placed) == [1, 2, 3, 4]


async def test_an_unexpected_database_error_fails_only_its_own_order(app: App) -> None:
    await open_go(app, cap=50, items=('POB 3 "Photocard"',))
    bob, amy = await buyer(app, "bob"), await buyer(app, "amy")
    ghost = Actor(
        user_id=99_999, identity_id=0, channel="console", name="ghost", is_gom=False, is_staff=False
    )
    results = await asyncio.gather(
        *(
            ordering.place_order(app.core.uow(), who, "SVT-FML", [LineRequest("POB", None, 1)])
            for who in (bob, ghost, amy)
        ),
        return_exceptions=True,
    )
    assert not isinstance(results[0], Exception) and not isinstance(results[2], Exception)
    assert isinstance(results[1], Exception) and "FOREIGN KEY" in str(results[1]).upper()
    async with app.core.reader() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Order)) == 2
    state = await counters(app)
    assert state["go"] == state["live_lines"] == state["quotas"] == 2


async def test_orders_wait_for_their_answer_and_numbers_follow_each_other(app: App) -> None:
    await open_go(app, cap=500, items=('POB 3 "Photocard"',))
    fans = [await buyer(app, f"fan{i}") for i in range(300)]
    views = await asyncio.gather(
        *(ordering.place_order(app.core.uow(), fan, "SVT-FML", [LineRequest("POB", None, 1)]) for fan in fans)
    )
    assert [v.buyer for v in views] == [f.name for f in fans]
    assert sorted(int(v.number.rsplit("-", 1)[1]) for v in views) == list(range(1, 301))


async def test_close_cancels_orders_still_waiting_for_the_desk(app: App) -> None:
    await open_go(app, cap=5, items=('POB 3 "Photocard"',))
    bob = await buyer(app, "bob")
    pending = asyncio.ensure_future(
        ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)])
    )
    await asyncio.sleep(0)  # the order is queued
    await app.core.desk.close()
    with pytest.raises(asyncio.CancelledError):
        await pending
    with pytest.raises(RuntimeError, match="shutting down"):
        await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)])


async def test_an_order_at_a_price_the_buyer_did_not_see_is_refused(app: App) -> None:
    from core.errors import PriceChanged

    await open_go(app, items=('POB 3 "Photocard"',))
    bob = await buyer(app, "bob")
    with pytest.raises(PriceChanged, match=r"changed from S\$2\.50 to S\$3\.00"):
        await ordering.place_order(
            app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)], {"POB": 250}
        )
    assert (await counters(app))["orders"] == 0
    placed = await ordering.place_order(
        app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)], {"POB": 300}
    )
    assert placed.total == "S$3.00"


async def test_another_process_writing_never_stalls_the_loop(app: App) -> None:
    """The desk runs SQLite in the event loop; while another process holds the write lock,
    the batch waits on the database thread and the loop goes on serving."""
    await open_go(app, cap=50, items=('POB 3 "Photocard"',))
    bob = await buyer(app, "bob")
    other = sqlite3.connect(app.core.db.engine.url.database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction
    try:
        order = asyncio.create_task(
            ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)])
        )
        ticks = 0
        while ticks < 50:  # the loop keeps turning while the order waits for the lock
            await asyncio.sleep(0)
            ticks += 1
        assert not order.done()
    finally:
        other.execute("COMMIT")
        other.close()
    placed = await asyncio.wait_for(order, timeout=60)
    assert placed.number == "SVT-FML-1"
    state = await counters(app)
    assert state["go"] == state["live_lines"] == 1


async def test_the_wal_is_checkpointed_off_the_loop(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desk, "CHECKPOINT_EVERY", 0.0)
    await open_go(app, cap=50, items=('POB 3 "Photocard"',))
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("POB", None, 1)])
    batches = app.core.desk._sqlite
    assert batches is not None and batches._checkpoint is not None
    busy, frames, copied = await asyncio.wait_for(batches._checkpoint, timeout=60)
    assert busy == 0 and frames > 0 and copied == frames  # the order's pages went back to the file


async def test_a_known_caller_is_looked_up_in_the_orders_own_batch(
    any_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = any_app
    await open_go(app, cap=50, items=('POB 3 "Photocard"',))
    await buyer(app, "bob")
    trips = count_desk_trips(app, monkeypatch)
    placed = await ordering.place_order(
        app.core.uow(), Caller("console", "bob", "Bob", "bob"), "SVT-FML", [LineRequest("POB", None, 2)]
    )
    assert placed.buyer == "bob" and placed.total == "S$6.00"
    assert len(trips) == 1  # the lookup and the order: one trip to the desk
    assert (await counters(app))["quotas"] == 2


async def test_a_caller_never_seen_is_identified_then_the_order_placed_once(
    any_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = any_app
    await open_go(app, cap=50, items=('POB 3 "Photocard"',))
    await buyer(app, "amy")  # holds @amy today
    await record(app.core.desk, "test", [("u1", "{}")])
    with handling("test", "u1"):
        placed = await ordering.place_order(
            app.core.uow(),
            Caller("console", "newcomer", "Nina", "amy"),
            "SVT-FML",
            [LineRequest("POB", None, 1)],
        )
    assert placed.buyer == "Nina" and placed.number == "SVT-FML-1"
    async with app.core.reader() as uow:
        holders = (
            await uow.session.scalars(select(Identity.external_id).where(Identity.handle == "amy"))
        ).all()
        handled = await uow.session.scalar(
            select(InboundUpdate.handled_at).where(InboundUpdate.external_id == "u1")
        )
    assert holders == ["newcomer"]  # the handle moved to the newcomer who wrote with it
    assert handled is not None  # the update is marked handled, by the order's commit
    state = await counters(app)
    assert state["orders"] == 1 and state["go"] == state["live_lines"] == 1
