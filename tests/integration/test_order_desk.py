"""The order desk: orders placed in one batch still get their own answers and limits."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from core.db.models import Order
from core.errors import OutOfStock
from core.quantities import LineRequest
from core.services import ordering
from core.services.accounts import Actor
from main import App
from tests.conftest import buyer, open_go
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
