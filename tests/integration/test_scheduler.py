"""The scheduler's tick: due work found in the database, done once, caught up after downtime."""

from __future__ import annotations

from sqlalchemy import select

from core.db.models import GroupOrder, Order, OutboxMessage
from core.quantities import LineRequest
from core.services import ordering, waitlist
from main import App
from tests.conftest import buyer, link_email, open_go, say


async def keys(app: App, prefix: str = "") -> list[str]:
    async with app.core.reader() as uow:
        rows = await uow.session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id))
        return [k for k in rows.all() if k.startswith(prefix)]


async def test_catch_up_after_downtime_closes_the_go_once_and_sends_only_the_nearest_reminder(
    app: App,
) -> None:
    await open_go(app, moq=2, cap=4)  # deadline in 3 days
    await link_email(app, "gina", "SVT-FML", "fans@example.com")
    bob = await buyer(app, "bob")
    app.core.clock.advance(days=2)
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 2)])

    app.core.clock.advance(days=1, minutes=-30)  # gomflow was down through the 24 h mark
    first = await app.ticker.tick()
    assert not first.failed, first
    reminders = await keys(app, "deadline:")
    assert len(reminders) == 1 and ":3600:" in reminders[0]
    assert await keys(app, "milestone:") != []  # MOQ reached: told once, the highest milestone only
    assert len(await keys(app, "milestone:")) == 1 and "moq_reached" in (await keys(app, "milestone:"))[0]

    app.core.clock.advance(hours=2)  # and down again past the deadline
    second = await app.ticker.tick()
    assert [c.code for c in second.done["close_due_group_orders"]] == ["SVT-FML"]
    third = await app.ticker.tick()
    assert third.done["close_due_group_orders"] == []
    async with app.core.reader() as uow:
        go = await uow.session.scalar(select(GroupOrder))
        assert go is not None and go.status == "confirmed"
    assert len(await keys(app, "go_confirmed:")) == 1
    # the linked channel was told once that it opened, and once that it goes ahead
    assert await keys(app, "go_status:") == ["go_status:1:open:2", "go_status:1:confirmed:2"]
    assert len(await keys(app, "deadline:")) == 1


async def test_unpaid_orders_are_reminded_once_then_expire_and_free_their_slots(any_app: App) -> None:
    app = any_app
    await open_go(app, moq=1, cap=2)
    bob, amy = await buyer(app, "bob"), await buyer(app, "amy")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 2)])
    await waitlist.join_waitlist(app.core.uow(), amy, "SVT-FML", LineRequest("ALB", "B", 1))

    app.core.clock.advance(hours=36)  # 12 h before the 48 h window ends
    await app.ticker.tick()
    await app.ticker.tick()
    assert len(await keys(app, "order_reminder:")) == 1

    app.core.clock.advance(hours=13)
    report = await app.ticker.tick()
    assert report.done["expire_unpaid_orders"] == 1
    assert (await app.ticker.tick()).done["expire_unpaid_orders"] == 0
    async with app.core.reader() as uow:
        statuses = dict((await uow.session.execute(select(Order.number, Order.status))).all())
    assert statuses == {"SVT-FML-1": "expired", "SVT-FML-2": "placed"}  # amy got the freed slot
    assert len(await keys(app, "order_expired:")) == 1
    assert len(await keys(app, "waitlist_promoted:")) == 1


async def test_scheduled_broadcast_is_released_once_when_due(any_app: App) -> None:
    app = any_app
    await open_go(app)
    bob = await buyer(app, "bob")
    await ordering.place_order(app.core.uow(), bob, "SVT-FML", [LineRequest("ALB", "A", 1)])
    reply = await say(app, "gina", "/schedule SVT-FML +2h all Last call!\nPay today.")
    assert "scheduled for" in reply.text
    assert "#1" in (await say(app, "gina", "/scheduled")).text
    await app.ticker.tick()
    assert await keys(app, "broadcast:") == []
    app.core.clock.advance(hours=3)
    assert (await app.ticker.tick()).done["release_due_broadcasts"] == 1
    assert (await app.ticker.tick()).done["release_due_broadcasts"] == 0
    assert len(await keys(app, "broadcast:")) == 1
    await app.dispatcher.run_once()
    report = await say(app, "gina", "/broadcasts")
    assert "1 sent, 0 pending, 0 failed" in report.text


async def test_apscheduler_ticks_on_the_running_loop(app: App) -> None:
    import asyncio

    from scheduler.jobs import Ticker

    ticker = Ticker(app.core, interval_seconds=0.05)
    ticks: list[float] = []
    ticked_twice = asyncio.Event()

    async def counted() -> None:  # only the ticking is under test here, not the jobs
        ticks.append(asyncio.get_running_loop().time())
        if len(ticks) >= 2:
            ticked_twice.set()

    ticker.tick = counted  # type: ignore[assignment,method-assign]
    ticker.start()
    try:
        await asyncio.wait_for(ticked_twice.wait(), 60)  # the ticks themselves, however slow the machine
    finally:
        ticker.shutdown()
    assert len(ticks) >= 2


async def test_a_shipping_request_is_reminded_by_the_tick_but_an_items_request_only_once(app: App) -> None:
    await open_go(app, moq=1, cap=4)
    for line in ("/paymethods SVT-FML manual",):
        assert "⚠️" not in (await say(app, "gina", line)).text
    assert "Order placed" in (await say(app, "bob", "/order SVT-FML ALB:A 1")).text
    assert "⚠️" not in (await say(app, "bob", "/pay SVT-FML-1")).text  # opens the items request
    assert "⚠️" not in (await say(app, "gina", "/shipping SVT-FML-1 4.50")).text
    app.core.clock.advance(hours=40)  # both windows end within the 12 h reminder lead
    report = await app.ticker.tick()
    assert not report.failed, report
    assert len(await keys(app, "order_reminder:")) == 1  # the items, reminded as the order
    assert len(await keys(app, "remind:")) == 1  # the shipping request, on its own
    await app.ticker.tick()
    assert len(await keys(app, "remind:")) == 1 and len(await keys(app, "order_reminder:")) == 1
